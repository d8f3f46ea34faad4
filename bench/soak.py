"""Mixed load for bench/soak.sh: readers, searches, comment posts and an
editorial desk (a correspondent writing and submitting, reviewers passing)
against one Newsdesk server, for a bounded time. Prints one JSON object:
requests and errors by kind, and the server's memory over time.

Arguments: base-url seconds server-pid captcha-answer highest-story
           correspondent-password editor-password chief-password
"""

import http.client
import http.cookiejar
import json
import random
import re
import sys
import threading
import time
import urllib.parse
import urllib.request

BASE, SECONDS, PID, ANSWER, HIGHEST = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
PASSWORDS = {"soak-writer": sys.argv[6], "soak-editor": sys.argv[7], "soak-chief": sys.argv[8]}
DEADLINE = time.time() + SECONDS
QUERIES = ["电网", "迎峰度冬", "特高压", "供电", "抢修", "新能源", "光伏", "变电站", "日喀则", "配电网",
           "营销", "安全生产", "检修", "线路", "电力保供", "乡村振兴", "智能电表", "储能", "國家電網", "党建"]

lock = threading.Lock()
counts = {}
errors = []
memory = []


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def record(kind, status, detail=""):
    with lock:
        entry = counts.setdefault(kind, {"requests": 0, "errors": 0, "statuses": {}})
        entry["requests"] += 1
        entry["statuses"][str(status)] = entry["statuses"].get(str(status), 0) + 1
        if status == 0 or status >= 500:
            entry["errors"] += 1
            if len(errors) < 50:
                errors.append(f"{kind}: {status} {detail}")


class Browser:
    """One visitor: a cookie jar, no redirects followed."""

    def __init__(self, forwarded=None):
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)
        self.forwarded = forwarded

    def request(self, kind, path, form=None):
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        request = urllib.request.Request(BASE + path, data=data)
        if self.forwarded:
            request.add_header("X-Forwarded-For", self.forwarded())
        try:
            with self.opener.open(request, timeout=30) as response:
                body = response.read().decode("utf-8", "replace")
                record(kind, response.status)
                return response.status, body, response.headers
        except urllib.error.HTTPError as error:
            body = error.read().decode("utf-8", "replace")
            record(kind, error.code, path)
            return error.code, body, error.headers
        except Exception as error:  # a refused or reset connection
            record(kind, 0, f"{path}: {error}")
            return 0, "", {}

    def token(self, path):
        _, body, _ = self.request("form", path)
        found = re.search(r'name="csrf_token" value="([^"]+)"', body)
        return found.group(1) if found else ""

    def login(self, username):
        token = self.token("/admin/login")
        status, _, _ = self.request("login", "/admin/login",
                                    {"username": username, "password": PASSWORDS[username], "csrf_token": token})
        assert status == 303, f"login {username}: {status}"


def reader(seed):
    rng = random.Random(seed)
    browser = Browser()
    while time.time() < DEADLINE:
        choice = rng.random()
        if choice < 0.6:
            prefix = "/zh-hant" if rng.random() < 0.1 else ""
            browser.request("article", f"{prefix}/articles/{rng.randint(1, HIGHEST)}")
        elif choice < 0.75:
            browser.request("home", "/")
        elif choice < 0.9:
            browser.request("channel", f"/channels/yaowen?page={rng.randint(1, 20)}")
        else:
            browser.request("feed", "/feed.xml")


def searcher(seed):
    rng = random.Random(seed)
    browser = Browser()
    while time.time() < DEADLINE:
        words = " ".join(rng.sample(QUERIES, rng.choice([1, 1, 2])))
        order = rng.choice(["", "&sort=relevance"])
        browser.request("search", "/search?" + urllib.parse.urlencode({"q": words}) + order)


def commenter(seed):
    rng = random.Random(seed)
    counter = iter(range(10**9))
    browser = Browser(forwarded=lambda: f"198.18.{rng.randint(0, 255)}.{rng.randint(1, 254)}")
    while time.time() < DEADLINE:
        number = rng.randint(1, HIGHEST)
        status, body, _ = browser.request("article", f"/articles/{number}")
        token = re.search(r'name="csrf_token" value="([^"]+)"', body)
        captcha = re.search(r'name="captcha_id" value="([^"]+)"', body)
        if not (token and captcha):
            continue
        browser.request("comment", f"/articles/{number}/comments", {
            "csrf_token": token.group(1), "captcha_id": captcha.group(1), "captcha_answer": ANSWER,
            "anonymous": "on", "body": f"长时间压测的评论 {seed}-{next(counter)}-{rng.random()}",
        })
        time.sleep(0.2)


def desk(seed):
    """A correspondent writes and submits; an editor and a chief pass it."""
    rng = random.Random(seed)
    writer, editor, chief = Browser(), Browser(), Browser()
    writer.login("soak-writer")
    editor.login("soak-editor")
    chief.login("soak-chief")
    _, form, _ = writer.request("form", "/admin/articles/new")
    channel = re.search(r'name="channel_id"[^>]*>.*?<option value="([0-9a-f-]{36})"', form, re.S)
    unit = re.search(r'name="unit_id"[^>]*>.*?<option value="([0-9a-f-]{36})"[^>]*selected', form, re.S) \
        or re.search(r'name="unit_id"[^>]*>.*?<option value="([0-9a-f-]{36})"', form, re.S)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    n = 0
    while time.time() < DEADLINE:
        n += 1
        status, _, headers = writer.request("save", "/admin/articles/new", {
            "title": f"长时间压测稿件 {seed}-{n}", "body": "<p>" + "保供电正文。" * rng.randint(20, 200) + "</p>",
            "channel_id": channel.group(1), "unit_id": unit.group(1), "tags": "压测、保供电",
            "author_byline": "本报记者 张三", "action": "submit", "csrf_token": token,
        })
        location = headers.get("Location", "") if headers else ""
        found = re.match(r"/admin/articles/([0-9a-f-]{36})", location)
        if status != 303 or not found:
            continue
        story = found.group(1)
        for reviewer in (editor, chief, chief):
            review_token = reviewer.token(f"/admin/articles/{story}")
            status, body, _ = reviewer.request("review", f"/admin/articles/{story}/review", {
                "decision": "pass", "opinion": "同意", "csrf_token": review_token,
            })
            if status != 303:
                break
        time.sleep(0.5)


def sample_memory():
    while time.time() < DEADLINE:
        try:
            with open(f"/proc/{PID}/status") as status:
                rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS"))
            memory.append((round(SECONDS - (DEADLINE - time.time())), rss // 1024))
        except (OSError, StopIteration):
            pass
        time.sleep(10)


threads = [threading.Thread(target=reader, args=(n,)) for n in range(6)]
threads += [threading.Thread(target=searcher, args=(100 + n,)) for n in range(2)]
threads += [threading.Thread(target=commenter, args=(200,))]
threads += [threading.Thread(target=desk, args=(300 + n,)) for n in range(2)]
threads += [threading.Thread(target=sample_memory)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({"seconds": SECONDS, "counts": counts, "errors": errors, "memory_mb": memory},
                 ensure_ascii=False))
