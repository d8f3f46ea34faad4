//! 三员分立: the system, security and audit admins each hold one duty,
//! no one changes their own role, the switch needs the three and is undone
//! only on the server.

use crate::helpers::{TestApp, attrs, location, spawn_app, texts};
use crate::staff::{root_unit, user_id};

/// The form of `path` as a browser would send it untouched: its inputs'
/// values and its ticked boxes, the CSRF token left to `post`.
async fn form_as_shown(client: &TestApp, path: &str) -> Vec<(String, String)> {
    let (status, html) = client.page(path).await;
    assert_eq!(status, 200, "{path}");
    let selector = scraper::Selector::parse("form.form input[name]").unwrap();
    html.select(&selector)
        .filter_map(|input| {
            let element = input.value();
            let name = element.attr("name")?;
            if name == "csrf_token" {
                return None;
            }
            match element.attr("type") {
                Some("checkbox") => element.attr("checked").map(|_| (name.into(), "on".into())),
                _ => Some((name.into(), element.attr("value").unwrap_or("").into())),
            }
        })
        .collect()
}

fn with<'a>(
    form: &'a [(String, String)],
    changes: &'a [(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut fields: Vec<(&str, &str)> = form
        .iter()
        .filter(|(name, _)| !changes.iter().any(|(changed, _)| changed == name))
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    fields.extend(changes.iter().filter(|(_, value)| !value.is_empty()));
    fields
}

async fn setting(app: &TestApp, key: &str) -> String {
    sqlx::query_scalar("select value from settings where key = $1")
        .bind(key)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_switch_needs_the_three_writes_nothing_when_refused_and_retires_the_admin() {
    let app = spawn_app().await;
    app.login_as("boss", "admin").await;
    let boss_password = "boss-Tq7-lamp-horse";
    let form = form_as_shown(&app, "/admin/security").await;
    let turn_on = with(
        &form,
        &[
            ("separation_of_duties", "on"),
            ("session_idle_minutes", "40"),
        ],
    );

    // Without the three: refused, and the policy change that came with it
    // is not half-saved.
    let (status, html) = app.post_page("/admin/security", &turn_on).await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["启用三员分立前，须先为系统管理员、安全管理员、审计管理员各设立一个可用账号。"]
    );
    assert_eq!(
        attrs(&html, "input[name=session_idle_minutes]", "value"),
        ["40"],
        "the input is kept"
    );
    assert_eq!(setting(&app, "separation_of_duties").await, "false");
    assert_eq!(setting(&app, "session_idle_minutes").await, "30");

    // The single admin sets the three up on the web before the switch.
    let unit = root_unit(&app).await;
    for (username, role) in [
        ("xitong", "system_admin"),
        ("anquan", "security_admin"),
        ("shenji", "audit_admin"),
    ] {
        let fields = [
            ("username", username),
            ("display_name", username),
            ("role", role),
            ("unit_id", unit.as_str()),
        ];
        let (status, _) = app.post_page("/admin/users/new", &fields).await;
        assert_eq!(status, 200, "the one-time password is shown for {username}");
    }
    // A disabled one does not count.
    sqlx::query("update users set active = false where username = 'shenji'")
        .execute(&app.pool)
        .await
        .unwrap();
    let (status, html) = app.post_page("/admin/security", &turn_on).await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["启用三员分立前，须先为审计管理员各设立一个可用账号。"]
    );
    sqlx::query("update users set active = true where username = 'shenji'")
        .execute(&app.pool)
        .await
        .unwrap();

    let response = app.post("/admin/security", &turn_on).await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(setting(&app, "separation_of_duties").await, "true");
    assert_eq!(setting(&app, "session_idle_minutes").await, "40");
    // The admin's session ended with the switch, and the account no
    // longer logs in, even with the right password.
    assert!(location(&app.get("/admin").await).starts_with("/admin/login"));
    let response = app.login("boss", boss_password).await;
    assert_eq!(response.status().as_u16(), 403);
    let html = scraper::Html::parse_document(&response.text().await.unwrap());
    assert_eq!(
        texts(&html, ".alert.error"),
        [
            "本站已启用三员分立，管理员账号不再使用，请以系统管理员、安全管理员或审计管理员账号登录。"
        ]
    );
    let recorded: Vec<(String, String)> = sqlx::query_as(
        "select action, result from audit_log
         where action in ('duties.separate', 'login.failure') order by seq",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        recorded,
        [
            ("duties.separate".to_owned(), "success".to_owned()),
            ("login.failure".to_owned(), "failure".to_owned())
        ]
    );
    // A session of the admin kept from before cannot come back either.
    let token: i64 = sqlx::query_scalar(
        "select count(*) from sessions s join users u on u.id = s.user_id where u.role = 'admin'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(token, 0);

    // The security admin cannot undo it on the web: the box is gone and
    // a forged post leaves it on.
    let security = app.other_client();
    let password = "anquan-Tq7-lamp-horse";
    let hash = newsdesk::auth::password::hash(password).unwrap();
    sqlx::query(
        "update users set password_hash = $1, must_change_password = false where username = 'anquan'",
    )
    .bind(hash)
    .execute(&security.pool)
    .await
    .unwrap();
    assert_eq!(
        security.login("anquan", password).await.status().as_u16(),
        303
    );
    let (_, page) = security.page("/admin/security").await;
    assert!(attrs(&page, "input[name=separation_of_duties]", "name").is_empty());
    let form = form_as_shown(&security, "/admin/security").await;
    let response = security.post("/admin/security", &with(&form, &[])).await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(setting(&app, "separation_of_duties").await, "true");

    // On the server it can: the admin logs in again.
    let mut tx = app.pool.begin().await.unwrap();
    let actor = newsdesk::audit::Actor::anonymous("newsdesk duties", "命令行".into());
    newsdesk::auth::duties::single(&mut tx, &actor)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        app.login("boss", boss_password).await.status().as_u16(),
        303
    );
}

