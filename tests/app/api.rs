//! The public JSON API (/api/v1): every answer checked against the OpenAPI
//! document the server serves, cursors, filters, validators, CORS and the
//! per-client limit.

use serde_json::Value;

use crate::helpers::{TestApp, spawn_app, spawn_app_with, texts};

/// The OpenAPI document as the server serves it.
async fn document(app: &TestApp) -> Value {
    let response = app.get("/api/v1/openapi.json").await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// GETs `path` and checks the answer against what the document says
/// `operation` (its path template) answers with that status.
async fn checked(app: &TestApp, doc: &Value, operation: &str, path: &str, status: u16) -> Value {
    let response = app.get(path).await;
    assert_eq!(response.status().as_u16(), status, "{path}");
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json"),
        "{path}"
    );
    let body: Value = response.json().await.unwrap();
    conforms(doc, operation, status, &body);
    body
}

/// Panics unless `body` is what the document says `operation` answers with
/// `status`.
fn conforms(doc: &Value, operation: &str, status: u16, body: &Value) {
    let response = &doc["paths"][operation]["get"]["responses"][status.to_string()];
    let schema = &response["content"]["application/json"]["schema"];
    assert!(
        schema.is_object(),
        "the document names no JSON body for {operation} {status}"
    );
    let mut whole = schema.as_object().unwrap().clone();
    whole.insert(
        "$schema".into(),
        "https://json-schema.org/draft/2020-12/schema".into(),
    );
    whole.insert("components".into(), doc["components"].clone());
    let validator = jsonschema::validator_for(&Value::Object(whole)).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(body)
        .map(|error| format!("{} at {}", error, error.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{operation} {status}: {errors:?}\n{body:#}"
    );
}

fn numbers(list: &Value) -> Vec<i64> {
    list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["number"].as_i64().unwrap())
        .collect()
}

/// Every page of a list, following its cursors.
async fn all_pages(app: &TestApp, doc: &Value, query: &str) -> Vec<i64> {
    let mut found = Vec::new();
    let mut path = format!("/api/v1/stories?{query}");
    for _ in 0..100 {
        let page = checked(app, doc, "/api/v1/stories", &path, 200).await;
        found.extend(numbers(&page));
        match page["next_cursor"].as_str() {
            Some(cursor) => path = format!("/api/v1/stories?{query}&cursor={cursor}"),
            None => return found,
        }
    }
    panic!("the cursors of {query} never end");
}

async fn published(app: &TestApp, condition: &str) -> Vec<i64> {
    sqlx::query_scalar(&format!(
        "select a.number from articles a where a.status = 'published' and ({condition})
         order by a.published_at desc, a.number desc"
    ))
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn lists_page_by_cursor_and_filter_as_the_site_does() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let doc = document(&app).await;

    let first = checked(
        &app,
        &doc,
        "/api/v1/stories",
        "/api/v1/stories?limit=2",
        200,
    )
    .await;
    assert_eq!(numbers(&first).len(), 2);
    assert!(first["next_cursor"].is_string());
    let every = published(&app, "true").await;
    assert!(every.len() > 4, "the demo has stories to page through");
    assert_eq!(all_pages(&app, &doc, "limit=2").await, every);
    assert_eq!(all_pages(&app, &doc, "limit=100").await, every);

    let (slug, unit, author, tag): (String, uuid::Uuid, uuid::Uuid, String) = sqlx::query_as(
        "select c.slug, a.unit_id, aa.author_id, t.name from articles a
         join channels c on c.id = a.channel_id
         join article_authors aa on aa.article_id = a.id
         join article_tags at on at.article_id = a.id join tags t on t.id = at.tag_id
         where a.status = 'published' and c.parent_id is not null limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let parent: String = sqlx::query_scalar(
        "select p.slug from channels c join channels p on p.id = c.parent_id where c.slug = $1",
    )
    .bind(&slug)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let in_channel = |slug: &str| {
        format!(
            "a.channel_id in (with recursive t as (select id from channels where slug = '{slug}'
             union all select c.id from channels c join t on c.parent_id = t.id) select id from t)"
        )
    };
    let parent_stories = published(&app, &in_channel(&parent)).await;
    let child_stories = published(&app, &in_channel(&slug)).await;
    assert!(!child_stories.is_empty());
    assert!(child_stories.iter().all(|n| parent_stories.contains(n)));
    assert_eq!(
        all_pages(&app, &doc, &format!("channel={parent}&limit=1")).await,
        parent_stories,
        "a channel holds its sub-channels' stories"
    );
    assert_eq!(
        all_pages(&app, &doc, &format!("unit={unit}&limit=3")).await,
        published(
            &app,
            &format!(
                "a.unit_id in (with recursive t as (select id from units where id = '{unit}'
                 union all select u.id from units u join t on u.parent_id = t.id) select id from t)"
            )
        )
        .await
    );
    assert_eq!(
        all_pages(&app, &doc, &format!("author={author}")).await,
        published(
            &app,
            &format!(
                "exists (select 1 from article_authors aa where aa.article_id = a.id and aa.author_id = '{author}')"
            )
        )
        .await
    );
    let tagged = published(
        &app,
        &format!(
            "exists (select 1 from article_tags at join tags t on t.id = at.tag_id
             where at.article_id = a.id and t.name = '{tag}')"
        ),
    )
    .await;
    assert!(!tagged.is_empty());
    let encoded = serde_urlencoded::to_string([("tag", &tag)]).unwrap();
    assert_eq!(all_pages(&app, &doc, &encoded).await, tagged);

    // A day range in the site's zone: yesterday's stories only.
    let yesterday: chrono::NaiveDate = sqlx::query_scalar(
        "select ((now() at time zone 'Asia/Shanghai') - interval '1 day')::date",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "update articles set published_at = ($1::date + time '09:00') at time zone 'Asia/Shanghai'
         where number = $2",
    )
    .bind(yesterday)
    .bind(every[0])
    .execute(&app.pool)
    .await
    .unwrap();
    let day = all_pages(&app, &doc, &format!("from={yesterday}&to={yesterday}")).await;
    assert_eq!(
        day,
        published(
            &app,
            &format!("(a.published_at at time zone 'Asia/Shanghai')::date = '{yesterday}'")
        )
        .await
    );
    assert!(day.contains(&every[0]));

    // A topic's stories, and only an active topic's.
    let topic = "yingfeng-dudong".to_owned();
    let topic_id: uuid::Uuid = sqlx::query_scalar(
        "insert into topics (title, slug, description, active) values ('迎峰度冬', $1, '', true)
         returning id",
    )
    .bind(&topic)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into topic_articles (topic_id, article_id, position)
         select $1, id, row_number() over () from articles where number = any($2)",
    )
    .bind(topic_id)
    .bind(&every[1..3])
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        all_pages(&app, &doc, &format!("topic={topic}")).await,
        published(
            &app,
            &format!(
                "exists (select 1 from topic_articles ta where ta.article_id = a.id and ta.topic_id = '{topic_id}')"
            )
        )
        .await
    );
    sqlx::query("update topics set active = false where id = $1")
        .bind(topic_id)
        .execute(&app.pool)
        .await
        .unwrap();
    let refused = checked(
        &app,
        &doc,
        "/api/v1/stories",
        &format!("/api/v1/stories?topic={topic}"),
        400,
    )
    .await;
    assert_eq!(refused["error"], "没有这个专题。");
}

