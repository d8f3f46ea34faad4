//! The notifications page of the backend: the latest hundred, and opening
//! one marks it read.

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::auth::{Permission, Staff};
use crate::backend::Backend;
use crate::error::AppError;
use crate::ids::UserId;
use crate::layout::AdminLayout;
use crate::web::page;
use crate::web::redirect::see_other;

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    message: String,
    note: String,
    created_at: DateTime<Utc>,
    read_at: Option<DateTime<Utc>>,
}

pub struct Line {
    pub id: i64,
    pub message: String,
    pub note: String,
    pub at: String,
    pub unread: bool,
}

#[derive(Template)]
#[template(path = "admin/notifications/list.html")]
struct ListPage {
    layout: AdminLayout,
    lines: Vec<Line>,
    unread: usize,
}

/// GET /admin/notifications: the latest hundred, unread ones marked.
pub async fn list(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::UseBackend)?;
    let layout =
        AdminLayout::load(&mut conn, &staff, &csrf, "通知", "/admin/notifications").await?;
    let rows: Vec<Row> = sqlx::query_as(
        "select id, message, note, created_at, read_at from notifications
         where user_id = $1 order by id desc limit 100",
    )
    .bind(staff.id)
    .fetch_all(&mut *conn)
    .await?;
    let lines = rows
        .into_iter()
        .map(|row| Line {
            id: row.id,
            message: row.message,
            note: row.note,
            at: layout.settings.format_minute(row.created_at),
            unread: row.read_at.is_none(),
        })
        .collect::<Vec<Line>>();
    let unread = lines.iter().filter(|line| line.unread).count();
    page(&ListPage {
        layout,
        lines,
        unread,
    })
}

/// POST /admin/notifications/read: marks every notification of the staff
/// member read (全部已读).
pub async fn read_all(pool: web::Data<PgPool>, staff: Staff) -> Result<HttpResponse, AppError> {
    staff.require(Permission::UseBackend)?;
    sqlx::query!(
        "update notifications set read_at = now() where user_id = $1 and read_at is null",
        staff.id as UserId,
    )
    .execute(&**pool)
    .await?;
    Ok(see_other("/admin/notifications"))
}

/// GET /admin/notifications/{id}: marks it read and opens what it is about.
pub async fn open(
    pool: web::Data<PgPool>,
    staff: Staff,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::UseBackend)?;
    let link: String = sqlx::query_scalar!(
        "update notifications set read_at = coalesce(read_at, now())
         where id = $1 and user_id = $2 returning link",
        *id,
        staff.id as UserId,
    )
    .fetch_optional(&**pool)
    .await?
    .ok_or(AppError::NotFound)?;
    Ok(see_other(&link))
}
