use crate::helpers::{TestApp, attrs, execute, location, spawn_app, spawn_app_with, texts};
use newsdesk::articles::public::tag_url;

#[tokio::test]
async fn an_unknown_page_gets_the_chinese_404_page() {
    let app = spawn_app().await;
    let (status, html) = app.page("/no/such/page").await;
    assert_eq!(status, 404);
    assert_eq!(texts(&html, "h1"), ["页面不存在"]);
    assert_eq!(attrs(&html, "main a", "href"), ["/"]);
}

#[tokio::test]
async fn a_missing_article_or_channel_is_not_found() {
    let app = spawn_app().await;
    for path in [
        "/articles/999999",
        "/articles/abc",
        "/channels/none",
        "/channels/yaowen?before=x",
    ] {
        let (status, html) = app.page(path).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(texts(&html, "h1"), ["页面不存在"], "{path}");
    }
}

#[tokio::test]
async fn an_empty_site_renders_its_layout() {
    let app = spawn_app().await;
    let (status, html) = app.page("/").await;
    assert_eq!(status, 200);
    assert_eq!(texts(&html, ".site-name"), ["电网新闻网"]);
    assert_eq!(texts(&html, ".channel-nav a"), ["首页"]);
    assert_eq!(texts(&html, ".latest .empty"), ["暂无已发布的稿件。"]);
}