#[tokio::test]
async fn a_story_comes_whole_with_its_credits_tags_and_photos() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let doc = document(&app).await;
    let (id, number): (uuid::Uuid, i64) = sqlx::query_as(
        "select id, number from articles where status = 'published' and title like '带电作业班组%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "update articles set body_html = body_html ||
           '<figure><img src=\"/media/x.jpg\"><figcaption>巡线 &amp; 检修</figcaption></figure><script>alert(1)</script>'
         where id = $1",
    )
    .bind(id)
    .execute(&app.pool)
    .await
    .unwrap();
    let story = checked(
        &app,
        &doc,
        "/api/v1/stories/{number}",
        &format!("/api/v1/stories/{number}"),
        200,
    )
    .await;
    assert_eq!(story["number"], number);
    assert_eq!(story["title"], "带电作业班组：在高压线上守护万家灯火");
    assert!(
        story["url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/articles/{number}"))
    );
    let body = story["body_html"].as_str().unwrap();
    assert!(!body.contains("<script"), "the body is sanitised: {body}");
    let photos = story["photos"].as_array().unwrap();
    let last = photos.last().unwrap();
    assert!(last["url"].as_str().unwrap().ends_with("/media/x.jpg"));
    assert_eq!(last["caption"], "巡线 & 检修");

    let credits: Vec<(uuid::Uuid, String)> = sqlx::query_as(
        "select au.id, au.name from article_authors aa join authors au on au.id = aa.author_id
         where aa.article_id = $1 order by aa.position",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let given: Vec<(String, String)> = story["credits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["author_id"].as_str().unwrap().to_owned(),
                c["name"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        given,
        credits
            .iter()
            .map(|(id, name)| (id.to_string(), name.clone()))
            .collect::<Vec<_>>()
    );
    let mut tags: Vec<String> = sqlx::query_scalar(
        "select t.name from article_tags at join tags t on t.id = at.tag_id where at.article_id = $1",
    )
    .bind(id)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let mut given: Vec<String> = story["tags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect();
    tags.sort();
    given.sort();
    assert_eq!(given, tags);
    let unit: String = sqlx::query_scalar(
        "select u.name from articles a join units u on u.id = a.unit_id where a.id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(story["unit"]["name"], unit);

    // The trees: active nodes only, nested.
    let channels = checked(&app, &doc, "/api/v1/channels", "/api/v1/channels", 200).await;
    let inactive: String = sqlx::query_scalar(
        "update channels set active = false where id = (select id from channels
         where parent_id is not null order by slug limit 1) returning slug",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(channels.to_string().contains(&format!("\"{inactive}\"")));
    let channels = checked(&app, &doc, "/api/v1/channels", "/api/v1/channels", 200).await;
    assert!(!channels.to_string().contains(&format!("\"{inactive}\"")));
    let roots: i64 =
        sqlx::query_scalar("select count(*) from channels where parent_id is null and active")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(channels.as_array().unwrap().len() as i64, roots);
    let units = checked(&app, &doc, "/api/v1/units", "/api/v1/units", 200).await;
    assert!(units.to_string().contains("国网山东电力"));
    assert!(
        units[0]["children"]
            .as_array()
            .is_some_and(|c| !c.is_empty())
    );
}