/// A site under 三员分立 with the three and a left-over admin, each
/// client logged in.
async fn separated_site() -> (TestApp, TestApp, TestApp, TestApp) {
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    app.create_staff("boss", "admin").await;
    let clients = [
        ("xitong", "system_admin"),
        ("anquan", "security_admin"),
        ("shenji", "audit_admin"),
    ]
    .map(|(username, role)| (app.other_client(), username, role));
    for (client, username, role) in &clients {
        let password = client.create_staff(username, role).await;
        assert_eq!(
            client.login(username, &password).await.status().as_u16(),
            303
        );
    }
    let mut tx = app.pool.begin().await.unwrap();
    let actor = newsdesk::audit::Actor::anonymous("newsdesk duties", "命令行".into());
    newsdesk::auth::duties::separate(&mut tx, &actor)
        .await
        .unwrap()
        .unwrap();
    tx.commit().await.unwrap();
    let [(system, ..), (security, ..), (audit, ..)] = clients;
    (app, system, security, audit)
}

#[tokio::test]
async fn the_system_admin_runs_the_newsroom_accounts_but_cannot_touch_the_three() {
    let (app, system, _security, _audit) = separated_site().await;
    let unit = root_unit(&app).await;
    let new_user = |role: &'static str| {
        [
            ("username", "xinren"),
            ("display_name", "新人"),
            ("role", role),
            ("unit_id", ""),
        ]
    };
    for role in ["security_admin", "audit_admin", "system_admin", "admin"] {
        let mut fields = new_user(role);
        fields[3].1 = &unit;
        let (status, html) = system.post_page("/admin/users/new", &fields).await;
        assert_eq!(status, 422, "{role}");
        assert_eq!(
            texts(&html, ".alert.error"),
            [
                "本站已启用三员分立：系统管理员、安全管理员和审计管理员的账号只能在服务器上用 newsdesk 命令设立和管理。"
            ],
            "{role}"
        );
    }
    let (_, form) = system.page("/admin/users/new").await;
    assert_eq!(
        attrs(&form, "select[name=role] option", "value"),
        ["chief_editor", "editor", "correspondent"]
    );
    let mut fields = new_user("editor");
    fields[3].1 = &unit;
    let (status, _) = system.post_page("/admin/users/new", &fields).await;
    assert_eq!(
        status, 200,
        "an editor's account is the system admin's to make"
    );

    for username in ["anquan", "shenji", "xitong"] {
        let id = user_id(&app, username).await;
        let (status, html) = system.page(&format!("/admin/users/{id}/edit")).await;
        assert_eq!(status, 403, "edit {username}");
        assert!(
            html.html()
                .contains("只能在服务器上用 newsdesk 命令设立和管理")
        );
        for action in ["reset-password", "disable"] {
            let path = format!("/admin/users/{id}/{action}");
            assert_eq!(
                system.post(&path, &[]).await.status().as_u16(),
                403,
                "{action} {username}"
            );
        }
        let edit = [
            ("display_name", "改名"),
            ("role", "editor"),
            ("unit_id", unit.as_str()),
            ("version", "1"),
        ];
        let path = format!("/admin/users/{id}/edit");
        assert_eq!(system.post(&path, &edit).await.status().as_u16(), 403);
    }
    let untouched: i64 = sqlx::query_scalar(
        "select count(*) from users where username in ('anquan', 'shenji', 'xitong')
         and active and version = 1 and not must_change_password
         and role in ('system_admin', 'security_admin', 'audit_admin')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(untouched, 3);
    let (_, list) = system.page("/admin/users").await;
    assert_eq!(
        texts(&list, "td.actions small"),
        ["三员账号，在服务器上管理"; 3]
    );

    // The left-over admin's account can be given a newsroom role.
    let boss = user_id(&app, "boss").await;
    let edit = [
        ("display_name", "原管理员"),
        ("role", "chief_editor"),
        ("unit_id", unit.as_str()),
        ("version", "1"),
    ];
    let path = format!("/admin/users/{boss}/edit");
    assert_eq!(system.post(&path, &edit).await.status().as_u16(), 303);

    // The three are never put to sleep as dormant.
    sqlx::query("update users set last_login_at = now() - interval '400 days', created_at = now() - interval '400 days'")
        .execute(&app.pool)
        .await
        .unwrap();
    let disabled = newsdesk::users::db::disable_dormant(&mut app.pool.acquire().await.unwrap(), 90)
        .await
        .unwrap();
    let mut disabled = disabled;
    disabled.sort();
    assert_eq!(disabled, ["boss", "xinren"]);
}

