//! Webhooks against a real local HTTP receiver: every event queued by
//! whatever writes it, signed, delivered once across nodes, retried,
//! given up and sent again; the receivers' pages and who may use them.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::Value;

use crate::helpers::{TestApp, location, spawn_app, texts};

/// A request the receiver got.
#[derive(Clone, Debug)]
struct Received {
    event: String,
    delivery: String,
    signature: String,
    body: String,
}

/// A receiver on a free local port: it records every request, and answers
/// 500 to the first `failing` ones.
#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    failing: Arc<Mutex<usize>>,
}

impl Receiver {
    fn start() -> Receiver {
        let got: Arc<Mutex<Vec<Received>>> = Arc::default();
        let failing: Arc<Mutex<usize>> = Arc::default();
        let (kept, fails) = (got.clone(), failing.clone());
        let server = HttpServer::new(move || {
            let (kept, fails) = (kept.clone(), fails.clone());
            App::new().default_service(web::to(move |req: HttpRequest, body: web::Bytes| {
                let (kept, fails) = (kept.clone(), fails.clone());
                async move {
                    let header = |name: &str| {
                        req.headers()
                            .get(name)
                            .and_then(|value| value.to_str().ok())
                            .unwrap_or_default()
                            .to_owned()
                    };
                    kept.lock().unwrap().push(Received {
                        event: header("x-newsdesk-event"),
                        delivery: header("x-newsdesk-delivery"),
                        signature: header("x-newsdesk-signature"),
                        body: String::from_utf8_lossy(&body).into_owned(),
                    });
                    let mut fails = fails.lock().unwrap();
                    if *fails > 0 {
                        *fails -= 1;
                        HttpResponse::InternalServerError().finish()
                    } else {
                        HttpResponse::NoContent().finish()
                    }
                }
            }))
        })
        .workers(1)
        .bind("127.0.0.1:0")
        .unwrap();
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Receiver {
            url: format!("http://127.0.0.1:{port}/hook"),
            got,
            failing,
        }
    }

    fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Waits until `count` requests came.
    async fn wait_for(&self, count: usize) -> Vec<Received> {
        for _ in 0..200 {
            let got = self.received();
            if got.len() >= count {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{} requests, not {count}", self.received().len());
    }
}

/// Registers a receiver for `events` through the page and returns its id
/// and secret as its page shows them.
async fn register(app: &TestApp, url: &str, events: &[&str]) -> (String, String) {
    let mut fields = vec![("url", url), ("description", "客户端推送")];
    let names: Vec<String> = events.iter().map(|e| format!("event_{e}")).collect();
    fields.extend(names.iter().map(|name| (name.as_str(), "on")));
    let response = app.post("/admin/webhooks", &fields).await;
    assert_eq!(response.status(), 303);
    let page = location(&response);
    let id = page.rsplit('/').next().unwrap().to_owned();
    let (status, html) = app.page(&page).await;
    assert_eq!(status, 200);
    let secret = texts(&html, ".webhook-secret").remove(0);
    assert_eq!(secret.len(), 64);
    (id, secret)
}

/// Checks the signature of a request as a receiver would.
fn signed_by(received: &Received, secret: &str) -> bool {
    let Some((t, _)) = received
        .signature
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(','))
    else {
        return false;
    };
    let Ok(t) = t.parse::<i64>() else {
        return false;
    };
    let fresh = (chrono::Utc::now().timestamp() - t).abs() < 300;
    fresh
        && newsdesk::webhooks::signature(secret, t, received.body.as_bytes()) == received.signature
}

async fn published_story(app: &TestApp) -> (uuid::Uuid, i64) {
    sqlx::query_as(
        "select id, number from articles where status = 'published' order by number limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn every_event_reaches_each_receiver_once_signed() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    app.login_as("boss", "admin").await;
    let all = Receiver::start();
    let withdrawals = Receiver::start();
    let (_, secret) = register(
        &app,
        &all.url,
        &[
            "published",
            "updated",
            "corrected",
            "unpublished",
            "comment_approved",
        ],
    )
    .await;
    let (_, other_secret) = register(&app, &withdrawals.url, &["unpublished"]).await;

    let (id, number): (uuid::Uuid, i64) = sqlx::query_as(
        "select id, number from articles where status = 'draft' order by number limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let change = |sql: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query(sql).bind(id).execute(&pool).await.unwrap();
        }
    };
    change("update articles set status = 'published', published_at = now() where id = $1").await;
    all.wait_for(1).await;
    change("update articles set title = title || '（修订）' where id = $1").await;
    all.wait_for(2).await;
    change("update articles set comment_count = comment_count where id = $1").await;
    change(
        "update articles set body_html = body_html || '<p>更正</p>', corrected_at = now(),
         correction_note = '更正了一处数字' where id = $1",
    )
    .await;
    all.wait_for(3).await;
    let comment: uuid::Uuid = sqlx::query_scalar(
        "insert into comments (article_id, author_name, anonymous, body, status, client_hash, body_hash)
         values ($1, '读者甲', false, '写得好', 'pending', 'x', 'y') returning id",
    )
    .bind(id)
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query("update comments set status = 'approved' where id = $1")
        .bind(comment)
        .execute(&app.pool)
        .await
        .unwrap();
    all.wait_for(4).await;
    change("update articles set status = 'unpublished' where id = $1").await;
    let got = all.wait_for(5).await;
    let other = withdrawals.wait_for(1).await;
    // Nothing more comes, and nothing twice.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(all.received().len(), 5, "{:?}", all.received());
    assert_eq!(withdrawals.received().len(), 1);

    let kinds: Vec<&str> = got.iter().map(|r| r.event.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "published",
            "updated",
            "corrected",
            "comment_approved",
            "unpublished"
        ]
    );
    for received in &got {
        assert!(signed_by(received, &secret), "{received:?}");
        assert!(!signed_by(received, &other_secret));
        let body: Value = serde_json::from_str(&received.body).unwrap();
        assert_eq!(body["event"], received.event);
        assert_eq!(body["story"]["number"], number);
        assert!(
            body["story"]["api_url"]
                .as_str()
                .unwrap()
                .ends_with(&format!("/api/v1/stories/{number}"))
        );
    }
    let approved: Value = serde_json::from_str(&got[3].body).unwrap();
    assert_eq!(approved["comment"]["id"], comment.to_string());
    assert_eq!(approved["comment"]["body"], "写得好");
    assert!(signed_by(&other[0], &other_secret));
    assert_eq!(other[0].event, "unpublished");
    // A tampered body no longer matches its signature.
    let mut forged = got[0].clone();
    forged.body = forged.body.replace("published", "unpublished");
    assert!(!signed_by(&forged, &secret));

    // The list shows each receiver's deliveries.
    let (_, list) = app.page("/admin/webhooks").await;
    let rows = texts(&list, "table.webhooks tbody tr");
    assert_eq!(rows.len(), 2);
    assert!(
        rows[0].contains(&all.url) && rows[0].contains("HTTP 204"),
        "{rows:?}"
    );
}

#[tokio::test]
async fn two_nodes_deliver_each_event_once() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let second = app.second_instance();
    app.login_as("boss", "admin").await;
    let receiver = Receiver::start();
    register(&app, &receiver.url, &["updated"]).await;
    let stories: i64 =
        sqlx::query_scalar("select count(*) from articles where status = 'published'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    for round in 0..5 {
        sqlx::query(&format!(
            "update articles set summary = summary || '{round}' where status = 'published'"
        ))
        .execute(&app.pool)
        .await
        .unwrap();
    }
    let wanted = (stories * 5) as usize;
    let got = receiver.wait_for(wanted).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got_now = receiver.received();
    assert_eq!(got_now.len(), wanted, "no delivery twice");
    let mut ids: Vec<&str> = got.iter().map(|r| r.delivery.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), wanted);
    let delivered: i64 = sqlx::query_scalar(
        "select count(*) from webhook_deliveries where delivered_at is not null and attempts = 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(delivered as usize, wanted);
    drop(second);
}