#[tokio::test]
async fn search_answers_as_the_search_page_does() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let doc = document(&app).await;
    let word = "带电作业";
    let (_, page) = app.page(&format!("/search?q={word}")).await;
    let titles = texts(&page, ".search-results .story-title a");
    assert!(!titles.is_empty());
    let found = checked(
        &app,
        &doc,
        "/api/v1/search",
        &format!("/api/v1/search?q={word}"),
        200,
    )
    .await;
    let given: Vec<String> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| hit["title"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(given, titles);
    assert_eq!(found["count"], titles.len() as i64);
    assert_eq!(found["estimated"], false);
    assert!(
        found["items"][0]["snippet"]
            .as_array()
            .unwrap()
            .iter()
            .any(|run| run["matched"] == true)
    );
    for bad in [
        "/api/v1/search",
        "/api/v1/search?q=%20",
        "/api/v1/search?q=电网&channel=no-such",
        "/api/v1/search?q=电网&from=2026-13-01",
        "/api/v1/search?q=电网&order=relevance&page=99",
    ] {
        let refused = checked(&app, &doc, "/api/v1/search", bad, 400).await;
        assert!(!refused["error"].as_str().unwrap().is_empty(), "{bad}");
    }
}

#[tokio::test]
async fn bad_requests_get_a_json_reason_never_a_page() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let doc = document(&app).await;
    for (path, reason) in [
        (
            "/api/v1/stories?cursor=nonsense",
            "游标无效，请从第一页重新读取。",
        ),
        (
            "/api/v1/stories?cursor=bjA",
            "游标无效，请从第一页重新读取。",
        ),
        (
            "/api/v1/stories?limit=0",
            "limit 应为 1 至 100 之间的整数。",
        ),
        (
            "/api/v1/stories?limit=101",
            "limit 应为 1 至 100 之间的整数。",
        ),
        (
            "/api/v1/stories?limit=x",
            "limit 应为 1 至 100 之间的整数。",
        ),
        (
            "/api/v1/stories?from=yesterday",
            "日期格式应为 年-月-日，例如 2026-01-31。",
        ),
        (
            "/api/v1/stories?from=2026-02-02&to=2026-02-01",
            "结束日期早于开始日期。",
        ),
        ("/api/v1/stories?channel=no-such", "没有这个栏目。"),
        ("/api/v1/stories?unit=nonsense", "unit 应为 UUID。"),
        (
            "/api/v1/stories?unit=00000000-0000-0000-0000-000000000000",
            "没有这个单位。",
        ),
    ] {
        let refused = checked(&app, &doc, "/api/v1/stories", path, 400).await;
        assert_eq!(refused["error"], reason, "{path}");
    }
    for path in [
        "/api/v1/stories/abc",
        "/api/v1/stories/999999",
        "/api/v1/stories/-1",
    ] {
        checked(&app, &doc, "/api/v1/stories/{number}", path, 404).await;
    }
    let response = app.get("/api/v1/no-such-thing").await;
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "没有这个接口。");
    // Writing is not a thing the API does.
    let response = app
        .client
        .post(app.url("/api/v1/stories"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403, "no CSRF token, no write");
}