#[tokio::test]
async fn the_security_and_audit_admins_hold_their_duty_alone_and_the_auditor_is_audited() {
    let (app, system, security, audit) = separated_site().await;

    // Security: the policy, the locks, the sensitive words.
    let form = form_as_shown(&security, "/admin/security").await;
    let fields = with(&form, &[("password_min_length", "14")]);
    assert_eq!(
        security
            .post("/admin/security", &fields)
            .await
            .status()
            .as_u16(),
        303
    );
    assert_eq!(setting(&app, "password_min_length").await, "14");
    let words = [("add", "违禁词甲")];
    assert_eq!(
        security
            .post("/admin/sensitive-words", &words)
            .await
            .status()
            .as_u16(),
        200
    );
    let stored: i64 =
        sqlx::query_scalar("select count(*) from sensitive_words where word = '违禁词甲'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored, 1);
    for path in [
        "/admin/users",
        "/admin/settings",
        "/admin/audit",
        "/admin/articles",
    ] {
        assert_eq!(security.get(path).await.status().as_u16(), 403, "{path}");
    }
    // The system admin holds none of it.
    let fields = with(&form, &[("password_min_length", "8")]);
    assert_eq!(
        system
            .post("/admin/security", &fields)
            .await
            .status()
            .as_u16(),
        403
    );
    assert_eq!(
        system
            .post("/admin/users/locks/clear", &[("key", "account:x")])
            .await
            .status()
            .as_u16(),
        403
    );
    assert_eq!(setting(&app, "password_min_length").await, "14");

    // Audit: reads and exports, and nothing else.
    let before: i64 = sqlx::query_scalar("select count(*) from audit_log")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (status, html) = audit.page("/admin/audit?action=security.update").await;
    assert_eq!(status, 200);
    let rows = texts(&html, "table.audit tbody tr");
    assert_eq!(rows.len(), 1);
    assert!(
        rows[0].contains("anquan") && rows[0].contains("password_min_length"),
        "{}",
        rows[0]
    );
    let export = audit.get("/admin/audit/export?format=csv").await;
    assert_eq!(export.status().as_u16(), 200);
    for path in [
        "/admin/users",
        "/admin/settings",
        "/admin/security",
        "/admin/articles/all",
    ] {
        assert_eq!(audit.get(path).await.status().as_u16(), 403, "{path}");
    }
    let site = [
        ("site_name", "审计改名"),
        ("time_zone", "Asia/Shanghai"),
        ("upload_max_mb", "10"),
    ];
    assert_eq!(
        audit.post("/admin/settings", &site).await.status().as_u16(),
        403
    );
    let own: Vec<String> = sqlx::query_scalar(
        "select action from audit_log where actor_name = 'shenji' and seq > $1 order by seq",
    )
    .bind(before)
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(own, ["audit.view", "audit.export"]);
    let (_, nav) = audit.page("/admin").await;
    let offered = attrs(&nav, ".admin-nav a", "href");
    assert!(offered.contains(&"/admin/audit".to_owned()));
    assert!(
        !offered
            .iter()
            .any(|href| href.starts_with("/admin/articles")
                || href.starts_with("/admin/users")
                || href.starts_with("/admin/settings"))
    );
}

#[tokio::test]
async fn no_one_changes_their_own_role() {
    let app = spawn_app().await;
    app.login_as("boss", "admin").await;
    app.create_staff("second", "admin").await;
    let unit = root_unit(&app).await;
    let me = user_id(&app, "boss").await;
    let path = format!("/admin/users/{me}/edit");
    for role in ["audit_admin", "editor"] {
        let fields = [
            ("display_name", "老板"),
            ("role", role),
            ("unit_id", unit.as_str()),
            ("version", "1"),
        ];
        let (status, html) = app.post_page(&path, &fields).await;
        assert_eq!(status, 422, "{role}");
        assert_eq!(texts(&html, ".alert.error"), ["不能更改自己的角色。"]);
    }
    let (role, name): (String, String) =
        sqlx::query_as("select role, display_name from users where username = 'boss'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!((role.as_str(), name.as_str()), ("admin", "boss的姓名"));
    // The rest of the form still saves with the role left as it is.
    let fields = [
        ("display_name", "老板"),
        ("role", "admin"),
        ("unit_id", unit.as_str()),
        ("version", "1"),
    ];
    assert_eq!(app.post(&path, &fields).await.status().as_u16(), 303);
}