#[tokio::test]
async fn failed_deliveries_are_retried_then_given_up_and_sent_again_by_hand() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    app.login_as("boss", "admin").await;
    let receiver = Receiver::start();
    *receiver.failing.lock().unwrap() = 1;
    let (receiver_id, secret) = register(&app, &receiver.url, &["updated"]).await;
    let (id, _) = published_story(&app).await;
    sqlx::query("update articles set title = title || '！' where id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    receiver.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (attempts, status, wait): (i32, Option<i32>, f64) = sqlx::query_as(
        "select attempts, last_status, extract(epoch from next_attempt_at - now())::float8
         from webhook_deliveries where delivered_at is null",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((attempts, status), (1, Some(500)));
    assert!((20.0..=31.0).contains(&wait), "retried in 30 s: {wait}");
    let (_, page) = app.page(&format!("/admin/webhooks/{receiver_id}")).await;
    assert!(texts(&page, ".delivery-state")[0].contains("接收方返回 500"));
    // Due now: sent again, the same delivery with the same body.
    sqlx::query("update webhook_deliveries set next_attempt_at = now()")
        .execute(&app.pool)
        .await
        .unwrap();
    let got = receiver.wait_for(2).await;
    assert_eq!(got[0].delivery, got[1].delivery);
    assert_eq!(got[0].body, got[1].body);
    assert!(signed_by(&got[1], &secret));
    tokio::time::sleep(Duration::from_millis(300)).await;
    let delivered: (i32, bool) =
        sqlx::query_as("select attempts, delivered_at is not null from webhook_deliveries")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(delivered, (2, true));

    // A receiver nobody answers at: retried, then given up at the last attempt.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let gone = format!("http://{}/hook", closed.local_addr().unwrap());
    drop(closed);
    let (gone_id, _) = register(&app, &gone, &["updated"]).await;
    sqlx::query("update articles set title = title || '？' where id = $1")
        .bind(id)
        .execute(&app.pool)
        .await
        .unwrap();
    let state = |app: &TestApp| {
        let pool = app.pool.clone();
        let gone_id = gone_id.clone();
        async move {
            sqlx::query_as::<_, (i64, i32, Option<i32>, String, bool)>(
                "select id, attempts, last_status, last_error, failed_at is not null
                 from webhook_deliveries where receiver_id = $1::uuid",
            )
            .bind(gone_id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let mut seen = state(&app).await;
    for _ in 0..100 {
        if seen.1 > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = state(&app).await;
    }
    let (delivery, attempts, status, error, failed) = seen;
    assert_eq!((attempts, status, failed), (1, None, false));
    assert_eq!(error, "无法连接接收方");
    sqlx::query(
        "update webhook_deliveries set attempts = $2 - 1, next_attempt_at = now() where id = $1",
    )
    .bind(delivery)
    .bind(newsdesk::webhooks::MAX_ATTEMPTS)
    .execute(&app.pool)
    .await
    .unwrap();
    for _ in 0..100 {
        if state(&app).await.4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(state(&app).await.4, "given up after the last attempt");
    let (_, page) = app.page(&format!("/admin/webhooks/{gone_id}")).await;
    assert!(texts(&page, ".delivery-state")[0].starts_with("已放弃"));
    // Another receiver's delivery cannot be sent again through this one.
    let foreign = app
        .post(
            &format!("/admin/webhooks/{receiver_id}/deliveries/{delivery}/retry"),
            &[],
        )
        .await;
    assert_eq!(foreign.status(), 404);
    let again = app
        .post(
            &format!("/admin/webhooks/{gone_id}/deliveries/{delivery}/retry"),
            &[],
        )
        .await;
    assert_eq!(again.status(), 303);
    for _ in 0..100 {
        let (_, attempts, _, _, failed) = state(&app).await;
        if attempts > newsdesk::webhooks::MAX_ATTEMPTS && failed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, attempts, _, _, failed) = state(&app).await;
    assert_eq!(
        (attempts, failed),
        (newsdesk::webhooks::MAX_ATTEMPTS + 1, true),
        "sent once more by hand, given up again"
    );
    let logged: i64 = sqlx::query_scalar(
        "select count(*) from audit_log where action in ('webhook.create', 'webhook.retry')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(logged, 3);
}

#[tokio::test]
async fn receivers_are_checked_versioned_and_for_admins_only() {
    let app = spawn_app().await;
    let editor = app.other_client();
    editor.login_as("editor", "editor").await;
    assert_eq!(editor.get("/admin/webhooks").await.status(), 403);
    let refused = editor
        .post(
            "/admin/webhooks",
            &[("url", "http://127.0.0.1:9/x"), ("event_published", "on")],
        )
        .await;
    assert_eq!(refused.status(), 403);

    app.login_as("boss", "admin").await;
    let (status, page) = app
        .post_page(
            "/admin/webhooks",
            &[("url", "ftp://example.com/x"), ("description", "说明")],
        )
        .await;
    assert_eq!(status, 422);
    let says = texts(&page, ".field-error").join(" ");
    assert!(says.contains("http:// 或 https://"), "{says}");
    assert!(says.contains("请至少选择一种事件"), "{says}");
    assert_eq!(
        crate::helpers::attrs(&page, "input[name=url]", "value"),
        ["ftp://example.com/x"],
        "the form comes back filled in"
    );
    let none: i64 = sqlx::query_scalar("select count(*) from webhook_receivers")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(none, 0);
    let with_password = app
        .post(
            "/admin/webhooks",
            &[
                ("url", "https://user:pass@example.com/x"),
                ("event_published", "on"),
            ],
        )
        .await;
    assert_eq!(with_password.status(), 422);

    let (id, secret) = register(&app, "https://example.com/hook", &["published"]).await;
    assert_eq!(
        editor.get(&format!("/admin/webhooks/{id}")).await.status(),
        403
    );
    let form = |version: &'static str| {
        [
            ("url", "https://example.com/hook2"),
            ("event_published", "on"),
            ("event_unpublished", "on"),
            ("active", "on"),
            ("version", version),
        ]
    };
    let saved = app.post(&format!("/admin/webhooks/{id}"), &form("1")).await;
    assert_eq!(saved.status(), 303);
    let (status, page) = app
        .post_page(&format!("/admin/webhooks/{id}"), &form("1"))
        .await;
    assert_eq!(status, 409, "a second save from the same version is stale");
    assert!(texts(&page, ".alert").join("").contains("已被他人修改"));
    let (url, events): (String, Vec<String>) =
        sqlx::query_as("select url, events from webhook_receivers where id = $1::uuid")
            .bind(&id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(url, "https://example.com/hook2");
    assert_eq!(events, ["published", "unpublished"]);

    let rotated = app.post(&format!("/admin/webhooks/{id}/secret"), &[]).await;
    assert_eq!(rotated.status(), 303);
    let (_, page) = app.page(&format!("/admin/webhooks/{id}")).await;
    let new_secret = texts(&page, ".webhook-secret").remove(0);
    assert_ne!(new_secret, secret);
    assert_eq!(
        editor
            .post(&format!("/admin/webhooks/{id}/delete"), &[])
            .await
            .status(),
        403
    );
    let deleted = app.post(&format!("/admin/webhooks/{id}/delete"), &[]).await;
    assert_eq!(deleted.status(), 303);
    assert_eq!(
        app.get(&format!("/admin/webhooks/{id}")).await.status(),
        404
    );
    assert_eq!(app.get("/admin/webhooks/not-an-id").await.status(), 404);
}
