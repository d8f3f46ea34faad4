//! Articles: the form, the review workflow over HTTP, revisions, locking,
//! scheduling and who sees what.

use crate::helpers::{TestApp, attrs, execute, id_of, location, spawn_app, texts};

async fn channel(app: &TestApp, slug: &str) -> String {
    id_of(app, "select id from channels where slug = $1", slug).await
}

async fn unit(app: &TestApp, name: &str) -> String {
    id_of(app, "select id from units where name = $1", name).await
}

/// Writes a story through the form and returns its id.
async fn write(
    app: &TestApp,
    channel_id: &str,
    unit_id: &str,
    title: &str,
    action: &str,
) -> String {
    let response = app
        .post(
            "/admin/articles/new",
            &[
                ("title", title),
                ("kicker", "迎峰度冬"),
                ("body", "<p>正文第一段<script>alert(1)</script></p><h2>小标题</h2><p><strong>导语</strong>正文</p>"),
                ("channel_id", channel_id),
                ("unit_id", unit_id),
                ("author_byline", "本报记者 张三 摄影 李四"),
                ("correspondents", "王五"),
                ("source", ""),
                ("tags", "迎峰度冬、电网建设"),
                ("action", action),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303, "saved");
    let to = location(&response);
    to.trim_start_matches("/admin/articles/")
        .split('?')
        .next()
        .unwrap()
        .to_string()
}

async fn review(app: &TestApp, id: &str, decision: &str, opinion: &str) -> (u16, scraper::Html) {
    app.post_page(
        &format!("/admin/articles/{id}/review"),
        &[("decision", decision), ("opinion", opinion)],
    )
    .await
}

async fn status(app: &TestApp, id: &str) -> (String, i16) {
    sqlx::query_as("select status, review_stage from articles where id = $1::uuid")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_story_travels_from_correspondent_through_editor_and_chief_to_the_portal() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (fengcai, root) = (
        channel(&app, "qiye-fengcai").await,
        unit(&app, "国家电网").await,
    );
    app.login_as("writer", "correspondent").await;
    let id = write(&app, &fengcai, &root, "变电站迎来冬季首场巡检", "submit").await;
    assert_eq!(status(&app, &id).await, ("submitted".into(), 0));
    let stored: String = sqlx::query_scalar("select body_html from articles where id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        !stored.contains("script") && stored.contains("<h2>小标题</h2>"),
        "{stored}"
    );

    let editor = app.other_client();
    editor.login_as("editor_a", "editor").await;
    let (_, queue) = editor.page("/admin/articles").await;
    assert!(texts(&queue, ".queue td.title a").contains(&"变电站迎来冬季首场巡检".to_string()));
    let (code, _) = review(&editor, &id, "pass", "事实清楚，同意送终审。").await;
    assert_eq!(code, 303);
    assert_eq!(status(&app, &id).await, ("in_review".into(), 1));
    let (code, html) = review(&editor, &id, "pass", "再次通过").await;
    assert_eq!(code, 422, "an editor cannot take the chief editor's stage");
    assert_eq!(texts(&html, ".alert.error"), ["您的角色不能审核这一环节。"]);

    let chief = app.other_client();
    chief.login_as("chief", "chief_editor").await;
    let (code, _) = review(&chief, &id, "pass", "同意发布。").await;
    assert_eq!(code, 303);
    let (state, number, editors): (String, i64, String) = sqlx::query_as(
        "select status, number, responsible_editors from articles where id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(state, "published");
    assert_eq!(editors, "editor_a的姓名 chief的姓名");

    let (code, page) = app.page(&format!("/articles/{number}")).await;
    assert_eq!(code, 200);
    let meta = texts(&page, ".meta").join(" ");
    assert!(
        meta.contains("作者：本报记者 张三 摄影 李四") && meta.contains("通讯员：王五"),
        "{meta}"
    );
    assert!(
        meta.contains("来源：电网新闻网"),
        "the site name is the default source: {meta}"
    );

    let (_, detail) = app.page(&format!("/admin/articles/{id}")).await;
    let timeline = texts(&detail, ".timeline li");
    assert_eq!(timeline.len(), 4, "{timeline:?}");
    assert!(timeline[1].contains("提交审核") && timeline[2].contains("事实清楚"));
    let (_, mine) = app.page("/admin/articles").await;
    assert_eq!(texts(&mine, ".mine td.status"), ["已发布"]);
    assert_eq!(
        attrs(&mine, ".mine a[target=_blank]", "href"),
        [format!("/articles/{number}")]
    );
}

#[tokio::test]
async fn a_returned_story_needs_a_note_and_goes_back_to_its_writer() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (jiceng, root) = (
        channel(&app, "jiceng-dongtai").await,
        unit(&app, "国家电网").await,
    );
    app.login_as("writer", "correspondent").await;
    let id = write(&app, &jiceng, &root, "班组开展技能比武", "submit").await;
    let editor = app.other_client();
    editor.login_as("editor_a", "editor").await;

    let (code, html) = review(&editor, &id, "return", "  ").await;
    assert_eq!(code, 422);
    assert_eq!(texts(&html, ".alert.error"), ["退回稿件时请写明修改意见。"]);
    assert_eq!(status(&app, &id).await.0, "submitted", "nothing changed");

    let (code, _) = review(&editor, &id, "return", "请补充比武成绩。").await;
    assert_eq!(code, 303);
    assert_eq!(status(&app, &id).await.0, "returned");
    let (_, mine) = app.page("/admin/articles").await;
    assert_eq!(texts(&mine, ".mine td.note"), ["请补充比武成绩。"]);
    assert_eq!(
        app.get(&format!("/admin/articles/{id}/edit"))
            .await
            .status()
            .as_u16(),
        200,
        "the writer edits again"
    );
    let (code, html) = review(&editor, &id, "pass", "通过").await;
    assert_eq!(code, 422, "a returned story is not in review");
    assert_eq!(texts(&html, ".alert.error"), ["该稿件当前不在审核中。"]);
}

#[tokio::test]
async fn separation_of_duties_and_scope_are_enforced_per_stage() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    // 党建 has three stages: editor, editor, chief editor.
    let dangjian = channel(&app, "dangjian").await;
    let suzhou = unit(&app, "国网苏州供电公司").await;
    app.login_as("writer", "correspondent").await;
    let id = write(&app, &dangjian, &suzhou, "党员服务队走进社区", "submit").await;

    let editor = app.other_client();
    editor.login_as("editor_a", "editor").await;
    assert_eq!(review(&editor, &id, "pass", "同意").await.0, 303);
    let (code, html) = review(&editor, &id, "pass", "同意").await;
    assert_eq!(code, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["同一人不能审核同一稿件的两个环节。"]
    );

    // An editor of another branch of the tree does not see the story at all.
    let elsewhere = app.other_client();
    elsewhere.login_as("editor_b", "editor").await;
    sqlx::query("update users set unit_id = (select id from units where name = '国网山东电力') where username = 'editor_b'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(review(&elsewhere, &id, "pass", "同意").await.0, 404);
    let (_, queue) = elsewhere.page("/admin/articles").await;
    assert!(texts(&queue, ".queue td.title a").is_empty());

    // A correspondent may not review, nor see another writer's story.
    let other_writer = app.other_client();
    other_writer.login_as("writer_b", "correspondent").await;
    assert_eq!(review(&other_writer, &id, "pass", "同意").await.0, 403);
    assert_eq!(
        other_writer.page(&format!("/admin/articles/{id}")).await.0,
        404
    );
    assert_eq!(status(&app, &id).await, ("in_review".into(), 1));
}

#[tokio::test]
async fn a_reviewer_passes_one_stage_per_round_and_the_queue_knows_it() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let dangjian = channel(&app, "dangjian").await;
    let suzhou = unit(&app, "国网苏州供电公司").await;
    app.login_as("writer", "correspondent").await;
    let title = "供电所开展安全日活动";
    let id = write(&app, &dangjian, &suzhou, title, "submit").await;
    let (first, second) = (app.other_client(), app.other_client());
    first.login_as("editor_a", "editor").await;
    second.login_as("editor_b", "editor").await;
    let queued = |html: &scraper::Html| texts(html, ".queue td.title a").contains(&title.into());

    assert!(queued(&first.page("/admin/articles").await.1));
    assert_eq!(review(&first, &id, "pass", "同意").await.0, 303);
    assert!(
        !queued(&first.page("/admin/articles").await.1),
        "the second stage is not offered to the first stage's reviewer"
    );
    assert!(queued(&second.page("/admin/articles").await.1));

    // Returned and submitted again, the story starts a new round.
    assert_eq!(
        review(&second, &id, "return", "请补充活动照片。").await.0,
        303
    );
    let response = app
        .post(
            &format!("/admin/articles/{id}/edit"),
            &[
                ("title", title),
                ("channel_id", &dangjian),
                ("unit_id", &suzhou),
                ("version", "1"),
                ("action", "submit"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(status(&app, &id).await, ("submitted".into(), 0));
    assert!(queued(&first.page("/admin/articles").await.1));
    assert_eq!(review(&first, &id, "pass", "同意").await.0, 303);
    assert_eq!(status(&app, &id).await, ("in_review".into(), 1));
}

#[tokio::test]
async fn a_chief_editors_own_story_needs_other_reviewers() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (yaowen, root) = (channel(&app, "yaowen").await, unit(&app, "国家电网").await);
    app.login_as("chief", "chief_editor").await;
    let id = write(&app, &yaowen, &root, "总编撰写的评论", "submit").await;
    let (code, html) = review(&app, &id, "pass", "同意").await;
    assert_eq!(code, 422);
    assert_eq!(texts(&html, ".alert.error"), ["不能审核自己撰写的稿件。"]);
}

#[tokio::test]
async fn of_two_saves_of_one_version_exactly_one_wins_and_the_other_keeps_its_text() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (keji, root) = (channel(&app, "keji").await, unit(&app, "国家电网").await);
    app.login_as("writer", "correspondent").await;
    let id = write(&app, &keji, &root, "初稿标题", "save").await;
    let second_browser = app.other_client();
    second_browser
        .login("writer", "writer-Tq7-lamp-horse")
        .await;

    let save = |client: &TestApp, title: &'static str| {
        let path = format!("/admin/articles/{id}/edit");
        let (keji, root) = (keji.clone(), root.clone());
        let client = client.other_client_sharing_cookies();
        async move {
            client
                .post_page(
                    &path,
                    &[
                        ("title", title),
                        ("channel_id", &keji),
                        ("unit_id", &root),
                        ("version", "1"),
                        ("action", "save"),
                    ],
                )
                .await
        }
    };
    let (first, second) = tokio::join!(save(&app, "甲的标题"), save(&second_browser, "乙的标题"));
    let mut codes = [first.0, second.0];
    codes.sort();
    assert_eq!(codes, [303, 409], "exactly one save wins");
    let loser = if first.0 == 409 { &first.1 } else { &second.1 };
    let kept = attrs(loser, "input[name=title]", "value");
    assert!(
        kept == ["甲的标题"] || kept == ["乙的标题"],
        "the refused text stays in the form: {kept:?}"
    );
    assert!(
        texts(loser, ".alert.warning a")
            .iter()
            .any(|t| t.contains("最新版本"))
    );
    let revisions: i64 =
        sqlx::query_scalar("select count(*) from article_revisions where article_id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(revisions, 2);
}

#[tokio::test]
async fn the_form_refuses_bad_input_with_the_text_kept() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let root = unit(&app, "国家电网").await;
    app.login_as("writer", "correspondent").await;
    let (code, html) = app
        .post_page(
            "/admin/articles/new",
            &[
                ("title", ""),
                ("body", "<p>写了很久的正文</p>"),
                ("channel_id", ""),
                ("unit_id", &root),
            ],
        )
        .await;
    assert_eq!(code, 422);
    // Every wrong field is named at once, each message beside its field
    // and tied to it for screen readers.
    assert_eq!(texts(&html, ".alert.error"), ["请填写标题。 请选择栏目。"]);
    assert_eq!(texts(&html, "#title-error"), ["请填写标题。"]);
    assert_eq!(texts(&html, "#channel_id-error"), ["请选择栏目。"]);
    assert_eq!(
        attrs(&html, "input[name=title]", "aria-describedby"),
        ["title-error"]
    );
    assert_eq!(
        attrs(&html, "select[name=channel_id]", "aria-invalid"),
        ["true"]
    );
    assert!(attrs(&html, "select[name=unit_id]", "aria-invalid").is_empty());
    assert_eq!(
        attrs(&html, "input[name=body]", "value"),
        ["<p>写了很久的正文</p>"]
    );
    let count: i64 = sqlx::query_scalar("select count(*) from articles where created_by = (select id from users where username = 'writer')")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(count, 0, "nothing half-written");
}

