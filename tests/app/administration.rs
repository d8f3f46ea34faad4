//! Units, site settings, the audit log, and who may reach what.

use crate::helpers::{TestApp, attrs, location, spawn_app, texts};

async fn unit_id(app: &TestApp, name: &str) -> String {
    let id: uuid::Uuid = sqlx::query_scalar("select id from units where name = $1")
        .bind(name)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    id.to_string()
}

#[tokio::test]
async fn units_are_created_renamed_moved_and_deactivated() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    app.login_as("boss", "admin").await;
    let shandong = unit_id(&app, "国网山东电力").await;

    let response = app
        .post(
            "/admin/units",
            &[("name", "营销服务中心"), ("parent_id", &shandong)],
        )
        .await;
    assert_eq!(location(&response), "/admin/units?done=created");
    let (status, html) = app
        .post_page(
            "/admin/units",
            &[("name", "营销服务中心"), ("parent_id", &shandong)],
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["同一上级单位下已有同名单位。"]
    );

    let new = unit_id(&app, "营销服务中心").await;
    let jiangsu = unit_id(&app, "国网江苏电力").await;
    let response = app
        .post(
            &format!("/admin/units/{new}/edit"),
            &[
                ("name", "客户服务中心"),
                ("parent_id", &jiangsu),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let (parent,): (String,) = sqlx::query_as(
        "select p.name from units u join units p on p.id = u.parent_id where u.name = '客户服务中心'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(parent, "国网江苏电力");

    // Moving a unit below its own descendant would make a cycle.
    let weihai = unit_id(&app, "国网威海供电公司").await;
    let (status, html) = app
        .post_page(
            &format!("/admin/units/{shandong}/edit"),
            &[
                ("name", "国网山东电力"),
                ("parent_id", &weihai),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["不能把单位移到它自己或它的下级单位之下。"]
    );

    assert_eq!(
        app.post(&format!("/admin/units/{new}/deactivate"), &[])
            .await
            .status()
            .as_u16(),
        303
    );
    let (_, html) = app.page("/admin/units").await;
    assert!(texts(&html, "tr.inactive td").contains(&"客户服务中心".to_string()));
    assert_eq!(
        app.post(&format!("/admin/units/{new}/delete"), &[])
            .await
            .status()
            .as_u16(),
        303
    );
    let left: i64 = sqlx::query_scalar("select count(*) from units where name = '客户服务中心'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
}

#[tokio::test]
async fn a_unit_with_users_or_articles_cannot_be_deleted() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    app.login_as("boss", "admin").await;
    let suzhou = unit_id(&app, "国网苏州供电公司").await;
    let (status, html) = app
        .post_page(&format!("/admin/units/{suzhou}/delete"), &[])
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["单位“国网苏州供电公司”还有 1 名用户、3 篇稿件、0 个下级单位，不能删除；可以先停用。"]
    );
    let still: i64 =
        sqlx::query_scalar("select count(*) from units where name = '国网苏州供电公司'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(still, 1);
}

#[tokio::test]
async fn site_settings_are_saved_audited_and_shown() {
    let app = spawn_app().await;
    app.login_as("boss", "admin").await;
    let (_, form) = app.page("/admin/settings").await;
    let version = attrs(&form, "input[name=version]", "value").pop().unwrap();
    let fields = |name: &'static str, zone: &'static str| {
        vec![
            ("site_name", name),
            ("copyright", "版权所有 © 新网站"),
            ("time_zone", zone),
            ("session_idle_minutes", "45"),
            ("session_absolute_hours", "8"),
            ("upload_max_mb", "20"),
            ("anonymous_comments", "on"),
        ]
    };

    let mut bad = fields("新网站", "Mars/Base");
    bad.push(("version", &version));
    let (status, html) = app.post_page("/admin/settings", &bad).await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["时区无效，请填写如 Asia/Shanghai 的时区名称。"]
    );
    assert_eq!(
        attrs(&html, "input[name=site_name]", "value"),
        ["新网站"],
        "the input is kept"
    );

    let mut good = fields("新网站", "Asia/Urumqi");
    good.push(("version", &version));
    assert_eq!(
        app.post("/admin/settings", &good).await.status().as_u16(),
        303
    );
    let (_, home) = app.page("/").await;
    assert_eq!(texts(&home, ".site-name"), ["新网站"]);
    let detail: String =
        sqlx::query_scalar("select detail from audit_log where action = 'settings.update'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(
        detail.contains("site_name: 电网新闻网 → 新网站"),
        "{detail}"
    );
    assert!(
        !detail.contains("cookie_secure"),
        "unchanged keys are not listed: {detail}"
    );

    // Saving again from the old form would overwrite the newer values.
    let (status, html) = app.post_page("/admin/settings", &good).await;
    assert_eq!(status, 409);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["设置已被其他管理员修改，请核对后重新保存。"]
    );
}

#[tokio::test]
async fn the_audit_log_is_filtered_by_action_and_actor() {
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    app.create_staff("editor", "editor").await;
    app.login("editor", "wrong-password-1").await;
    app.login_as("boss", "admin").await;

    let (status, html) = app.page("/admin/audit?action=login.failure").await;
    assert_eq!(status, 200);
    let rows = texts(&html, "table.audit tbody tr");
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].contains("登录失败") && rows[0].contains("editor") && rows[0].contains("127.0.0.1"),
        "{rows:?}"
    );

    let (_, html) = app.page("/admin/audit?actor=boss").await;
    let rows = texts(&html, "table.audit tbody tr");
    assert_eq!(rows.len(), 2, "boss's login and his reading of the log");
    assert!(
        rows[0].contains("查阅审计日志") && rows[0].contains("action=login.failure"),
        "{rows:?}"
    );
    assert!(rows[1].contains("登录成功"), "{rows:?}");
    let (status, html) = app.page("/admin/audit?from=yesterday").await;
    assert_eq!(status, 422);
    assert_eq!(texts(&html, ".alert.error"), ["日期格式应为 2024-01-31。"]);
}

