use crate::helpers::{attrs, spawn_app, spawn_app_with};

#[tokio::test]
async fn metrics_count_requests_by_route_and_status() {
    let app = spawn_app().await;
    app.get("/").await;
    app.get("/articles/12345").await;
    app.get("/nothing-here").await;

    let metrics = app.get("/metrics").await.text().await.unwrap();
    let line = |needle: &str| metrics.lines().any(|line| line.starts_with(needle));
    assert!(
        line(r#"newsdesk_http_requests_total{endpoint="/",method="GET",status="200"} 1"#),
        "{metrics}"
    );
    assert!(line(
        r#"newsdesk_http_requests_total{endpoint="/articles/{number}",method="GET",status="404"} 1"#
    ));
    assert!(line(
        r#"newsdesk_http_requests_total{endpoint="UNKNOWN",method="GET",status="404"} 1"#
    ));
    assert!(line(
        r#"newsdesk_http_requests_duration_seconds_bucket{endpoint="/",method="GET",status="200",le="0.005"}"#
    ));
}

/// A page answered from the page cache never reaches the router; it is
/// still counted under its route's pattern, not its path.
#[tokio::test]
async fn pages_served_from_the_cache_are_counted_under_their_route() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let number: i64 = sqlx::query_scalar(
        "select number from articles where status = 'published' order by number limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let path = format!("/articles/{number}");
    let mut requests = 0;
    loop {
        let response = app.get(&path).await;
        requests += 1;
        if response.headers()["x-cache"] == "hit" {
            break;
        }
        assert!(requests < 200, "{path} never came from the cache");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    let metrics = app.get("/metrics").await.text().await.unwrap();
    let counted = format!(
        r#"newsdesk_http_requests_total{{endpoint="/articles/{{number}}",method="GET",status="200"}} {requests}"#
    );
    assert!(metrics.lines().any(|line| line == counted), "{metrics}");
    assert!(
        !metrics.contains(&format!("endpoint=\"{path}\"")),
        "{metrics}"
    );
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_security_headers() {
    let app = spawn_app().await;
    let first = app.get("/").await;
    let second = app.get("/").await;
    let id = |response: &reqwest::Response| {
        response.headers()["x-request-id"]
            .to_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(id(&first).len(), 36);
    assert_ne!(id(&first), id(&second));
    assert_eq!(first.headers()["x-content-type-options"], "nosniff");
    assert!(
        first.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("frame-ancestors 'none'")
    );
}

#[tokio::test]
async fn static_files_have_versioned_urls_and_long_cache_lifetimes() {
    let app = spawn_app().await;
    let (_, home) = app.page("/").await;
    let css = attrs(&home, "link[rel=stylesheet]", "href");
    assert_eq!(css.len(), 1);
    assert!(
        css[0].starts_with("/static/") && css[0].ends_with("/css/site.css"),
        "{css:?}"
    );

    let response = app.get(&css[0]).await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/css; charset=utf-8"
    );
    assert_eq!(
        response.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(response.text().await.unwrap().contains(".site-header"));

    let stale = app.get("/static/0123456789ab/css/site.css").await;
    assert_eq!(stale.status().as_u16(), 200);
    assert_eq!(stale.headers()["cache-control"], "public, max-age=60");

    for path in [
        "/static/x/../Cargo.toml",
        "/static/x/%2e%2e/Cargo.toml",
        "/static/x/css/none.css",
    ] {
        assert_eq!(app.get(path).await.status().as_u16(), 404, "{path}");
    }
}

#[tokio::test]
async fn the_site_icon_is_served_where_browsers_look() {
    let app = spawn_app().await;
    let response = app.get("/favicon.ico").await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    assert!(response.text().await.unwrap().starts_with("<svg"));
}

#[tokio::test]
async fn metrics_are_kept_from_clients_elsewhere_without_the_token() {
    let app = spawn_app_with(|config| {
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        config.metrics_token = Some("scrape-token-0123456789".into());
    })
    .await;
    app.get("/").await;
    let get = |forwarded: &'static str, token: Option<&'static str>| {
        let mut request = app
            .client
            .get(app.url("/metrics"))
            .header("X-Forwarded-For", forwarded);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap() }
    };
    // A reader on the internet, through the proxy.
    let refused = get("203.0.113.7", None).await;
    assert_eq!(refused.status(), 404);
    assert!(!refused.text().await.unwrap().contains("newsdesk_http"));
    assert_eq!(get("203.0.113.7", Some("wrong-token")).await.status(), 404);
    // A scraper elsewhere with the token, and one on this machine.
    let scraped = get("203.0.113.7", Some("scrape-token-0123456789")).await;
    assert_eq!(scraped.status(), 200);
    assert!(
        scraped
            .text()
            .await
            .unwrap()
            .contains("newsdesk_http_requests_total")
    );
    assert_eq!(get("127.0.0.1", None).await.status(), 200);
}
