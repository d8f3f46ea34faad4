//! The edge of the site as an attacker probes it: paths that mean another
//! route than they spell, NUL bytes in every kind of input, redirects off
//! the site, forwarded headers from strangers, and cookies over https.

use crate::helpers::{TestApp, attrs, location, set_cookie, spawn_app, spawn_app_with, texts};

const ANSWER: &str = "TESTME";

/// Every route of the route table, as (method, path pattern).
fn routes() -> Vec<(String, String)> {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/app.rs"))
        .expect("the route table");
    let table = &source[source.find("fn routes(").expect("fn routes")..];
    let mut routes = Vec::new();
    let mut rest = table;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + 7..];
        let path = rest.split('"').nth(1).expect("a quoted path").to_string();
        let call = &rest[..rest.find(".to(").expect("a handler")];
        let method = if call.contains("web::post()") {
            "POST"
        } else {
            "GET"
        };
        routes.push((method.to_string(), path));
    }
    routes
}

/// A route's pattern with each `{parameter}` replaced by `value`.
fn filled(pattern: &str, value: &str) -> String {
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        out.push_str(value);
        rest = &rest[rest[start..].find('}').unwrap() + start + 1..];
    }
    out.push_str(rest);
    out
}

/// The value a `Set-Cookie` header sets.
fn cookie_value(set_cookie: &str) -> String {
    let pair = set_cookie.split(';').next().unwrap_or_default();
    pair.split_once('=')
        .map(|(_, value)| value.to_string())
        .unwrap_or_default()
}

