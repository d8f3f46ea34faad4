//! The audit log page for admins: newest first, filtered by action, actor,
//! target and date, fifty entries a page.

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Deserialize;

use super::{ACTIONS, action_label};
use crate::auth::Permission;
use crate::backend::Backend;
use crate::error::{AppError, FormError};
use crate::layout::AdminLayout;
use crate::web::page;

const PAGE_SIZE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct AuditQuery {
    #[serde(default)]
    action: String,
    #[serde(default)]
    actor: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    before: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: i64,
    at: DateTime<Utc>,
    actor_name: String,
    action: String,
    target: String,
    detail: String,
    client_ip: String,
}

struct Entry {
    at: String,
    actor_name: String,
    action: String,
    target: String,
    detail: String,
    client_ip: String,
}

#[derive(Template)]
#[template(path = "admin/audit/list.html")]
struct AuditPage {
    layout: AdminLayout,
    actions: &'static [(&'static str, &'static str)],
    query: AuditQuery,
    entries: Vec<Entry>,
    next_page: Option<String>,
    error: Option<FormError>,
}

fn parse_day(value: &str) -> Result<Option<NaiveDate>, ()> {
    if value.trim().is_empty() {
        return Ok(None);
    }
    NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
        .map(Some)
        .map_err(|_| ())
}

pub async fn list(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ReadAuditLog)?;
    let query = query.into_inner();
    let layout = AdminLayout::load(&mut conn, &staff, &csrf, "审计日志", "/admin/audit").await?;
    let tz = layout.settings.time_zone;
    let day_start = |day: NaiveDate| {
        tz.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
            .earliest()
    };
    let (from, to) = match (parse_day(&query.from), parse_day(&query.to)) {
        (Ok(from), Ok(to)) => (
            from.and_then(day_start).map(|at| at.with_timezone(&Utc)),
            to.and_then(|day| day.succ_opt())
                .and_then(day_start)
                .map(|at| at.with_timezone(&Utc)),
        ),
        _ => {
            let page_data = AuditPage {
                layout,
                actions: ACTIONS,
                query,
                entries: Vec::new(),
                next_page: None,
                error: Some("日期格式应为 2024-01-31。".into()),
            };
            return crate::web::render(
                actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                &page_data,
            );
        }
    };
    let blank = |value: &str| (!value.trim().is_empty()).then(|| value.trim().to_owned());
    let rows: Vec<EntryRow> = sqlx::query_as(
        "select id, at, actor_name, action, target, detail, client_ip from audit_log
         where ($1::text is null or action = $1)
           and ($2::text is null or actor_name ilike '%' || $2 || '%')
           and ($3::text is null or target ilike '%' || $3 || '%')
           and ($4::timestamptz is null or at >= $4)
           and ($5::timestamptz is null or at < $5)
           and ($6::bigint is null or id < $6)
         order by id desc
         limit $7",
    )
    .bind(blank(&query.action))
    .bind(blank(&query.actor))
    .bind(blank(&query.target))
    .bind(from)
    .bind(to)
    .bind(query.before)
    .bind(PAGE_SIZE + 1)
    .fetch_all(&mut *conn)
    .await?;
    let next_page = (rows.len() as i64 > PAGE_SIZE).then(|| {
        let last = rows[PAGE_SIZE as usize - 1].id;
        let filters = serde_urlencoded::to_string([
            ("action", query.action.as_str()),
            ("actor", query.actor.as_str()),
            ("target", query.target.as_str()),
            ("from", query.from.as_str()),
            ("to", query.to.as_str()),
        ])
        .unwrap_or_default();
        format!("/admin/audit?{filters}&before={last}")
    });
    let entries = rows
        .into_iter()
        .take(PAGE_SIZE as usize)
        .map(|row| Entry {
            at: layout.settings.format_time(row.at),
            actor_name: row.actor_name,
            action: action_label(&row.action).to_owned(),
            target: row.target,
            detail: row.detail,
            client_ip: row.client_ip,
        })
        .collect();
    page(&AuditPage {
        layout,
        actions: ACTIONS,
        query,
        entries,
        next_page,
        error: None,
    })
}
