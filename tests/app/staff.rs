//! Staff administration: users, one-time passwords, self-service, the CLI.

use crate::helpers::{TestApp, attrs, location, spawn_app, texts};

pub(crate) async fn user_id(app: &TestApp, username: &str) -> String {
    let id: uuid::Uuid =
        sqlx::query_scalar("select id from users where lower(username) = lower($1)")
            .bind(username)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    id.to_string()
}

pub(crate) async fn root_unit(app: &TestApp) -> String {
    let id: uuid::Uuid = sqlx::query_scalar("select id from units where parent_id is null")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    id.to_string()
}

#[tokio::test]
async fn an_admin_creates_a_user_who_must_change_the_one_time_password() {
    let app = spawn_app().await;
    app.login_as("admin", "admin").await;
    let unit = root_unit(&app).await;
    let (status, html) = app
        .post_page(
            "/admin/users/new",
            &[
                ("username", "LiSi"),
                ("display_name", "李四"),
                ("role", "correspondent"),
                ("unit_id", &unit),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let password = texts(&html, ".one-time-password code").pop().unwrap();
    assert_eq!(password.len(), 14);

    let writer = app.other_client();
    let response = writer.login("lisi", &password).await;
    assert_eq!(location(&response), "/admin/account/password");
    assert_eq!(
        location(&writer.get("/admin").await),
        "/admin/account/password",
        "nothing else until changed"
    );

    let (status, html) = writer
        .post_page(
            "/admin/account/password",
            &[
                ("current_password", &password),
                ("new_password", "lisi-12345678"),
                ("confirm_password", "lisi-12345678"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["密码不能与用户名相同，也不能包含用户名。"]
    );
    let (status, html) = writer
        .post_page(
            "/admin/account/password",
            &[
                ("current_password", &password),
                ("new_password", "1234567890"),
                ("confirm_password", "1234567890"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["该密码过于常见，容易被猜中，请换一个。"]
    );

    let response = writer
        .post(
            "/admin/account/password",
            &[
                ("current_password", &password),
                ("new_password", "春风又绿江南岸-Jiangnan2026"),
                ("confirm_password", "春风又绿江南岸-Jiangnan2026"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(writer.get("/admin").await.status().as_u16(), 200);
    assert_eq!(
        writer
            .other_client()
            .login("lisi", "春风又绿江南岸-Jiangnan2026")
            .await
            .status()
            .as_u16(),
        303
    );
}

#[tokio::test]
async fn usernames_are_unique_whatever_their_case_and_the_form_keeps_the_input() {
    let app = spawn_app().await;
    app.login_as("admin", "admin").await;
    let unit = root_unit(&app).await;
    let (status, html) = app
        .post_page(
            "/admin/users/new",
            &[
                ("username", "ADMIN"),
                ("display_name", "另一个"),
                ("role", "editor"),
                ("unit_id", &unit),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["该用户名已被使用（用户名不区分大小写）。"]
    );
    assert_eq!(
        attrs(&html, "input[name=display_name]", "value"),
        ["另一个"]
    );
    assert_eq!(
        texts(&html, "#username-error"),
        ["该用户名已被使用（用户名不区分大小写）。"]
    );
    // Several wrong fields are named together, each beside its field.
    let (status, html) = app
        .post_page(
            "/admin/users/new",
            &[
                ("username", "a b"),
                ("display_name", "x"),
                ("role", "emperor"),
                ("unit_id", "not-a-unit"),
                ("email", "not-an-address"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    for field in ["username", "role", "unit_id", "email"] {
        assert_eq!(
            texts(&html, &format!("#{field}-error")).len(),
            1,
            "{field} has its message"
        );
    }
    assert!(texts(&html, "#display_name-error").is_empty());
    assert_eq!(attrs(&html, "input[name=username]", "value"), ["a b"]);
    let users: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(users, 1);
}

#[tokio::test]
async fn the_user_list_filters_by_role_unit_state_and_search() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    app.login_as("boss", "admin").await;
    let weihai: uuid::Uuid = sqlx::query_scalar("select id from units where name = '国网山东电力'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let names = |html: &scraper::Html| texts(html, "td.username");

    let (_, html) = app.page("/admin/users?role=correspondent").await;
    assert_eq!(names(&html), ["tongxunyuan1", "tongxunyuan2"]);
    let (_, html) = app.page(&format!("/admin/users?unit={weihai}")).await;
    assert_eq!(names(&html), ["tongxunyuan1"], "units below count too");
    let (_, html) = app.page("/admin/users?q=编辑").await;
    assert_eq!(names(&html), ["bianji"]);
    sqlx::query("update users set active = false where username = 'bianji'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, html) = app.page("/admin/users?active=no").await;
    assert_eq!(names(&html), ["bianji"]);
}

#[tokio::test]
async fn disabling_a_user_ends_their_sessions_and_enabling_lets_them_back() {
    let app = spawn_app().await;
    app.login_as("admin", "admin").await;
    let editor = app.other_client();
    editor.login_as("editor1", "editor").await;
    assert_eq!(editor.get("/admin").await.status().as_u16(), 200);

    let id = user_id(&app, "editor1").await;
    assert_eq!(
        app.post(&format!("/admin/users/{id}/disable"), &[])
            .await
            .status()
            .as_u16(),
        303
    );
    assert_eq!(location(&editor.get("/admin").await), "/admin/login");
    assert_eq!(
        app.post(&format!("/admin/users/{id}/enable"), &[])
            .await
            .status()
            .as_u16(),
        303
    );
    assert_eq!(
        editor
            .login("editor1", "editor1-Tq7-lamp-horse")
            .await
            .status()
            .as_u16(),
        303
    );
    let actions: Vec<String> =
        sqlx::query_scalar("select action from audit_log where target = 'editor1' order by id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        actions,
        [
            "login.success",
            "user.disable",
            "user.enable",
            "login.success"
        ]
    );
}

#[tokio::test]
async fn the_last_active_admin_can_be_neither_disabled_nor_demoted() {
    let app = spawn_app().await;
    app.login_as("admin", "admin").await;
    let id = user_id(&app, "admin").await;
    let unit = root_unit(&app).await;

    let (status, html) = app
        .post_page(&format!("/admin/users/{id}/disable"), &[])
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["不能停用或降级最后一位启用的管理员。"]
    );
    let (status, _) = app
        .post_page(
            &format!("/admin/users/{id}/edit"),
            &[
                ("display_name", "管理员"),
                ("role", "editor"),
                ("unit_id", &unit),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    let (role, active): (String, bool) =
        sqlx::query_as("select role, active from users where username = 'admin'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((role.as_str(), active), ("admin", true));

    // With a second admin, the first may be stepped down (by the other:
    // no one changes their own role).
    let other = app.other_client();
    other.login_as("admin2", "admin").await;
    let response = other
        .post(
            &format!("/admin/users/{id}/edit"),
            &[
                ("display_name", "管理员"),
                ("role", "editor"),
                ("unit_id", &unit),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
}

#[tokio::test]
async fn a_stale_user_edit_is_refused_with_the_input_kept() {
    let app = spawn_app().await;
    app.login_as("admin", "admin").await;
    app.create_staff("writer", "correspondent").await;
    let id = user_id(&app, "writer").await;
    let unit = root_unit(&app).await;
    let edit = |name: &'static str| {
        let unit = unit.clone();
        let path = format!("/admin/users/{id}/edit");
        let app = &app;
        async move {
            app.post_page(
                &path,
                &[
                    ("display_name", name),
                    ("role", "editor"),
                    ("unit_id", &unit),
                    ("version", "1"),
                ],
            )
            .await
        }
    };
    let (first, _) = edit("第一次").await;
    assert_eq!(first, 303);
    let (second, html) = edit("第二次").await;
    assert_eq!(second, 409);
    assert_eq!(
        attrs(&html, "input[name=display_name]", "value"),
        ["第二次"]
    );
    let name: String =
        sqlx::query_scalar("select display_name from users where username = 'writer'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(name, "第一次");
}

#[tokio::test]
async fn a_password_reset_ends_sessions_and_shows_the_new_password_once() {
    let app = spawn_app().await;
    app.login_as("admin", "admin").await;
    let writer = app.other_client();
    writer.login_as("writer", "correspondent").await;
    let id = user_id(&app, "writer").await;

    let response = app
        .post(&format!("/admin/users/{id}/reset-password"), &[])
        .await;
    assert_eq!(response.headers()["cache-control"], "no-store");
    let html = scraper::Html::parse_document(&response.text().await.unwrap());
    let password = texts(&html, ".one-time-password code").pop().unwrap();
    assert_eq!(location(&writer.get("/admin").await), "/admin/login");
    assert_eq!(
        writer
            .login("writer", "writer-Tq7-lamp-horse")
            .await
            .status()
            .as_u16(),
        401
    );
    assert_eq!(
        location(&writer.login("writer", &password).await),
        "/admin/account/password"
    );
}

#[tokio::test]
async fn staff_edit_their_own_display_name() {
    let app = spawn_app().await;
    app.login_as("editor", "editor").await;
    let (status, html) = app
        .post_page("/admin/account", &[("display_name", "  ")])
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["姓名不能为空，且不超过 40 个字。"]
    );
    assert_eq!(
        app.post("/admin/account", &[("display_name", "王编辑")])
            .await
            .status()
            .as_u16(),
        303
    );
    let (_, html) = app.page("/admin").await;
    assert!(texts(&html, ".who")[0].starts_with("王编辑"));
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one() {
    let app = spawn_app().await;
    app.login_as("editor", "editor").await;
    let (status, html) = app
        .post_page(
            "/admin/account/password",
            &[
                ("current_password", "not-it-at-all"),
                ("new_password", "好雨知时节2026"),
                ("confirm_password", "好雨知时节2026"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(texts(&html, ".alert.error"), ["当前密码不正确。"]);
    let changed: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action = 'password.change'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(changed, 0);
}

#[tokio::test]
async fn the_create_user_command_reads_the_password_from_standard_input() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let run = |args: &[&str], password: &str| {
        let mut child = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
            .arg("create-user")
            .args(args)
            .env("DATABASE_URL", app.database.url())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
        child.wait_with_output().unwrap()
    };
    let output = run(
        &["--username", "first", "--role", "admin"],
        "晨光里的变电站-Dawn2024",
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let output = run(
        &[
            "--username",
            "weihai",
            "--role",
            "correspondent",
            "--unit",
            "带电作业中心",
            "--display-name",
            "王五",
        ],
        "晨光里的变电站-Dawn2024",
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let units: Vec<(String, String)> = sqlx::query_as(
        "select u.username, n.name from users u join units n on n.id = u.unit_id
         where u.username in ('first', 'weihai') order by u.username",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        units,
        [
            ("first".into(), "国家电网".into()),
            ("weihai".into(), "带电作业中心".into())
        ]
    );

    let output = run(&["--username", "weak", "--role", "editor"], "short");
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("10"),
        "the policy's message"
    );
    let output = run(
        &["--username", "x2", "--role", "writer"],
        "晨光里的变电站-Dawn2024",
    );
    assert!(!output.status.success());

    assert_eq!(
        app.login("first", "晨光里的变电站-Dawn2024")
            .await
            .status()
            .as_u16(),
        303
    );
}

#[tokio::test]
async fn a_staff_email_address_is_checked_and_kept() {
    let app = spawn_app().await;
    app.login_as("admin", "admin").await;
    let unit = root_unit(&app).await;
    let fields = |email: &'static str| {
        [
            ("username", "mailer"),
            ("display_name", "邮件用户"),
            ("role", "editor"),
            ("unit_id", unit.as_str()),
            ("email", email),
        ]
    };
    let (status, html) = app
        .post_page("/admin/users/new", &fields("not an address"))
        .await;
    assert_eq!(status, 422);
    assert_eq!(texts(&html, ".alert.error"), ["电子邮箱格式不正确。"]);
    let (status, _) = app
        .post_page("/admin/users/new", &fields("editor@example.com"))
        .await;
    assert_eq!(status, 200);
    let email: String = sqlx::query_scalar("select email from users where username = 'mailer'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(email, "editor@example.com");
}

#[tokio::test]
async fn an_admin_gives_an_account_its_last_day() {
    let app = spawn_app().await;
    app.login_as("admin", "admin").await;
    let unit = root_unit(&app).await;
    let fields = |until: &'static str| {
        vec![
            ("username", "intern"),
            ("display_name", "实习生"),
            ("role", "correspondent"),
            ("unit_id", unit.as_str()),
            ("expires_on", until),
        ]
    };
    let (status, html) = app.post_page("/admin/users/new", &fields("明年")).await;
    assert_eq!(status, 422);
    assert_eq!(
        attrs(&html, "input[name=expires_on]", "value"),
        ["明年"],
        "the input is kept"
    );
    let created: i64 = sqlx::query_scalar("select count(*) from users where username = 'intern'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(created, 0);

    let (status, _) = app
        .post_page("/admin/users/new", &fields("2030-06-30"))
        .await;
    assert_eq!(status, 200);
    // The end of that day in the site's zone (Asia/Shanghai).
    let ends: String = sqlx::query_scalar(
        "select to_char(expires_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI')
         from users where username = 'intern'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(ends, "2030-07-01 00:00");
    let id = user_id(&app, "intern").await;
    let (_, form) = app.page(&format!("/admin/users/{id}/edit")).await;
    assert_eq!(
        attrs(&form, "input[name=expires_on]", "value"),
        ["2030-06-30"]
    );

    // Edited to end sooner, then never: each change recorded.
    let version = attrs(&form, "input[name=version]", "value").pop().unwrap();
    let edit = |until: &'static str, version: String| {
        vec![
            ("display_name", "实习生".to_owned()),
            ("role", "correspondent".to_owned()),
            ("unit_id", unit.clone()),
            ("expires_on", until.to_owned()),
            ("version", version),
        ]
    };
    let fields = edit("2029-01-31", version);
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        app.post(&format!("/admin/users/{id}/edit"), &borrowed)
            .await
            .status()
            .as_u16(),
        303
    );
    let detail: String = sqlx::query_scalar(
        "select detail from audit_log where action = 'user.update' and target = 'intern'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(detail, "有效期至：2030-06-30 → 2029-01-31");
}
