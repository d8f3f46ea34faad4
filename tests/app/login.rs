//! Login, logout, sessions, throttling and CSRF.

use crate::helpers::{location, set_cookie, spawn_app, texts};

#[tokio::test]
async fn the_right_password_opens_the_backend() {
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    let password = app.create_staff("Zhang.San", "editor").await;

    assert_eq!(
        location(&app.get("/admin").await),
        "/admin/login",
        "anonymous visitors go to the login"
    );
    let response = app.login("zhang.san", &password).await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(location(&response), "/admin");
    let cookie = set_cookie(&response, "nd_session");
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
    assert!(
        !cookie.contains("Secure"),
        "plain http by default: {cookie}"
    );

    let (status, html) = app.page("/admin").await;
    assert_eq!(status, 200);
    assert!(texts(&html, ".who").join("").contains("Zhang.San的姓名"));
    let last_login: Option<chrono::DateTime<chrono::Utc>> =
        sqlx::query_scalar("select last_login_at from users where username = 'Zhang.San'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(last_login.is_some());
}

#[tokio::test]
async fn session_cookies_are_secure_when_the_site_says_https() {
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    let password = app.create_staff("wang", "editor").await;
    sqlx::query("update settings set value = 'true' where key = 'cookie_secure'")
        .execute(&app.pool)
        .await
        .unwrap();
    let response = app.login("wang", &password).await;
    let cookie = set_cookie(&response, "__Host-nd_session");
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn a_wrong_user_and_a_wrong_password_get_the_same_answer() {
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    app.create_staff("li", "editor").await;

    let (status_user, html_user) = app
        .post_page(
            "/admin/login",
            &[("username", "nobody"), ("password", "whatever-123")],
        )
        .await;
    let (status_pass, html_pass) = app
        .post_page(
            "/admin/login",
            &[("username", "li"), ("password", "whatever-123")],
        )
        .await;
    assert_eq!(status_user, 401);
    assert_eq!(status_pass, 401);
    assert_eq!(texts(&html_user, ".alert.error"), ["用户名或密码错误。"]);
    assert_eq!(
        texts(&html_user, ".alert.error"),
        texts(&html_pass, ".alert.error")
    );
    let typed = crate::helpers::attrs(&html_pass, "input[name=username]", "value");
    assert_eq!(typed, ["li"], "the username is kept");

    let failures: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action = 'login.failure'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(failures, 2);
}

#[tokio::test]
async fn a_disabled_account_cannot_log_in() {
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    let password = app.create_staff("zhao", "editor").await;
    sqlx::query("update users set active = false where username = 'zhao'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.login("zhao", &password).await.status().as_u16(), 401);
}

#[tokio::test]
async fn logging_in_again_replaces_the_session_and_logout_ends_it_on_the_server() {
    let app = spawn_app().await;
    app.login_as("chen", "editor").await;
    let first: Vec<u8> = sqlx::query_scalar("select token_hash from sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();

    let password: String = "chen-Tq7-lamp-horse".into();
    assert_eq!(app.login("chen", &password).await.status().as_u16(), 303);
    let sessions: Vec<Vec<u8>> = sqlx::query_scalar("select token_hash from sessions")
        .fetch_all(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        sessions.len(),
        1,
        "the earlier session of this browser ended"
    );
    assert_ne!(sessions[0], first, "a new session id at login");

    let response = app.post("/admin/logout", &[]).await;
    assert_eq!(response.status().as_u16(), 303);
    let left: i64 = sqlx::query_scalar("select count(*) from sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0);
    assert_eq!(app.get("/admin").await.status().as_u16(), 303);
}

#[tokio::test]
async fn idle_and_absolute_timeouts_end_sessions() {
    let app = spawn_app().await;
    app.login_as("sun", "editor").await;
    assert_eq!(app.get("/admin").await.status().as_u16(), 200);

    // Activity keeps a session alive: a request after 20 quiet minutes
    // moves its last-seen time.
    sqlx::query("update sessions set last_seen_at = now() - interval '20 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(app.get("/admin").await.status().as_u16(), 200);
    let quiet: f64 = sqlx::query_scalar(
        "select extract(epoch from now() - max(last_seen_at))::float8 from sessions",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(quiet < 60.0, "last seen {quiet} s ago");

    sqlx::query("update sessions set last_seen_at = now() - interval '31 minutes'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        location(&app.get("/admin").await),
        "/admin/login",
        "idle for longer than 30 minutes"
    );

    sqlx::query(
        "update sessions set last_seen_at = now(), created_at = now() - interval '13 hours'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        location(&app.get("/admin").await),
        "/admin/login",
        "older than 12 hours"
    );

    sqlx::query("update sessions set created_at = now()")
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(
        app.get("/admin").await.status().as_u16(),
        200,
        "the same session within both limits"
    );
}

#[tokio::test]
async fn repeated_failures_lock_the_account_until_an_admin_clears_it() {
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    let password = app.create_staff("zhou", "editor").await;
    for _ in 0..4 {
        app.login("zhou", "wrong-password-1").await;
    }
    let (status, html) = app
        .post_page(
            "/admin/login",
            &[("username", "zhou"), ("password", &password)],
        )
        .await;
    assert_eq!(status, 429, "locked even with the right password");
    assert!(texts(&html, ".alert.error")[0].contains("登录失败次数过多"));

    // Another instance would see the same lock: it lives in the database.
    // It is this client's lock on this account, not the account's.
    let locked: bool = sqlx::query_scalar(
        "select locked_until > now() from login_throttle where key = 'account:zhou|127.0.0.1'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(locked);

    let admin = app.other_client();
    admin.login_as("boss", "admin").await;
    let (_, locks) = admin.page("/admin/users/locks").await;
    assert!(
        texts(&locks, ".subject").contains(&"zhou（来自 127.0.0.1）".to_string()),
        "{:?}",
        texts(&locks, ".subject")
    );
    let response = admin
        .post("/admin/users/locks/clear", &[("key", "account:zhou")])
        .await;
    assert_eq!(response.status().as_u16(), 303);
    let cleared: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action = 'lock.clear'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(cleared, 1);

    assert_eq!(app.login("zhou", &password).await.status().as_u16(), 303);
}

#[tokio::test]
async fn many_failures_from_one_address_lock_that_address() {
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    let password = app.create_staff("wu", "editor").await;
    for n in 0..11 {
        app.login(&format!("guess{n}"), "wrong-password-1").await;
    }
    assert_eq!(app.login("wu", &password).await.status().as_u16(), 429);
}

#[tokio::test]
async fn a_post_without_a_valid_csrf_token_is_refused_and_does_nothing() {
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    let password = app.create_staff("qian", "admin").await;

    let response = app
        .client
        .post(app.url("/admin/login"))
        .form(&[("username", "qian"), ("password", password.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    let html = scraper::Html::parse_document(&response.text().await.unwrap());
    assert_eq!(texts(&html, "h1"), ["请求已失效"]);
    let sessions: i64 = sqlx::query_scalar("select count(*) from sessions")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(sessions, 0, "no login happened");

    assert_eq!(app.login("qian", &password).await.status().as_u16(), 303);
    let wrong = app
        .client
        .post(app.url("/admin/settings"))
        .form(&[("site_name", "被篡改"), ("csrf_token", "0000")])
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status().as_u16(), 403);

    let token = app.csrf().await;
    let foreign = app
        .client
        .post(app.url("/admin/logout"))
        .header("origin", "https://evil.example")
        .form(&[("csrf_token", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        foreign.status().as_u16(),
        403,
        "a foreign origin is refused even with the token"
    );
    let name: String = sqlx::query_scalar("select value from settings where key = 'site_name'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(name, "电网新闻网");
    assert_eq!(
        app.get("/admin").await.status().as_u16(),
        200,
        "still logged in"
    );
}

#[tokio::test]
async fn only_backend_paths_are_followed_after_login() {
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    let password = app.create_staff("feng", "admin").await;
    let response = app
        .post(
            "/admin/login",
            &[
                ("username", "feng"),
                ("password", &password),
                ("next", "//evil.example/"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/admin");
    app.post("/admin/logout", &[]).await;
    let response = app
        .post(
            "/admin/login",
            &[
                ("username", "feng"),
                ("password", &password),
                ("next", "/admin/users"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/admin/users");
}

#[tokio::test]
async fn sessions_and_logout_hold_across_instances() {
    let first = spawn_app().await;
    first.login_as("editor", "editor").await;
    let second = first.second_instance();
    assert_ne!(first.address, second.address);

    let (status, html) = second.page("/admin").await;
    assert_eq!(status, 200, "signed in on the other instance too");
    assert!(texts(&html, ".who")[0].starts_with("editor的姓名"));

    // A form from one instance posts to the other; logout there ends it everywhere.
    assert_eq!(
        second.post("/admin/logout", &[]).await.status().as_u16(),
        303
    );
    assert_eq!(location(&first.get("/admin").await), "/admin/login");
}

#[tokio::test]
async fn after_logging_in_again_the_visitor_returns_to_the_page_they_were_on() {
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    let password = app.create_staff("he", "admin").await;
    let response = app.get("/admin/users?role=editor").await;
    assert_eq!(
        location(&response),
        "/admin/login?next=%2Fadmin%2Fusers%3Frole%3Deditor"
    );

    // A form posted after the session ended goes back to the page of the
    // form, where the browser's autosave offers the text again.
    let token = app.csrf().await;
    let response = app
        .client
        .post(app.url("/admin/articles/new"))
        .header("referer", app.url("/admin/articles/new"))
        .form(&[("title", "断线前写的稿子"), ("csrf_token", &token)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        location(&response),
        "/admin/login?next=%2Fadmin%2Farticles%2Fnew"
    );
    let (_, form) = app
        .page("/admin/login?next=%2Fadmin%2Farticles%2Fnew")
        .await;
    let next = crate::helpers::attrs(&form, "input[name=next]", "value");
    assert_eq!(next, ["/admin/articles/new"]);
    let response = app
        .post(
            "/admin/login",
            &[
                ("username", "he"),
                ("password", &password),
                ("next", &next[0]),
            ],
        )
        .await;
    assert_eq!(location(&response), "/admin/articles/new");
}

#[tokio::test]
async fn a_stranger_cannot_keep_an_account_locked_and_floods_are_aggregated() {
    let app = crate::helpers::spawn_app_with(|config| {
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        config.test_captcha = Some("TESTME".into());
    })
    .await;
    app.ensure_root_unit().await;
    let password = app.create_staff("admin", "admin").await;
    let from = |address: String, password: &'static str| {
        let client = app.client.clone();
        let url = app.url("/admin/login");
        let app = &app;
        async move {
            let token = app.csrf().await;
            client
                .post(url)
                .header("X-Forwarded-For", address)
                .form(&[
                    ("username", "admin"),
                    ("password", password),
                    ("csrf_token", token.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    // An attacker sends thirty wrong passwords for admin from one address.
    for _ in 0..30 {
        let status = from("203.0.113.66".into(), "wrong-password-1")
            .await
            .status();
        assert!(status == 401 || status == 429, "{status}");
    }
    let locked_rows: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action = 'login.locked'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert!(
        locked_rows <= 3,
        "one line per lock, not per refusal: {locked_rows}"
    );
    let refused: i32 = sqlx::query_scalar(
        "select refused from login_throttle where key = 'account:admin|203.0.113.66'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(refused > 0, "the refusals are counted on the lock");

    // The real admin, elsewhere, is asked for a captcha, not locked out.
    let asked = from("198.51.100.20".into(), "wrong-but-unused").await;
    assert_eq!(asked.status(), 401);
    let html = scraper::Html::parse_document(&asked.text().await.unwrap());
    let captcha = crate::helpers::attrs(&html, "input[name=captcha_id]", "value");
    assert_eq!(captcha.len(), 1, "the form now shows a captcha");
    let token = app.csrf().await;
    let without = app
        .client
        .post(app.url("/admin/login"))
        .header("X-Forwarded-For", "198.51.100.20")
        .form(&[
            ("username", "admin"),
            ("password", password.as_str()),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(without.status(), 401, "no captcha, no password check");
    let with = app
        .client
        .post(app.url("/admin/login"))
        .header("X-Forwarded-For", "198.51.100.20")
        .form(&[
            ("username", "admin"),
            ("password", password.as_str()),
            ("captcha_id", captcha[0].as_str()),
            ("captcha_answer", "TESTME"),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        with.status(),
        303,
        "the right password and captcha open the backend"
    );
    // The attacker's own lock stands.
    assert_eq!(
        from("203.0.113.66".into(), "wrong-password-1")
            .await
            .status(),
        429
    );

    // The sweeper leaves one summary line per ended lock.
    sqlx::query(
        "update login_throttle set locked_until = now() - interval '1 hour',
                last_failure_at = now() - interval '1 hour'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let ended = newsdesk::auth::throttle::sweep(&mut conn).await.unwrap();
    assert!(
        ended
            .iter()
            .any(|row| row.key == "account:admin|203.0.113.66" && row.refused > 1)
    );
    let left: i64 = sqlx::query_scalar("select count(*) from login_throttle")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 0, "nothing stale is kept");
}

#[tokio::test]
async fn an_absurd_username_is_refused_before_any_work() {
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    let long = "x".repeat(10_000);
    let response = app.login(&long, "whatever-password").await;
    assert_eq!(response.status().as_u16(), 401);
    let html = scraper::Html::parse_document(&response.text().await.unwrap());
    assert_eq!(texts(&html, ".alert.error"), ["用户名或密码错误。"]);
    let (rows, audited): (i64, i64) = sqlx::query_as(
        "select (select count(*) from login_throttle), (select count(*) from audit_log)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((rows, audited), (0, 0));
}

#[tokio::test]
async fn a_login_flood_from_many_addresses_does_not_stall_the_pages() {
    let app = crate::helpers::spawn_app_with(|config| {
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        config.page_cache_mb = 0;
    })
    .await;
    app.ensure_root_unit().await;
    app.create_staff("target", "editor").await;
    let token = app.csrf().await;
    let mut flood = Vec::new();
    for n in 0..40u32 {
        let request = app
            .client
            .post(app.url("/admin/login"))
            .header("X-Forwarded-For", format!("2001:db8:{n:x}::1"))
            .form(&[
                ("username", format!("target{}", n % 3)),
                ("password", "wrong-password-1".to_string()),
                ("csrf_token", token.clone()),
            ]);
        flood.push(tokio::spawn(async move {
            request.send().await.map(|r| r.status().as_u16())
        }));
    }
    // Readers' pages are answered while the flood is checked.
    let mut pages = Vec::new();
    for _ in 0..10 {
        pages.push(app.get("/").await.status().as_u16());
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(pages.iter().all(|status| *status == 200), "{pages:?}");
    for attempt in flood {
        let status = attempt.await.unwrap().unwrap();
        assert!(matches!(status, 401 | 429), "{status}");
    }
}

/// The staff page `path` as `client` sees it: 200, or where it is sent.
async fn reach(client: &crate::helpers::TestApp, path: &str) -> String {
    let response = client.get(path).await;
    match response.status().as_u16() {
        200 => "200".into(),
        _ => location(&response),
    }
}

#[tokio::test]
async fn staff_see_their_last_login_and_their_sessions_and_end_them() {
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    let password = app.create_staff("wang", "editor").await;
    let laptop = app.other_client();
    assert_eq!(laptop.login("wang", &password).await.status().as_u16(), 303);
    let (_, first) = laptop.page("/admin").await;
    assert_eq!(texts(&first, ".last-login"), ["这是您第一次登录。"]);

    let phone = app.other_client();
    assert_eq!(phone.login("wang", &password).await.status().as_u16(), 303);
    let (_, second) = phone.page("/admin").await;
    let notice = texts(&second, ".last-login").join("");
    assert!(
        notice.starts_with("上次登录：") && notice.contains("地址 127.0.0.1"),
        "{notice}"
    );

    let (_, listed) = phone.page("/admin/account/sessions").await;
    assert_eq!(texts(&listed, "table.sessions tbody tr").len(), 2);
    assert_eq!(texts(&listed, "tr.current .badge"), ["当前会话"]);
    let ids: Vec<i64> = sqlx::query_scalar(
        "select s.id from sessions s join users u on u.id = s.user_id
         where u.username = 'wang' order by s.created_at",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();

    // Someone else's session is not theirs to end.
    let stranger = app.other_client();
    stranger.login_as("li", "editor").await;
    let response = stranger
        .post(&format!("/admin/account/sessions/{}/end", ids[0]), &[])
        .await;
    assert_eq!(response.status().as_u16(), 404);
    assert_eq!(
        reach(&laptop, "/admin").await,
        "200",
        "the laptop is still signed in"
    );

    // The phone ends the laptop's session: the laptop is signed out.
    let response = phone
        .post(&format!("/admin/account/sessions/{}/end", ids[0]), &[])
        .await;
    assert_eq!(location(&response), "/admin/account/sessions?done=one");
    assert!(reach(&laptop, "/admin").await.starts_with("/admin/login"));
    assert_eq!(reach(&phone, "/admin").await, "200");
    let recorded: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where action = 'session.end' and actor_name = 'wang'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(recorded, 1);

    // Ending every other session keeps this one.
    let tablet = app.other_client();
    tablet.login("wang", &password).await;
    phone.post("/admin/account/sessions/end-others", &[]).await;
    assert!(reach(&tablet, "/admin").await.starts_with("/admin/login"));
    assert_eq!(reach(&phone, "/admin").await, "200");
}

#[tokio::test]
async fn session_rules_per_role_limit_sessions_and_time_them_out() {
    let app = spawn_app().await;
    app.login_as("boss", "admin").await;
    let (_, form) = app.page("/admin/security").await;
    let version = crate::helpers::attrs(&form, "input[name=version]", "value")
        .pop()
        .unwrap();
    let fields = |limit: &'static str| {
        vec![
            ("site_name", "电网新闻网"),
            ("time_zone", "Asia/Shanghai"),
            ("session_idle_minutes", "30"),
            ("session_absolute_hours", "12"),
            ("upload_max_mb", "10"),
            ("session_limit.editor", limit),
            ("session_idle_minutes.editor", "5"),
        ]
    };
    let mut bad = fields("99");
    bad.push(("version", &version));
    let (status, html) = app.post_page("/admin/security", &bad).await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["同时在线会话数（0 为不限）应为 0 到 20 之间的整数。"]
    );
    assert_eq!(
        crate::helpers::attrs(&html, "input[name='session_limit.editor']", "value"),
        ["99"],
        "the input is kept"
    );
    let mut good = fields("1");
    good.push(("version", &version));
    assert_eq!(
        app.post("/admin/security", &good).await.status().as_u16(),
        303
    );

    // One session at a time for editors: a new login ends the older one.
    let password = app.create_staff("zhao", "editor").await;
    let first = app.other_client();
    first.login("zhao", &password).await;
    let second = app.other_client();
    second.login("zhao", &password).await;
    assert!(reach(&first, "/admin").await.starts_with("/admin/login"));
    assert_eq!(reach(&second, "/admin").await, "200");
    let detail: String = sqlx::query_scalar(
        "select detail from audit_log where action = 'login.success' and actor_name = 'zhao'
         order by seq desc limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert!(detail.contains("结束了最早的 1 个会话"), "{detail}");
    // Chief editors keep the site's rule: no limit.
    let chief_password = app.create_staff("qian", "chief_editor").await;
    let desk = app.other_client();
    desk.login("qian", &chief_password).await;
    let home = app.other_client();
    home.login("qian", &chief_password).await;
    assert_eq!(reach(&desk, "/admin").await, "200");

    // Six idle minutes end an editor's session, not a chief editor's.
    sqlx::query(
        "update sessions set last_seen_at = now() - interval '6 minutes'
         where user_id in (select id from users where username in ('zhao', 'qian'))",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert!(reach(&second, "/admin").await.starts_with("/admin/login"));
    assert_eq!(reach(&home, "/admin").await, "200");
}

async fn change_password(
    client: &crate::helpers::TestApp,
    current: &str,
    new: &str,
) -> (u16, Vec<String>) {
    let (status, html) = client
        .post_page(
            "/admin/account/password",
            &[
                ("current_password", current),
                ("new_password", new),
                ("confirm_password", new),
            ],
        )
        .await;
    (status, texts(&html, ".field-error, .alert.error"))
}

#[tokio::test]
async fn the_password_policy_asks_for_classes_refuses_old_passwords_and_expires_them() {
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    let first = app.create_staff("sun", "editor").await;
    let client = app.other_client();
    assert_eq!(client.login("sun", &first).await.status().as_u16(), 303);

    // Three classes of characters by default.
    let (status, said) = change_password(&client, &first, "lamphorsestation").await;
    assert_eq!(status, 422);
    assert!(said.iter().any(|s| s.contains("至少 3 种")), "{said:?}");
    let (status, _) = change_password(&client, &first, "Second-pass-2").await;
    assert_eq!(status, 303);
    let (status, _) = change_password(&client, "Second-pass-2", "Third-pass-3").await;
    assert_eq!(status, 303);
    // Back to the one before: one of the last five.
    let (status, said) = change_password(&client, "Third-pass-3", "Second-pass-2").await;
    assert_eq!(status, 422);
    assert!(said.iter().any(|s| s.contains("最近 5 次")), "{said:?}");
    let kept: i64 = sqlx::query_scalar(
        "select count(*) from password_history h join users u on u.id = h.user_id
         where u.username = 'sun'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(kept, 2, "the two replaced passwords, as hashes");

    // A password older than the policy's 90 days must be changed first.
    sqlx::query(
        "update users set password_changed_at = now() - interval '91 days' where username = 'sun'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        reach(&client, "/admin/articles").await,
        "/admin/account/password"
    );
    let (status, page) = client.page("/admin/account/password").await;
    assert_eq!(status, 200);
    assert!(texts(&page, ".alert.warning")[0].contains("超过有效期"));
    let (status, _) = change_password(&client, "Third-pass-3", "Fourth-pass-4").await;
    assert_eq!(status, 303);
    assert_eq!(reach(&client, "/admin/articles").await, "200");
}

#[tokio::test]
async fn an_expired_account_is_refused_and_dormant_ones_are_disabled_and_recorded() {
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    let password = app.create_staff("temp", "correspondent").await;
    let client = app.other_client();
    assert_eq!(client.login("temp", &password).await.status().as_u16(), 303);
    sqlx::query("update users set expires_at = now() - interval '1 hour' where username = 'temp'")
        .execute(&app.pool)
        .await
        .unwrap();
    assert!(
        reach(&client, "/admin").await.starts_with("/admin/login"),
        "its session ends"
    );
    let again = app.other_client();
    let (status, html) = again
        .post_page(
            "/admin/login",
            &[("username", "temp"), ("password", &password)],
        )
        .await;
    assert_eq!(status, 403);
    assert_eq!(texts(&html, ".alert.error"), ["账号已过期，请联系管理员。"]);
    // A wrong password learns nothing of the account's end.
    let (status, html) = again
        .post_page(
            "/admin/login",
            &[("username", "temp"), ("password", "Wrong-pass-1")],
        )
        .await;
    assert_eq!(status, 401);
    assert!(!texts(&html, ".alert.error").join("").contains("过期"));

    // Dormant: no login for 90 days disables a staff account, not an admin's.
    app.create_staff("sleeper", "editor").await;
    app.create_staff("quiet-admin", "admin").await;
    app.create_staff("recent", "editor").await;
    sqlx::query(
        "update users set last_login_at = now() - interval '100 days'
         where username in ('sleeper', 'quiet-admin')",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    sqlx::query(
        "update users set last_login_at = now() - interval '10 days' where username = 'recent'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let disabled = newsdesk::users::db::disable_dormant(&mut conn, 90)
        .await
        .unwrap();
    assert_eq!(disabled, ["sleeper"]);
    let active: Vec<String> = sqlx::query_scalar(
        "select username from users where active and username in ('sleeper', 'quiet-admin', 'recent')
         order by username",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(active, ["quiet-admin", "recent"]);
    let recorded: String = sqlx::query_scalar(
        "select detail from audit_log where action = 'user.disable' and target = 'sleeper'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(recorded, "超过 90 天未登录，自动停用");
    let none = newsdesk::users::db::disable_dormant(&mut conn, 0)
        .await
        .unwrap();
    assert!(none.is_empty(), "0 days: never");
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Waits out the last seconds of a step, so that a code computed here is
/// still of the step the server sees.
async fn settle_step() {
    let into = unix_now() % 30;
    if into >= 26 {
        tokio::time::sleep(std::time::Duration::from_secs(31 - into)).await;
    }
}

async fn second_step(client: &crate::helpers::TestApp, code: &str) -> reqwest::Response {
    client.post("/admin/login/2fa", &[("code", code)]).await
}

#[tokio::test]
async fn the_product_asks_admins_and_chief_editors_for_two_factors() {
    let database = crate::helpers::TestDatabase::empty().await;
    let pool = sqlx::PgPool::connect_with(database.options.clone())
        .await
        .unwrap();
    newsdesk::db::migrate(&pool).await.unwrap();
    let roles: String =
        sqlx::query_scalar("select value from settings where key = 'two_factor_roles'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        roles,
        "admin,chief_editor,system_admin,security_admin,audit_admin"
    );
    pool.close().await;

    let app = spawn_app().await;
    sqlx::query("update settings set value = 'admin,chief_editor' where key = 'two_factor_roles'")
        .execute(&app.pool)
        .await
        .unwrap();
    let chief = app.other_client();
    chief.login_as("zhu", "chief_editor").await;
    assert_eq!(reach(&chief, "/admin/articles").await, "/admin/account/2fa");
    assert_eq!(reach(&chief, "/admin/account/2fa").await, "200");
    let editor = app.other_client();
    editor.login_as("bian", "editor").await;
    assert_eq!(reach(&editor, "/admin/articles").await, "200");
}

#[tokio::test]
async fn two_factor_login_with_real_codes_refuses_replays_and_takes_recovery_codes_once() {
    use newsdesk::auth::two_factor::code_at;
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    let password = app.create_staff("ma", "chief_editor").await;
    let client = app.other_client();
    client.login("ma", &password).await;

    // Enrolment: the secret is shown as text and as a QR code.
    let (_, page) = client.page("/admin/account/2fa").await;
    let shown = texts(&page, "code.secret").pop().unwrap();
    let secret = totp_rs::Secret::Encoded(shown).to_bytes().unwrap();
    assert!(crate::helpers::attrs(&page, "img.qr", "src")[0].starts_with("data:image/png;base64,"));
    let (status, _) = client
        .post_page("/admin/account/2fa/enable", &[("code", "000000")])
        .await;
    assert_eq!(status, 422);
    settle_step().await;
    let (status, page) = client
        .post_page(
            "/admin/account/2fa/enable",
            &[("code", &code_at(&secret, unix_now()))],
        )
        .await;
    assert_eq!(status, 200);
    let recovery = texts(&page, ".recovery-codes code");
    assert_eq!(recovery.len(), 10);

    // The password alone now opens nothing.
    client.post("/admin/logout", &[]).await;
    let response = client.login("ma", &password).await;
    assert_eq!(location(&response), "/admin/login/2fa");
    assert!(reach(&client, "/admin").await.starts_with("/admin/login"));
    let response = second_step(&client, "123456").await;
    assert_eq!(response.status().as_u16(), 401);

    // A code one step old passes (a slow phone clock) once the enrolment's
    // own step is behind us (as a minute later).
    sqlx::query("update users set totp_last_step = totp_last_step - 2 where username = 'ma'")
        .execute(&app.pool)
        .await
        .unwrap();
    settle_step().await;
    let late = code_at(&secret, unix_now() - 30);
    let response = second_step(&client, &late).await;
    assert_eq!(location(&response), "/admin");
    assert_eq!(reach(&client, "/admin").await, "200");
    let how: String = sqlx::query_scalar(
        "select detail from audit_log where action = 'login.success' and actor_name = 'ma'
         order by seq desc limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(how, "两步验证：动态口令");

    // ... but never twice, even from another browser that has the password.
    let thief = app.other_client();
    thief.login("ma", &password).await;
    assert_eq!(second_step(&thief, &late).await.status().as_u16(), 401);
    assert!(reach(&thief, "/admin").await.starts_with("/admin/login"));
    // A recovery code opens once.
    let response = second_step(&thief, &recovery[0]).await;
    assert_eq!(location(&response), "/admin");
    let again = app.other_client();
    again.login("ma", &password).await;
    assert_eq!(
        second_step(&again, &recovery[0]).await.status().as_u16(),
        401
    );

    // Five wrong codes end the pending login.
    for _ in 0..5 {
        second_step(&again, "999999").await;
    }
    settle_step().await;
    let response = second_step(&again, &code_at(&secret, unix_now() + 30)).await;
    assert!(
        location(&response).starts_with("/admin/login"),
        "the login must start again"
    );
    assert!(reach(&again, "/admin").await.starts_with("/admin/login"));
    // Nor can the password start login after login to keep guessing: the
    // wrong codes count as failed logins.
    let response = again.login("ma", &password).await;
    assert_eq!(
        response.status().as_u16(),
        429,
        "the guessing is slowed down"
    );
    sqlx::query("delete from login_throttle")
        .execute(&app.pool)
        .await
        .unwrap();

    // Turning it off takes a current code.
    let (status, _) = client
        .post_page("/admin/account/2fa/disable", &[("code", "111111")])
        .await;
    assert_eq!(status, 422);
    let response = client
        .post("/admin/account/2fa/disable", &[("code", &recovery[1])])
        .await;
    assert_eq!(location(&response), "/admin/account/2fa?done=off");
    let fresh = app.other_client();
    assert_eq!(location(&fresh.login("ma", &password).await), "/admin");
}
