//! Reader comments: captcha, reader accounts, posting rules, moderation and
//! display.

use std::time::{Duration, Instant};

use crate::helpers::{TestApp, attrs, location, spawn_app_with, texts};

const ANSWER: &str = "TESTME";

async fn app_with_story() -> (TestApp, i64) {
    let app = spawn_app_with(|config| config.test_captcha = Some(ANSWER.into())).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    sqlx::query("delete from comments")
        .execute(&app.pool)
        .await
        .unwrap();
    let number = sqlx::query_scalar("select number from articles where title like '山东电网%'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    (app, number)
}

/// The captcha id and CSRF token of the article page's comment form.
async fn form_of(app: &TestApp, number: i64) -> (String, String) {
    let (status, html) = app.page(&format!("/articles/{number}")).await;
    assert_eq!(status, 200);
    let captcha = attrs(&html, "#comment-form input[name=captcha_id]", "value")[0].clone();
    let csrf = attrs(&html, "#comment-form input[name=csrf_token]", "value")[0].clone();
    (captcha, csrf)
}

/// Posts a comment with a fresh captcha from the page; `extra` overrides.
async fn comment(
    app: &TestApp,
    number: i64,
    fields: &[(&str, &str)],
) -> (u16, String, scraper::Html) {
    let (captcha, csrf) = form_of(app, number).await;
    let mut form: Vec<(&str, &str)> = vec![
        ("csrf_token", &csrf),
        ("captcha_id", &captcha),
        ("captcha_answer", ANSWER),
    ];
    for (key, value) in fields {
        form.retain(|(k, _)| k != key);
        form.push((key, value));
    }
    let response = app
        .client
        .post(app.url(&format!("/articles/{number}/comments")))
        .form(&form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let to = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    let body = response.text().await.unwrap();
    (status, to, scraper::Html::parse_document(&body))
}

async fn statuses(app: &TestApp) -> Vec<(String, String)> {
    sqlx::query_as("select body, status from comments order by created_at")
        .fetch_all(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn anonymous_comments_wait_for_approval_and_markup_stays_text() {
    let (app, number) = app_with_story().await;
    let (status, to, _) = comment(
        &app,
        number,
        &[
            ("anonymous", "on"),
            (
                "body",
                "<script>alert(1)</script><a href=\"http://x\">链接</a> 写得好",
            ),
        ],
    )
    .await;
    assert_eq!(status, 303);
    assert_eq!(to, format!("/articles/{number}?comment=pending#comments"));
    let (_, html) = app.page(&to).await;
    assert_eq!(
        texts(&html, ".comments .alert.success"),
        ["评论已提交，审核通过后显示。"]
    );
    assert!(
        texts(&html, ".comment-body").is_empty(),
        "pending is invisible"
    );
    assert_eq!(texts(&html, ".comment-total"), ["0"]);

    // An editor approves it; the cached page shows it at once.
    let path = format!("/articles/{number}");
    app.get(&path).await;
    let id: uuid::Uuid = sqlx::query_scalar("select id from comments")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    app.login_as("editor1", "editor").await;
    let id = id.to_string();
    let response = app
        .post(
            "/admin/comments",
            &[("ids", &id), ("action", "approve"), ("view", "pending")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let (_, html) = app.page(&path).await;
    assert_eq!(texts(&html, ".comment-total"), ["1"]);
    assert_eq!(texts(&html, ".comment-author"), ["匿名网友"]);
    assert_eq!(
        texts(&html, ".comment-body"),
        ["<script>alert(1)</script><a href=\"http://x\">链接</a> 写得好"],
        "markup is shown as text"
    );
    assert!(attrs(&html, ".comment-body a", "href").is_empty());
    assert!(attrs(&html, ".comment-body script", "src").is_empty());
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action = 'comment.approve'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audited, 1);
    let (_, listing) = app.page("/channels/yaowen").await;
    assert!(texts(&listing, ".comment-count").contains(&"评论 1".to_string()));
}

#[tokio::test]
async fn a_wrong_expired_or_reused_captcha_is_refused_with_the_text_kept() {
    let (app, number) = app_with_story().await;
    let (status, _, html) = comment(
        &app,
        number,
        &[
            ("anonymous", "on"),
            ("body", "第一条"),
            ("captcha_answer", "WRONG"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, "#comment-form .alert.error"),
        ["验证码不正确，请重新输入。"]
    );
    assert_eq!(texts(&html, "#comment-form textarea"), ["第一条"]);
    let fresh = attrs(&html, "#comment-form input[name=captcha_id]", "value");
    assert!(fresh[0].contains('-'), "a new captcha: {fresh:?}");

    let expired = newsdesk::captcha::issue_expiring(
        app.secret.as_bytes(),
        chrono::Utc::now().timestamp() - 1,
    );
    let (status, _, html) = comment(
        &app,
        number,
        &[
            ("anonymous", "on"),
            ("body", "第二条"),
            ("captcha_id", &expired),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, "#comment-form .alert.error"),
        ["验证码已过期，请重新输入新的验证码。"]
    );

    let (captcha, csrf) = form_of(&app, number).await;
    for (round, expected) in [(1, 303), (2, 422)] {
        let response = app
            .client
            .post(app.url(&format!("/articles/{number}/comments")))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("captcha_id", captcha.as_str()),
                ("captcha_answer", &ANSWER.to_lowercase()),
                ("anonymous", "on"),
                ("body", &format!("第{round}次使用同一验证码")),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), expected, "round {round}");
        if expected == 422 {
            let html = scraper::Html::parse_document(&response.text().await.unwrap());
            assert_eq!(
                texts(&html, "#comment-form .alert.error"),
                ["验证码已使用过，请重新输入新的验证码。"]
            );
        }
    }
    assert_eq!(statuses(&app).await.len(), 1, "only the good one is kept");
}

#[tokio::test]
async fn the_real_captcha_answers_without_case_and_its_image_is_a_png() {
    let app = spawn_app_with(|_| {}).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let number: i64 =
        sqlx::query_scalar("select number from articles where title like '山东电网%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let (captcha, csrf) = form_of(&app, number).await;
    let (_, html) = app.page(&format!("/articles/{number}")).await;
    let image = attrs(&html, "#comment-form img.captcha-image", "src")[0].clone();
    let response = app.get(&image).await;
    assert_eq!(response.headers()["content-type"], "image/png");
    assert!(response.bytes().await.unwrap().starts_with(b"\x89PNG"));
    let answer = newsdesk::captcha::answer_of(app.secret.as_bytes(), &captcha).unwrap();
    let response = app
        .client
        .post(app.url(&format!("/articles/{number}/comments")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("captcha_id", captcha.as_str()),
            ("captcha_answer", &answer.to_lowercase()),
            ("anonymous", "on"),
            ("body", "真验证码"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let fresh: serde_json::Value = app.get("/captcha/new").await.json().await.unwrap();
    assert!(fresh["image"].as_str().unwrap().starts_with("/captcha/"));
}

#[tokio::test]
async fn the_test_captcha_is_refused_off_loopback() {
    let mut config = newsdesk::config::Config::defaults();
    config.bind = "0.0.0.0:0".parse().unwrap();
    config.test_captcha = Some("X".into());
    let pool = sqlx::PgPool::connect_lazy("postgres://localhost/none").unwrap();
    let built =
        newsdesk::app::Application::build(&config, pool, newsdesk::secret::SecretKey::generate());
    let error = built.err().expect("refused").to_string();
    assert!(error.contains("NEWSDESK_TEST_CAPTCHA"), "{error}");
}

#[tokio::test]
async fn anonymous_posting_switched_off_is_refused() {
    let (app, number) = app_with_story().await;
    sqlx::query("update settings set value = 'false' where key = 'anonymous_comments'")
        .execute(&app.pool)
        .await
        .unwrap();
    let _ = sqlx::query(
        "insert into settings (key, value) select 'anonymous_comments', 'false'
         where not exists (select 1 from settings where key = 'anonymous_comments')",
    )
    .execute(&app.pool)
    .await;
    let (status, _, html) =
        comment(&app, number, &[("anonymous", "on"), ("body", "匿名试试")]).await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, "#comment-form .alert.error"),
        ["本站目前不允许匿名评论，请登录后发表。"]
    );
    assert_eq!(texts(&html, "#comment-form textarea"), ["匿名试试"]);
    assert!(statuses(&app).await.is_empty());
}

#[tokio::test]
async fn readers_register_and_comment_under_their_name_and_delete_it() {
    let (app, number) = app_with_story().await;
    let (_, html) = app.page("/register").await;
    let captcha = attrs(&html, "input[name=captcha_id]", "value")[0].clone();
    // The register form offers 换一张 too, and a larger image.
    assert_eq!(
        texts(&html, "form.reader-form [data-captcha-refresh]"),
        ["看不清？换一张"]
    );
    assert_eq!(
        attrs(&html, "form.reader-form img.captcha-image", "width"),
        ["200"]
    );
    let csrf = app.csrf().await;
    let register = |name: &'static str, password: &'static str, again: &'static str| {
        let captcha = captcha.clone();
        let csrf = csrf.clone();
        let app = &app;
        async move {
            app.client
                .post(app.url("/register"))
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("username", name),
                    ("password", password),
                    ("password_again", again),
                    ("agree", "on"),
                    ("captcha_id", captcha.as_str()),
                    ("captcha_answer", ANSWER),
                    ("next", "/articles/1"),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    let refused = register("duzhe", "Lamp-horse-42x", "Lamp-horse-43x").await;
    assert_eq!(refused.status(), 422);
    let html = scraper::Html::parse_document(&refused.text().await.unwrap());
    assert_eq!(texts(&html, ".alert.error"), ["两次输入的密码不一致。"]);
    assert_eq!(attrs(&html, "input[name=username]", "value"), ["duzhe"]);
    // The captcha was used by the refused attempt.
    let reused = register("duzhe", "Lamp-horse-42x", "Lamp-horse-42x").await;
    assert_eq!(reused.status(), 422);

    let (_, html) = app.page("/register").await;
    let captcha = attrs(&html, "input[name=captcha_id]", "value")[0].clone();
    let response = app
        .client
        .post(app.url("/register"))
        .form(&[
            ("csrf_token", app.csrf().await.as_str()),
            ("username", "duzhe"),
            ("password", "Lamp-horse-42x"),
            ("password_again", "Lamp-horse-42x"),
            ("agree", "on"),
            ("captcha_id", captcha.as_str()),
            ("captcha_answer", ANSWER),
            ("next", &format!("/articles/{number}")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), format!("/articles/{number}"));

    let (_, html) = app.page(&format!("/articles/{number}")).await;
    assert_eq!(texts(&html, ".reader-state strong"), ["duzhe"]);
    assert!(attrs(&html, "#comment-form input[name=password]", "name").is_empty());
    let (status, _, _) = comment(&app, number, &[("body", "读者署名评论")]).await;
    assert_eq!(status, 303);
    let (name, anonymous): (String, bool) =
        sqlx::query_as("select author_name, anonymous from comments")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((name.as_str(), anonymous), ("duzhe", false));

    // Readers are not staff.
    assert_eq!(app.get("/admin").await.status(), 303);

    let (_, mine) = app.page("/account").await;
    assert_eq!(texts(&mine, ".comment-body"), ["读者署名评论"]);
    let delete = attrs(&mine, ".comment form", "action")[0].clone();
    assert_eq!(app.post(&delete, &[]).await.status(), 303);
    assert_eq!(statuses(&app).await[0].1, "deleted");

    // Another visitor can neither see the page nor delete the comment.
    let other = app.other_client();
    assert_eq!(other.get("/account").await.status(), 303);
    assert_eq!(other.post(&delete, &[]).await.status(), 303);
}

#[tokio::test]
async fn a_reader_can_log_in_from_the_comment_form() {
    let (app, number) = app_with_story().await;
    let (status, _, html) = comment(
        &app,
        number,
        &[
            ("author_name", "reader1"),
            ("password", "wrong password"),
            ("body", "表单登录"),
        ],
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        texts(&html, "#comment-form .alert.error"),
        ["用户名或密码错误。"]
    );
    assert_eq!(
        attrs(&html, "#comment-form input[name=author_name]", "value"),
        ["reader1"]
    );
    let password = "Reader-lamp-horse-7";
    sqlx::query("update readers set password_hash = $1 where username = 'reader1'")
        .bind(newsdesk::auth::password::hash(password).unwrap())
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, _, _) = comment(
        &app,
        number,
        &[
            ("author_name", "reader1"),
            ("password", password),
            ("body", "表单登录"),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let (_, html) = app.page(&format!("/articles/{number}")).await;
    assert_eq!(texts(&html, ".reader-state strong"), ["reader1"]);
}

#[tokio::test]
async fn rate_limits_duplicates_and_the_honeypot_hold() {
    let (app, number) = app_with_story().await;
    for n in 0..5 {
        let (status, _, _) = comment(
            &app,
            number,
            &[("anonymous", "on"), ("body", &format!("第 {n} 条意见"))],
        )
        .await;
        assert_eq!(status, 303, "comment {n}");
    }
    let (status, _, html) = comment(&app, number, &[("anonymous", "on"), ("body", "第六条")]).await;
    assert_eq!(status, 429);
    assert_eq!(
        texts(&html, "#comment-form .alert.error"),
        ["评论过于频繁，请稍后再试。"]
    );

    sqlx::query("update comments set created_at = now() - interval '20 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, _, html) = comment(
        &app,
        number,
        &[("anonymous", "on"), ("body", "第 0  条意见")],
    )
    .await;
    assert_eq!(status, 409, "the same text again");
    assert_eq!(
        texts(&html, "#comment-form .alert.error"),
        ["请勿重复发表相同的评论。"]
    );

    let (status, _, _) = comment(
        &app,
        number,
        &[
            ("anonymous", "on"),
            ("body", "机器人"),
            ("website", "http://spam.example"),
        ],
    )
    .await;
    assert_eq!(status, 303, "the bot is not told");
    assert!(
        !statuses(&app)
            .await
            .iter()
            .any(|(body, _)| body == "机器人"),
        "nothing stored"
    );

    let long = "长".repeat(1001);
    let (status, _, html) = comment(&app, number, &[("anonymous", "on"), ("body", &long)]).await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, "#comment-form .alert.error"),
        ["评论内容不能超过 1000 个字。"]
    );
    assert_eq!(statuses(&app).await.len(), 5);
}

#[tokio::test]
async fn a_sensitive_word_holds_a_comment_even_where_comments_show_at_once() {
    let (app, number) = app_with_story().await;
    app.login_as("admin1", "admin").await;
    // The channel switches to post-moderation in its form.
    let channel: uuid::Uuid =
        sqlx::query_scalar("select channel_id from articles where number = $1")
            .bind(number)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let edit = format!("/admin/channels/{channel}/edit");
    let (_, form) = app.page(&edit).await;
    let value = |name: &str| attrs(&form, &format!("input[name={name}]"), "value")[0].clone();
    let selected = |name: &str| {
        attrs(
            &form,
            &format!("select[name={name}] option[selected]"),
            "value",
        )
        .pop()
        .unwrap_or_default()
    };
    assert_eq!(selected("comment_moderation"), "pre", "the default");
    let fields = [
        ("name", value("name")),
        ("slug", value("slug")),
        ("sort_order", value("sort_order")),
        ("version", value("version")),
        ("parent_id", selected("parent_id")),
        ("stage1", selected("stage1")),
        ("stage2", selected("stage2")),
        ("stage3", selected("stage3")),
        ("comment_moderation", "post".to_string()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(app.post(&edit, &fields).await.status(), 303);
    let (_, form) = app.page(&edit).await;
    assert_eq!(
        attrs(
            &form,
            "select[name=comment_moderation] option[selected]",
            "value"
        ),
        ["post"]
    );
    let response = app
        .post("/admin/sensitive-words", &[("add", "代开发票\n赌博")])
        .await;
    assert_eq!(response.status(), 200);
    let visitor = app.other_client();
    let (status, to, _) = comment(
        &visitor,
        number,
        &[("anonymous", "on"), ("body", "供电服务点赞")],
    )
    .await;
    assert_eq!(status, 303);
    assert!(to.contains("comment=posted"), "{to}");
    let (status, to, _) = comment(
        &visitor,
        number,
        &[("anonymous", "on"), ("body", "網上賭 博，代开.发票")],
    )
    .await;
    assert_eq!(status, 303);
    assert!(to.contains("comment=pending"), "{to}");
    let held: (String, String) =
        sqlx::query_as("select status, held_for from comments where body like '網上%'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(held, ("pending".into(), "赌博、代开发票".into()));
    let (_, html) = visitor.page(&format!("/articles/{number}")).await;
    assert_eq!(texts(&html, ".comment-body"), ["供电服务点赞"]);

    let editor = app.other_client();
    editor.login_as("editor1", "editor").await;
    let (_, queue) = editor.page("/admin/comments?view=held").await;
    assert_eq!(texts(&queue, ".held strong"), ["赌博、代开发票"]);
    assert_eq!(
        texts(&queue, ".comments-queue .comment-body"),
        ["網上賭 博，代开.发票"]
    );

    // The list changed by another instance or a command is used at once
    // (this instance has just used the list as it was).
    let (_, to, _) = comment(
        &visitor,
        number,
        &[("anonymous", "on"), ("body", "抢修及时")],
    )
    .await;
    assert!(to.contains("comment=posted"), "{to}");
    sqlx::query("delete from sensitive_words where word = '赌博'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("insert into sensitive_words (word) values ('违禁品')")
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, to, _) = comment(
        &visitor,
        number,
        &[("anonymous", "on"), ("body", "反对赌博")],
    )
    .await;
    assert!(to.contains("comment=posted"), "{to}");
    let (_, to, _) = comment(
        &visitor,
        number,
        &[("anonymous", "on"), ("body", "出售违 禁 品")],
    )
    .await;
    assert!(to.contains("comment=pending"), "{to}");
}

#[tokio::test]
async fn replies_pins_reports_and_the_queue_work_together() {
    let (app, number) = app_with_story().await;
    let visitor = app.other_client();
    for body in ["第一条评论", "第二条评论"] {
        comment(&visitor, number, &[("anonymous", "on"), ("body", body)]).await;
    }
    let editor = app.other_client();
    editor.login_as("editor1", "editor").await;
    let ids: Vec<String> = sqlx::query_scalar("select id::text from comments order by created_at")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    let mut form: Vec<(&str, &str)> = ids.iter().map(|id| ("ids", id.as_str())).collect();
    form.push(("action", "approve"));
    assert_eq!(editor.post("/admin/comments", &form).await.status(), 303);

    let (status, _, _) = comment(
        &visitor,
        number,
        &[
            ("anonymous", "on"),
            ("body", "回复第一条"),
            ("parent_id", &ids[0]),
        ],
    )
    .await;
    assert_eq!(status, 303);
    let reply: String =
        sqlx::query_scalar("select id::text from comments where parent_id is not null")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    editor
        .post("/admin/comments", &[("ids", &reply), ("action", "approve")])
        .await;
    editor
        .post("/admin/comments", &[("ids", &ids[0]), ("action", "pin")])
        .await;

    let path = format!("/articles/{number}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let html = loop {
        let (_, html) = visitor.page(&path).await;
        if texts(&html, ".comment-total") == ["3"] {
            break html;
        }
        assert!(
            Instant::now() < deadline,
            "the page never showed the approvals"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(
        texts(&html, ".comment-list > li > .comment-body"),
        ["第一条评论", "第二条评论"],
        "the pinned one first, then newest first"
    );
    assert_eq!(texts(&html, ".replies .comment-body"), ["回复第一条"]);
    assert_eq!(texts(&html, ".comment.pinned .pin"), ["置顶"]);

    let report = format!("/comments/{}/report", ids[1]);
    for _ in 0..2 {
        assert_eq!(visitor.post(&report, &[]).await.status(), 303);
    }
    let (_, queue) = editor.page("/admin/comments?view=reported").await;
    assert_eq!(
        texts(&queue, ".comments-queue .comment-body"),
        ["第二条评论"]
    );
    assert_eq!(
        texts(&queue, ".tag.warn"),
        ["被举报 1 次"],
        "once per address"
    );
    let history = texts(&queue, ".history");
    assert_eq!(
        history,
        ["此前：通过 2，未通过 0"],
        "the same address's other comments"
    );

    // Correspondents do not moderate.
    let writer = app.other_client();
    writer.login_as("writer9", "correspondent").await;
    assert_eq!(writer.get("/admin/comments").await.status(), 403);
    assert_eq!(
        writer
            .post("/admin/comments", &[("ids", &ids[1]), ("action", "reject")])
            .await
            .status(),
        403
    );
}

/// The message of a refused field stands beside that field (and only that
/// one) on the comment form and the registration form, whichever rule or
/// constraint refused it.
#[tokio::test]
async fn a_refusal_stands_beside_the_field_it_is_about() {
    let (app, number) = app_with_story().await;
    // Neither signed in nor anonymous: the login row is what is wrong.
    let (status, _, html) = comment(&app, number, &[("body", "写得好")]).await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, "#author-name-error"),
        ["请填写读者用户名和密码，或选择匿名发表。"]
    );
    assert_eq!(
        attrs(
            &html,
            "#comment-form input[name=author_name]",
            "aria-describedby"
        ),
        ["author-name-error"]
    );
    assert!(attrs(&html, "#comment-body", "aria-invalid").is_empty());
    // A wrong captcha is said beside the captcha, the text kept.
    let (status, _, html) = comment(
        &app,
        number,
        &[
            ("anonymous", "on"),
            ("body", "写得好"),
            ("captcha_answer", "NOPE"),
        ],
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, "#captcha-error"),
        ["验证码不正确，请重新输入。"]
    );
    assert_eq!(
        attrs(&html, "#captcha-answer", "aria-describedby"),
        ["captcha-error"]
    );
    assert!(texts(&html, "#author-name-error").is_empty());

    let register = async |name: &str, password: &str, again: &str| {
        let (_, page) = app.page("/register").await;
        let captcha = attrs(&page, "input[name=captcha_id]", "value")[0].clone();
        let response = app
            .client
            .post(app.url("/register"))
            .form(&[
                ("csrf_token", app.csrf().await.as_str()),
                ("username", name),
                ("password", password),
                ("password_again", again),
                ("agree", "on"),
                ("captcha_id", captcha.as_str()),
                ("captcha_answer", ANSWER),
                ("next", "/"),
            ])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            scraper::Html::parse_document(&response.text().await.unwrap()),
        )
    };
    let (status, html) = register("duzhe", "Lamp-horse-42x", "Lamp-horse-43x").await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, "#reader-password-again-error"),
        ["两次输入的密码不一致。"]
    );
    assert_eq!(
        attrs(&html, "#reader-password-again", "aria-invalid"),
        ["true"]
    );
    assert!(texts(&html, "#reader-username-error").is_empty());
    let (status, _) = register("duzhe", "Lamp-horse-42x", "Lamp-horse-42x").await;
    assert_eq!(status, 303);
    // The same name in capitals: the unique index refuses it, and the
    // refusal is the username's.
    let (status, html) = register("DUZHE", "Lamp-horse-42x", "Lamp-horse-42x").await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, "#reader-username-error"),
        ["该用户名已被注册，请换一个。"]
    );
    assert_eq!(attrs(&html, "#reader-username", "value"), ["DUZHE"]);
    let readers: i64 =
        sqlx::query_scalar("select count(*) from readers where lower(username) = 'duzhe'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(readers, 1);
}

/// An app with the real captcha and the demo, and the number of a story.
async fn real_captcha_app() -> (TestApp, i64) {
    let app = spawn_app_with(|_| {}).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let number = sqlx::query_scalar("select number from articles where title like '山东电网%'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    (app, number)
}

#[tokio::test]
async fn a_question_captcha_is_read_in_words_answered_in_digits_and_used_once() {
    let (app, number) = real_captcha_app().await;
    let fresh: serde_json::Value = app
        .get("/captcha/new?kind=question")
        .await
        .json()
        .await
        .unwrap();
    let id = fresh["id"].as_str().unwrap().to_owned();
    let question = fresh["question"].as_str().unwrap();
    assert!(question.ends_with("等于多少？请用数字作答。"), "{question}");
    assert!(fresh.get("image").is_none());
    assert_eq!(app.get(&format!("/captcha/{id}.png")).await.status(), 404);
    let answer = newsdesk::captcha::answer_of(app.secret.as_bytes(), &id).unwrap();
    // Typed with a Chinese input method: full-width digits.
    let full_width: String = answer
        .chars()
        .map(|c| char::from_u32(c as u32 + 0xFEE0).unwrap())
        .collect();
    let (_, csrf) = form_of(&app, number).await;
    let post = |captcha: String, answer: String| {
        let csrf = csrf.clone();
        let app = &app;
        async move {
            app.client
                .post(app.url(&format!("/articles/{number}/comments")))
                .form(&[
                    ("csrf_token", csrf.as_str()),
                    ("captcha_id", captcha.as_str()),
                    ("captcha_answer", answer.as_str()),
                    ("anonymous", "on"),
                    ("body", "文字题作答"),
                ])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(post(id.clone(), full_width).await, 303);
    // Used once: the right answer again is refused.
    assert_eq!(post(id.clone(), answer.clone()).await, 422);
    // A question's id with a forged kind is not genuine.
    let forged = id.replacen("-q", "-", 1);
    assert_eq!(post(forged, answer).await, 422);
    let kept: i64 = sqlx::query_scalar("select count(*) from comments where body = '文字题作答'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(kept, 1);
    // Every form with a captcha offers the switch.
    let (_, html) = app.page(&format!("/articles/{number}")).await;
    assert_eq!(
        texts(&html, "#comment-form [data-captcha-question]"),
        ["看不到图片？改用文字题"]
    );
    let (_, html) = app.page("/register").await;
    assert_eq!(
        texts(&html, "[data-captcha-question]"),
        ["看不到图片？改用文字题"]
    );
}

#[tokio::test]
async fn readers_in_good_standing_comment_without_a_captcha_and_lose_it_when_rejected() {
    let (app, number) = real_captcha_app().await;
    let (_, html) = app.page("/register").await;
    let captcha = attrs(&html, "input[name=captcha_id]", "value")[0].clone();
    let answer = newsdesk::captcha::answer_of(app.secret.as_bytes(), &captcha).unwrap();
    let csrf = app.csrf().await;
    let response = app
        .client
        .post(app.url("/register"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "laoduzhe"),
            ("password", "Lamp-horse-42x"),
            ("password_again", "Lamp-horse-42x"),
            ("agree", "on"),
            ("captcha_id", captcha.as_str()),
            ("captcha_answer", answer.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    let path = format!("/articles/{number}");
    let without_captcha = |body: &'static str| {
        let app = &app;
        let path = path.clone();
        async move {
            let (_, html) = app.page(&path).await;
            let csrf = attrs(&html, "#comment-form input[name=csrf_token]", "value")[0].clone();
            app.client
                .post(app.url(&format!("{path}/comments")))
                .form(&[("csrf_token", csrf.as_str()), ("body", body)])
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    // New: no approved comment yet, so the captcha is asked.
    let (_, html) = app.page(&path).await;
    assert_eq!(
        attrs(&html, "#comment-form input[name=captcha_id]", "value").len(),
        1
    );
    assert_eq!(without_captcha("第一条").await, 422);
    let kept = || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from comments
             where reader_id = (select id from readers where username = 'laoduzhe')",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    assert_eq!(kept().await, 0);
    // A moderator approved one of theirs: in good standing.
    sqlx::query(
        "insert into comments (article_id, reader_id, author_name, anonymous, body, status, client_hash, body_hash)
         select a.id, r.id, r.username, false, '早先的评论', 'approved', '\\x00', '\\x01'
         from articles a, readers r where a.number = $1",
    )
    .bind(number)
    .execute(&app.pool)
    .await
    .unwrap();
    let (_, html) = app.page(&path).await;
    assert!(attrs(&html, "#comment-form input[name=captcha_id]", "value").is_empty());
    assert!(texts(&html, "#comment-form .captcha-row").is_empty());
    assert_eq!(without_captcha("信誉良好的评论").await, 303);
    assert_eq!(kept().await, 2);
    // Another browser on the same page is still asked.
    let stranger = app.other_client();
    let (_, html) = stranger.page(&path).await;
    assert_eq!(
        attrs(&html, "#comment-form input[name=captcha_id]", "value").len(),
        1
    );
    // A comment of theirs rejected: the captcha is back.
    sqlx::query("update comments set status = 'rejected' where body = '信誉良好的评论'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, html) = app.page(&path).await;
    assert_eq!(
        attrs(&html, "#comment-form input[name=captcha_id]", "value").len(),
        1
    );
    assert_eq!(without_captcha("再来一条").await, 422);
    assert_eq!(kept().await, 2);
}

#[tokio::test]
async fn the_comment_queue_counts_its_tabs_and_acts_on_one_row_within_the_moderators_units() {
    let (app, number) = app_with_story().await;
    sqlx::raw_sql(&format!(
        "insert into comments (article_id, author_name, anonymous, body, status, held_for, report_count, client_hash, body_hash)
         select a.id, '匿名网友', true, c.body, c.status, c.held, c.reports, '\\x00', '\\x01'
         from articles a, (values ('待审一', 'pending', '', 0), ('待审二', 'pending', '', 0),
                                  ('含敏感词', 'pending', '某词', 0), ('被举报的', 'approved', '', 2),
                                  ('已通过', 'approved', '', 0)) as c(body, status, held, reports)
         where a.number = {number}"
    ))
    .execute(&app.pool)
    .await
    .unwrap();
    app.login_as("shenhe", "editor").await;
    let (status, html) = app.page("/admin/comments").await;
    assert_eq!(status, 200);
    assert_eq!(texts(&html, ".tabs .tab-count"), ["3", "1", "1"]);
    assert_eq!(
        attrs(&html, "input[data-select-all]", "aria-label"),
        ["全选本页评论"]
    );
    // A row's own button acts on that comment alone.
    let id: String = sqlx::query_scalar("select id::text from comments where body = '待审一'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let one = format!("approve:{id}");
    let buttons = attrs(&html, ".row-actions button[name=one]", "value");
    assert!(buttons.contains(&one), "{buttons:?}");
    let response = app
        .post(
            "/admin/comments",
            &[("one", one.as_str()), ("view", "pending")],
        )
        .await;
    assert_eq!(response.status(), 303);
    let approved: Vec<String> =
        sqlx::query_scalar("select body from comments where status = 'approved' order by body")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(approved, ["已通过", "待审一", "被举报的"]);
    let (_, html) = app.page("/admin/comments").await;
    assert_eq!(texts(&html, ".tabs .tab-count"), ["2", "1", "1"]);

    // An editor of another unit sees none of them and changes none.
    let stranger = app.other_client();
    stranger.login_as("waidi", "editor").await;
    sqlx::query(
        "update users set unit_id = (select u.id from units u where u.parent_id is not null
                                     and u.id <> (select unit_id from articles where number = $1)
                                     order by u.name limit 1)
         where username = 'waidi'",
    )
    .bind(number)
    .execute(&app.pool)
    .await
    .unwrap();
    let (_, html) = stranger.page("/admin/comments").await;
    assert_eq!(texts(&html, ".tabs .tab-count"), ["0", "0", "0"]);
    let other: String = sqlx::query_scalar("select id::text from comments where body = '待审二'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    stranger
        .post(
            "/admin/comments",
            &[
                ("one", format!("reject:{other}").as_str()),
                ("view", "pending"),
            ],
        )
        .await;
    let still: String = sqlx::query_scalar("select status from comments where body = '待审二'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(still, "pending");
    // A made-up row action is refused.
    let response = app
        .post("/admin/comments", &[("one", "delete:everything")])
        .await;
    assert_eq!(response.status(), 400);
}
