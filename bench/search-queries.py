#!/usr/bin/env python3
"""Writes the search paths the benchmark requests: a few hundred queries
drawn from the data set's own words, as readers type them.

usage: search-queries.py SOCKET_DIR OUT [COUNT]

OUT gets one line per path: the kind of query, the order (newest or
relevance) and the path, separated by tabs.

Words and their frequencies come from a sample of the stories' search
vectors (ts_stat); the queries mix frequent, mid and rare words, two-word
queries, queries typed in 繁體, and filters by channel and by date range.
Each query is asked for pages 1 to 5, newest first (keyset pages: the
`before` of each page is read from the database as the site computes it)
and by relevance (page=N), so the file holds up to 10 paths per query.
"""
import random
import subprocess
import sys
import urllib.parse

SOCKET, OUT = sys.argv[1], sys.argv[2]
COUNT = int(sys.argv[3]) if len(sys.argv) > 3 else 300
random.seed(20261202)

# Characters whose 繁體 form differs, for queries typed in Traditional.
T = dict(zip(
    "电网国东设备检务员运维护场线变压应发区开实产经质级苏广电气时风险调农户业务统计线路万亿业发展农村为乐书买么亏云亚产从众优会伤传体余侧修值们价仪优伟传伤儿党关兴养内册军农冲决况准凤别办动劳务势区协单卫厂历压县参双发变叶号听启员咏响团园围国图圆场坏块坚报墙处备复头夺奋奖妇实宝宁审宪对寻导层岁岛峡币师带帮干并广庆库应废开异张强归当录彻总恋悬惯懂戏战户扩扬执扫护报担拟拥择挂挡挤换损据换摄摆数断无旧时显晋晒机杀杂权条来杨极构枪标样树桥检楼横气汇汉污汤沟没沪泽测济浅浆浇涛润涨温湾满滞滨潜灯灵灾炉点炼热爱牵状犹独环现电画畅疗盖监盘着矿码础确种积称稳筑简粮紧纪约级纳纵线练组细织终绍经结绕绘给络统继绩续维综绿缓编缘网罗职联聪胜脑脚节范荣药获营蓝虽补装见观规视览计订认讨让议记讲许论设访证评识诉词试诗诚话该详语误说请诸读课谁调谈谊谋谢谱贝负贡财责贤败货质贫购贯贴贵费贺资赏赛赶轨转轮软轻载较辅辆输边达过迎运还这进远连迟适选递逻遗邓邮邻郑释银锁锅错键镇长门闪闭问闲间闻阀阅队阳阴阶际陆陈险随隐难雾须顶项顺须领频题颜风飞饭馆马驰验骨鱼鸟鸡龙",
    "電網國東設備檢務員運維護場線變壓應發區開實產經質級蘇廣電氣時風險調農戶業務統計線路萬億業發展農村為樂書買麼虧雲亞產從眾優會傷傳體餘側修值們價儀優偉傳傷兒黨關興養內冊軍農沖決況準鳳別辦動勞務勢區協單衛廠歷壓縣參雙發變葉號聽啟員詠響團園圍國圖圓場壞塊堅報牆處備復頭奪奮獎婦實寶寧審憲對尋導層歲島峽幣師帶幫幹並廣慶庫應廢開異張強歸當錄徹總戀懸慣懂戲戰戶擴揚執掃護報擔擬擁擇掛擋擠換損據換攝擺數斷無舊時顯晉曬機殺雜權條來楊極構槍標樣樹橋檢樓橫氣匯漢汙湯溝沒滬澤測濟淺漿澆濤潤漲溫灣滿滯濱潛燈靈災爐點煉熱愛牽狀猶獨環現電畫暢療蓋監盤著礦碼礎確種積稱穩築簡糧緊紀約級納縱線練組細織終紹經結繞繪給絡統繼績續維綜綠緩編緣網羅職聯聰勝腦腳節範榮藥獲營藍雖補裝見觀規視覽計訂認討讓議記講許論設訪證評識訴詞試詩誠話該詳語誤說請諸讀課誰調談誼謀謝譜貝負貢財責賢敗貨質貧購貫貼貴費賀資賞賽趕軌轉輪軟輕載較輔輛輸邊達過迎運還這進遠連遲適選遞邏遺鄧郵鄰鄭釋銀鎖鍋錯鍵鎮長門閃閉問閒間聞閥閱隊陽陰階際陸陳險隨隱難霧須頂項順須領頻題顏風飛飯館馬馳驗骨魚鳥雞龍"))

for ambiguous in "着冲污为众启":
    T.pop(ambiguous)


def psql(sql):
    out = subprocess.run(
        ["psql", "-h", SOCKET, "-U", "newsdesk", "-d", "newsdesk", "-qAt", "-F", "\t", "-c", sql],
        check=True, capture_output=True, text=True).stdout
    return [line.split("\t") for line in out.splitlines() if line]