/// Every class of protected route, with the roles allowed on it.
const ROUTES: &[(&str, &[&str])] = &[
    ("/admin", ALL_ROLES),
    ("/admin/account", ALL_ROLES),
    ("/admin/notifications", ALL_ROLES),
    (
        "/admin/articles",
        &[
            "admin",
            "system_admin",
            "chief_editor",
            "editor",
            "correspondent",
        ],
    ),
    (
        "/admin/articles/all",
        &[
            "admin",
            "system_admin",
            "chief_editor",
            "editor",
            "correspondent",
        ],
    ),
    ("/admin/comments", &["admin", "chief_editor", "editor"]),
    (
        "/admin/stats",
        &["admin", "system_admin", "chief_editor", "editor"],
    ),
    ("/admin/sensitive-words", &["admin", "security_admin"]),
    (
        "/admin/proofreading",
        &["admin", "system_admin", "chief_editor"],
    ),
    ("/admin/grades", &["admin", "system_admin", "chief_editor"]),
    ("/admin/users", &["admin", "system_admin"]),
    ("/admin/users/new", &["admin", "system_admin"]),
    ("/admin/users/locks", &["admin", "security_admin"]),
    ("/admin/units", &["admin", "system_admin"]),
    ("/admin/channels", &["admin", "system_admin"]),
    ("/admin/settings", &["admin", "system_admin"]),
    ("/admin/settings/conversions", &["admin", "system_admin"]),
    ("/admin/security", &["admin", "security_admin"]),
    ("/admin/audit", &["admin", "audit_admin"]),
    ("/admin/audit/export", &["admin", "audit_admin"]),
];

const ALL_ROLES: &[&str] = &[
    "admin",
    "system_admin",
    "security_admin",
    "audit_admin",
    "chief_editor",
    "editor",
    "correspondent",
];

#[tokio::test]
async fn each_role_reaches_exactly_its_routes() {
    let app = spawn_app().await;
    for path in ROUTES.iter().map(|(path, _)| path) {
        let to = location(&app.get(path).await);
        assert!(to.starts_with("/admin/login"), "anonymous on {path}: {to}");
    }
    for role in ALL_ROLES {
        let client = app.other_client();
        client.login_as(&format!("user_{role}"), role).await;
        for (path, allowed) in ROUTES {
            let response = client.get(path).await;
            let status = response.status().as_u16();
            if allowed.contains(role) {
                assert_eq!(status, 200, "{role} on {path}");
            } else {
                assert_eq!(status, 403, "{role} on {path}");
                let html = scraper::Html::parse_document(&response.text().await.unwrap());
                assert_eq!(texts(&html, "h1"), ["无权访问"]);
            }
        }
        // The side navigation offers exactly the reachable pages.
        let (_, dashboard) = client.page("/admin").await;
        let offered = crate::helpers::attrs(&dashboard, ".admin-nav a", "href");
        for (path, allowed) in ROUTES {
            if offered.iter().any(|href| href == path) {
                assert!(allowed.contains(role), "{role} is offered {path}");
            }
        }
    }
}

