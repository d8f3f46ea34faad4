//! The page cache, validators, batched view counts, and the number of
//! queries each public page makes.

use std::time::{Duration, Instant};

use crate::helpers::{TestApp, attrs, spawn_app, spawn_app_with, texts};

/// Waits until the app listens for page changes (its cache is in use).
async fn until_caching(app: &TestApp, path: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let response = app.get(path).await;
        if response.headers().get("x-cache").map(|v| v.as_bytes()) == Some(b"hit") {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{path} never came from the cache"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `path` on `app` satisfies `check`.
async fn until_page(app: &TestApp, path: &str, check: impl Fn(u16, &scraper::Html) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, html) = app.page(path).await;
        if check(status, &html) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{path} did not change (status {status})"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn story(app: &TestApp, title_prefix: &str) -> (uuid::Uuid, i64) {
    sqlx::query_as("select id, number from articles where title like $1 || '%'")
        .bind(title_prefix)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn public_pages_carry_an_etag_and_answer_304() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    for path in ["/", "/zh-hant/channels/yaowen", "/channels/yaowen"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 200);
        let etag = response.headers()["etag"].to_str().unwrap().to_owned();
        let again = app
            .client
            .get(app.url(path))
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), 304, "{path}");
        assert!(again.bytes().await.unwrap().is_empty());
        let stale = app
            .client
            .get(app.url(path))
            .header("If-None-Match", "\"0000000000000000\"")
            .send()
            .await
            .unwrap();
        assert_eq!(stale.status(), 200, "{path}");
    }
}

/// The validator covers every per-request slot: a story page's captcha is
/// new on every request, so its old ETag never brings back a spent captcha.
#[tokio::test]
async fn a_validator_never_brings_back_a_spent_captcha() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (_, number) = story(&app, "山东电网").await;
    let path = format!("/articles/{number}");
    let captcha_of = |html: &str| {
        let html = scraper::Html::parse_document(html);
        attrs(&html, "input[name=captcha_id]", "value")
    };
    let first = app.get(&path).await;
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let first_captcha = captcha_of(&first.text().await.unwrap());
    assert_eq!(
        first_captcha.len(),
        1,
        "the story page has a comment captcha"
    );
    for _ in 0..3 {
        let again = app
            .client
            .get(app.url(&path))
            .header("If-None-Match", &etag)
            .send()
            .await
            .unwrap();
        assert_eq!(
            again.status(),
            200,
            "a page with a fresh captcha is never 304"
        );
        assert_ne!(again.headers()["etag"].to_str().unwrap(), etag);
        let captcha = captcha_of(&again.text().await.unwrap());
        assert_eq!(captcha.len(), 1);
        assert_ne!(captcha, first_captcha, "each answer has its own captcha");
    }
}

#[tokio::test]
async fn cached_pages_are_refreshed_on_every_instance_when_stories_change() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let other = app.second_instance();
    let (id, number) = story(&app, "配电网故障自愈").await;
    let article = format!("/articles/{number}");
    let search = "/search?q=%E8%87%AA%E6%84%88";
    for instance in [&app, &other] {
        until_caching(instance, &article).await;
        until_caching(instance, "/").await;
        until_caching(instance, search).await;
    }

    // An edit of the live text (as an approved correction makes it).
    sqlx::query("update articles set title = '配电网自愈技术全面推广' where id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    for instance in [&app, &other] {
        until_page(instance, &article, |_, html| {
            texts(html, "h1.title") == ["配电网自愈技术全面推广"]
        })
        .await;
    }

    // Unpublishing through the backend of one instance: that instance
    // drops its pages at once, the other as soon as it hears of it.
    app.login_as("chief", "chief_editor").await;
    let response = app
        .post(
            &format!("/admin/articles/{id}/unpublish"),
            &[("reason", "数据需要重新核实")],
        )
        .await;
    assert_eq!(response.status(), 303);
    assert_eq!(app.page(&article).await.0, 404, "at once on this instance");
    until_page(&other, &article, |status, _| status == 404).await;
    until_page(&other, search, |_, html| {
        texts(html, ".search-results .story-title a").is_empty()
    })
    .await;
    until_page(&other, "/", |_, html| {
        !texts(html, "a").contains(&"配电网自愈技术全面推广".to_string())
    })
    .await;

    // Publishing by the scheduler, which no request announces.
    until_caching(&other, "/").await;
    sqlx::query(
        "update articles set status = 'scheduled', published_at = now() - interval '1 second'
         where id = $1",
    )
    .bind(id)
    .execute(&app.pool)
    .await
    .unwrap();
    newsdesk::articles::transition::publish_due(&app.pool, None)
        .await
        .unwrap();
    until_page(&other, &article, |status, _| status == 200).await;
}