stories = int(psql("select count(*) from articles where status = 'published'")[0][0])
sample = max(1, min(100, 200000 * 100 // max(stories, 1)))  # about 2,000 to 200,000 stories
rows = psql(f"""select word, ndoc from ts_stat($$select search_vector from articles
                tablesample system ({sample / 100 if sample < 100 else 100}) where status = 'published'$$)""")
sampled = int(psql(f"select count(*) from articles tablesample system ({sample / 100 if sample < 100 else 100}) repeatable (1)")[0][0]) or 1
words = [(w, int(n)) for w, n in rows if not w.isdigit() and len(w) >= 2 and not w.isascii()]
total = max(n for _, n in words)
frequent = [w for w, n in words if n >= total * 0.10]
mid = [w for w, n in words if total * 0.005 <= n < total * 0.10]
rare = [w for w, n in words if n <= 2]
two_char = [w for w, n in words if len(w) == 2]
channels = [r[0] for r in psql("select slug from channels where active and parent_id is not null")] or \
    [r[0] for r in psql("select slug from channels where active")]
first, last = psql("""select to_char(min(published_at), 'YYYY-MM-DD'), to_char(max(published_at), 'YYYY-MM-DD')
                      from articles where status = 'published'""")[0]


def pick(band):
    return random.choice(band) if band else random.choice(words)[0]


def traditional(text):
    return "".join(T.get(c, c) for c in text)


kinds = ["frequent", "mid", "rare", "two_char", "two_words", "traditional", "channel", "dates"]
queries = []
for i in range(COUNT):
    kind = kinds[i % len(kinds)]
    params = {}
    if kind == "frequent":
        params["q"] = pick(frequent)
    elif kind == "mid":
        params["q"] = pick(mid)
    elif kind == "rare":
        params["q"] = pick(rare)
    elif kind == "two_char":
        params["q"] = pick(two_char)
    elif kind == "two_words":
        params["q"] = f"{pick(random.choice([frequent, mid]))} {pick(random.choice([mid, rare]))}"
    elif kind == "traditional":
        word = pick(mid + frequent)
        for _ in range(20):
            if traditional(word) != word:
                break
            word = pick(mid + frequent)
        params["q"] = traditional(word)
    elif kind == "channel":
        params["q"] = pick(frequent + mid)
        params["channel"] = random.choice(channels)
    else:
        params["q"] = pick(frequent + mid)
        import datetime
        a = datetime.date.fromisoformat(first)
        b = datetime.date.fromisoformat(last)
        start = a + datetime.timedelta(days=random.randint(0, max(0, (b - a).days - 30)))
        params["from"] = start.isoformat()
        params["to"] = (start + datetime.timedelta(days=random.choice([7, 30, 90]))).isoformat()
    queries.append((kind, params))

paths = []
for kind, params in queries:
    base = urllib.parse.urlencode(params)
    for page in range(1, 6):
        paths.append((kind, "relevance", f"/search?{base}&order=relevance" + (f"&page={page}" if page > 1 else "")))
    # Newest first: the keyset of each page, as the site reads it. The
    # words of the query are its lexemes here (the site cuts typed text
    # the same way); 繁體 is matched through its Simplified form.
    words_of = [w for w in params["q"].split(" ")]
    simplified = {v: k for k, v in T.items()}
    lexemes = " & ".join("'" + "".join(simplified.get(c, c) for c in w).replace("'", "") + "'" for w in words_of)
    quoted = lexemes.replace("'", "''")
    where = ["status = 'published'", f"search_vector @@ to_tsquery('simple', '{quoted}')"]
    if "channel" in params:
        where.append(f"""channel_id in (with recursive t as (select id from channels where slug = '{params["channel"]}'
                         union all select c.id from channels c join t on c.parent_id = t.id) select id from t)""")
    if "from" in params:
        where.append(f"published_at >= '{params['from']}'::date::timestamp at time zone 'Asia/Shanghai'")
        where.append(f"published_at < ('{params['to']}'::date + 1)::timestamp at time zone 'Asia/Shanghai'")
    keys = psql(f"""select number from (select number, row_number() over (order by published_at desc, number desc) as n
                    from (select number, published_at from articles where {' and '.join(where)}
                          order by published_at desc, number desc limit 100) m) k where n % 20 = 0 order by n""")
    paths.append((kind, "newest", f"/search?{base}"))
    for (number,) in keys[:4]:
        paths.append((kind, "newest", f"/search?{base}&before={number}"))

with open(OUT, "w") as out:
    out.write("".join(f"{kind}\t{order}\t{path}\n" for kind, order, path in paths))
counts = {k: sum(1 for q in queries if q[0] == k) for k in kinds}
print(f"{len(paths)} search paths from {len(queries)} queries "
      f"({len(frequent)} frequent, {len(mid)} mid, {len(rare)} rare words in a sample of {sampled} stories): {counts}",
      file=sys.stderr)