#[tokio::test]
async fn every_save_keeps_a_revision_that_can_be_restored() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (keji, root) = (channel(&app, "keji").await, unit(&app, "国家电网").await);
    app.login_as("writer", "correspondent").await;
    let id = write(&app, &keji, &root, "第一版标题", "save").await;
    let edit = [
        ("title", "第二版标题"),
        ("channel_id", keji.as_str()),
        ("unit_id", root.as_str()),
        ("version", "1"),
    ];
    assert_eq!(
        app.post(&format!("/admin/articles/{id}/edit"), &edit)
            .await
            .status()
            .as_u16(),
        303
    );

    let (code, old) = app.page(&format!("/admin/articles/{id}/revisions/1")).await;
    assert_eq!(code, 200);
    assert_eq!(texts(&old, ".preview-title"), ["第一版标题"]);
    let response = app
        .post(
            &format!("/admin/articles/{id}/revisions/1/restore"),
            &[("version", "2")],
        )
        .await;
    assert_eq!(
        location(&response),
        format!("/admin/articles/{id}?done=restored")
    );
    let (title, version): (String, i32) =
        sqlx::query_as("select title, version from articles where id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        (title.as_str(), version),
        ("第一版标题", 3),
        "restored as a new version"
    );
}

#[tokio::test]
async fn restoring_a_revision_of_a_live_story_proposes_a_correction_and_the_live_text_stays() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (keji, root) = (channel(&app, "keji").await, unit(&app, "国家电网").await);
    app.login_as("writer", "correspondent").await;
    let id = write(&app, &keji, &root, "未经审核的初稿", "save").await;
    let edit = [
        ("title", "审核通过的定稿"),
        ("channel_id", keji.as_str()),
        ("unit_id", root.as_str()),
        ("version", "1"),
    ];
    let saved = app.post(&format!("/admin/articles/{id}/edit"), &edit).await;
    assert_eq!(saved.status().as_u16(), 303);
    sqlx::query(
        "update articles set status = 'published', published_at = now() where id = $1::uuid",
    )
    .bind(&id)
    .execute(&app.pool)
    .await
    .unwrap();
    let number: i64 = sqlx::query_scalar("select number from articles where id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let restore = format!("/admin/articles/{id}/revisions/1/restore");
    let response = app.post(&restore, &[("version", "2")]).await;
    assert_eq!(
        location(&response),
        format!("/admin/articles/{id}?done=correction")
    );
    let (_, live) = app.page(&format!("/articles/{number}")).await;
    assert_eq!(
        texts(&live, "h1.title"),
        ["审核通过的定稿"],
        "the live text stays"
    );
    let (title, version): (String, i32) =
        sqlx::query_as("select title, version from articles where id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((title.as_str(), version), ("审核通过的定稿", 2));
    let proposed: Vec<(String, String)> =
        sqlx::query_as("select title, status from corrections where article_id = $1::uuid")
            .bind(&id)
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        proposed,
        [("未经审核的初稿".to_string(), "in_review".to_string())],
        "the old revision waits for review as a correction"
    );

    // Once more while that correction waits: refused, nothing added.
    let again = app.post(&restore, &[("version", "2")]).await;
    assert_eq!(
        location(&again),
        format!("/admin/articles/{id}?done=correction_open")
    );
    // A stale version is refused, not proposed.
    execute!(
        app,
        "delete from corrections where article_id = $1::uuid",
        &id
    );
    let stale = app.post(&restore, &[("version", "1")]).await;
    assert_eq!(location(&stale), format!("/admin/articles/{id}?done=stale"));
    let open: i64 =
        sqlx::query_scalar("select count(*) from corrections where article_id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(open, 0);

    // Another correspondent cannot even see the story.
    let stranger = app.other_client();
    stranger.login_as("stranger", "correspondent").await;
    let response = stranger.post(&restore, &[("version", "2")]).await;
    assert_eq!(response.status().as_u16(), 404);
}

#[tokio::test]
async fn editing_a_photos_caption_leaves_the_live_story_as_it_was_approved() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (keji, root) = (channel(&app, "keji").await, unit(&app, "国家电网").await);
    app.login_as("photo_writer", "correspondent").await;
    let uploaded: serde_json::Value =
        crate::media::upload(&app, "现场.jpg", crate::media::jpeg_with_gps(400, 300))
            .await
            .json()
            .await
            .unwrap();
    let (id, src) = (
        uploaded["files"][0]["id"].as_str().unwrap().to_string(),
        uploaded["files"][0]["url"].as_str().unwrap().to_string(),
    );
    let body = format!(
        "<p>正文</p><figure><img src=\"{src}\"><figcaption>审定的图片说明</figcaption></figure>"
    );
    let response = app
        .post(
            "/admin/articles/new",
            &[
                ("title", "带图的稿件"),
                ("body", &body),
                ("channel_id", &keji),
                ("unit_id", &root),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    execute!(
        app,
        "update articles set status = 'published', published_at = now() where title = '带图的稿件'"
    );
    let number: i64 = sqlx::query_scalar("select number from articles where title = '带图的稿件'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let edited = app
        .post(
            &format!("/admin/media/{id}"),
            &[("caption", "未经审核的新说明"), ("alt", "未经审核")],
        )
        .await;
    assert_eq!(
        edited.status().as_u16(),
        303,
        "the uploader may edit the library's caption"
    );
    let (_, page) = app.page(&format!("/articles/{number}")).await;
    assert_eq!(texts(&page, ".article-body figcaption"), ["审定的图片说明"]);
    assert!(
        !page.html().contains("未经审核"),
        "nothing unreviewed reaches the page"
    );
}

#[tokio::test]
async fn a_scheduled_story_is_published_once_with_two_schedulers_running() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    sqlx::query(
        "update articles set published_at = now() - interval '1 second' where status = 'scheduled'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let (a, b) = tokio::join!(
        newsdesk::articles::transition::publish_due(&app.pool, None),
        newsdesk::articles::transition::publish_due(&app.pool, None)
    );
    assert_eq!(a.unwrap() + b.unwrap(), 1, "published once");
    let events: i64 =
        sqlx::query_scalar("select count(*) from review_events where action = 'publish_due'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(events, 1);
    let (_, home) = app.page("/").await;
    assert!(texts(&home, ".story-title a").contains(&"明日起杭州试点配电网不停电检修".to_string()));
}

#[tokio::test]
async fn a_schedule_missed_while_down_is_published_at_start_and_flagged() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    sqlx::query(
        "update articles set published_at = now() - interval '3 hours' where status = 'scheduled'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let started = chrono::Utc::now() - chrono::Duration::minutes(1);
    assert_eq!(
        newsdesk::articles::transition::publish_due(&app.pool, Some(started))
            .await
            .unwrap(),
        1
    );
    app.login_as("chief", "chief_editor").await;
    let (_, list) = app.page("/admin/articles").await;
    assert_eq!(
        texts(&list, ".panel.warning li a"),
        ["明日起杭州试点配电网不停电检修"]
    );
}

#[tokio::test]
async fn author_names_are_offered_from_the_records() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    app.login_as("writer", "correspondent").await;
    let found: Vec<serde_json::Value> = app.get("/admin/authors?q=王").await.json().await.unwrap();
    let names: Vec<&str> = found.iter().map(|a| a["name"].as_str().unwrap()).collect();
    assert!(names.contains(&"王晓峰"), "{names:?}");
    let staff: Vec<serde_json::Value> = app.get("/admin/authors?q=李").await.json().await.unwrap();
    assert_eq!(staff[0]["name"], "李明", "staff first");
    assert_eq!(staff[0]["unit"], "国网威海供电公司");
}

#[tokio::test]
async fn the_last_stage_schedules_a_later_time_and_refuses_a_past_one() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let id: uuid::Uuid = sqlx::query_scalar("select id from articles where status = 'in_review'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let id = id.to_string();
    app.login_as("chief", "chief_editor").await;
    let path = format!("/admin/articles/{id}/review");

    let (code, html) = app
        .post_page(
            &path,
            &[
                ("decision", "pass"),
                ("opinion", "同意"),
                ("publish_at", "2020-01-01T08:00"),
            ],
        )
        .await;
    assert_eq!(code, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["定时发布的时间必须晚于现在。"]
    );
    assert_eq!(
        texts(&html, "textarea[name=opinion]"),
        ["同意"],
        "the opinion is kept"
    );

    let (code, _) = app
        .post_page(
            &path,
            &[
                ("decision", "pass"),
                ("opinion", "同意"),
                ("publish_at", "2099-06-01T09:30"),
            ],
        )
        .await;
    assert_eq!(code, 303);
    let (state, at): (String, chrono::DateTime<chrono::Utc>) =
        sqlx::query_as("select status, published_at from articles where id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(state, "scheduled");
    assert_eq!(
        at.to_rfc3339(),
        "2099-06-01T01:30:00+00:00",
        "read in the site's time zone"
    );
}

/// 头条/推荐 ticked on the last stage's form go out with 通过并发布, are
/// kept with the typed time and opinion on a refusal, and are not applied
/// by a decision that does not publish or by a reviewer who may not place.
#[tokio::test]
async fn placement_ticked_on_the_last_stage_goes_out_with_the_decision() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let id: uuid::Uuid = sqlx::query_scalar("select id from articles where status = 'in_review'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let path = format!("/admin/articles/{id}/review");
    let flags = || async {
        sqlx::query_as::<_, (bool, bool, String)>(
            "select is_headline, is_recommended, status from articles where id = $1",
        )
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    app.login_as("chief", "chief_editor").await;
    let (_, html) = app.page(&format!("/admin/articles/{id}")).await;
    assert_eq!(
        attrs(&html, "form.review-form input[name=placement]", "value"),
        ["1"],
        "the review form itself offers the placement"
    );
    assert!(
        texts(&html, "form.placement").is_empty(),
        "no second placement form to lose the ticks in"
    );

    // A refused decision keeps every typed thing and changes nothing.
    let (code, html) = app
        .post_page(
            &path,
            &[
                ("decision", "pass"),
                ("opinion", "同意发布"),
                ("publish_at", "2020-01-01T08:00"),
                ("placement", "1"),
                ("is_headline", "on"),
                ("is_recommended", "on"),
            ],
        )
        .await;
    assert_eq!(code, 422);
    assert_eq!(
        texts(&html, "#publish_at-error"),
        ["定时发布的时间必须晚于现在。"]
    );
    assert_eq!(
        attrs(&html, "input[name=publish_at]", "value"),
        ["2020-01-01T08:00"]
    );
    assert_eq!(attrs(&html, "input[name=is_headline]", "checked").len(), 1);
    assert_eq!(
        attrs(&html, "input[name=is_recommended]", "checked").len(),
        1
    );
    assert_eq!(texts(&html, "textarea[name=opinion]"), ["同意发布"]);
    assert_eq!(flags().await, (false, false, "in_review".into()));

    // Passed and published with the ticks, in one step, audited.
    let response = app
        .post(
            &path,
            &[
                ("decision", "pass"),
                ("opinion", "同意发布"),
                ("placement", "1"),
                ("is_headline", "on"),
            ],
        )
        .await;
    assert_eq!(
        response.headers()["location"],
        format!("/admin/articles/{id}?done=published").as_str()
    );
    assert_eq!(flags().await, (true, false, "published".into()));
    let (_, html) = app
        .page(&format!("/admin/articles/{id}?done=published"))
        .await;
    assert_eq!(texts(&html, ".alert.success"), ["稿件已通过审核并发布。"]);
    let audited: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where action = 'article.placement' and detail like '头条：是；推荐：否%'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(audited, 1);
    let (_, home) = app.page("/").await;
    let title: String = sqlx::query_scalar("select title from articles where id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        texts(&home, ".headline-title"),
        [title],
        "the home page leads with it"
    );
}

/// A return with the boxes ticked publishes nothing and places nothing.
#[tokio::test]
async fn a_return_with_placement_ticked_places_nothing() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let id: uuid::Uuid = sqlx::query_scalar("select id from articles where status = 'in_review'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    app.login_as("chief", "chief_editor").await;
    let response = app
        .post(
            &format!("/admin/articles/{id}/review"),
            &[
                ("decision", "return"),
                ("opinion", "请补充数据来源"),
                ("placement", "1"),
                ("is_headline", "on"),
            ],
        )
        .await;
    assert_eq!(
        response.headers()["location"],
        format!("/admin/articles/{id}?done=returned").as_str()
    );
    let headline: bool = sqlx::query_scalar("select is_headline from articles where id = $1")
        .bind(id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(!headline);
}

#[tokio::test]
async fn chief_editors_set_headline_recommended_and_responsible_editors() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let id: uuid::Uuid = sqlx::query_scalar("select id from articles where title like '苏南%'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let path = format!("/admin/articles/{id}/placement");
    let editor = app.other_client();
    editor.login_as("editor_a", "editor").await;
    let fields = [
        ("is_headline", "on"),
        ("is_recommended", "on"),
        ("responsible_editors", "陈编辑  王总编"),
    ];
    assert_eq!(editor.post(&path, &fields).await.status().as_u16(), 403);

    app.login_as("chief", "chief_editor").await;
    assert_eq!(app.post(&path, &fields).await.status().as_u16(), 303);
    let (headline, recommended, editors): (bool, bool, String) = sqlx::query_as(
        "select is_headline, is_recommended, responsible_editors from articles where id = $1",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (headline, recommended, editors.as_str()),
        (true, true, "陈编辑 王总编")
    );
}

#[tokio::test]
async fn a_cover_photo_is_chosen_in_the_form_and_shown_in_lists() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (yaowen, root) = (channel(&app, "yaowen").await, unit(&app, "国家电网").await);
    app.login_as("chief", "chief_editor").await;
    let uploaded: serde_json::Value =
        crate::media::upload(&app, "封面.jpg", crate::media::jpeg_with_gps(800, 500))
            .await
            .json()
            .await
            .unwrap();
    let cover = uploaded["files"][0]["id"].as_str().unwrap().to_string();

    let (_, form) = app.page("/admin/articles/new").await;
    assert!(
        attrs(&form, "input[name=cover_media_id]", "value").contains(&cover),
        "offered in the form"
    );
    let fields = |cover: &str| {
        vec![
            ("title".to_string(), "有封面的要闻".to_string()),
            ("channel_id".to_string(), yaowen.clone()),
            ("unit_id".to_string(), root.clone()),
            ("cover_media_id".to_string(), cover.to_string()),
            ("action".to_string(), "save".to_string()),
        ]
    };
    let bad = fields("00000000-0000-0000-0000-000000000000");
    let bad: Vec<(&str, &str)> = bad.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (code, html) = app.post_page("/admin/articles/new", &bad).await;
    assert_eq!(code, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["封面图片不存在，请重新选择。"]
    );

    let good = fields(&cover);
    let good: Vec<(&str, &str)> = good.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    assert_eq!(
        app.post("/admin/articles/new", &good)
            .await
            .status()
            .as_u16(),
        303
    );
    sqlx::query("update articles set status = 'published', published_at = now() where title = '有封面的要闻'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, home) = app.page("/").await;
    let covers = attrs(&home, "img.story-cover", "src");
    assert_eq!(covers, [format!("/media/{cover}-thumb.jpg")]);
    assert_eq!(app.get(&covers[0]).await.status().as_u16(), 200);
}

#[tokio::test]
async fn two_revisions_are_compared_character_by_character() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (keji, root) = (channel(&app, "keji").await, unit(&app, "国家电网").await);
    app.login_as("writer", "correspondent").await;
    let id = write(
        &app,
        &keji,
        &root,
        "国网山东电力提前部署迎峰度冬工作",
        "save",
    )
    .await;
    let edit = [
        ("title", "国网山东电力全面部署迎峰度冬工作"),
        ("channel_id", keji.as_str()),
        ("unit_id", root.as_str()),
        (
            "body",
            "<p>正文第一段</p><h2>小标题</h2><p><strong>导语</strong>正文有改动</p>",
        ),
        ("author_byline", "本报记者 张三 摄影 李四"),
        ("correspondents", "王五"),
        ("tags", "迎峰度冬、电网建设"),
        ("kicker", "迎峰度冬"),
        ("version", "1"),
    ];
    assert_eq!(
        app.post(&format!("/admin/articles/{id}/edit"), &edit)
            .await
            .status()
            .as_u16(),
        303
    );
    let (code, html) = app
        .page(&format!("/admin/articles/{id}/diff?from=1&to=2"))
        .await;
    assert_eq!(code, 200);
    assert_eq!(texts(&html, "ins"), ["新增的文字", "全面", "有改动"]);
    assert_eq!(texts(&html, "del"), ["删去的文字", "提前"]);
    assert_eq!(texts(&html, "tr:not(.unchanged) th"), ["标题", "正文"]);
    assert_eq!(
        app.page(&format!("/admin/articles/{id}/diff?from=1&to=9"))
            .await
            .0,
        404
    );
}

async fn notified(app: &TestApp, username: &str) -> Vec<(String, String, String)> {
    sqlx::query_as(
        "select n.message, n.note, n.link from notifications n join users u on u.id = n.user_id
         where u.username = $1 order by n.id",
    )
    .bind(username)
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn notifications_reach_the_right_people_and_no_one_else() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (fengcai, suzhou) = (
        channel(&app, "qiye-fengcai").await,
        unit(&app, "国网苏州供电公司").await,
    );
    let editor = app.other_client();
    editor.login_as("editor_a", "editor").await;
    let elsewhere = app.other_client();
    elsewhere.login_as("editor_b", "editor").await;
    sqlx::query("update users set unit_id = (select id from units where name = '国网山东电力') where username = 'editor_b'")
        .execute(&app.pool)
        .await
        .unwrap();
    let chief = app.other_client();
    chief.login_as("chief", "chief_editor").await;
    app.login_as("writer", "correspondent").await;

    let id = write(&app, &fengcai, &suzhou, "苏州营业厅延长服务时间", "submit").await;
    let arrivals = notified(&app, "editor_a").await;
    assert_eq!(arrivals.len(), 1);
    assert_eq!(
        arrivals[0].0,
        "新稿件待审（第 1 审）：苏州营业厅延长服务时间"
    );
    assert!(
        notified(&app, "editor_b").await.is_empty(),
        "outside the unit subtree"
    );
    assert!(
        notified(&app, "chief").await.is_empty(),
        "not the chief editor's stage yet"
    );
    assert!(notified(&app, "writer").await.is_empty());

    assert_eq!(review(&editor, &id, "pass", "同意").await.0, 303);
    assert_eq!(
        notified(&app, "chief").await.len(),
        1,
        "the story reached the chief editor's stage"
    );
    assert_eq!(
        review(&chief, &id, "return", "请补充服务时间调整的依据。")
            .await
            .0,
        303
    );
    let told = notified(&app, "writer").await;
    assert_eq!(told.len(), 1);
    assert_eq!(
        (told[0].0.as_str(), told[0].1.as_str()),
        (
            "稿件被退回修改：苏州营业厅延长服务时间",
            "请补充服务时间调整的依据。"
        )
    );

    // The counter in the header, and reading marks it read.
    let (_, page) = app.page("/admin").await;
    assert_eq!(texts(&page, ".bell .count"), ["1"]);
    let (_, list) = app.page("/admin/notifications").await;
    let link = attrs(&list, ".notifications li.unread a", "href");
    assert_eq!(link.len(), 1);
    assert_eq!(
        location(&app.get(&link[0]).await),
        format!("/admin/articles/{id}")
    );
    let (_, page) = app.page("/admin").await;
    assert!(texts(&page, ".bell .count").is_empty());
    assert_eq!(
        elsewhere.get(&link[0]).await.status().as_u16(),
        404,
        "someone else's notification"
    );

    // Published: the writer gets the public link.
    app.post(
        &format!("/admin/articles/{id}/edit"),
        &[
            ("title", "苏州营业厅延长服务时间"),
            ("channel_id", &fengcai),
            ("unit_id", &suzhou),
            ("version", "1"),
            ("action", "submit"),
        ],
    )
    .await;
    assert_eq!(review(&editor, &id, "pass", "同意").await.0, 303);
    assert_eq!(review(&chief, &id, "pass", "同意发布").await.0, 303);
    let number: i64 = sqlx::query_scalar("select number from articles where id = $1::uuid")
        .bind(&id)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let last = notified(&app, "writer").await.pop().unwrap();
    assert_eq!(
        (last.0.as_str(), last.2),
        (
            "稿件已发布：苏州营业厅延长服务时间",
            format!("/articles/{number}")
        )
    );
}

#[tokio::test]
async fn the_writers_dashboard_counts_this_months_stories() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (keji, root) = (channel(&app, "keji").await, unit(&app, "国家电网").await);
    app.login_as("writer", "correspondent").await;
    write(&app, &keji, &root, "草稿一篇", "save").await;
    let submitted = write(&app, &keji, &root, "已提交一篇", "submit").await;
    write(&app, &keji, &root, "上月的稿件", "save").await;
    sqlx::query(
        "update articles set created_at = now() - interval '40 days' where title = '上月的稿件'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    // Published and read 120 times today, as the daily figures count it.
    sqlx::raw_sql(&format!(
        "update articles set status = 'published', published_at = now() where id = '{submitted}';
         insert into review_events (article_id, actor_name, action, from_status, to_status, stage)
         values ('{submitted}', 'x', 'pass', 'submitted', 'published', 0);
         insert into article_totals (article_id, views) values ('{submitted}', 500);
         insert into article_views (article_id, day, views)
         values ('{submitted}', (now() at time zone 'Asia/Shanghai')::date, 120);"
    ))
    .execute(&app.pool)
    .await
    .unwrap();
    let (_, dashboard) = app.page("/admin").await;
    let totals: Vec<String> = [".written", ".submitted", ".published", ".views"]
        .iter()
        .map(|class| texts(&dashboard, &format!(".month .totals dd{class}")).join(""))
        .collect();
    assert_eq!(totals, ["2", "1", "1", "120"]);
}

#[tokio::test]
async fn a_correction_stays_invisible_until_approved_then_replaces_the_text_with_its_note() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (id, number, channel_id, unit_id): (uuid::Uuid, i64, uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "select id, number, channel_id, unit_id from articles where title = '山东电网全力保障冬季电力供应'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let (channel_id, unit_id) = (channel_id.to_string(), unit_id.to_string());
    app.login_as("editor_a", "editor").await;
    let correction = [
        ("title", "山东电网全力保障今冬电力供应"),
        ("channel_id", channel_id.as_str()),
        ("unit_id", unit_id.as_str()),
        ("body", "<p>更正后的正文。</p>"),
        ("version", "1"),
        ("correction_note", "原文标题中“冬季”应为“今冬”。"),
        ("action", "correct"),
    ];
    let response = app
        .post(&format!("/admin/articles/{id}/edit"), &correction)
        .await;
    assert_eq!(
        location(&response),
        format!("/admin/articles/{id}?done=correction")
    );
    let (_, live) = app.page(&format!("/articles/{number}")).await;
    assert_eq!(
        texts(&live, "h1.title"),
        ["山东电网全力保障冬季电力供应"],
        "the live text stays"
    );
    assert!(texts(&live, ".correction-note").is_empty());

    let (code, _) = app
        .post_page(&format!("/admin/articles/{id}/edit"), &correction)
        .await;
    assert_eq!(code, 409, "one correction under review at a time");

    let decide = |client: &TestApp, decision: &'static str| {
        let path = format!("/admin/articles/{id}/correction");
        let client = client.other_client_sharing_cookies();
        async move {
            client
                .post_page(&path, &[("decision", decision), ("opinion", "核实无误")])
                .await
        }
    };
    let (code, html) = decide(&app, "pass").await;
    assert_eq!(code, 422);
    assert_eq!(texts(&html, ".alert.error"), ["不能审核自己撰写的稿件。"]);

    let second_editor = app.other_client();
    second_editor.login_as("editor_b", "editor").await;
    assert_eq!(decide(&second_editor, "pass").await.0, 303);
    let (_, still) = app.page(&format!("/articles/{number}")).await;
    assert_eq!(
        texts(&still, "h1.title"),
        ["山东电网全力保障冬季电力供应"],
        "not yet at the last stage"
    );

    let chief = app.other_client();
    chief.login_as("chief", "chief_editor").await;
    assert_eq!(decide(&chief, "pass").await.0, 303);
    let (_, corrected) = app.page(&format!("/articles/{number}")).await;
    assert_eq!(
        texts(&corrected, "h1.title"),
        ["山东电网全力保障今冬电力供应"]
    );
    let note = texts(&corrected, ".correction-note").join("");
    assert!(note.contains("原文标题中“冬季”应为“今冬”。"), "{note}");
    assert_eq!(texts(&corrected, ".article-body p"), ["更正后的正文。"]);
    let (status, version): (String, i32) =
        sqlx::query_as("select status, version from articles where id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), version), ("published", 2));
}

#[tokio::test]
async fn unpublishing_needs_a_reason_kept_on_record() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (id, number): (uuid::Uuid, i64) =
        sqlx::query_as("select id, number from articles where title like '配电网故障自愈%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    app.login_as("chief", "chief_editor").await;
    let path = format!("/admin/articles/{id}/unpublish");
    let (code, html) = app.post_page(&path, &[("reason", " ")]).await;
    assert_eq!(code, 422);
    assert_eq!(texts(&html, ".alert.error"), ["撤稿时请写明原因。"]);
    assert_eq!(
        app.post(&path, &[("reason", "数据需要重新核实")])
            .await
            .status()
            .as_u16(),
        303
    );
    assert_eq!(
        app.page(&format!("/articles/{number}")).await.0,
        404,
        "no longer public"
    );
    let note: String = sqlx::query_scalar(
        "select note from review_events where article_id = $1 and action = 'unpublish'",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(note, "数据需要重新核实");
}

#[tokio::test]
async fn the_review_queue_comes_in_pages_oldest_first_with_its_counts() {
    let app = spawn_app().await;
    app.login_as("bianji", "editor").await;
    app.create_staff("xiezhe", "correspondent").await;
    sqlx::raw_sql(
        "insert into channels (name, slug, review_stages) values ('要闻', 'yaowen', array['editor']);
         insert into articles (title, channel_id, unit_id, created_by, status, updated_at)
         select '待审稿件' || n, (select id from channels where slug = 'yaowen'), u.unit_id, u.id,
                case when n % 10 = 0 then 'in_review' else 'submitted' end,
                now() - make_interval(mins => 100 - n)
         from generate_series(1, 55) n, users u where u.username = 'xiezhe';",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let (status, first) = app.page("/admin/articles").await;
    assert_eq!(status, 200);
    assert_eq!(
        texts(&first, ".queue h2 small"),
        ["多于一页，按等待先后分页显示"]
    );
    let titles = texts(&first, ".queue td.title a");
    assert_eq!(titles.len(), 50);
    assert_eq!(titles[0], "待审稿件1", "the longest waiting first");
    assert_eq!(titles[49], "待审稿件50");
    let next = crate::helpers::attrs(&first, ".queue .pager a.next", "href");
    assert_eq!(next.len(), 1);
    let (status, second) = app.page(&next[0].replace("&amp;", "&")).await;
    assert_eq!(status, 200);
    assert_eq!(
        texts(&second, ".queue td.title a"),
        (51..=55)
            .map(|n| format!("待审稿件{n}"))
            .collect::<Vec<_>>()
    );
    assert!(crate::helpers::attrs(&second, ".queue .pager a.next", "href").is_empty());

    // Filters carry over to the next page; a malformed cursor starts over.
    let (_, reviewing) = app.page("/admin/articles?status=in_review").await;
    assert_eq!(texts(&reviewing, ".queue td.title a").len(), 5);
    assert_eq!(
        texts(&reviewing, ".queue h2 small"),
        ["待初审 0 篇 · 审核中 5 篇"],
        "a queue of one page is counted"
    );
    let (status, garbled) = app.page("/admin/articles?after=yesterday").await;
    assert_eq!(status, 200);
    assert_eq!(texts(&garbled, ".queue td.title a")[0], "待审稿件1");
}

#[tokio::test]
async fn the_queue_follows_unit_changes_made_anywhere_at_once() {
    let app = spawn_app().await;
    app.login_as("bianji", "editor").await;
    app.create_staff("xiezhe", "correspondent").await;
    let story = |title: &str, unit: &str| {
        format!(
            "insert into articles (title, channel_id, unit_id, created_by, status)
             select '{title}', (select id from channels where slug = 'yaowen'),
                    (select id from units where name = '{unit}'), id, 'submitted'
             from users where username = 'xiezhe';"
        )
    };
    sqlx::raw_sql(&format!(
        "insert into channels (name, slug, review_stages) values ('要闻', 'yaowen', array['editor']);
         insert into units (name, parent_id) select '甲公司', id from units where parent_id is null;
         insert into units (name, parent_id) select '乙公司', id from units where parent_id is null;
         update users set unit_id = (select id from units where name = '甲公司')
             where username = 'bianji';
         {}{}",
        story("甲公司稿件", "甲公司"),
        story("乙公司稿件", "乙公司")
    ))
    .execute(&app.pool)
    .await
    .unwrap();
    let picker = |html: &scraper::Html| {
        texts(html, ".queue select[name=unit] option")
            .into_iter()
            .map(|name| name.trim().to_owned())
            .collect::<Vec<_>>()
    };
    let (_, before) = app.page("/admin/articles").await;
    assert_eq!(texts(&before, ".queue td.title a"), ["甲公司稿件"]);
    assert_eq!(
        picker(&before),
        ["全部", "甲公司"],
        "an editor picks among their own units"
    );

    // Changes made outside this instance (another instance, a command):
    // the next request sees them, without waiting for any announcement.
    sqlx::raw_sql(&format!(
        "insert into units (name, parent_id) select '甲一所', id from units where name = '甲公司';
         {}",
        story("甲一所稿件", "甲一所")
    ))
    .execute(&app.pool)
    .await
    .unwrap();
    let (_, added) = app.page("/admin/articles").await;
    assert_eq!(
        texts(&added, ".queue td.title a"),
        ["甲公司稿件", "甲一所稿件"]
    );
    assert_eq!(picker(&added), ["全部", "甲公司", "甲一所"]);

    sqlx::query(
        "update units set parent_id = (select id from units where name = '甲公司')
         where name = '乙公司'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let (_, moved) = app.page("/admin/articles").await;
    let mut titles = texts(&moved, ".queue td.title a");
    titles.sort();
    assert_eq!(
        titles,
        ["乙公司稿件", "甲一所稿件", "甲公司稿件"],
        "a unit moved under the editor's is theirs to review at once"
    );
    assert_eq!(picker(&moved).len(), 4);

    // Filtering by a unit: what it and the units below it wrote.
    let filtered = |name: &'static str| {
        let app = &app;
        async move {
            let unit: uuid::Uuid = sqlx::query_scalar("select id from units where name = $1")
                .bind(name)
                .fetch_one(&app.pool)
                .await
                .unwrap();
            let (_, html) = app.page(&format!("/admin/articles?unit={unit}")).await;
            let mut titles = texts(&html, ".queue td.title a");
            titles.sort();
            (unit, titles)
        }
    };
    let (unit, leaf) = filtered("甲一所").await;
    assert_eq!(leaf, ["甲一所稿件"]);
    assert_eq!(filtered("乙公司").await.1, ["乙公司稿件"]);
    assert_eq!(
        filtered("甲公司").await.1,
        ["乙公司稿件", "甲一所稿件", "甲公司稿件"],
        "a unit picked counts with the units below it"
    );
    let (_, none) = app
        .page(&format!("/admin/articles?unit={unit}&status=in_review"))
        .await;
    assert!(texts(&none, ".queue td.title a").is_empty());
}

/// What a notification asked for is done once the story moves on: it no
/// longer counts as unread; 全部已读 clears the rest, and only one's own.
#[tokio::test]
async fn notifications_clear_when_their_work_is_done_and_all_at_once() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (fengcai, suzhou) = (
        channel(&app, "qiye-fengcai").await,
        unit(&app, "国网苏州供电公司").await,
    );
    let editor = app.other_client();
    editor.login_as("editor_a", "editor").await;
    let other = app.other_client();
    other.login_as("editor_c", "editor").await;
    let chief = app.other_client();
    chief.login_as("chief", "chief_editor").await;
    app.login_as("writer", "correspondent").await;
    let unread = |username: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>(
                "select count(*) from notifications n join users u on u.id = n.user_id
                 where u.username = $1 and n.read_at is null",
            )
            .bind(username)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let id = write(&app, &fengcai, &suzhou, "苏州营业厅延长服务时间", "submit").await;
    assert_eq!(unread("editor_a").await, 1);
    assert_eq!(unread("editor_c").await, 1, "both editors were asked");
    let (_, html) = editor.page("/admin").await;
    assert_eq!(texts(&html, ".bell .count"), ["1"]);

    // editor_c passes it: editor_a's request is done too.
    assert_eq!(review(&other, &id, "pass", "同意").await.0, 303);
    assert_eq!(unread("editor_a").await, 0);
    assert_eq!(unread("editor_c").await, 0);
    let (_, html) = editor.page("/admin").await;
    assert!(
        texts(&html, ".bell .count").is_empty(),
        "no badge for work that is over"
    );
    assert_eq!(unread("chief").await, 1);

    // 全部已读 clears one's own and nobody else's.
    write(
        &app,
        &fengcai,
        &suzhou,
        "苏州供电开展冬季安全检查",
        "submit",
    )
    .await;
    write(&app, &fengcai, &suzhou, "苏州供电举办客户开放日", "submit").await;
    assert_eq!(unread("editor_a").await, 2);
    let (_, html) = editor.page("/admin/notifications").await;
    assert_eq!(texts(&html, ".unread-count"), ["2 条未读"]);
    let response = editor.post("/admin/notifications/read", &[]).await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(unread("editor_a").await, 0);
    assert_eq!(unread("editor_c").await, 2, "another's stay unread");
    // Without the form's token, nothing is marked.
    let bare = editor
        .client
        .post(editor.url("/admin/notifications/read"))
        .header("Origin", editor.url(""))
        .send()
        .await
        .unwrap();
    assert_eq!(bare.status().as_u16(), 403);
}

/// The writer fixes a returned story with the reviewer's note in view and
/// sends it back from its page; a reviewer editing a waiting story only
/// saves it; nobody else resubmits another's story.
#[tokio::test]
async fn a_returned_story_is_fixed_with_its_note_in_view_and_resubmitted() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (jiceng, root) = (
        channel(&app, "jiceng-dongtai").await,
        unit(&app, "国家电网").await,
    );
    app.login_as("writer", "correspondent").await;
    let id = write(&app, &jiceng, &root, "班组开展技能比武", "submit").await;
    let editor = app.other_client();
    editor.login_as("editor_a", "editor").await;

    // The reviewer's edit form keeps the story in review.
    let (_, form) = editor.page(&format!("/admin/articles/{id}/edit")).await;
    assert_eq!(texts(&form, "button[name=action]"), ["保存修改"]);

    assert_eq!(
        review(&editor, &id, "return", "请补充比武成绩。").await.0,
        303
    );
    let (_, form) = app.page(&format!("/admin/articles/{id}/edit")).await;
    assert_eq!(
        texts(&form, ".alert.warning"),
        ["退回意见：请补充比武成绩。"]
    );
    assert_eq!(
        texts(&form, "button[name=action]"),
        ["保存草稿", "保存并重新提交审核"]
    );

    // Another writer may not send it back.
    let other = app.other_client();
    other.login_as("writer_b", "correspondent").await;
    let refused = other
        .post(&format!("/admin/articles/{id}/submit"), &[])
        .await
        .status()
        .as_u16();
    assert!(refused == 403 || refused == 404, "{refused}");
    assert_eq!(status(&app, &id).await.0, "returned");

    let (_, page) = app.page(&format!("/admin/articles/{id}")).await;
    assert_eq!(
        texts(&page, "form[action$='/submit'] button"),
        ["重新提交审核"]
    );
    let response = app.post(&format!("/admin/articles/{id}/submit"), &[]).await;
    assert_eq!(
        response.headers()["location"],
        format!("/admin/articles/{id}?done=resubmitted").as_str()
    );
    assert_eq!(status(&app, &id).await.0, "submitted");
    let (_, page) = app
        .page(&format!("/admin/articles/{id}?done=resubmitted"))
        .await;
    assert_eq!(texts(&page, ".alert.success"), ["稿件已重新提交审核。"]);
    assert!(texts(&page, "form[action$='/submit'] button").is_empty());
}

/// 重新提交 replayed (a double click, a resent form) sends the story once.
#[tokio::test]
async fn a_replayed_resubmission_sends_the_story_once() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (jiceng, root) = (
        channel(&app, "jiceng-dongtai").await,
        unit(&app, "国家电网").await,
    );
    app.login_as("writer", "correspondent").await;
    let id = write(&app, &jiceng, &root, "班组开展技能比武", "save").await;
    let path = format!("/admin/articles/{id}/submit");
    assert_eq!(app.post(&path, &[]).await.status().as_u16(), 303);
    let again = app.post(&path, &[]).await.status().as_u16();
    assert_eq!(
        again, 403,
        "a story in review is no longer the writer's to send"
    );
    let submits: i64 = sqlx::query_scalar(
        "select count(*) from review_events where article_id = $1::uuid and action = 'submit'",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(submits, 1);
}

/// An editor at the last stage of a one-stage channel publishes, but the
/// 头条/推荐 ticks of a forged form are not theirs to set.
#[tokio::test]
async fn placement_from_a_reviewer_who_may_not_place_is_ignored() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (jiceng, root) = (
        channel(&app, "jiceng-dongtai").await,
        unit(&app, "国家电网").await,
    );
    app.login_as("writer", "correspondent").await;
    let id = write(&app, &jiceng, &root, "班组开展技能比武", "submit").await;
    let editor = app.other_client();
    editor.login_as("editor_a", "editor").await;
    let (_, html) = editor.page(&format!("/admin/articles/{id}")).await;
    assert!(
        attrs(&html, "input[name=placement]", "value").is_empty(),
        "no placement offered to an editor"
    );
    let response = editor
        .post(
            &format!("/admin/articles/{id}/review"),
            &[
                ("decision", "pass"),
                ("opinion", "同意"),
                ("placement", "1"),
                ("is_headline", "on"),
                ("is_recommended", "on"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let (status, headline, recommended): (String, bool, bool) = sqlx::query_as(
        "select status, is_headline, is_recommended from articles where id = $1::uuid",
    )
    .bind(&id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), headline, recommended),
        ("published", false, false)
    );
}