#[tokio::test]
async fn state_changes_are_refused_to_roles_without_the_permission() {
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    let root = unit_id(&app, "总部").await;
    app.create_staff("victim", "editor").await;
    let victim: uuid::Uuid = sqlx::query_scalar("select id from users where username = 'victim'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let posts: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/admin/users/new".into(),
            vec![
                ("username", "x1"),
                ("display_name", "x"),
                ("role", "admin"),
                ("unit_id", &root),
            ],
        ),
        (format!("/admin/users/{victim}/disable"), vec![]),
        (format!("/admin/users/{victim}/reset-password"), vec![]),
        (
            "/admin/users/locks/clear".into(),
            vec![("key", "account:victim")],
        ),
        (
            "/admin/units".into(),
            vec![("name", "新单位"), ("parent_id", &root)],
        ),
        (format!("/admin/units/{root}/deactivate"), vec![]),
        (
            "/admin/channels".into(),
            vec![("name", "新栏目"), ("slug", "xin"), ("stage1", "editor")],
        ),
        ("/admin/settings".into(), vec![("site_name", "x")]),
        (
            "/admin/security".into(),
            vec![
                ("session_idle_minutes", "5"),
                ("session_absolute_hours", "1"),
            ],
        ),
        ("/admin/sensitive-words".into(), vec![("add", "坏词")]),
    ];
    for role in ["chief_editor", "editor", "correspondent", "audit_admin"] {
        let client = app.other_client();
        client.login_as(&format!("user_{role}"), role).await;
        for (path, fields) in &posts {
            let status = client.post(path, fields).await.status().as_u16();
            assert_eq!(status, 403, "{role} POST {path}");
        }
    }
    let changed: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where action not in ('login.success', 'login.failure')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(changed, 0, "nothing was done");
    let active: bool = sqlx::query_scalar("select active from users where username = 'victim'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(active);
}

#[tokio::test]
async fn a_stale_unit_edit_is_refused_with_the_input_kept() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    app.login_as("boss", "admin").await;
    let jinan = unit_id(&app, "国网济南供电公司").await;
    let shandong = unit_id(&app, "国网山东电力").await;
    let path = format!("/admin/units/{jinan}/edit");
    let edit = |name: &'static str| {
        [
            ("name", name),
            ("parent_id", shandong.as_str()),
            ("version", "1"),
        ]
    };

    assert_eq!(
        app.post(&path, &edit("济南供电公司"))
            .await
            .status()
            .as_u16(),
        303
    );
    let (status, html) = app.post_page(&path, &edit("济南公司")).await;
    assert_eq!(status, 409);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["该单位已被其他管理员修改，请刷新页面后重新编辑。"]
    );
    assert_eq!(attrs(&html, "input[name=name]", "value"), ["济南公司"]);
    let names: i64 = sqlx::query_scalar("select count(*) from units where name = '济南供电公司'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(names, 1, "the first save stands");
}

