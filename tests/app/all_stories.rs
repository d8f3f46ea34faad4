//! 全部稿件: what each role finds, the filters, paging, and the bulk
//! changes of published stories.

use crate::helpers::{TestApp, attrs, spawn_app, texts};

/// Stories of the units at and below `unit`, as a scan counts them.
async fn stories_below(app: &TestApp, unit: &str) -> i64 {
    sqlx::query_scalar(
        "with recursive below as (
             select id from units where name = $1
             union all select u.id from units u join below b on u.parent_id = b.id)
         select count(*) from articles where unit_id in (select id from below)",
    )
    .bind(unit)
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

fn total(html: &scraper::Html) -> String {
    texts(html, ".result-count").join("")
}

fn titles(html: &scraper::Html) -> Vec<String> {
    texts(html, "table.all-stories td.title a")
}

async fn move_to(app: &TestApp, username: &str, unit: &str) {
    sqlx::query(
        "update users set unit_id = (select id from units where name = $2) where username = $1",
    )
    .bind(username)
    .bind(unit)
    .execute(&app.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn each_role_finds_what_it_may_see_and_no_more() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let all: i64 = sqlx::query_scalar("select count(*) from articles")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let chief = app.other_client();
    chief.login_as("chief", "chief_editor").await;
    let (code, html) = chief.page("/admin/articles/all").await;
    assert_eq!(code, 200);
    assert_eq!(total(&html), format!("共 {all} 篇"));

    // An editor of 国网山东电力 sees that unit's subtree and nothing of 江苏.
    let editor = app.other_client();
    editor.login_as("ed_sd", "editor").await;
    move_to(&app, "ed_sd", "国网山东电力").await;
    let shandong = stories_below(&app, "国网山东电力").await;
    assert!(shandong > 0 && shandong < all);
    let (_, html) = editor.page("/admin/articles/all").await;
    assert_eq!(total(&html), format!("共 {shandong} 篇"));
    let jiangsu: String =
        sqlx::query_scalar("select id::text from units where name = '国网江苏电力'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    // Asking for another unit's stories finds none of them.
    let (code, html) = editor
        .page(&format!("/admin/articles/all?unit={jiangsu}"))
        .await;
    assert_eq!(code, 200);
    assert_eq!(total(&html), "共 0 篇");
    assert!(stories_below(&app, "国网江苏电力").await > 0);

    // A correspondent finds only their own stories, whatever they ask for.
    let writer = app.other_client();
    writer.login_as("writer_x", "correspondent").await;
    let (_, html) = writer.page("/admin/articles/all").await;
    assert_eq!(total(&html), "共 0 篇");
    let (_, html) = writer.page("/admin/articles/all?status=published").await;
    assert_eq!(total(&html), "共 0 篇");
    assert!(texts(&html, "input[name=ids]").is_empty(), "no bulk boxes");
}

#[tokio::test]
async fn filters_find_by_words_writer_state_and_date_and_refuse_bad_input() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    app.login_as("chief", "chief_editor").await;
    let (title, writer, published): (String, String, chrono::DateTime<chrono::Utc>) = sqlx::query_as(
        "select a.title, w.display_name, a.published_at from articles a join users w on w.id = a.created_by
         where a.title like '山东电网%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (_, html) = app
        .page("/admin/articles/all?q=%E5%B1%B1%E4%B8%9C%E7%94%B5%E7%BD%91")
        .await;
    assert!(titles(&html).contains(&title), "{:?}", titles(&html));

    let by_writer: i64 = sqlx::query_scalar(
        "select count(*) from articles a join users w on w.id = a.created_by where w.display_name = $1",
    )
    .bind(&writer)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (_, html) = app
        .page(&format!(
            "/admin/articles/all?writer={}",
            urlencoding(&writer)
        ))
        .await;
    assert_eq!(total(&html), format!("共 {by_writer} 篇"));

    let drafts: i64 = sqlx::query_scalar("select count(*) from articles where status = 'draft'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (_, html) = app.page("/admin/articles/all?status=draft").await;
    assert_eq!(total(&html), format!("共 {drafts} 篇"));

    // A day in the site's zone holds the stories published that day.
    let day = published
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .format("%Y-%m-%d")
        .to_string();
    let (_, html) = app
        .page(&format!(
            "/admin/articles/all?from={day}&to={day}&status=published"
        ))
        .await;
    assert!(titles(&html).contains(&title));

    let (code, html) = app
        .page("/admin/articles/all?from=2026-12-05&to=2026-12-01&q=%E7%94%B5")
        .await;
    assert_eq!(code, 422);
    assert_eq!(
        texts(&html, "#to-error"),
        ["结束日期早于开始日期，请重新选择。"]
    );
    assert_eq!(
        attrs(&html, "input[name=q]", "value"),
        ["电"],
        "the form is kept"
    );
    let (code, html) = app.page("/admin/articles/all?page=abc").await;
    assert_eq!(code, 422);
    assert_eq!(texts(&html, "#page-error").len(), 1);
    let (code, _) = app.page("/admin/articles/all?status=nonsense").await;
    assert_eq!(code, 422);
}

fn urlencoding(text: &str) -> String {
    serde_urlencoded::to_string([("x", text)]).unwrap()[2..].to_string()
}

#[tokio::test]
async fn pages_hold_fifty_in_the_order_asked_for() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    sqlx::query(
        "insert into articles (channel_id, unit_id, created_by, title, status, published_at)
         select channel_id, unit_id, created_by, '分页稿件' || g, 'published', now() - g * interval '1 minute'
         from articles, generate_series(1, 70) g where title like '山东电网%'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    app.login_as("chief", "chief_editor").await;
    let (_, first) = app
        .page("/admin/articles/all?sort=published&status=published")
        .await;
    let published: i64 =
        sqlx::query_scalar("select count(*) from articles where status = 'published'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(total(&first), format!("共 {published} 篇"));
    let page_one = titles(&first);
    assert_eq!(page_one.len(), 50);
    let expected: Vec<String> = sqlx::query_scalar(
        "select title from articles where status = 'published' order by published_at desc nulls last, id desc",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(page_one, expected[..50]);
    let next = attrs(&first, "nav.pager a.next", "href");
    assert_eq!(next.len(), 1);
    let (_, second) = app.page(&next[0]).await;
    assert_eq!(titles(&second), expected[50..]);
    assert!(attrs(&second, "nav.pager a.next", "href").is_empty());
}

#[tokio::test]
async fn chief_editors_change_published_stories_in_bulk_all_or_none() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    sqlx::query(
        "update articles set is_headline = true, is_recommended = true where status = 'published'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let ids: Vec<String> = sqlx::query_scalar(
        "select id::text from articles where status = 'published' order by number limit 2",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let draft: String =
        sqlx::query_scalar("select id::text from articles where status = 'draft' limit 1")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let headlines = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from articles where is_headline")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let before = headlines().await;

    // An editor may not.
    let editor = app.other_client();
    editor.login_as("ed", "editor").await;
    let refused = editor
        .post(
            "/admin/articles/bulk",
            &[("action", "unheadline"), ("ids", &ids[0])],
        )
        .await;
    assert_eq!(refused.status().as_u16(), 403);

    app.login_as("chief", "chief_editor").await;
    let (_, html) = app.page("/admin/articles/all").await;
    assert_eq!(
        attrs(&html, "button[data-confirm]", "data-confirm").len(),
        1,
        "the action asks first"
    );

    // A draft among the ticked stories refuses the whole change.
    let (code, html) = app
        .post_page(
            "/admin/articles/bulk",
            &[("action", "unheadline"), ("ids", &ids[0]), ("ids", &draft)],
        )
        .await;
    assert_eq!(code, 409);
    assert!(texts(&html, ".alert.error")[0].contains("本次没有处理任何稿件"));
    assert_eq!(headlines().await, before);

    // Unpublishing needs its reason.
    let (code, html) = app
        .post_page(
            "/admin/articles/bulk",
            &[("action", "unpublish"), ("ids", &ids[0])],
        )
        .await;
    assert_eq!(code, 422);
    assert_eq!(texts(&html, "#reason-error"), ["撤稿时请写明原因。"]);

    let response = app
        .post(
            "/admin/articles/bulk",
            &[
                ("action", "unheadline"),
                ("ids", &ids[0]),
                ("ids", &ids[1]),
                ("back", "/admin/articles/all?status=published"),
            ],
        )
        .await;
    assert_eq!(
        response.headers()["location"],
        "/admin/articles/all?status=published&page=1&done=bulk-2"
    );
    assert_eq!(headlines().await, before - 2);
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where action = 'article.placement' and detail = '取消头条'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 2);

    let response = app
        .post(
            "/admin/articles/bulk",
            &[
                ("action", "unpublish"),
                ("ids", &ids[0]),
                ("reason", "信息有误，撤下核实"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let (status,): (String,) = sqlx::query_as("select status from articles where id = $1::uuid")
        .bind(&ids[0])
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, "unpublished");
    let noted: i64 = sqlx::query_scalar(
        "select count(*) from review_events where article_id = $1::uuid and action = 'unpublish' and note = '信息有误，撤下核实'",
    )
    .bind(&ids[0])
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(noted, 1);
}

/// A forged way back leads nowhere but the list, and a story id that does
/// not exist among the ticked ones changes nothing.
#[tokio::test]
async fn a_bulk_change_with_a_forged_return_or_an_unknown_story_changes_nothing() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    sqlx::query("update articles set is_headline = true where status = 'published'")
        .execute(&app.pool)
        .await
        .unwrap();
    let id: String = sqlx::query_scalar(
        "select id::text from articles where status = 'published' order by number limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let headlines = || async {
        sqlx::query_scalar::<_, i64>("select count(*) from articles where is_headline")
            .fetch_one(&app.pool)
            .await
            .unwrap()
    };
    let before = headlines().await;
    app.login_as("chief", "chief_editor").await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let response = app
        .post(
            "/admin/articles/bulk",
            &[("action", "unheadline"), ("ids", &id), ("ids", &unknown)],
        )
        .await;
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(
        headlines().await,
        before,
        "the known story is untouched too"
    );
    let (code, _) = app
        .post_page(
            "/admin/articles/bulk",
            &[("action", "unheadline"), ("ids", "not-an-id")],
        )
        .await;
    assert_eq!(code, 400);

    for back in [
        "https://elsewhere.example/steal",
        "//elsewhere.example/",
        "/admin/users",
    ] {
        let response = app
            .post(
                "/admin/articles/bulk",
                &[("action", "recommend"), ("ids", &id), ("back", back)],
            )
            .await;
        let to = response.headers()["location"].to_str().unwrap().to_owned();
        assert!(to.starts_with("/admin/articles/all?"), "{back} → {to}");
    }
}
