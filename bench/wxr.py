#!/usr/bin/env python3
"""Writes a WordPress export (WXR 1.2) of N posts, as a newsroom's would
be: a category tree, tags, varied Chinese bodies with captions and
paragraphs, comments in threads. Usage: wxr.py N > export.xml"""
import random
import sys

N = int(sys.argv[1]) if len(sys.argv) > 1 else 100000
rng = random.Random(20261207)
BASE = "https://old.example.com"
WORDS = ("电网 供电 特高压 变电站 输电线路 巡检 检修 抢修 新能源 光伏 风电 储能 调度 负荷 迎峰度夏 "
         "迎峰度冬 乡村振兴 营商环境 党建 安全生产 数字化 智能电网 配电网 充电桩 电动汽车 用户 服务 "
         "供电所 班组 职工 创新 工程 投运 贯通 建设 保障 客户 电力 能源 改革 管理 质量 效益").split()
PUNCT = "，。；、"

def sentence():
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 16))]
    out = ""
    for i, w in enumerate(words):
        out += w
        if i and i % 4 == 0:
            out += rng.choice(PUNCT[:3])
    return out + "。"

def cdata(text):
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"

out = sys.stdout
out.write('<?xml version="1.0" encoding="UTF-8" ?>\n<rss version="2.0" '
          'xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" '
          'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
          'xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
          'xmlns:dc="http://purl.org/dc/elements/1.1/" '
          'xmlns:wp="http://wordpress.org/export/1.2/">\n<channel>\n')
out.write(f"<title>旧站</title><link>{BASE}</link><wp:wxr_version>1.2</wp:wxr_version>"
          f"<wp:base_site_url>{BASE}</wp:base_site_url><wp:base_blog_url>{BASE}</wp:base_blog_url>\n")
authors = [f"user{i}" for i in range(200)]
for i, login in enumerate(authors):
    name = rng.choice("王李张刘陈杨赵黄周吴") + rng.choice("明华强伟芳娜静磊洋勇") + rng.choice(["", "军", "平", "敏"])
    out.write(f"<wp:author><wp:author_id>{i+1}</wp:author_id><wp:author_login>{cdata(login)}</wp:author_login>"
              f"<wp:author_display_name>{cdata(name)}</wp:author_display_name></wp:author>\n")
categories = []
for top in range(8):
    categories.append((top + 1, f"cat-{top}", "", f"栏目{top}"))
    for sub in range(4):
        categories.append((100 + top * 10 + sub, f"cat-{top}-{sub}", f"cat-{top}", f"栏目{top}-{sub}"))
for term, nice, parent, name in categories:
    out.write(f"<wp:category><wp:term_id>{term}</wp:term_id><wp:category_nicename>{cdata(nice)}</wp:category_nicename>"
              f"<wp:category_parent>{cdata(parent)}</wp:category_parent><wp:cat_name>{cdata(name)}</wp:cat_name></wp:category>\n")
comment_id = 1
for post in range(1, N + 1):
    status = "publish" if rng.random() < 0.95 else rng.choice(["draft", "pending", "trash"])
    day = f"20{rng.randint(15, 25):02d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
    time = f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
    paragraphs = ["".join(sentence() for _ in range(rng.randint(2, 6))) for _ in range(rng.randint(3, 10))]
    if rng.random() < 0.3:
        paragraphs.insert(1, f'[caption id="attachment_{post}" align="aligncenter" width="600"]'
                             f'<img src="{BASE}/wp-content/uploads/2024/01/p{post}.jpg" alt="" /> {sentence()}[/caption]')
    body = "\n\n".join(paragraphs)
    title = "".join(rng.choice(WORDS) for _ in range(rng.randint(3, 7)))
    category = rng.choice(categories)[1]
    tags = rng.sample(WORDS, rng.randint(0, 3))
    cats = f'<category domain="category" nicename="{category}">{cdata(category)}</category>'
    cats += "".join(f'<category domain="post_tag" nicename="{t}">{cdata(t)}</category>' for t in tags)
    comments = ""
    first = None
    for c in range(rng.choice([0, 0, 0, 1, 2, 3])):
        parent = first if (first and rng.random() < 0.4) else 0
        comments += (f"<wp:comment><wp:comment_id>{comment_id}</wp:comment_id><wp:comment_author>{cdata('网友' + str(c))}</wp:comment_author>"
                     f"<wp:comment_date_gmt>{cdata(day + ' ' + time)}</wp:comment_date_gmt><wp:comment_content>{cdata(sentence())}</wp:comment_content>"
                     f"<wp:comment_approved>{cdata(rng.choice(['1', '1', '1', '0']))}</wp:comment_approved>"
                     f"<wp:comment_type>{cdata('comment')}</wp:comment_type><wp:comment_parent>{parent}</wp:comment_parent></wp:comment>")
        first = first or comment_id
        comment_id += 1
    out.write(f"<item><title>{cdata(title)}</title><link>{BASE}/{day[:4]}/{day[5:7]}/post-{post}/</link>"
              f"<dc:creator>{cdata(rng.choice(authors))}</dc:creator><guid isPermaLink=\"false\">{BASE}/?p={post}</guid>"
              f"<content:encoded>{cdata(body)}</content:encoded><excerpt:encoded>{cdata('')}</excerpt:encoded>"
              f"<wp:post_id>{post}</wp:post_id><wp:post_date>{cdata(day + ' ' + time)}</wp:post_date>"
              f"<wp:post_date_gmt>{cdata(day + ' ' + time)}</wp:post_date_gmt><wp:post_name>{cdata('post-' + str(post))}</wp:post_name>"
              f"<wp:status>{cdata(status)}</wp:status><wp:post_type>{cdata('post')}</wp:post_type>{cats}"
              f"<wp:postmeta><wp:meta_key>{cdata('views')}</wp:meta_key><wp:meta_value>{cdata(str(rng.randint(0, 5000)))}</wp:meta_value></wp:postmeta>"
              f"{comments}</item>\n")
out.write("</channel>\n</rss>\n")