#[tokio::test]
async fn readings_are_written_in_batches_and_bots_are_not_counted() {
    let app = spawn_app_with(|config| config.view_flush_seconds = 3600).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (id, number) = story(&app, "山东电网").await;
    let stored = || async {
        sqlx::query_scalar::<_, i64>(
            "select coalesce((select views from article_totals where article_id = $1), 0)",
        )
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    let before = stored().await;
    let path = format!("/articles/{number}");
    let mut shown = Vec::new();
    for _ in 0..3 {
        let (_, html) = app.page(&path).await;
        shown.push(texts(&html, ".views").join(""));
    }
    assert_eq!(
        shown,
        (1..=3)
            .map(|n| format!("阅读：{}", before + n))
            .collect::<Vec<_>>(),
        "each reading shows at once"
    );
    assert_eq!(stored().await, before, "no write per reading");

    // An instance that writes every second, read by readers and by bots.
    let frequent = spawn_app_with(|config| config.view_flush_seconds = 1).await;
    newsdesk::seed::seed_demo(&frequent.pool).await.unwrap();
    let (id, number) = story(&frequent, "山东电网").await;
    let path = format!("/articles/{number}");
    let before: i64 = sqlx::query_scalar(
        "select coalesce((select views from article_totals where article_id = $1), 0)",
    )
    .bind(id)
    .fetch_one(&frequent.pool)
    .await
    .unwrap();
    let edited: chrono::DateTime<chrono::Utc> =
        sqlx::query_scalar("select updated_at from articles where id = $1")
            .bind(id)
            .fetch_one(&frequent.pool)
            .await
            .unwrap();
    for agent in [
        "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
        "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/130.0 Safari/537.36",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    ] {
        let response = frequent
            .client
            .get(frequent.url(&path))
            .header("User-Agent", agent)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (total, today): (i64, i64) = sqlx::query_as(
            "select (select t.views from article_totals t where t.article_id = a.id),
                    coalesce((select sum(views)::bigint from article_views v
                                            where v.article_id = a.id and v.day = (now() at time zone 'Asia/Shanghai')::date), 0)
             from articles a where a.id = $1",
        )
        .bind(id)
        .fetch_one(&frequent.pool)
        .await
        .unwrap();
        if total > before {
            assert_eq!(total, before + 2, "two readers, two bots");
            assert!(today >= 2, "today's readings are kept for the rankings");
            let after: chrono::DateTime<chrono::Utc> =
                sqlx::query_scalar("select updated_at from articles where id = $1")
                    .bind(id)
                    .fetch_one(&frequent.pool)
                    .await
                    .unwrap();
            assert_eq!(after, edited, "a reading is not an edit");
            // The day's counts hang on the total (migration 0031): a
            // deleted story takes both with it.
            crate::helpers::execute!(frequent, "delete from articles where id = $1", id);
            let left: i64 = sqlx::query_scalar(
                "select (select count(*) from article_totals where article_id = $1)
                      + (select count(*) from article_views where article_id = $1)",
            )
            .bind(id)
            .fetch_one(&frequent.pool)
            .await
            .unwrap();
            assert_eq!(left, 0);
            break;
        }
        assert!(Instant::now() < deadline, "the readings were never written");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Queries the app has run on the test's database so far (settings and
/// transaction control left out: they vary with a search's plan, not with
/// the number of stories shown).
async fn statements(app: &TestApp) -> i64 {
    sqlx::query_scalar(
        "select coalesce(sum(calls), 0)::bigint from monitoring.pg_stat_statements s
         join pg_database d on d.oid = s.dbid
         where d.datname = current_database() and s.query not ilike '%pg_stat_statements%'
           and s.query !~* '^\\s*(set|begin|commit|rollback|listen)\\y'",
    )
    .fetch_one(&app.pool)
    .await
    .expect("the test cluster loads pg_stat_statements")
}

/// The statements one request for `path` runs (the fewest of three tries,
/// so that a pool connection's first-use lookups are not counted, nor the
/// computing of page parts that a busy machine's lock timeout kept from
/// being kept on the first).
async fn queries_of(app: &TestApp, path: &str) -> i64 {
    let mut fewest = i64::MAX;
    for _ in 0..3 {
        let before = statements(app).await;
        let response = app.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        fewest = fewest.min(statements(app).await - before);
    }
    fewest
}

#[tokio::test]
async fn no_public_page_makes_a_query_per_story_it_lists() {
    // Counted by the primary's statement statistics: read from it alone.
    let app = spawn_app_with(|config| {
        config.replica_urls.clear();
        config.page_cache_mb = 0;
        config.view_flush_seconds = 3600;
    })
    .await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (_, number) = story(&app, "山东电网").await;
    let (tag, unit, author): (String, uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "select t.name, a.unit_id, aa.author_id from articles a
         join article_tags at on at.article_id = a.id join tags t on t.id = at.tag_id
         join article_authors aa on aa.article_id = a.id
         where a.number = $1 limit 1",
    )
    .bind(number)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let tag = newsdesk::articles::public::tag_url(&tag);
    let pages = [
        "/".to_string(),
        format!("/articles/{number}"),
        "/channels/yaowen".to_string(),
        tag,
        format!("/units/{unit}"),
        format!("/authors/{author}"),
        "/search?q=电网".to_string(),
        "/feed.xml".to_string(),
        "/sitemap.xml".to_string(),
        "/zh-hant/".to_string(),
    ];
    // The app's listener subscribes once, in the background: wait for it,
    // so that its statement is not counted against a page.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let listening: i64 = sqlx::query_scalar(
            "select count(*) from monitoring.pg_stat_statements s join pg_database d on d.oid = s.dbid
             where d.datname = current_database() and s.query ilike 'listen%'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        if listening > 0 {
            break;
        }
        assert!(Instant::now() < deadline, "the app never listened");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.get("/").await;
    let mut few = Vec::new();
    for page in &pages {
        few.push(queries_of(&app, page).await);
    }

    // Thirty more published stories of the same channel, unit, tag and author.
    sqlx::query(
        "insert into articles (title, body_html, body_text, channel_id, unit_id, created_by, status,
                               published_at, summary, search_vector)
         select '新增稿件' || g, '<p>电网</p>', '电网', a.channel_id, a.unit_id, a.created_by,
                'published', now() - make_interval(mins => g), '摘要', to_tsvector('simple', '电网')
         from articles a, generate_series(1, 30) g where a.number = $1",
    )
    .bind(number)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into article_tags (article_id, tag_id, position)
         select n.id, at.tag_id, 0 from articles n, articles a join article_tags at on at.article_id = a.id
         where a.number = $1 and n.title like '新增稿件%'
         on conflict do nothing",
    )
    .bind(number)
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into article_authors (article_id, author_id, role, position)
         select n.id, aa.author_id, aa.role, 0 from articles n, articles a
         join article_authors aa on aa.article_id = a.id
         where a.number = $1 and n.title like '新增稿件%'
         on conflict do nothing",
    )
    .bind(number)
    .execute(&app.pool)
    .await
    .unwrap();
    let mut many = Vec::new();
    for page in &pages {
        many.push(queries_of(&app, page).await);
    }
    assert_eq!(few, many, "queries per page of {pages:?}");
    for (page, count) in pages.iter().zip(&few) {
        assert!(*count <= 16, "{page} makes {count} queries");
    }
}

