use std::process::Command;

use crate::helpers::spawn_app;

async fn schema_fingerprint(pool: &sqlx::PgPool) -> (Vec<i64>, i64) {
    let versions: Vec<i64> =
        sqlx::query_scalar("select version from _sqlx_migrations order by version")
            .fetch_all(pool)
            .await
            .unwrap();
    let tables: i64 = sqlx::query_scalar(
        "select count(*) from information_schema.tables where table_schema = 'public'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    (versions, tables)
}

#[tokio::test]
async fn migrations_applied_twice_change_nothing() {
    let app = spawn_app().await;
    let before = schema_fingerprint(&app.pool).await;
    assert!(!before.0.is_empty());

    newsdesk::db::migrate(&app.pool).await.expect("second run");
    newsdesk::db::migrate(&app.pool).await.expect("third run");
    assert_eq!(schema_fingerprint(&app.pool).await, before);
}

#[tokio::test]
async fn the_migrate_command_applies_migrations_and_can_run_again() {
    let app = spawn_app().await;
    let before = schema_fingerprint(&app.pool).await;
    sqlx::query("drop schema public cascade")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("create schema public")
        .execute(&app.pool)
        .await
        .unwrap();

    for run in 1..=2 {
        let output = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
            .arg("migrate")
            .env("DATABASE_URL", app.database.url())
            .env("NEWSDESK_DATA_DIR", std::env::temp_dir())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(schema_fingerprint(&app.pool).await, before);
}