#[tokio::test]
async fn answers_carry_validators_that_change_with_the_story() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let number: i64 = sqlx::query_scalar(
        "select number from articles where status = 'published' order by number limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let path = format!("/api/v1/stories/{number}");
    let first = app.get(&path).await;
    assert_eq!(first.headers()["cache-control"], "no-cache");
    let tag = first.headers()["etag"].to_str().unwrap().to_owned();
    let held = app
        .client
        .get(app.url(&path))
        .header("If-None-Match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(held.status(), 304);
    assert_eq!(held.headers()["etag"].to_str().unwrap(), tag);
    assert!(held.bytes().await.unwrap().is_empty());
    let other = app
        .client
        .get(app.url(&path))
        .header("If-None-Match", "\"0000000000000000\"")
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 200, "a stale copy is replaced");
    sqlx::query("update articles set title = title || '（更新）' where number = $1")
        .bind(number)
        .execute(&app.pool)
        .await
        .unwrap();
    let changed = app
        .client
        .get(app.url(&path))
        .header("If-None-Match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), 200);
    assert_ne!(changed.headers()["etag"].to_str().unwrap(), tag);
    let story: Value = changed.json().await.unwrap();
    assert!(story["title"].as_str().unwrap().ends_with("（更新）"));
    // And the same for a list.
    let list = app.get("/api/v1/stories").await;
    let tag = list.headers()["etag"].to_str().unwrap().to_owned();
    let held = app
        .client
        .get(app.url("/api/v1/stories"))
        .header("If-None-Match", format!("W/{tag}"))
        .send()
        .await
        .unwrap();
    assert_eq!(held.status(), 304);
}

#[tokio::test]
async fn browsers_of_the_configured_origins_only_may_read_it() {
    let open = spawn_app().await;
    let response = open
        .client
        .get(open.url("/api/v1/channels"))
        .header("Origin", "https://anyone.example")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["access-control-allow-origin"], "*");

    let app = spawn_app_with(|config| {
        config.api_origins = vec!["https://app.example.com".into()];
    })
    .await;
    let response = app
        .client
        .get(app.url("/api/v1/channels"))
        .header("Origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["access-control-allow-origin"],
        "https://app.example.com"
    );
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/stories"))
        .header("Origin", "https://app.example.com")
        .header("Access-Control-Request-Method", "GET")
        .header("Access-Control-Request-Headers", "if-none-match")
        .send()
        .await
        .unwrap();
    assert!(preflight.status().is_success(), "{}", preflight.status());
    let allowed = preflight.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        allowed.contains("GET") && !allowed.contains("POST"),
        "{allowed}"
    );
    let foreign = app
        .client
        .get(app.url("/api/v1/channels"))
        .header("Origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    assert!(
        foreign
            .headers()
            .get("access-control-allow-origin")
            .is_none(),
        "a foreign origin is not let read"
    );
    // The site's own pages grant nobody.
    let page = app
        .client
        .get(app.url("/"))
        .header("Origin", "https://app.example.com")
        .send()
        .await
        .unwrap();
    assert!(page.headers().get("access-control-allow-origin").is_none());
}

