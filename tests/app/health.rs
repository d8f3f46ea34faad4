use std::time::Duration;

use crate::helpers::{TestDatabase, server, spawn_app, spawn_app_on};
use crate::proxy::DbProxy;

#[tokio::test]
async fn health_check_answers_ok_while_the_database_answers() {
    let app = spawn_app().await;
    let response = app.get("/healthz").await;
    assert_eq!(response.status().as_u16(), 200);
    assert_eq!(response.text().await.unwrap(), "ok");
}

/// Polls /healthz until it answers `status`, for at most ten seconds.
async fn wait_for_health(app: &crate::helpers::TestApp, status: u16) -> bool {
    for _ in 0..50 {
        if app.get("/healthz").await.status().as_u16() == status {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    false
}

#[tokio::test]
async fn health_check_reports_503_while_the_database_is_away_then_recovers() {
    let database = TestDatabase::create().await;
    let proxy = DbProxy::start(server().upstream()).await;
    let through_proxy = sqlx::postgres::PgConnectOptions::new()
        .host("127.0.0.1")
        .port(proxy.port)
        .username(database.options.get_username())
        .database(&database.name);
    let app = spawn_app_on(database, through_proxy).await;
    assert!(wait_for_health(&app, 200).await, "healthy at first");

    proxy.cut();
    let response = app.get("/healthz").await;
    assert_eq!(response.status().as_u16(), 503);
    let (status, _) = app.page("/").await;
    assert_eq!(status, 503, "pages say the service is unavailable too");

    proxy.restore();
    assert!(wait_for_health(&app, 200).await, "recovers by itself");
    let (status, _) = app.page("/").await;
    assert_eq!(status, 200);
}