async fn send(app: &TestApp, method: &str, path: &str, body: Option<&str>) -> u16 {
    let request = if method == "POST" {
        app.client
            .post(app.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body.unwrap_or("").to_string())
    } else {
        app.client.get(app.url(path))
    };
    request.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn a_nul_byte_anywhere_is_refused_with_a_400_on_every_route() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    app.login_as("sweeper", "admin").await;
    let token = app.csrf().await;
    let routes = routes();
    assert!(routes.len() > 60, "{} routes read", routes.len());
    let mut refused = Vec::new();
    for (method, pattern) in &routes {
        let mut attempts = vec![(
            format!("{}?q=x%00&channel=abc%00", filled(pattern, "1")),
            None,
        )];
        if pattern.contains('{') {
            attempts.push((filled(pattern, "ab%00c"), None));
        }
        if method == "POST" {
            attempts.push((
                filled(pattern, "1"),
                Some(format!("csrf_token={token}&username=ad%00min&title=t%00")),
            ));
        }
        for (path, body) in attempts {
            let status = send(&app, method, &path, body.as_deref()).await;
            if status != 400 {
                refused.push(format!("{method} {path} {body:?}: {status}"));
            }
        }
    }
    assert!(
        refused.is_empty(),
        "not refused with 400:\n{}",
        refused.join("\n")
    );

    // The answer says why, in Chinese, and nothing was written.
    let anonymous = app.other_client();
    let response = anonymous
        .client
        .post(anonymous.url("/admin/login"))
        .form(&[("username", "ad\0min"), ("password", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let html = scraper::Html::parse_document(&response.text().await.unwrap());
    assert!(texts(&html, "body").join("").contains("不允许的字符"));
    let (status, _) = anonymous.page("/tags/%00").await;
    assert_eq!(status, 400);
    let throttled: i64 = sqlx::query_scalar("select count(*) from login_throttle")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(throttled, 0);
    // Line breaks in a form are text, not an attack.
    let (status, _) = anonymous.page("/search?q=%E7%94%B5%0A%E7%BD%91").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn metrics_and_the_backend_are_not_reachable_under_another_spelling() {
    let app = spawn_app_with(|config| {
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    app.get("/").await;
    let from_afar = |path: &'static str| {
        let request = app
            .client
            .get(app.url(path))
            .header("X-Forwarded-For", "203.0.113.7");
        async move { request.send().await.unwrap() }
    };
    for path in [
        "/metrics",
        "/zh-hant/metrics",
        "/zh-hant/zh-hant/metrics",
        "/%6detrics",
        "/%6Detrics",
        "/zh-hant/%6detrics",
    ] {
        let response = from_afar(path).await;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_eq!(status, 404, "{path}");
        assert!(!body.contains("newsdesk_http"), "{path} leaked the metrics");
    }
    // The backend and files have no Traditional twin either.
    for path in ["/zh-hant/admin", "/zh-hant/admin/users", "/zh-hant/healthz"] {
        assert_eq!(app.get(path).await.status().as_u16(), 404, "{path}");
    }
    // An encoded spelling of a backend path is the backend path: it asks
    // for a login instead of being served as a public page.
    let response = app.get("/%61dmin/users").await;
    assert_eq!(response.status().as_u16(), 303);
    assert!(location(&response).starts_with("/admin/login"));
    // On this machine the metrics stay readable.
    assert_eq!(app.get("/metrics").await.status().as_u16(), 200);
}

#[tokio::test]
async fn after_reader_login_and_registration_only_this_sites_pages_are_followed() {
    let app = spawn_app_with(|config| config.test_captcha = Some(ANSWER.into())).await;
    let (_, html) = app.page("/register").await;
    let captcha = attrs(&html, "input[name=captcha_id]", "value")[0].clone();
    let csrf = app.csrf().await;
    let response = app
        .client
        .post(app.url("/register"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("username", "duzhe"),
            ("password", "Lamp-horse-42x"),
            ("password_again", "Lamp-horse-42x"),
            ("agree", "on"),
            ("captcha_id", captcha.as_str()),
            ("captcha_answer", ANSWER),
            ("next", "/\t/evil.com"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert_eq!(location(&response), "/");

    for (next, expected) in [
        ("/%09/evil.com", "/%09/evil.com"),
        ("/\t/evil.com", "/"),
        ("/\r\n/evil.com", "/"),
        ("/\\evil.com", "/"),
        ("\\\\evil.com", "/"),
        ("//evil.com/", "/"),
        ("https://evil.com/", "/"),
        ("/articles/1#comments", "/articles/1#comments"),
    ] {
        let reader = app.other_client();
        let csrf = reader.csrf().await;
        let response = reader
            .client
            .post(reader.url("/login"))
            .form(&[
                ("csrf_token", csrf.as_str()),
                ("username", "duzhe"),
                ("password", "Lamp-horse-42x"),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303, "{next:?}");
        let to = location(&response);
        assert_eq!(to, expected, "{next:?}");
        let resolved = url::Url::parse("http://site.example/")
            .unwrap()
            .join(&to)
            .unwrap();
        assert_eq!(
            resolved.host_str(),
            Some("site.example"),
            "{next:?} left the site"
        );
    }

    // Staff login: only backend pages, by the same rule.
    app.ensure_root_unit().await;
    let password = app.create_staff("bianji", "editor").await;
    for next in [
        "/admin/\t/evil.com",
        "/admin/../\t/evil.com",
        "/\t/evil.com/admin",
    ] {
        let staff = app.other_client();
        let response = staff
            .post(
                "/admin/login",
                &[
                    ("username", "bianji"),
                    ("password", &password),
                    ("next", next),
                ],
            )
            .await;
        assert_eq!(response.status(), 303);
        let to = location(&response);
        assert!(
            to == "/admin" || to.starts_with("/admin/"),
            "{next:?} gave {to}"
        );
        let resolved = url::Url::parse("http://site.example/")
            .unwrap()
            .join(&to)
            .unwrap();
        assert_eq!(resolved.host_str(), Some("site.example"));
    }
}

#[tokio::test]
async fn forwarded_headers_count_only_from_a_trusted_proxy() {
    // No proxy is trusted: a forged X-Forwarded-For changes nothing.
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    let password = app.create_staff("gao", "editor").await;
    for n in 0..11 {
        let forged = app
            .client
            .post(app.url("/admin/login"))
            .header("X-Forwarded-For", format!("198.51.100.{n}"))
            .form(&[
                ("username", format!("guess{n}")),
                ("password", "wrong-password-1".to_string()),
                ("csrf_token", app.csrf().await),
            ])
            .send()
            .await
            .unwrap();
        assert_ne!(forged.status(), 500);
    }
    let addresses: Vec<String> = sqlx::query_scalar(
        "select distinct client_ip from audit_log where action = 'login.failure'",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(addresses, ["127.0.0.1"], "the peer, not the forged header");
    assert_eq!(app.login("gao", &password).await.status().as_u16(), 429);

    // Behind a trusted proxy, the nearest untrusted entry is the client,
    // whatever the client wrote to the left of it.
    let proxied = spawn_app_with(|config| {
        config.trusted_proxies = vec!["127.0.0.0/8".parse().unwrap()];
    })
    .await;
    proxied.ensure_root_unit().await;
    let response = proxied
        .client
        .post(proxied.url("/admin/login"))
        .header("X-Forwarded-For", "10.9.9.9, 203.0.113.50, 127.0.0.2")
        .form(&[
            ("username", "nobody"),
            ("password", "wrong-password-1"),
            ("csrf_token", &proxied.csrf().await),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    let address: String =
        sqlx::query_scalar("select client_ip from audit_log where action = 'login.failure'")
            .fetch_one(&proxied.pool)
            .await
            .unwrap();
    assert_eq!(address, "203.0.113.50");
}

#[tokio::test]
async fn over_https_cookies_are_secure_host_cookies_and_hsts_is_sent() {
    let app = spawn_app_with(|config| {
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    })
    .await;
    app.ensure_root_unit().await;
    let password = app.create_staff("https_user", "editor").await;
    let https = |request: reqwest::RequestBuilder| request.header("X-Forwarded-Proto", "https");

    let page = https(app.client.get(app.url("/admin/login")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        page.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains"
    );
    let csrf_cookie = set_cookie(&page, "__Host-nd_csrf");
    assert!(
        csrf_cookie.contains("Secure") && csrf_cookie.contains("Path=/"),
        "{csrf_cookie}"
    );
    let seed = cookie_value(&csrf_cookie);
    let html = scraper::Html::parse_document(&page.text().await.unwrap());
    let token = attrs(&html, "input[name=csrf_token]", "value")[0].clone();

    let login = https(app.client.post(app.url("/admin/login")))
        .header("cookie", format!("__Host-nd_csrf={seed}"))
        .form(&[
            ("username", "https_user"),
            ("password", password.as_str()),
            ("csrf_token", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let session = set_cookie(&login, "__Host-nd_session");
    assert!(
        session.contains("Secure") && session.contains("HttpOnly"),
        "{session}"
    );
    let token_value = cookie_value(&session);

    // The __Host- cookie opens the backend over https; the same token under
    // the plain name (as a network attacker could plant over http) does not.
    let with = |name: &str| {
        https(app.client.get(app.url("/admin")))
            .header("cookie", format!("{name}={token_value}"))
            .send()
    };
    assert_eq!(with("__Host-nd_session").await.unwrap().status(), 200);
    let planted = with("nd_session").await.unwrap();
    assert_eq!(planted.status(), 303);
    assert!(location(&planted).starts_with("/admin/login"));

    // A stranger's X-Forwarded-Proto is not believed: no HSTS, plain cookies.
    let direct = spawn_app().await;
    let page = direct
        .client
        .get(direct.url("/admin/login"))
        .header("X-Forwarded-Proto", "https")
        .send()
        .await
        .unwrap();
    assert!(page.headers().get("strict-transport-security").is_none());
    let cookie = set_cookie(&page, "nd_csrf");
    assert!(!cookie.contains("Secure"), "{cookie}");
    // The policy forbids plugins everywhere.
    let policy = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("object-src 'none'"), "{policy}");
}