#[tokio::test]
async fn malformed_requests_get_clear_pages_not_errors() {
    let app = spawn_app().await;
    app.login_as("boss", "admin").await;
    let root = unit_id(&app, "总部").await;

    let (status, html) = app
        .post_page(&format!("/admin/units/{root}/explode"), &[])
        .await;
    assert_eq!(status, 404, "unknown tree action");
    assert_eq!(texts(&html, "h1"), ["页面不存在"]);
    let (status, html) = app
        .post_page(
            &format!("/admin/units/{root}/edit"),
            &[("name", "总部"), ("version", "not-a-number")],
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(texts(&html, "h1"), ["请求有误"]);
    let (status, _) = app
        .post_page("/admin/units/not-a-uuid/deactivate", &[])
        .await;
    assert_eq!(status, 404);
}

/// The shared deactivate / reactivate / delete path of the unit and channel
/// trees, as a careless or hostile caller uses it: an unknown verb, an id
/// that names no row, a channel deleted by an editor. Nothing changes and
/// nothing is audited.
#[tokio::test]
async fn tree_row_changes_refuse_unknown_verbs_missing_rows_and_other_roles() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    app.login_as("boss", "admin").await;
    let suzhou = unit_id(&app, "国网苏州供电公司").await;
    let channel: uuid::Uuid = sqlx::query_scalar("select id from channels order by name limit 1")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let nobody = uuid::Uuid::new_v4();
    let audited = || async {
        sqlx::query_scalar::<_, i64>(
            "select count(*) from audit_log where action like 'unit.%' or action like 'channel.%'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    let before = audited().await;
    for path in [
        format!("/admin/units/{suzhou}/explode"),
        format!("/admin/channels/{channel}/drop"),
        format!("/admin/units/{nobody}/delete"),
        format!("/admin/channels/{nobody}/deactivate"),
    ] {
        let status = app.post(&path, &[]).await.status().as_u16();
        assert_eq!(status, 404, "POST {path}");
    }
    let editor = app.other_client();
    editor.login_as("user_editor", "editor").await;
    for path in [
        format!("/admin/channels/{channel}/delete"),
        format!("/admin/units/{suzhou}/deactivate"),
    ] {
        let status = editor.post(&path, &[]).await.status().as_u16();
        assert_eq!(status, 403, "editor POST {path}");
    }
    assert_eq!(audited().await, before);
    let (active, still_there): (bool, bool) = sqlx::query_as(
        "select (select active from units where id = $1::uuid),
                exists (select 1 from channels where id = $2)",
    )
    .bind(&suzhou)
    .bind(channel)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(active && still_there);
}

#[tokio::test]
async fn filing_numbers_are_shown_as_registered_at_the_foot_of_every_public_page() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    app.login_as("boss", "admin").await;
    let (_, form) = app.page("/admin/settings").await;
    let version = attrs(&form, "input[name=version]", "value").pop().unwrap();
    let fields = |icp: &'static str| {
        vec![
            ("site_name", "电网新闻网"),
            ("copyright", "版权所有"),
            ("time_zone", "Asia/Shanghai"),
            ("session_idle_minutes", "30"),
            ("session_absolute_hours", "12"),
            ("upload_max_mb", "10"),
            ("sponsor", "主办：国家电网有限公司"),
            ("icp_number", icp),
            ("police_number", "京公网安备 11010502030143号"),
            ("smtp_host", "smtp.example.com"),
            ("smtp_port", "587"),
            ("smtp_from", "新闻网 <news@example.com>"),
        ]
    };

    let mut bad = fields("京ICP12345678号");
    bad.push(("version", &version));
    let (status, html) = app.post_page("/admin/settings", &bad).await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["ICP 备案号格式不正确，应如“京ICP备12345678号”或“京ICP备12345678号-1”。"]
    );
    assert_eq!(
        attrs(&html, "input[name=police_number]", "value"),
        ["京公网安备 11010502030143号"],
        "the input is kept"
    );
    let stored: i64 = sqlx::query_scalar(
        "select count(*) from settings where key in ('icp_number', 'police_number', 'sponsor')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored, 0, "nothing saved");

    let mut good = fields("京ICP备12345678号-1");
    good.push(("version", &version));
    assert_eq!(
        app.post("/admin/settings", &good).await.status().as_u16(),
        303
    );
    let smtp: String = sqlx::query_scalar("select value from settings where key = 'smtp_host'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        smtp, "smtp.example.com",
        "the mail settings of the form are saved too"
    );

    let number: i64 =
        sqlx::query_scalar("select min(number) from articles where status = 'published'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let unit: uuid::Uuid = sqlx::query_scalar("select id from units where parent_id is null")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let reader = app.other_client();
    let pages = [
        "/".to_string(),
        format!("/articles/{number}"),
        "/channels/dianwang".into(),
        "/search?q=%E7%94%B5%E7%BD%91".into(),
        format!("/units/{unit}"),
        "/agreement".into(),
        "/privacy".into(),
        "/login".into(),
        "/register".into(),
        "/no-such-page".into(),
    ];
    for plain in &pages {
        for path in [plain.clone(), format!("/zh-hant{plain}")] {
            let (status, html) = reader.page(&path).await;
            assert!(
                status == 200 || path.ends_with("no-such-page"),
                "{path}: {status}"
            );
            assert_eq!(
                texts(&html, "footer .filing a"),
                ["京ICP备12345678号-1", "京公网安备 11010502030143号"],
                "{path}: the numbers as registered, in either script"
            );
            assert_eq!(
                attrs(&html, "footer .filing a", "href"),
                [
                    "https://beian.miit.gov.cn/",
                    "https://beian.mps.gov.cn/#/query/webSearch?code=11010502030143"
                ],
                "{path}"
            );
            assert!(
                attrs(&html, "footer .filing img", "src")[0].starts_with("/static/"),
                "{path}: the emblem"
            );
            assert_eq!(texts(&html, "footer .sponsor").len(), 1, "{path}");
        }
    }
}

fn audit_command(app: &TestApp, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .arg("audit")
        .args(args)
        .env("DATABASE_URL", app.database.url())
        .env("NEWSDESK_DATA_DIR", app.data_dir.path())
        .env("NEWSDESK_LOG", "warn")
        .output()
        .unwrap()
}

/// Changes the log behind the application's back, as someone with the
/// database's superuser could.
async fn tamper(app: &TestApp, statement: &str) {
    let mut tx = app.pool.begin().await.unwrap();
    for sql in [
        "alter table audit_log disable trigger audit_log_append_only",
        statement,
        "alter table audit_log enable trigger audit_log_append_only",
    ] {
        sqlx::query(sql).execute(&mut *tx).await.unwrap();
    }
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn the_audit_log_is_append_only_chained_and_its_tampering_found() {
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    let editor_password = app.create_staff("editor", "editor").await;
    app.login("editor", "wrong-password-1").await;
    app.login_as("boss", "admin").await;

    let (_, html) = app.page("/admin/audit?action=login.failure").await;
    assert_eq!(texts(&html, "table.audit td.failed"), ["失败"]);

    let output = audit_command(&app, &["verify"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let records: i64 = sqlx::query_scalar("select count(*) from audit_log")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(
        String::from_utf8_lossy(&output.stdout).contains(&format!("{records} records")),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );

    // Nothing in the database lets a record be changed or removed.
    for statement in [
        "update audit_log set detail = '改过' where seq = 1",
        "delete from audit_log where seq = 1",
        "truncate audit_log",
    ] {
        let refused = sqlx::query(statement).execute(&app.pool).await;
        assert!(refused.is_err(), "{statement} went through");
    }
    let mut tx = app.pool.begin().await.unwrap();
    sqlx::query("set local newsdesk.audit_purge = 'on'")
        .execute(&mut *tx)
        .await
        .unwrap();
    let refused = sqlx::query("delete from audit_log where seq = 1")
        .execute(&mut *tx)
        .await;
    assert!(
        refused.is_err(),
        "the purge's flag does not reach a young record"
    );
    drop(tx);

    // The export for the assessor: every record, its result and hash; the
    // export itself is recorded.
    let response = app.get("/admin/audit/export?format=csv").await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    let csv = response.text().await.unwrap();
    assert!(csv.starts_with(
        "\u{feff}\"序号\",\"时间\",\"操作人\",\"客户端地址\",\"事件类型\",\"对象\",\"结果\""
    ));
    assert!(csv.contains("\"登录失败\"") && csv.contains("\"失败\""));
    assert_eq!(
        csv.lines().count() as i64,
        records + 1,
        "a heading and every record"
    );
    let xlsx = app
        .get("/admin/audit/export?format=xlsx")
        .await
        .bytes()
        .await
        .unwrap();
    assert!(xlsx.starts_with(b"PK"), "an Excel workbook");
    assert_eq!(
        app.get("/admin/audit/export?format=pdf")
            .await
            .status()
            .as_u16(),
        400
    );
    let exports: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action = 'audit.export'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(exports, 2);
    // Someone who may not read the log may not export it.
    let editor = app.other_client();
    editor.login("editor", &editor_password).await;
    assert_ne!(
        editor.get("/admin/audit/export").await.status().as_u16(),
        200
    );

    // A record changed behind the application's back is found...
    tamper(&app, "update audit_log set detail = '改过' where seq = 2").await;
    let output = audit_command(&app, &["verify"]);
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("record 2 was changed"), "{said}");

    // ... and so is one removed, even with the hashes rewritten after it.
    let app = spawn_app().await;
    app.login_as("boss", "admin").await;
    app.login("nobody", "x").await;
    app.login("nobody", "y").await;
    tamper(&app, "delete from audit_log where seq = 2").await;
    let said = String::from_utf8_lossy(&audit_command(&app, &["verify"]).stderr).into_owned();
    assert!(said.contains("records 2 to 2 are missing"), "{said}");
}

#[tokio::test]
async fn the_purge_removes_only_the_oldest_records_past_six_months() {
    let app = spawn_app().await;
    for days in [400, 300, 200, 100] {
        sqlx::query(
            "insert into audit_log (at, actor_name, action, target, detail, client_ip)
             values (now() - make_interval(days => $1), '旧账号', 'user.update', '旧记录', '', '10.0.0.1')",
        )
        .bind(days)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    app.login_as("boss", "admin").await;

    // Asked to keep ten days, it keeps 180 at least.
    let output = audit_command(&app, &["purge", "--keep-days", "10"]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("Removed 3"));
    let oldest: i32 =
        sqlx::query_scalar("select extract(day from now() - min(at))::int from audit_log")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(oldest, 100);
    let purges: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action = 'audit.purge'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(purges, 1, "the purge is recorded");
    let output = audit_command(&app, &["verify"]);
    assert!(
        output.status.success(),
        "what stays is whole from its anchor: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    // Nothing more is old enough.
    let output = audit_command(&app, &["purge"]);
    assert!(String::from_utf8_lossy(&output.stdout).contains("Removed 0"));
}