#[tokio::test]
async fn the_footer_shows_the_copyright_setting() {
    let app = spawn_app().await;
    sqlx::query("update settings set value = '版权所有 © 测试网' where key = 'copyright'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, html) = app.page("/").await;
    assert_eq!(texts(&html, ".site-footer p"), ["版权所有 © 测试网"]);
}

#[tokio::test]
async fn demo_content_makes_a_living_site() {
    let app = spawn_app().await;
    let logins = newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    assert_eq!(logins.len(), 9);

    let (status, home) = app.page("/").await;
    assert_eq!(status, 200);
    let nav = texts(&home, ".channel-nav a");
    assert_eq!(nav, ["首页", "要闻", "电网", "科技", "党建"]);
    let titles = texts(&home, ".story-title a");
    assert_eq!(titles.len(), 6);
    assert_eq!(titles[0], "山东电网全力保障冬季电力供应", "newest first");

    // A story of a sub-channel is listed on its parent channel's page.
    let (status, channel) = app.page("/channels/dianwang").await;
    assert_eq!(status, 200);
    assert!(
        texts(&channel, ".story-title a")
            .contains(&"带电作业班组：在高压线上守护万家灯火".to_string())
    );
    assert_eq!(
        texts(&channel, ".sub-channels a"),
        ["企业风采", "电网建设", "基层动态"]
    );

    let link = attrs(&home, ".story-title a", "href")
        .into_iter()
        .find(|href| href.starts_with("/articles/"))
        .unwrap();
    let (_, first) = app.page(&link).await;
    assert_eq!(texts(&first, "h1.title"), ["山东电网全力保障冬季电力供应"]);
}

#[tokio::test]
async fn the_article_page_shows_breadcrumb_meta_and_sanitised_body() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    sqlx::query(
        "update articles set body_html = '<p onclick=\"x()\">正文<script>alert(1)</script></p>',
                published_at = '2021-07-14 06:26:54+00'
         where title = '带电作业班组：在高压线上守护万家灯火'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let number: i64 =
        sqlx::query_scalar("select number from articles where title like '带电作业班组%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();

    let (status, html) = app.page(&format!("/articles/{number}")).await;
    assert_eq!(status, 200);
    assert_eq!(texts(&html, ".breadcrumb a"), ["首页", "电网", "企业风采"]);
    let meta = texts(&html, ".meta").join(" ");
    assert!(
        meta.contains("2021-07-14 14:26"),
        "shown in Asia/Shanghai: {meta}"
    );
    assert!(meta.contains("来源：国网威海供电公司"), "{meta}");
    assert!(
        meta.contains("通讯员：李明"),
        "credited from the byline: {meta}"
    );
    assert!(!meta.contains("作者："), "no other author credited: {meta}");
    assert!(meta.contains("单位：带电作业中心"), "{meta}");
    let body = scraper::Selector::parse(".article-body").unwrap();
    let body = html.select(&body).next().unwrap().inner_html();
    assert_eq!(body, "<p>正文</p>");
    assert_eq!(texts(&html, ".channel-nav a.active"), ["电网"]);
}

#[tokio::test]
async fn stories_not_published_appear_on_no_public_surface() {
    // Without the page cache: the status changes below bypass the app.
    let app = spawn_app_with(|config| config.page_cache_mb = 0).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (id, number, title): (uuid::Uuid, i64, String) =
        sqlx::query_as("select id, number, title from articles where title like '苏州供电%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    // A neighbour in the same channel that shares every tag of the story:
    // while the story is public it is the neighbour's related and adjacent.
    let neighbour = sharing_every_tag(&app, id, "同栏目的另一篇稿件", Some("1 hour")).await;
    let (tag, unit, author, channel): (String, uuid::Uuid, uuid::Uuid, String) = sqlx::query_as(
        "select t.name, a.unit_id, aa.author_id, c.slug from articles a
         join article_tags at on at.article_id = a.id join tags t on t.id = at.tag_id
         join article_authors aa on aa.article_id = a.id join channels c on c.id = a.channel_id
         where a.id = $1 limit 1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let word = "一网通办";
    let surfaces = [
        "/".to_string(),
        format!("/channels/{channel}"),
        tag_url(&tag),
        format!("/units/{unit}"),
        format!("/authors/{author}"),
        format!("/search?q={word}"),
        "/feed.xml".to_string(),
        "/sitemap.xml".to_string(),
        format!("/articles/{neighbour}"),
        "/zh-hant/".to_string(),
        "/api/v1/stories?limit=100".to_string(),
        format!("/api/v1/stories?channel={channel}"),
        format!(
            "/api/v1/stories?{}",
            serde_urlencoded::to_string([("tag", &tag)]).unwrap()
        ),
        format!("/api/v1/stories?unit={unit}"),
        format!("/api/v1/stories?author={author}"),
        format!("/api/v1/search?q={word}"),
        format!("/api/v1/stories/{neighbour}"),
    ];
    let shows = |body: &str| {
        body.contains(&title)
            || body.contains(&format!("/articles/{number}\""))
            || body.contains(&format!("/articles/{number}<"))
    };
    for path in &surfaces {
        let body = app.get(path).await.text().await.unwrap();
        assert!(shows(&body), "while published, {path} shows the story");
    }
    for (status, published_at) in [
        ("draft", "null"),
        ("in_review", "null"),
        ("scheduled", "now() + interval '1 day'"),
        ("unpublished", "published_at"),
    ] {
        sqlx::query(&format!(
            "update articles set status = '{status}', published_at = {published_at} where id = $1"
        ))
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
        assert_eq!(
            app.page(&format!("/articles/{number}")).await.0,
            404,
            "{status}"
        );
        assert_eq!(
            app.get(&format!("/api/v1/stories/{number}")).await.status(),
            404,
            "{status} in the API"
        );
        for path in &surfaces {
            let body = app.get(path).await.text().await.unwrap();
            assert!(!shows(&body), "a story {status} shows on {path}");
        }
        sqlx::query(
            "update articles set status = 'published', published_at = now() - interval '5 hours' where id = $1",
        )
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    }
}

#[tokio::test]
async fn channel_pages_are_paginated_by_keyset() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    // 45 more stories in 要闻, one a minute apart.
    sqlx::query(
        "insert into articles (channel_id, unit_id, created_by, title, status, published_at)
         select c.id, u.unit_id, u.id, '要闻第' || n || '条', 'published', now() - n * interval '1 minute'
         from channels c, users u, generate_series(1, 45) n
         where c.slug = 'yaowen' and u.username = 'admin'",
    )
    .execute(&app.pool)
    .await
    .unwrap();

    let mut seen = Vec::new();
    let mut path = Some("/channels/yaowen".to_string());
    while let Some(current) = path {
        let (status, html) = app.page(&current).await;
        assert_eq!(status, 200);
        seen.extend(texts(&html, ".story-title a"));
        path = attrs(&html, ".pager a", "href").into_iter().next();
    }
    assert_eq!(seen.len(), 46, "every story once");
    assert_eq!(seen[0], "要闻第1条");
    let unique: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(unique.len(), 46);
}

#[tokio::test]
async fn seeding_refuses_a_database_that_has_users() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let error = newsdesk::seed::seed_demo(&app.pool)
        .await
        .err()
        .expect("second seed refused");
    assert!(error.to_string().contains("already has users"));
    let stories: i64 = sqlx::query_scalar("select count(*) from articles")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stories, 13, "nothing added twice");
}

#[tokio::test]
async fn an_internal_failure_gets_the_chinese_500_page_without_its_cause() {
    let app = spawn_app().await;
    sqlx::query("drop table settings")
        .execute(&app.pool)
        .await
        .unwrap();
    let response = app.get("/").await;
    assert_eq!(response.status().as_u16(), 500);
    let body = response.text().await.unwrap();
    let html = scraper::Html::parse_document(&body);
    assert_eq!(texts(&html, "h1"), ["服务器内部错误"]);
    assert!(!body.contains("settings"), "the cause is logged, not shown");
}

#[tokio::test]
async fn the_article_page_shows_its_whole_anatomy() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    // Two 要闻 stories, one older; they share a tag; a third is recommended.
    sqlx::query(
        "insert into articles (channel_id, unit_id, created_by, title, status, published_at, is_recommended)
         select channel_id, unit_id, created_by, '较早的要闻', 'published', published_at - interval '1 day', false
         from articles where title = '山东电网全力保障冬季电力供应'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into article_tags (article_id, tag_id, position)
         select a.id, t.id, 5 from articles a, tags t where a.title = '较早的要闻' and t.name = '迎峰度冬'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query("update articles set is_recommended = true where title like '苏南%'")
        .execute(&app.pool)
        .await
        .unwrap();
    let number: i64 = sqlx::query_scalar(
        "select number from articles where title = '山东电网全力保障冬季电力供应'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let path = format!("/articles/{number}");

    let (_, first) = app.page(&path).await;
    let (_, html) = app.page(&path).await;
    let views = |html: &scraper::Html| texts(html, ".views").join("");
    let (before, after) = (views(&first), views(&html));
    assert_ne!(
        before, after,
        "each reading is counted: {before} then {after}"
    );

    assert_eq!(texts(&html, ".tags .tag"), ["迎峰度冬", "电力保供"]);
    assert_eq!(texts(&html, ".editors"), ["责编：陈编辑 刘总编"]);
    // The copyright line is the footer's alone, not said twice.
    assert!(texts(&html, ".site-footer p")[0].starts_with("版权所有"));
    assert!(texts(&html, ".article-foot .copyright").is_empty());
    assert_eq!(texts(&html, ".prev-next a[rel=prev]"), ["较早的要闻"]);
    assert_eq!(texts(&html, ".prev-next p")[1], "下一篇：没有了");
    let related = texts(&html, ".related li a");
    assert_eq!(related[0], "较早的要闻", "a shared tag ranks first");
    // Each with its date in the site's zone, as computed and as kept.
    let date: String = sqlx::query_scalar(
        "select to_char(published_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD')
         from articles where title = '较早的要闻'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(texts(&first, ".related li time")[0], date);
    assert_eq!(texts(&html, ".related li time")[0], date);
    assert_eq!(
        texts(&html, ".related li time").len(),
        related.len(),
        "every related story has its date"
    );
    assert!(
        related.contains(&"配电网故障自愈技术在杭州全面推广".to_string()),
        "a story sharing title words (电网) relates without a tag: {related:?}"
    );
    assert_eq!(
        texts(&html, ".recommended li a"),
        ["苏南五百千伏输变电工程全线贯通"]
    );
    // 听新闻 reads the title and the body, as the page shows them.
    let read = attrs(&html, "#listen", "data-read");
    let read = scraper::Selector::parse(&read[0]).unwrap();
    let spoken: Vec<String> = html
        .select(&read)
        .map(|part| part.text().collect::<String>())
        .collect();
    assert_eq!(spoken.len(), 2, "{spoken:?}");
    assert_eq!(spoken[0], "山东电网全力保障冬季电力供应");
    assert!(spoken[1].starts_with("本报讯"), "{spoken:?}");
    assert_eq!(
        attrs(&html, "meta[property='og:title']", "content"),
        ["山东电网全力保障冬季电力供应"]
    );

    let lonely: i64 =
        sqlx::query_scalar("select number from articles where title like '党员服务队%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    sqlx::query(
        "insert into articles (channel_id, unit_id, created_by, title, status, published_at)
         select channel_id, unit_id, created_by, '冰雪奇缘观后感', 'published', published_at
         from articles where number = $1",
    )
    .bind(lonely)
    .execute(&app.pool)
    .await
    .unwrap();
    let lonely: i64 =
        sqlx::query_scalar("select number from articles where title = '冰雪奇缘观后感'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let (_, html) = app.page(&format!("/articles/{lonely}")).await;
    assert_eq!(texts(&html, ".related .empty"), ["无相关信息"]);
}

#[tokio::test]
async fn tag_unit_and_author_pages_list_their_stories() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let number: i64 =
        sqlx::query_scalar("select number from articles where title like '带电作业班组%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let (_, article) = app.page(&format!("/articles/{number}")).await;

    let tag = attrs(&article, ".tags a.tag", "href")
        .into_iter()
        .next()
        .unwrap();
    let (status, html) = app.page(&tag).await;
    assert_eq!(status, 200);
    assert_eq!(texts(&html, "h1"), ["标签：带电作业"]);
    assert_eq!(
        texts(&html, ".story-title a"),
        ["带电作业班组：在高压线上守护万家灯火"]
    );

    // 国网山东电力 holds the stories of its own and of the units below it.
    let shandong: uuid::Uuid =
        sqlx::query_scalar("select id from units where name = '国网山东电力'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let (_, html) = app.page(&format!("/units/{shandong}")).await;
    let titles = texts(&html, ".story-title a");
    assert_eq!(titles.len(), 3, "{titles:?}");
    assert!(titles.contains(&"带电作业班组：在高压线上守护万家灯火".to_string()));

    let correspondent = attrs(&article, ".correspondents a", "href");
    assert_eq!(correspondent.len(), 1);
    let (_, html) = app.page(&correspondent[0]).await;
    assert_eq!(texts(&html, "h1"), ["作者：李明"]);
    assert!(
        texts(&html, ".story-title a")
            .contains(&"带电作业班组：在高压线上守护万家灯火".to_string())
    );

    assert_eq!(app.page("/tags/不存在的标签").await.0, 404);
    assert_eq!(
        app.page("/units/00000000-0000-0000-0000-000000000000")
            .await
            .0,
        404
    );
}

/// Sets the readings of the stories titled like `title` on the day
/// `days_ago` days before today (Asia/Shanghai) to `views`; a story without
/// a total gets one, which the day's count belongs to (migration 0031).
async fn read_on(app: &TestApp, title: &str, days_ago: i32, views: i64) {
    execute!(
        app,
        "with story as (
             select id from articles where title like $1
         ), total as (
             insert into article_totals (article_id, views) select id, $3 from story
             on conflict do nothing
         )
         insert into article_views (article_id, day, views)
         select id, (now() at time zone 'Asia/Shanghai')::date - $2, $3 from story
         on conflict (article_id, day) do update set views = $3",
        title,
        days_ago,
        views
    );
}

#[tokio::test]
async fn the_home_page_has_its_headline_channels_and_rankings() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    sqlx::query("update articles set is_recommended = true where title like '苏南%'")
        .execute(&app.pool)
        .await
        .unwrap();
    read_on(&app, "苏州供电%", 2, 9999).await;
    let (status, home) = app.page("/").await;
    assert_eq!(status, 200);
    assert_eq!(
        texts(&home, ".headline-title a"),
        ["山东电网全力保障冬季电力供应"],
        "the 头条"
    );
    assert_eq!(
        texts(&home, ".recommended-slot li a"),
        ["苏南五百千伏输变电工程全线贯通"]
    );
    let blocks = texts(&home, ".channel-block .block-title a:first-child");
    assert_eq!(blocks, ["要闻", "电网", "科技", "党建"]);
    let dianwang = texts(&home, ".channel-block:nth-child(2) .title-list a");
    assert_eq!(
        dianwang.len(),
        3,
        "stories of the sub-channels count: {dianwang:?}"
    );
    let week = scraper::Selector::parse(".rankings ol").unwrap();
    let top_of_week = home
        .select(&week)
        .nth(1)
        .unwrap()
        .text()
        .collect::<String>();
    assert!(
        top_of_week
            .trim_start()
            .starts_with("苏州供电推出“一网通办”用电服务"),
        "{top_of_week}"
    );
}

#[tokio::test]
async fn rankings_are_kept_a_minute_but_withdrawn_stories_leave_them_at_once() {
    let app = spawn_app_with(|config| config.page_cache_mb = 0).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let read_today = |title: &'static str, views: i64| read_on(&app, title, 0, views);
    let today = || async {
        let (status, home) = app.page("/").await;
        assert_eq!(status, 200);
        let list = scraper::Selector::parse(".rankings ol").unwrap();
        let link = scraper::Selector::parse("a").unwrap();
        let today = home.select(&list).next().unwrap();
        today
            .select(&link)
            .map(|a| a.text().collect::<String>())
            .collect::<Vec<_>>()
    };
    // Only these readings today: the demo's own fall on today too at some
    // hours of the day.
    sqlx::query("delete from article_views")
        .execute(&app.pool)
        .await
        .unwrap();
    read_today("苏州供电%", 500).await;
    read_today("山东电网%", 300).await;
    let ranked = today().await;
    assert_eq!(ranked.len(), 2, "{ranked:?}");
    assert!(ranked[0].starts_with("苏州供电"), "{ranked:?}");

    // Readings counted since do not reorder the lists within the minute,
    // however often the page is rendered again.
    read_today("山东电网%", 900).await;
    assert_eq!(today().await, ranked);

    // A withdrawn story leaves them at once.
    sqlx::query("update articles set status = 'unpublished' where title like '苏州供电%'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(today().await, ranked[1..]);
}

#[tokio::test]
async fn every_public_page_has_a_traditional_twin() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    sqlx::query(
        "update articles set title = '国家干部的头发与皇后的一只猫' where title like '党员服务队%'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let (_, simplified) = app.page("/").await;
    assert_eq!(
        attrs(&simplified, "a.variant-switch", "href"),
        ["/zh-hant/"]
    );
    assert_eq!(
        attrs(&simplified, "link[hreflang='zh-Hant']", "href"),
        ["/zh-hant/"]
    );

    let (status, home) = app.page("/zh-hant/").await;
    assert_eq!(status, 200);
    assert_eq!(texts(&home, ".site-name"), ["電網新聞網"]);
    assert_eq!(attrs(&home, "html", "lang"), ["zh-Hant"]);
    assert_eq!(attrs(&home, "a.variant-switch", "href"), ["/"]);
    assert!(
        attrs(&home, ".channel-nav a", "href").contains(&"/zh-hant/channels/yaowen".to_string())
    );
    let css = attrs(&home, "link[rel=stylesheet]", "href");
    assert!(css[0].starts_with("/static/"), "files are shared: {css:?}");
    assert!(texts(&home, ".story-title a").contains(&"國家幹部的頭髮與皇后的一隻貓".to_string()));

    let number: i64 =
        sqlx::query_scalar("select number from articles where title like '国家干部%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let (status, article) = app.page(&format!("/zh-hant/articles/{number}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        texts(&article, "h1.title"),
        ["國家幹部的頭髮與皇后的一隻貓"]
    );
    assert_eq!(
        attrs(&article, "a.variant-switch", "href"),
        [format!("/articles/{number}")]
    );
    let (status, missing) = app.page("/zh-hant/no-such-page").await;
    assert_eq!(status, 404);
    assert_eq!(texts(&missing, "h1"), ["頁面不存在"]);
}

#[tokio::test]
async fn the_feed_and_the_sitemap_list_published_stories_escaped() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    sqlx::query("update articles set title = '电网<建设> & 安全' where title like '苏南%'")
        .execute(&app.pool)
        .await
        .unwrap();
    let response = app.get("/feed.xml").await;
    assert_eq!(
        response.headers()["content-type"],
        "application/xml; charset=utf-8"
    );
    let feed = response.text().await.unwrap();
    assert_eq!(feed.matches("<item>").count(), 6, "published stories only");
    assert!(
        feed.contains("电网&#60;建设&#62; &#38; 安全")
            || feed.contains("电网&lt;建设&gt; &amp; 安全"),
        "{feed}"
    );
    assert!(
        !feed.contains("带电作业中心开展冬季安全培训"),
        "drafts stay out"
    );
    let sitemap = app.get("/sitemap.xml").await.text().await.unwrap();
    let channels: i64 = sqlx::query_scalar("select count(*) from channels where active")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        sitemap.matches("<url>").count() as i64,
        2 * (1 + channels + 6),
        "home, the active channels and six stories, each in both scripts"
    );
    let (number, published): (i64, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as("select number, published_at from articles where title like '山东电网%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let local = published
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    assert!(local.ends_with("+08:00"));
    for loc in [
        format!("/articles/{number}</loc><lastmod>{local}</lastmod>"),
        format!("/zh-hant/articles/{number}</loc><lastmod>{local}</lastmod>"),
        "/channels/yaowen</loc>".to_string(),
        "/zh-hant/channels/yaowen</loc>".to_string(),
        format!(
            "hreflang=\"zh-Hant\" href=\"{}/zh-hant/articles/{number}\"",
            app.url("")
        ),
    ] {
        assert!(sitemap.contains(&loc), "{loc} in {sitemap}");
    }

    let robots = app.get("/robots.txt").await;
    assert_eq!(robots.status(), 200);
    assert_eq!(
        robots.headers()["content-type"],
        "text/plain; charset=utf-8"
    );
    let robots = robots.text().await.unwrap();
    for line in [
        "User-agent: *",
        "Disallow: /admin/",
        "Disallow: /zh-hant/account",
    ] {
        assert!(robots.lines().any(|l| l == line), "{line} in {robots}");
    }
    assert!(
        robots.contains(&format!("Sitemap: {}/sitemap.xml", app.url(""))),
        "{robots}"
    );
}

#[tokio::test]
async fn chief_editors_curate_special_topics_in_their_order() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let numbers: Vec<i64> = sqlx::query_scalar(
        "select number from articles where title like '山东电网%' or title like '苏南%' order by title",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let editor = app.other_client();
    editor.login_as("editor_a", "editor").await;
    assert_eq!(
        editor
            .post(
                "/admin/topics",
                &[("title", "迎峰度冬"), ("slug", "dudong")]
            )
            .await
            .status()
            .as_u16(),
        403
    );

    app.login_as("chief", "chief_editor").await;
    let response = app
        .post(
            "/admin/topics",
            &[("title", "迎峰度冬保供电"), ("slug", "dudong")],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let edit = crate::helpers::location(&response);
    let (status, html) = app
        .post_page("/admin/topics", &[("title", "重复"), ("slug", "dudong")])
        .await;
    assert_eq!(status, 422);
    assert_eq!(texts(&html, ".alert.error"), ["专题标识已被使用。"]);

    for number in &numbers {
        let number = number.to_string();
        assert_eq!(
            app.post(&format!("{edit}/stories"), &[("number", &number)])
                .await
                .status()
                .as_u16(),
            303
        );
    }
    let (status, _) = app
        .post_page(&format!("{edit}/stories"), &[("number", "999999")])
        .await;
    assert_eq!(status, 422);
    let (_, public) = app.page("/topics/dudong").await;
    let first_order = texts(&public, ".topic-stories .story-title a");
    assert_eq!(first_order.len(), 2);

    // Move the second story up: the order flips.
    let (_, page) = app.page(&edit).await;
    let arrange = attrs(&page, ".topic-stories form", "action");
    let second = &arrange[3];
    assert_eq!(
        app.post(second, &[("action", "up")])
            .await
            .status()
            .as_u16(),
        303
    );
    let (_, public) = app.page("/topics/dudong").await;
    let flipped = texts(&public, ".topic-stories .story-title a");
    assert_eq!(flipped, [first_order[1].clone(), first_order[0].clone()]);
    let (_, home) = app.page("/").await;
    assert_eq!(texts(&home, ".topics li a"), ["迎峰度冬保供电"]);

    // A topic taken offline disappears for readers.
    assert_eq!(
        app.post(&edit, &[("title", "迎峰度冬保供电"), ("slug", "dudong")])
            .await
            .status()
            .as_u16(),
        303
    );
    assert_eq!(app.page("/topics/dudong").await.0, 404);
}

#[tokio::test]
async fn readers_find_published_stories_by_words_in_either_script() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (status, html) = app.page("/search?q=故障自愈").await;
    assert_eq!(status, 200);
    assert_eq!(
        texts(&html, ".search-results .story-title a"),
        ["配电网故障自愈技术在杭州全面推广"]
    );
    assert!(
        !texts(&html, ".snippet mark").is_empty(),
        "the words are marked in the snippet"
    );

    let (_, traditional) = app.page("/search?q=故障自癒").await;
    assert_eq!(
        texts(&traditional, ".search-results .story-title a"),
        ["配电网故障自愈技术在杭州全面推广"]
    );

    let (_, drafts) = app.page("/search?q=安全培训").await;
    assert!(
        !texts(&drafts, ".search-results .story-title a")
            .contains(&"带电作业中心开展冬季安全培训".to_string()),
        "drafts are not found"
    );
    let (_, nothing) = app.page("/search?q=火星探测").await;
    assert_eq!(
        texts(&nothing, ".empty"),
        ["没有找到与“火星探测”相关的稿件。"]
    );

    // Stories stored before search existed are indexed at start-up.
    sqlx::query("update articles set search_vector = null")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(newsdesk::search::backfill(&app.pool).await.unwrap(), 13);
    let (_, again) = app.page("/search?q=故障自愈").await;
    assert_eq!(
        texts(&again, ".search-results .story-title a").len(),
        1,
        "backfilled"
    );
    let (status, _) = app.page("/zh-hant/search?q=電網").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_names_in_a_byline_find_their_stories() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let mut bylined: Vec<String> = sqlx::query_scalar(
        "select title from articles where status = 'published'
           and (author_byline like '%陈静%' or correspondents like '%陈静%')",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    bylined.sort();
    assert!(!bylined.is_empty());
    // Only the byline says the name: no title or text would find it.
    let elsewhere: i64 = sqlx::query_scalar(
        "select count(*) from articles where title || summary || body_text like '%陈静%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(elsewhere, 0);
    let found = |html: &scraper::Html| {
        let mut titles = texts(html, ".search-results .story-title a");
        titles.sort();
        titles
    };
    for query in ["/search?q=陈静", "/search?q=陳靜", "/zh-hant/search?q=陳靜"] {
        let (status, html) = app.page(query).await;
        assert_eq!(status, 200, "{query}");
        let expected: Vec<String> = if query.starts_with("/zh-hant") {
            bylined.iter().map(hanconv::s2t).collect()
        } else {
            bylined.clone()
        };
        let mut expected = expected;
        expected.sort();
        assert_eq!(found(&html), expected, "{query}");
    }
    // A story's vector as stored before bylines were indexed: the
    // migration gives it its names.
    sqlx::query("update articles set search_vector = ts_filter(search_vector, '{a,b}')")
        .execute(&app.pool)
        .await
        .unwrap();
    // (Each its own address, so no cached page answers.)
    let (_, before) = app.page("/search?q=%20陈静").await;
    assert!(found(&before).is_empty());
    sqlx::raw_sql(include_str!("../../migrations/0039_search_bylines.sql"))
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, after) = app.page("/search?q=陈静%20").await;
    assert_eq!(found(&after), bylined);
}

#[tokio::test]
async fn search_filters_by_channel_unit_and_date_and_ranks_by_relevance() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    // Thirty stories mention 电网 once in the body, newer than the one with
    // 电网 in its title and body many times.
    sqlx::query(
        "insert into articles (channel_id, unit_id, created_by, title, body_text, status, published_at, search_vector)
         select a.channel_id, a.unit_id, a.created_by, '普通稿件' || g, '提到电网一次', 'published',
                now() - make_interval(mins => g),
                setweight(to_tsvector('simple', '普通 稿件'), 'A') || setweight(to_tsvector('simple', '提到 电网 一次'), 'B')
         from articles a, generate_series(1, 30) g where a.title like '配电网故障自愈%'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "update articles set search_vector = setweight(to_tsvector('simple', '电网 电网 大事'), 'A')
                                           || setweight(to_tsvector('simple', '电网 电网 电网 电网'), 'B'),
                             published_at = now() - interval '3 days'
         where title like '山东电网%'",
    )
    .execute(&app.pool)
    .await
    .unwrap();

    let (_, newest) = app.page("/search?q=电网").await;
    let titles = texts(&newest, ".search-results .story-title a");
    assert_eq!(titles.len(), 20, "one page");
    assert!(
        titles[0].starts_with("普通稿件"),
        "newest first: {titles:?}"
    );
    assert!(
        texts(&newest, ".found")[0].starts_with("找到 "),
        "{:?}",
        texts(&newest, ".found")
    );
    let next = attrs(&newest, ".pager a[rel=next]", "href");
    assert!(next[0].contains("before="), "{next:?}");
    let (_, older) = app.page(&next[0]).await;
    let older_titles = texts(&older, ".search-results .story-title a");
    assert!(!older_titles.is_empty());
    assert!(
        older_titles.iter().all(|t| !titles.contains(t)),
        "the next page continues: {older_titles:?}"
    );

    let (_, ranked) = app.page("/search?q=电网&order=relevance").await;
    let ranked_titles = texts(&ranked, ".search-results .story-title a");
    assert!(
        ranked_titles[0].contains("电网") && !ranked_titles[0].starts_with("普通稿件"),
        "a story with the word in its title before newer ones without: {ranked_titles:?}"
    );
    assert!(
        ranked_titles.contains(&"山东电网全力保障冬季电力供应".to_string()),
        "{ranked_titles:?}"
    );
    let next = attrs(&ranked, ".pager a[rel=next]", "href");
    assert!(
        next[0].contains("order=relevance") && next[0].contains("page=2"),
        "{next:?}"
    );
    let (_, second) = app.page(&next[0]).await;
    assert!(!texts(&second, ".search-results .story-title a").is_empty());

    // Channel (with sub-channels), unit and date filters.
    let (_, keji) = app.page("/search?q=电网&channel=keji").await;
    let keji_titles = texts(&keji, ".search-results .story-title a");
    assert!(
        keji_titles
            .iter()
            .all(|t| t.starts_with("普通稿件") || t.starts_with("配电网")),
        "{keji_titles:?}"
    );
    assert_eq!(texts(&keji, ".found"), ["找到 31 条结果"]);
    let shandong: String =
        sqlx::query_scalar("select id::text from units where name = '国网山东电力'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let (_, by_unit) = app.page(&format!("/search?q=电网&unit={shandong}")).await;
    let unit_titles = texts(&by_unit, ".search-results .story-title a");
    assert!(unit_titles.contains(&"山东电网全力保障冬季电力供应".to_string()));
    assert!(
        !unit_titles.iter().any(|t| t.starts_with("苏南")),
        "{unit_titles:?}"
    );
    let day = (chrono::Utc::now() - chrono::Duration::days(3))
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string();
    let (_, dated) = app
        .page(&format!("/search?q=电网&from={day}&to={day}"))
        .await;
    assert_eq!(
        texts(&dated, ".search-results .story-title a"),
        ["山东电网全力保障冬季电力供应"]
    );
    let (status, bad) = app.page("/search?q=电网&from=2026-13-45").await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&bad, ".alert.error"),
        ["日期格式应为 年-月-日，例如 2026-01-31。"]
    );
    assert_eq!(attrs(&bad, "input[name=from]", "value"), ["2026-13-45"]);
}

#[tokio::test]
async fn related_stories_of_a_popular_tag_are_those_published_near_the_story() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    // 300 stories of one tag, one a day: 时间稿件1 is the newest.
    sqlx::raw_sql(
        "insert into tags (name) values ('时间测试');
         insert into articles (channel_id, unit_id, created_by, title, status, published_at)
         select channel_id, unit_id, created_by, '时间稿件' || n, 'published',
                now() - make_interval(days => n)
         from articles, generate_series(1, 300) n
         where title = '山东电网全力保障冬季电力供应';
         insert into article_tags (article_id, tag_id, position)
         select a.id, t.id, 0 from articles a, tags t
         where a.title like '时间稿件%' and t.name = '时间测试';",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let related = |n: i32| {
        let app = &app;
        async move {
            let number: i64 = sqlx::query_scalar("select number from articles where title = $1")
                .bind(format!("时间稿件{n}"))
                .fetch_one(&app.pool)
                .await
                .unwrap();
            let (_, html) = app.page(&format!("/articles/{number}")).await;
            texts(&html, ".related li a")
                .into_iter()
                .map(|title| title.trim_start_matches("时间稿件").parse::<i32>().unwrap())
                .collect::<Vec<_>>()
        }
    };
    let old = related(250).await;
    let recent = related(20).await;
    assert_eq!(old.len(), 6);
    assert!(
        old.iter().all(|n| (200..=300).contains(n)),
        "a story of 250 days ago relates to stories near its date: {old:?}"
    );
    assert!(
        recent.iter().all(|n| (1..=70).contains(n)),
        "a story of 20 days ago relates to stories near its date: {recent:?}"
    );

    // The time beside a tag follows the story: none while it is a draft,
    // its publication time once published, none again once withdrawn.
    let tagged_at = |state: &'static str| {
        let app = &app;
        async move {
            sqlx::query(
                "update articles set status = $1,
                        published_at = case when $1 = 'published' then now() else published_at end
                 where title = '时间稿件300'",
            )
            .bind(state)
            .execute(&app.pool)
            .await
            .unwrap();
            sqlx::query_scalar::<_, Option<chrono::DateTime<chrono::Utc>>>(
                "select t.published_at from article_tags t join articles a on a.id = t.article_id
                 where a.title = '时间稿件300'",
            )
            .fetch_one(&app.pool)
            .await
            .unwrap()
        }
    };
    assert!(tagged_at("unpublished").await.is_none());
    assert!(tagged_at("published").await.is_some());
    assert!(tagged_at("draft").await.is_none());
}

#[tokio::test]
async fn a_channel_page_shows_its_path_and_active_sub_channels() {
    let app = spawn_app_with(|config| config.page_cache_mb = 0).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (status, html) = app.page("/channels/qiye-fengcai").await;
    assert_eq!(status, 200);
    assert_eq!(texts(&html, ".breadcrumb a"), ["首页", "电网", "企业风采"]);
    let (_, html) = app.page("/channels/dianwang").await;
    assert_eq!(
        texts(&html, ".sub-channels a"),
        ["企业风采", "电网建设", "基层动态"]
    );

    // Deactivated elsewhere (another instance, a command): gone at once.
    sqlx::query("update channels set active = false where slug = 'dianwang-jianshe'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, html) = app.page("/channels/dianwang").await;
    assert_eq!(texts(&html, ".sub-channels a"), ["企业风采", "基层动态"]);
    let (status, _) = app.page("/channels/dianwang-jianshe").await;
    assert_eq!(status, 404, "an inactive channel has no page");
}

#[tokio::test]
async fn settings_changed_elsewhere_reach_the_public_pages_at_once() {
    let (app, _, number) = uncached_demo_story("山东电网全力保障冬季电力供应").await;
    let (_, html) = app.page(&format!("/articles/{number}")).await;
    assert_eq!(texts(&html, ".site-name"), ["电网新闻网"]);

    // Another instance or a command changes the settings: the instance's
    // copy, kept with the trees, is not used once the change is committed.
    sqlx::query(
        "update settings set value = case key when 'site_name' then '新网站'
                                          else 'Asia/Urumqi' end
         where key in ('site_name', 'time_zone')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let published: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("select published_at from articles where number = $1")
            .bind(number)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let local = published
        .with_timezone(&chrono_tz::Asia::Urumqi)
        .format("%Y-%m-%d %H:%M")
        .to_string();
    let (_, html) = app.page(&format!("/articles/{number}")).await;
    assert_eq!(texts(&html, ".site-name"), ["新网站"]);
    assert_eq!(texts(&html, ".meta time"), [local]);
    let (_, html) = app.page("/search?q=电网").await;
    assert_eq!(texts(&html, ".site-name"), ["新网站"]);
}

#[tokio::test]
async fn related_lists_are_kept_and_computed_again_when_stale() {
    let (app, id, number) = uncached_demo_story("山东电网全力保障冬季电力供应").await;
    let path = format!("/articles/{number}");
    let related = || async {
        let (status, html) = app.page(&path).await;
        assert_eq!(status, 200);
        attrs(&html, ".related li a", "href")
    };
    let kept = || async {
        let numbers: Vec<i64> =
            sqlx::query_scalar("select related from article_page_parts where article_id = $1")
                .bind(id)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        numbers
            .iter()
            .map(|n| format!("/articles/{n}"))
            .collect::<Vec<_>>()
    };
    let computed = related().await;
    assert!(!computed.is_empty(), "the demo story has related stories");
    assert_eq!(kept().await, computed, "the list shown is kept");

    // A kept list is what the next page shows, as the stories are now.
    let other: i64 = sqlx::query_scalar(
        "select number from articles where status = 'published' and number <> $1
           and not (number = any($2)) order by number limit 1",
    )
    .bind(number)
    .bind(
        computed
            .iter()
            .map(|href| href["/articles/".len()..].parse::<i64>().unwrap())
            .collect::<Vec<_>>(),
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    execute!(
        app,
        "update article_page_parts set related = array[$2::bigint],
                related_titles = array['留存的标题'], links = links || $2::bigint
         where article_id = $1",
        id,
        other
    );
    let (_, html) = app.page(&path).await;
    assert_eq!(texts(&html, ".related li a"), ["留存的标题"]);
    assert_eq!(related().await, [format!("/articles/{other}")]);
    execute!(
        app,
        "update articles set status = 'unpublished' where number = $1",
        other
    );
    assert_eq!(
        related().await,
        computed,
        "a withdrawn story leaves a kept list at once"
    );

    // A change to the story computes the list again.
    execute!(
        app,
        "update articles set summary = summary || '。' where id = $1",
        id
    );
    assert_eq!(related().await, computed);
    assert_eq!(kept().await, computed);

    // So does the passing of a day, for stories sharing title words.
    execute!(
        app,
        "update article_page_parts set related = array[$2::bigint],
                computed_at = now() - interval '25 hours' where article_id = $1",
        id,
        other
    );
    assert_eq!(related().await, computed);

    // A story published on one of its tags enters the list at once.
    let fresh = sharing_every_tag(&app, id, "新发布的同标签稿件", None).await;
    assert_eq!(related().await, computed, "not while it is unpublished");
    execute!(
        app,
        "update articles set status = 'published', published_at = now() where number = $1",
        fresh
    );
    let shown = related().await;
    assert_eq!(
        shown[0],
        format!("/articles/{fresh}"),
        "sharing every tag, it ranks first: {shown:?}"
    );
    assert_eq!(kept().await, shown);

    // Withdrawn again, it leaves the list, which takes the next story.
    execute!(
        app,
        "update articles set status = 'unpublished' where number = $1",
        fresh
    );
    assert_eq!(related().await, computed);
}

#[tokio::test]
async fn stories_without_page_parts_get_them_in_the_background() {
    let app = spawn_app_with(|config| config.page_cache_mb = 0).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let published: i64 =
        sqlx::query_scalar("select count(*) from articles where status = 'published'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let key = app.secret.as_bytes();
    let kept = newsdesk::articles::parts::keep_missing_parts(&app.pool, key)
        .await
        .unwrap();
    assert_eq!(kept as i64, published, "parts for each published story");
    assert_eq!(
        newsdesk::articles::parts::keep_missing_parts(&app.pool, key)
            .await
            .unwrap(),
        0,
        "a story with parts is left alone"
    );
    let unsealed: i64 =
        sqlx::query_scalar("select count(*) from article_page_parts where body_seal is null")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(unsealed, 0, "the demo's bodies need no sanitising again");

    // The kept list is the one the page would rank.
    let (id, number): (uuid::Uuid, i64) = sqlx::query_as(
        "select id, number from articles where title = '山东电网全力保障冬季电力供应'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let kept: Vec<i64> =
        sqlx::query_scalar("select related from article_page_parts where article_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(!kept.is_empty());
    execute!(
        app,
        "delete from article_page_parts where article_id = $1",
        id
    );
    let (_, html) = app.page(&format!("/articles/{number}")).await;
    let ranked: Vec<String> = kept.iter().map(|n| format!("/articles/{n}")).collect();
    assert_eq!(attrs(&html, ".related li a", "href"), ranked);
}

/// A new story in the channel and unit of story `id`, carrying every one of
/// its tags: published `earlier` (an interval) before it, or approved and
/// not yet published when `None`. Returns its number.
async fn sharing_every_tag(
    app: &TestApp,
    id: uuid::Uuid,
    title: &str,
    earlier: Option<&str>,
) -> i64 {
    let number: i64 = sqlx::query_scalar(
        "insert into articles (channel_id, unit_id, created_by, title, status, published_at)
         select channel_id, unit_id, created_by, $2,
                case when $3::text is null then 'approved' else 'published' end,
                published_at - $3::text::interval
         from articles where id = $1 returning number",
    )
    .bind(id)
    .bind(title)
    .bind(earlier)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    execute!(
        app,
        "insert into article_tags (article_id, tag_id, position)
         select n.id, t.tag_id, t.position from articles n, article_tags t
         where n.number = $1 and t.article_id = $2",
        number,
        id
    );
    number
}

#[tokio::test]
async fn page_parts_that_cannot_be_kept_are_still_shown() {
    let (app, _, number) = uncached_demo_story("山东电网全力保障冬季电力供应").await;
    let path = format!("/articles/{number}");
    let (_, html) = app.page(&path).await;
    let ranked = attrs(&html, ".related li a", "href");
    assert!(!ranked.is_empty());
    sqlx::raw_sql(
        "delete from article_page_parts;
         create function refuse_kept() returns trigger language plpgsql as $$
         begin raise exception 'read-only'; end $$;
         create trigger refuse_kept before insert or update on article_page_parts
             for each row execute function refuse_kept()",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let (status, html) = app.page(&path).await;
    assert_eq!(status, 200);
    assert_eq!(attrs(&html, ".related li a", "href"), ranked);
    let kept: i64 = sqlx::query_scalar("select count(*) from article_page_parts")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(kept, 0);
}

#[tokio::test]
async fn kept_page_parts_follow_changes_made_anywhere() {
    let (app, id, number) = uncached_demo_story("山东电网全力保障冬季电力供应").await;
    let path = format!("/articles/{number}");
    let page = || async {
        let (status, html) = app.page(&path).await;
        assert_eq!(status, 200);
        let kept: i64 =
            sqlx::query_scalar("select count(*) from article_page_parts where article_id = $1")
                .bind(id)
                .fetch_one(&app.pool)
                .await
                .unwrap();
        assert_eq!(kept, 1, "the page's parts are kept");
        html
    };
    let earlier = |html: &scraper::Html| texts(html, ".prev-next a[rel=prev]");
    sharing_every_tag(&app, id, "较早的稿件", Some("1 day")).await;
    let before = earlier(&page().await);
    assert_eq!(before, ["较早的稿件"]);

    // A story published between it and its 上一篇 (sharing no tag) is its
    // 上一篇 at once; renamed, it is shown renamed; withdrawn, the old
    // 上一篇 is back.
    let between: i64 = sqlx::query_scalar(
        "insert into articles (channel_id, unit_id, created_by, title, status, published_at)
         select channel_id, unit_id, created_by, '夹在中间的稿件', 'published',
                published_at - interval '1 second'
         from articles where id = $1 returning number",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(earlier(&page().await), ["夹在中间的稿件"]);
    execute!(
        app,
        "update articles set title = '改过标题的稿件' where number = $1",
        between,
    );
    assert_eq!(earlier(&page().await), ["改过标题的稿件"]);
    execute!(
        app,
        "update articles set status = 'unpublished' where number = $1",
        between,
    );
    assert_eq!(earlier(&page().await), before);

    // Renamed authors and tags.
    execute!(
        app,
        "update authors set name = '改名的作者' where id = (
             select author_id from article_authors a join articles s on s.id = a.article_id
             where s.number = $1 order by a.position limit 1)",
        number,
    );
    let html = page().await;
    let meta = texts(&html, ".meta").join(" ");
    assert!(meta.contains("改名的作者"), "{meta}");
    execute!(
        app,
        "update tags set name = '改名的标签' where id = (
             select tag_id from article_tags a join articles s on s.id = a.article_id
             where s.number = $1 order by a.position limit 1)",
        number,
    );
    assert_eq!(texts(&page().await, ".tags .tag")[0], "改名的标签");

    // A story's own credits and tags changed by other means.
    execute!(
        app,
        "delete from article_tags where article_id = (select id from articles where number = $1)",
        number,
    );
    assert!(texts(&page().await, ".tags .tag").is_empty());
}

/// Parts whose 相关阅读 comes from the story's tags alone are kept until
/// something they hold changes, however old; those that took the newest
/// stories sharing the title's words are computed again after a day.
#[tokio::test]
async fn page_parts_from_tags_alone_last_until_they_change() {
    let (app, id, number) = uncached_demo_story("山东电网全力保障冬季电力供应").await;
    let path = format!("/articles/{number}");
    let row = || async {
        sqlx::query_as::<_, (bool, chrono::DateTime<chrono::Utc>)>(
            "select follows_words, computed_at from article_page_parts where article_id = $1",
        )
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    // A day older, computed after the story's last change all the same.
    let age = || async {
        execute!(
            app,
            "update articles set updated_at = updated_at - interval '2 days' where id = $1",
            id
        );
        execute!(
            app,
            "update article_page_parts set computed_at = computed_at - interval '25 hours'
             where article_id = $1",
            id
        );
        row().await.1
    };
    assert_eq!(app.page(&path).await.0, 200);
    assert!(
        row().await.0,
        "few stories share its tags: its words are searched"
    );
    let aged = age().await;
    assert_eq!(app.page(&path).await.0, 200);
    assert!(row().await.1 > aged, "computed again after a day");

    // Thirty stories published before it on all its tags.
    let mut made = Vec::new();
    for n in 1..=30 {
        let title = format!("同标签的稿件{n}");
        let earlier = format!("{n} hours");
        made.push(sharing_every_tag(&app, id, &title, Some(&earlier)).await);
    }
    let (_, html) = app.page(&path).await;
    assert!(
        texts(&html, ".related li a")
            .iter()
            .all(|title| title.starts_with("同标签的稿件")),
        "{:?}",
        texts(&html, ".related li a")
    );
    assert!(!row().await.0, "its tags bring enough stories");
    let aged = age().await;
    let (_, html) = app.page(&path).await;
    assert_eq!(row().await.1, aged, "kept, however old");
    assert_eq!(texts(&html, ".related li a").len(), 6);

    // And dropped when one of them changes.
    execute!(
        app,
        "update articles set title = '改了标题的同标签稿件' where number = $1",
        made[0]
    );
    let (_, html) = app.page(&path).await;
    assert!(row().await.1 > aged);
    assert!(
        texts(&html, ".related li a").contains(&"改了标题的同标签稿件".to_string()),
        "{:?}",
        texts(&html, ".related li a")
    );
}

/// 推荐阅读 is kept with the trees; every change to it reaches the next page.
#[tokio::test]
async fn recommended_stories_follow_every_change_at_once() {
    let (app, id, number) = uncached_demo_story("山东电网全力保障冬季电力供应").await;
    let path = format!("/articles/{number}");
    let listed = || async { texts(&app.page(&path).await.1, ".recommended li a") };
    let before = listed().await;
    let other: i64 = sqlx::query_scalar(
        "select number from articles where status = 'published' and not is_recommended
           and id <> $1 order by number limit 1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();

    execute!(
        app,
        "update articles set is_recommended = true, published_at = now() where number = $1",
        other
    );
    let now_listed = listed().await;
    assert_eq!(now_listed.len(), 6.min(before.len() + 1));
    let title: String = sqlx::query_scalar("select title from articles where number = $1")
        .bind(other)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(now_listed[0], title, "flagged, it is listed first");

    execute!(
        app,
        "update articles set title = '改名的推荐稿件' where number = $1",
        other
    );
    assert_eq!(listed().await[0], "改名的推荐稿件");

    // The newest recommended story's own page leaves it out and still
    // lists the six after it (the renamed one, flagged a moment earlier,
    // and five of the new ones).
    execute!(
        app,
        "insert into articles (channel_id, unit_id, created_by, title, status, published_at,
                               is_recommended)
         select channel_id, unit_id, created_by, '新推荐稿件' || g, 'published',
                now() - g * interval '1 minute', true
         from articles, generate_series(1, 6) g where id = $1",
        id
    );
    execute!(
        app,
        "update articles set is_recommended = true, published_at = now() where id = $1",
        id
    );
    let expected: Vec<String> = std::iter::once("改名的推荐稿件".to_string())
        .chain((1..=5).map(|n| format!("新推荐稿件{n}")))
        .collect();
    assert_eq!(listed().await, expected);

    execute!(
        app,
        "update articles set is_recommended = false where number = $1",
        other
    );
    assert!(!listed().await.contains(&"改名的推荐稿件".to_string()));
}

/// A change and a page computing parts at the same moment: the page never
/// keeps parts that miss the change.
#[tokio::test]
async fn parts_computed_during_a_change_are_not_kept_without_it() {
    let (app, id, number) = uncached_demo_story("山东电网全力保障冬季电力供应").await;
    let path = format!("/articles/{number}");
    let earlier_story = sharing_every_tag(&app, id, "较早的稿件", Some("1 day")).await;
    let earlier = |html: &scraper::Html| texts(html, ".prev-next a[rel=prev]");
    let kept = || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from article_page_parts where article_id = $1",
        )
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    assert_eq!(earlier(&app.page(&path).await.1), ["较早的稿件"]);
    assert_eq!(kept().await, 1);

    // The change comes first: the page, computing its parts meanwhile,
    // shows them as they were and does not keep them.
    execute!(
        app,
        "delete from article_page_parts where article_id = $1",
        id
    );
    let mut change = app.pool.begin().await.unwrap();
    sqlx::query("update articles set title = '正在改名的稿件' where number = $1")
        .bind(earlier_story)
        .execute(&mut *change)
        .await
        .unwrap();
    assert_eq!(earlier(&app.page(&path).await.1), ["较早的稿件"]);
    assert_eq!(kept().await, 0, "not kept while the change is under way");
    change.commit().await.unwrap();
    assert_eq!(earlier(&app.page(&path).await.1), ["正在改名的稿件"]);
    assert_eq!(kept().await, 1);

    // The page comes first: the change waits until the parts being
    // computed are kept, then drops them.
    let mut page = app.pool.begin().await.unwrap();
    sqlx::query("select pg_advisory_xact_lock_shared(hashtext('newsdesk_page_parts'))")
        .execute(&mut *page)
        .await
        .unwrap();
    sqlx::query("update article_page_parts set computed_at = now() where article_id = $1")
        .bind(id)
        .execute(&mut *page)
        .await
        .unwrap();
    // Changes that drop no parts do not wait: a summary, or the
    // scheduler's statement when nothing is due.
    for statement in [
        "update articles set summary = summary || '。' where number = $1",
        "update articles set status = 'published'
         where status = 'scheduled' and published_at <= now() and number <> $1",
    ] {
        let done = tokio::time::timeout(
            std::time::Duration::from_secs(2),
            sqlx::query(statement)
                .bind(earlier_story)
                .execute(&app.pool),
        )
        .await;
        assert!(done.is_ok(), "{statement} waited");
    }
    let pool = app.pool.clone();
    let rename = tokio::spawn(async move {
        sqlx::query("update articles set title = '再次改名的稿件' where number = $1")
            .bind(earlier_story)
            .execute(&pool)
            .await
            .unwrap();
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!rename.is_finished(), "the change waits for the page");
    page.commit().await.unwrap();
    rename.await.unwrap();
    assert_eq!(kept().await, 0, "the change dropped what the page kept");
    assert_eq!(earlier(&app.page(&path).await.1), ["再次改名的稿件"]);

    // A change holding the story's own row: keeping its parts waits on that
    // row, gives up after the lock timeout, and the page is still served.
    execute!(
        app,
        "delete from article_page_parts where article_id = $1",
        id
    );
    let mut holder = app.pool.begin().await.unwrap();
    sqlx::query("select 1 from articles where id = $1 for update")
        .bind(id)
        .execute(&mut *holder)
        .await
        .unwrap();
    let served = tokio::time::timeout(std::time::Duration::from_secs(5), app.page(&path)).await;
    let (status, html) = served.expect("the page does not wait for the change");
    assert_eq!(status, 200);
    assert_eq!(earlier(&html), ["再次改名的稿件"]);
    assert_eq!(kept().await, 0, "not kept past the lock timeout");
    holder.rollback().await.unwrap();
    app.page(&path).await;
    assert_eq!(kept().await, 1);
}

#[tokio::test]
async fn only_a_body_sealed_with_the_site_key_is_shown_unsanitised() {
    let (app, id, number) = uncached_demo_story("山东电网全力保障冬季电力供应").await;
    let path = format!("/articles/{number}");
    let body = || async {
        let (status, html) = app.page(&path).await;
        assert_eq!(status, 200);
        let body = scraper::Selector::parse(".article-body").unwrap();
        html.select(&body).next().unwrap().inner_html()
    };
    let shown = body().await;
    let sealed: bool = sqlx::query_scalar(
        "select body_seal is not null from article_page_parts where article_id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(sealed, "a body saved through the site needs no sanitising");
    assert_eq!(body().await, shown);

    // Written into the database by other means, the body no longer
    // matches its seal, nor a seal made up without the site's key.
    let unsafe_body = "<p onclick=\"x()\">正文<script>alert(1)</script></p>";
    execute!(
        app,
        "update articles set body_html = $2 where id = $1",
        id,
        unsafe_body
    );
    assert_eq!(body().await, "<p>正文</p>");
    execute!(
        app,
        "update article_page_parts set body_seal = sha256(convert_to($2, 'UTF8'))
         where article_id = $1",
        id,
        unsafe_body
    );
    assert_eq!(body().await, "<p>正文</p>");

    // Only the site's key seals: a seal made with it is trusted as it is.
    let seal = newsdesk::secret::keyed_hash(
        app.secret.as_bytes(),
        newsdesk::articles::body::SEAL_PURPOSE,
        unsafe_body.as_bytes(),
    );
    execute!(
        app,
        "update article_page_parts set body_seal = $2 where article_id = $1",
        id,
        &seal[..]
    );
    assert!(body().await.contains("onclick"));
}

/// The demo site without the page cache (every page reads the database),
/// and the id and number of its story titled `title`.
async fn uncached_demo_story(title: &str) -> (TestApp, uuid::Uuid, i64) {
    let app = spawn_app_with(|config| config.page_cache_mb = 0).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (id, number): (uuid::Uuid, i64) =
        sqlx::query_as("select id, number from articles where title = $1")
            .bind(title)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    (app, id, number)
}

/// The search page says what is wrong with a query rather than answering
/// 404 or silently ignoring it, and only the home page lights 首页.
#[tokio::test]
async fn search_refusals_say_why_and_keep_the_form() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (code, html) = app
        .page("/search?q=%E7%94%B5%E7%BD%91&from=2026-12-05&to=2026-12-01")
        .await;
    assert_eq!(code, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["结束日期早于开始日期，请重新选择。"]
    );
    assert_eq!(attrs(&html, "input[name=from]", "value"), ["2026-12-05"]);
    for bad in ["page=abc", "page=0", "page=99", "before=abc"] {
        let (code, html) = app
            .page(&format!(
                "/search?q=%E7%94%B5%E7%BD%91&order=relevance&{bad}"
            ))
            .await;
        assert_eq!(code, 422, "{bad}");
        assert_eq!(texts(&html, ".alert.error").len(), 1, "{bad}");
        assert_eq!(attrs(&html, "input[name=q]", "value"), ["电网"], "{bad}");
    }
    // A query longer than is searched says so, and still searches.
    let long = "电网".repeat(60);
    let (code, html) = app
        .page(&format!(
            "/search?{}",
            serde_urlencoded::to_string([("q", &long)]).unwrap()
        ))
        .await;
    assert_eq!(code, 200);
    assert_eq!(texts(&html, ".alert.warning").len(), 1);
    let (_, html) = app.page("/search?q=%E7%94%B5%E7%BD%91").await;
    assert!(
        texts(&html, ".alert.warning").is_empty(),
        "a short query is not cut"
    );

    let active = |html: &scraper::Html| texts(html, ".channel-nav a.active");
    let (_, home) = app.page("/").await;
    assert_eq!(active(&home), ["首页"]);
    for path in [
        "/search?q=%E7%94%B5%E7%BD%91",
        "/login",
        "/register",
        "/tags/%E7%94%B5%E7%BD%91",
    ] {
        let (_, html) = app.page(path).await;
        assert!(
            !active(&html).contains(&"首页".to_string()),
            "{path}: {:?}",
            active(&html)
        );
    }
}

/// 繁體 stays 繁體: a redirect of a 繁體 page leads to a 繁體 page, and the
/// 繁體 feed is converted with links to 繁體 stories.
#[tokio::test]
async fn traditional_redirects_and_feed_stay_traditional() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let response = app.get("/zh-hant/account").await;
    assert_eq!(response.status().as_u16(), 303);
    let to = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(to.starts_with("/zh-hant/login"), "{to}");
    let simplified = app.get("/account").await;
    let to = simplified.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(to.starts_with("/login"), "{to}");

    let feed = app.get("/zh-hant/feed.xml").await;
    assert_eq!(feed.status(), 200);
    let feed = feed.text().await.unwrap();
    let number: i64 =
        sqlx::query_scalar("select number from articles where title like '山东电网%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(feed.contains("<language>zh-Hant</language>"), "{feed}");
    assert!(feed.contains("山東電網"), "the text is 繁體: {feed}");
    assert!(
        feed.contains(&format!("/zh-hant/articles/{number}</link>")),
        "{feed}"
    );
    let plain = app.get("/feed.xml").await.text().await.unwrap();
    assert!(plain.contains("山东电网") && !plain.contains("/zh-hant/"));
}

/// Fetches `path` until its body contains `wanted` (the page cache drops
/// pages when the database announces a change, a moment after it).
async fn eventually(app: &TestApp, path: &str, wanted: &str) -> String {
    let mut body = String::new();
    for _ in 0..50 {
        body = app.get(path).await.text().await.unwrap();
        if body.contains(wanted) {
            return body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{path} never showed {wanted}: {body}");
}

#[tokio::test]
async fn the_sites_own_conversions_rule_traditional_pages_feeds_and_searches() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    // A story about 于明 (the surname 于, which the library makes 於).
    let (id, number): (newsdesk::ids::ArticleId, i64) = sqlx::query_as(
        "update articles set title = '于明来访' || title
         where title = '山东电网全力保障冬季电力供应' returning id, number",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (title, summary, body_text, byline, correspondents): (String, String, String, String, String) =
        sqlx::query_as(
            "select title, summary, body_text, author_byline, correspondents from articles where id = $1",
        )
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let story = newsdesk::search::Indexed {
        title: &title,
        summary: &summary,
        body_text: &body_text,
        byline: &byline,
        correspondents: &correspondents,
    };
    newsdesk::search::index(&mut conn, id, &story)
        .await
        .unwrap();
    drop(conn);
    let page = format!("/zh-hant/articles/{number}");
    eventually(&app, &page, "於明來訪").await;

    // Only an admin changes the list, with a CSRF token.
    app.login_as("bianji2", "editor").await;
    let refused = app
        .post(
            "/admin/settings/conversions",
            &[("simplified", "于明"), ("traditional", "于明")],
        )
        .await;
    assert_eq!(refused.status(), 403);
    let admin = app.other_client();
    admin.login_as("guanli", "admin").await;
    let forged = admin
        .client
        .post(admin.url("/admin/settings/conversions"))
        .form(&[("simplified", "于明"), ("traditional", "于明")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    // Bad input comes back with a message beside the field and the form kept.
    let (status, html) = admin
        .post_page(
            "/admin/settings/conversions",
            &[("simplified", "于明"), ("traditional", " ")],
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(texts(&html, "#traditional-error"), ["请填写它的繁体写法。"]);
    assert_eq!(attrs(&html, "input[name=simplified]", "value"), ["于明"]);
    let (status, _) = admin
        .post_page(
            "/admin/settings/conversions",
            &[("simplified", "<b>于明</b>"), ("traditional", "于明")],
        )
        .await;
    assert_eq!(status, 422);
    let stored: i64 = sqlx::query_scalar("select count(*) from conversion_overrides")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0);

    let response = admin
        .post(
            "/admin/settings/conversions",
            &[("simplified", "于明"), ("traditional", "于明")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, list) = admin.page("/admin/settings/conversions").await;
    assert_eq!(
        texts(&list, "table.conversions tbody td:nth-child(3)"),
        ["於明"]
    );
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action = 'conversion.add'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);
    // The cached 繁體 page is dropped and converted the site's way; the feed too.
    let converted = eventually(&app, &page, "于明來訪").await;
    assert!(!converted.contains("於明"));
    let feed = eventually(&app, "/zh-hant/feed.xml", "于明來訪").await;
    assert!(!feed.contains("於明"));
    // A reader searching in 繁體 finds the story.
    let (_, found) = app.page("/zh-hant/search?q=于明來訪").await;
    assert_eq!(texts(&found, ".search-results .story-title a").len(), 1);
    // Removed: the library's conversion again.
    let response = admin
        .post("/admin/settings/conversions", &[("remove", "于明")])
        .await;
    assert_eq!(response.status(), 303);
    eventually(&app, &page, "於明來訪").await;
}

#[tokio::test]
async fn a_story_page_offers_its_tools_its_share_code_and_its_canonical_address() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let number: i64 = sqlx::query_scalar(
        "select number from articles where status = 'published' order by number limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let path = format!("/articles/{number}");
    let (status, html) = app.page(&path).await;
    assert_eq!(status, 200);
    assert_eq!(
        attrs(&html, "link[rel=canonical]", "href"),
        std::slice::from_ref(&path)
    );
    assert_eq!(
        texts(&html, ".article-tools [data-font-size]"),
        ["大", "中", "小"]
    );
    assert_eq!(texts(&html, ".article-tools [data-print]"), ["打印"]);
    let code = attrs(&html, ".share-wechat img", "src");
    assert_eq!(code, [format!("{path}/qr.svg")]);
    assert_eq!(texts(&html, ".site-header .reader-link"), ["登录", "注册"]);
    // The copyright line is the footer's, once.
    let copyright: String =
        sqlx::query_scalar("select value from settings where key = 'copyright'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let body = app.get(&path).await.text().await.unwrap();
    assert_eq!(body.matches(copyright.as_str()).count(), 1);

    // The code holds the address the reader is on: without a site address
    // set, the one the request came to, kept by no shared cache.
    let response = app.get(&code[0]).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("private")
    );
    let expected = newsdesk::articles::public::share_svg(&app.url(&path)).unwrap();
    assert_eq!(response.text().await.unwrap(), expected);
    let traditional = app
        .get(&format!("/zh-hant{path}/qr.svg"))
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(
        traditional,
        newsdesk::articles::public::share_svg(&app.url(&format!("/zh-hant{path}"))).unwrap()
    );
    // With the site's address set: that address, and any cache may keep it.
    sqlx::query(
        "insert into settings (key, value) values ('site_url', 'https://news.example.cn/')
                 on conflict (key) do update set value = excluded.value",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let response = app.get(&code[0]).await;
    assert!(
        response.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public")
    );
    assert_eq!(
        response.text().await.unwrap(),
        newsdesk::articles::public::share_svg(&format!("https://news.example.cn{path}")).unwrap()
    );
    let (_, html) = app.page(&format!("{path}?again")).await;
    assert_eq!(
        attrs(&html, "meta[property='og:url']", "content"),
        [format!("https://news.example.cn{path}")]
    );
    // A story that is not published has no code; nor does a made-up number.
    let draft: i64 =
        sqlx::query_scalar("select number from articles where status <> 'published' limit 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        app.get(&format!("/articles/{draft}/qr.svg")).await.status(),
        404
    );
    assert_eq!(app.get("/articles/abc/qr.svg").await.status(), 404);
}

#[tokio::test]
async fn a_story_with_a_cover_names_it_as_its_share_image() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    app.login_as("sheying", "correspondent").await;
    let uploaded =
        crate::media::upload(&app, "cover.jpg", crate::media::jpeg_with_gps(800, 600)).await;
    assert!(uploaded.status().is_success() || uploaded.status().is_redirection());
    let (number, media): (i64, uuid::Uuid) = sqlx::query_as(
        "update articles set cover_media_id = (select id from media order by created_at desc limit 1)
         where number = (select min(number) from articles where status = 'published')
         returning number, cover_media_id",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (_, html) = app.page(&format!("/articles/{number}")).await;
    let image = attrs(&html, "meta[property='og:image']", "content");
    assert_eq!(image.len(), 1);
    assert!(image[0].contains(&media.to_string()), "{image:?}");
    assert_eq!(app.get(&image[0]).await.status(), 200);
    let bare: i64 = sqlx::query_scalar(
        "select number from articles where status = 'published' and cover_media_id is null limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (_, html) = app.page(&format!("/articles/{bare}")).await;
    assert!(attrs(&html, "meta[property='og:image']", "content").is_empty());
}

#[tokio::test]
async fn readers_register_only_after_accepting_the_terms_which_they_can_read() {
    let app = spawn_app_with(|config| config.test_captcha = Some("TESTME".into())).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    for (path, title) in [
        ("/agreement", "用户协议"),
        ("/privacy", "隐私政策"),
        ("/zh-hant/agreement", "用戶協議"),
        ("/zh-hant/privacy", "隱私政策"),
    ] {
        let (status, html) = app.page(path).await;
        assert_eq!(status, 200, "{path}");
        assert_eq!(texts(&html, "h1.page-title"), [title], "{path}");
    }
    let (_, form) = app.page("/register").await;
    assert_eq!(
        attrs(&form, "form.reader-form .agree a", "href"),
        ["/agreement", "/privacy"]
    );
    let register = async |agree: bool| {
        let (_, page) = app.page("/register").await;
        let captcha = attrs(&page, "input[name=captcha_id]", "value")[0].clone();
        let csrf = app.csrf().await;
        let mut fields = vec![
            ("csrf_token", csrf.as_str()),
            ("username", "xinduzhe"),
            ("password", "Lamp-horse-42x"),
            ("password_again", "Lamp-horse-42x"),
            ("captcha_id", captcha.as_str()),
            ("captcha_answer", "TESTME"),
        ];
        if agree {
            fields.push(("agree", "on"));
        }
        let response = app
            .client
            .post(app.url("/register"))
            .form(&fields)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            scraper::Html::parse_document(&response.text().await.unwrap()),
        )
    };
    let (status, html) = register(false).await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, "#reader-agree-error"),
        ["请阅读并勾选同意《用户协议》和《隐私政策》后注册。"]
    );
    assert_eq!(attrs(&html, "input[name=username]", "value"), ["xinduzhe"]);
    let readers: i64 =
        sqlx::query_scalar("select count(*) from readers where username = 'xinduzhe'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(readers, 0);
    let (status, _) = register(true).await;
    assert_eq!(status, 303);
    let agreed: bool = sqlx::query_scalar(
        "select agreed_at > now() - interval '1 minute' from readers where username = 'xinduzhe'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(agreed);
}

#[tokio::test]
async fn elder_mode_is_kept_per_browser_on_every_public_page_without_scripts() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let classes = |html: &scraper::Html| attrs(html, "body", "class").join(" ");
    let path = "/articles/1";
    let (_, html) = app.page(path).await;
    assert!(!classes(&html).contains("elder"), "{}", classes(&html));
    assert!(!classes(&html).contains("nd:"), "the slot is always filled");
    assert_eq!(texts(&html, ".elder-switch .elder-on"), ["长者模式"]);
    let plain_tag = app.get(path).await.headers()["etag"].clone();
    // The switch goes back to the page it was on.
    let response = app
        .client
        .get(app.url("/elder"))
        .header("Referer", app.url(path))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), path);
    for page in [path, "/", "/search?q=电网", "/zh-hant/articles/1", "/login"] {
        let (_, html) = app.page(page).await;
        assert!(
            classes(&html).contains("elder"),
            "{page}: {}",
            classes(&html)
        );
    }
    // The page it was on, as cached, is not answered 304 across modes.
    let response = app
        .client
        .get(app.url(path))
        .header("If-None-Match", plain_tag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    // Another browser reads the same cached page in the usual mode.
    let (_, html) = app.other_client().page(path).await;
    assert!(!classes(&html).contains("elder"));
    // A switch reached from another site goes home, not there.
    let response = app
        .client
        .get(app.url("/elder"))
        .header("Referer", "https://elsewhere.example/phish")
        .send()
        .await
        .unwrap();
    assert_eq!(location(&response), "/");
    let (_, html) = app.page(path).await;
    assert!(!classes(&html).contains("elder"), "switched off again");
}

#[tokio::test]
async fn the_home_page_leads_with_the_photos_of_its_headline_stories() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    // Without covers there is no 焦点图 and no 图片新闻.
    let (_, html) = app.page("/").await;
    assert!(texts(&html, ".focus").is_empty());
    assert!(texts(&html, ".photo-news").is_empty());
    app.login_as("sheying", "correspondent").await;
    for name in ["a.jpg", "b.jpg"] {
        let uploaded =
            crate::media::upload(&app, name, crate::media::jpeg_with_gps(800, 450)).await;
        assert!(uploaded.status().is_success() || uploaded.status().is_redirection());
    }
    // Two 头条 stories get covers; a story with a cover but not 头条 stays out.
    let covered: Vec<String> = sqlx::query_scalar::<_, Option<String>>(
        "with photos as (select id, row_number() over (order by created_at) as n from media),
              stories as (select id, row_number() over (order by published_at desc) as n
                          from articles where status = 'published' order by published_at desc limit 3)
         update articles a set cover_media_id = p.id,
                is_headline = s.n <= 2
         from stories s join photos p on p.n = least(s.n, 2)
         where a.id = s.id
         returning case when a.is_headline then a.title end",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
    .into_iter()
    .flatten()
    .collect();
    assert_eq!(covered.len(), 2);
    let expected: Vec<String> = sqlx::query_scalar(
        "select title from articles where is_headline and cover_media_id is not null
         and status = 'published' order by published_at desc",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let (_, html) = app.page("/?focus").await;
    let slides = texts(&html, ".focus-slide figcaption a");
    assert_eq!(slides, expected);
    let images = attrs(&html, ".focus-slide img", "src");
    assert_eq!(images.len(), 2);
    assert!(
        images.iter().all(|src| src.contains("-display.")),
        "{images:?}"
    );
    // Each slide is a link to its story, and there is a way to stop it.
    assert_eq!(attrs(&html, ".focus-dots button", "aria-label").len(), 2);
    assert_eq!(texts(&html, ".focus-pause"), ["暂停"]);
    // 图片新闻: the stories with photos that the 焦点图 does not show.
    let pictured: Vec<String> = sqlx::query_scalar(
        "select title from articles where not is_headline and cover_media_id is not null
         and status = 'published' order by published_at desc",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(pictured.len(), 1);
    assert_eq!(texts(&html, ".photo-news .photo-title"), pictured);
    let thumbs = attrs(&html, ".photo-news img", "src");
    assert!(
        thumbs.len() == 1 && thumbs[0].contains("-thumb."),
        "{thumbs:?}"
    );
    // A 专题 with a banner shows it, with its title over it.
    let topic: String = sqlx::query_scalar(
        "insert into topics (slug, title, banner_media_id)
         values ('winter', '迎峰度冬', (select id from media order by created_at limit 1))
         returning title",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (_, html) = app.page("/?banner").await;
    assert_eq!(texts(&html, ".topics .topic-banner span"), [topic]);
    assert_eq!(attrs(&html, ".topics .topic-banner img", "src").len(), 1);
}

#[tokio::test]
async fn every_page_offers_keyboard_users_a_skip_link_to_its_main_content() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    for path in [
        "/",
        "/articles/1",
        "/search?q=电网",
        "/zh-hant/",
        "/register",
    ] {
        let (_, html) = app.page(path).await;
        assert_eq!(attrs(&html, "a.skip-link", "href"), ["#main"], "{path}");
        assert_eq!(attrs(&html, "main", "id"), ["main"], "{path}");
        assert_eq!(texts(&html, "a.skip-link").len(), 1, "{path}");
    }
    app.login_as("jianpan", "editor").await;
    let (_, html) = app.page("/admin").await;
    assert_eq!(attrs(&html, "a.skip-link", "href"), ["#main"]);
    assert_eq!(attrs(&html, "main", "id"), ["main"]);
}
