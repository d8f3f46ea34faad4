//! /healthz: 200 while the database answers, 503 while it does not.

use std::time::Duration;

use actix_web::{HttpResponse, web};
use sqlx::PgPool;

const DATABASE_DEADLINE: Duration = Duration::from_secs(2);

pub async fn healthz(pool: web::Data<PgPool>) -> HttpResponse {
    let check = async {
        let mut conn = pool.acquire().await?;
        sqlx::query("select 1").execute(&mut *conn).await
    };
    match tokio::time::timeout(DATABASE_DEADLINE, check).await {
        Ok(Ok(_)) => HttpResponse::Ok()
            .insert_header(("Cache-Control", "no-store"))
            .body("ok"),
        Ok(Err(error)) => {
            tracing::warn!(%error, "health check: database unavailable");
            unavailable()
        }
        Err(_) => {
            tracing::warn!("health check: database did not answer in time");
            unavailable()
        }
    }
}

fn unavailable() -> HttpResponse {
    HttpResponse::ServiceUnavailable()
        .insert_header(("Cache-Control", "no-store"))
        .body("database unavailable")
}