#[test]
fn an_origin_list_that_is_not_origins_is_refused() {
    use newsdesk::api::Origins;
    for bad in [
        "app.example.com",
        "https://app.example.com/",
        "https://app.example.com/path",
        "ftp://app.example.com",
    ] {
        assert!(Origins::parse(&[bad.to_owned()]).is_err(), "{bad}");
    }
    assert!(matches!(
        Origins::parse(&["https://a.example".into(), " http://b.example:8080 ".into()]),
        Ok(Origins::Listed(origins)) if origins.len() == 2
    ));
    assert!(matches!(Origins::parse(&["*".into()]), Ok(Origins::Any)));
}

#[tokio::test]
async fn each_client_has_its_own_allowance() {
    let app = spawn_app_with(|config| {
        config.api_rate_limit = 5;
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    let from = |client: &'static str| {
        app.client
            .get(app.url("/api/v1/channels"))
            .header("X-Forwarded-For", client)
    };
    for _ in 0..5 {
        assert_eq!(from("203.0.113.7").send().await.unwrap().status(), 200);
    }
    let refused = from("203.0.113.7").send().await.unwrap();
    assert_eq!(refused.status(), 429);
    let wait: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    let body: Value = refused.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("每分钟最多 5 次"));
    // Another client, and another address of the same IPv6 /64 is the same.
    assert_eq!(from("198.51.100.1").send().await.unwrap().status(), 200);
    for _ in 0..5 {
        assert_eq!(from("2001:db8:1:2::1").send().await.unwrap().status(), 200);
    }
    assert_eq!(
        from("2001:db8:1:2::ffff").send().await.unwrap().status(),
        429
    );
    assert_eq!(from("2001:db8:1:3::1").send().await.unwrap().status(), 200);
    // The site's pages are not counted against the API.
    assert_eq!(app.get("/").await.status(), 200);
}

#[tokio::test]
async fn the_reference_page_lists_every_operation_and_structure() {
    let app = spawn_app().await;
    let doc = document(&app).await;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let (status, page) = app.page("/api/v1").await;
    assert_eq!(status, 200);
    let listed = texts(&page, ".api-operation h2");
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let wanted = format!("{} {path}", method.to_uppercase());
            assert!(listed.contains(&wanted), "{wanted} not in {listed:?}");
        }
    }
    let schemas = texts(&page, ".api-schema h3");
    for name in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(schemas.contains(name), "{name}");
    }
}