#[tokio::test]
async fn a_page_is_kept_from_its_second_request_on() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    until_caching(&app, "/").await;
    let (_, number) = story(&app, "山东电网").await;
    let path = format!("/articles/{number}");
    let mut answers = Vec::new();
    for _ in 0..3 {
        let response = app.get(&path).await;
        answers.push(response.headers()["x-cache"].to_str().unwrap().to_owned());
    }
    assert_eq!(
        answers,
        ["miss", "miss", "hit"],
        "a story read once does not push others out of the cache"
    );
}

#[tokio::test]
async fn readings_across_the_archive_are_written_a_slice_at_a_time() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let numbers: Vec<i64> = sqlx::query_scalar(
        "insert into articles (channel_id, unit_id, created_by, title, status, published_at)
         select channel_id, unit_id, created_by, '档案稿件 ' || n, 'published', now() - n * interval '1 hour'
         from articles, generate_series(1, 2500) n
         where title = '山东电网全力保障冬季电力供应' returning number",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let counter = newsdesk::articles::views::ViewCounter::default();
    for number in &numbers {
        counter.record(*number);
    }
    counter.record(numbers[0]);
    assert_eq!(counter.flush(&app.pool).await.unwrap(), 2501);
    let (stories, readings): (i64, i64) = sqlx::query_as(
        "select count(*), sum(t.views)::bigint from article_totals t
         join articles a on a.id = t.article_id where a.title like '档案稿件 %'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((stories, readings), (2500, 2501), "every slice is written");
    assert_eq!(counter.estimate(numbers[0], 0), 2, "totals are learnt");
    assert_eq!(counter.flush(&app.pool).await.unwrap(), 0, "nothing twice");

    // A slice that fails: the slices before it stay written, it and the
    // ones after it are kept for the next flush.
    let mut sorted = numbers.clone();
    sorted.sort_unstable();
    let refused = sorted[1500];
    let refuse = format!(
        "create function refuse_reading() returns trigger language plpgsql as $$
         begin
             if exists (select 1 from articles where id = new.article_id and number = {refused})
             then raise exception 'refused'; end if;
             return new;
         end $$;
         create trigger refuse_reading before insert or update on article_totals
             for each row execute function refuse_reading()"
    );
    sqlx::raw_sql(&refuse).execute(&app.pool).await.unwrap();
    for number in &numbers {
        counter.record(*number);
    }
    assert!(counter.flush(&app.pool).await.is_err());
    let written = || async {
        let total: i64 = sqlx::query_scalar(
            "select sum(t.views)::bigint from article_totals t
             join articles a on a.id = t.article_id where a.title like '档案稿件 %'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
        total
    };
    assert_eq!(written().await, 2501 + 1000, "the first slice is written");
    assert_eq!(counter.estimate(sorted[1], 0), 2, "its totals are learnt");
    assert_eq!(counter.estimate(refused, 1), 2, "the failed slice is kept");
    sqlx::query("drop trigger refuse_reading on article_totals")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(counter.flush(&app.pool).await.unwrap(), 1500);
    assert_eq!(written().await, 2501 + 2500, "nothing lost, nothing twice");
}

/// HEAD is answered as GET without a body, for pages, feeds, the sitemap
/// and static files alike, and a HEAD counts no reading.
#[tokio::test]
async fn head_is_answered_as_get_without_a_body() {
    let app = spawn_app_with(|config| config.view_flush_seconds = 3600).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (_, number) = story(&app, "山东电网").await;
    let article = format!("/articles/{number}");
    let (_, home) = app.page("/").await;
    let stylesheet = attrs(&home, "link[rel=stylesheet]", "href")
        .into_iter()
        .next()
        .expect("the home page links its stylesheet");
    for path in [
        "/",
        article.as_str(),
        "/zh-hant/",
        "/channels/yaowen",
        "/feed.xml",
        "/sitemap.xml",
        "/search?q=%E7%94%B5%E7%BD%91",
        stylesheet.as_str(),
    ] {
        let get = app.get(path).await;
        assert_eq!(get.status(), 200, "GET {path}");
        let get_type = get.headers()["content-type"].clone();
        let head = app.client.head(app.url(path)).send().await.unwrap();
        assert_eq!(head.status(), 200, "HEAD {path}");
        assert_eq!(head.headers()["content-type"], get_type, "HEAD {path}");
        assert!(
            head.bytes().await.unwrap().is_empty(),
            "HEAD {path} has no body"
        );
    }
    let views = |html: &scraper::Html| texts(html, ".views").join("");
    let (_, before) = app.page(&article).await;
    for _ in 0..3 {
        app.client.head(app.url(&article)).send().await.unwrap();
    }
    let (_, after) = app.page(&article).await;
    let count = |text: String| -> i64 { text.trim_start_matches("阅读：").parse().unwrap() };
    assert_eq!(
        count(views(&after)),
        count(views(&before)) + 1,
        "a HEAD reads nothing"
    );
    // A route that answers only POST still refuses HEAD.
    let head = app.client.head(app.url("/logout")).send().await.unwrap();
    assert_ne!(head.status(), 200);
}
