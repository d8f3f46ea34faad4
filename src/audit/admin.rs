//! The audit log page: newest first, filtered by action, actor, target and
//! date, fifty entries a page; and the same records as a CSV or Excel file
//! for an assessor (the export is itself recorded).

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
    /// For the export: csv (the default) or xlsx.
    #[serde(default)]
    format: String,
}

impl AuditQuery {
    /// The filters as a query string, for the next page's link and the
    /// export's record.
    fn filters_as_query(&self) -> String {
        serde_urlencoded::to_string([
            ("action", self.action.as_str()),
            ("actor", self.actor.as_str()),
            ("target", self.target.as_str()),
            ("from", self.from.as_str()),
            ("to", self.to.as_str()),
        ])
        .unwrap_or_default()
    }
}

#[derive(sqlx::FromRow)]
struct EntryRow {
    id: i64,
    seq: i64,
    at: DateTime<Utc>,
    result: String,
    hash: Vec<u8>,
    actor_name: String,
    action: String,
    target: String,
    detail: String,
    client_ip: String,
}

struct Entry {
    at: String,
    result: &'static str,
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

/// The filters of a query, checked: `None` with the dates unreadable.
struct Filters {
    action: Option<String>,
    actor: Option<String>,
    target: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
}

fn filters_of(query: &AuditQuery, tz: chrono_tz::Tz) -> Option<Filters> {
    let day_start = |day: NaiveDate| {
        tz.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap())
            .earliest()
    };
    let (Ok(from), Ok(to)) = (parse_day(&query.from), parse_day(&query.to)) else {
        return None;
    };
    let blank = |value: &str| (!value.trim().is_empty()).then(|| value.trim().to_owned());
    Some(Filters {
        action: blank(&query.action),
        actor: blank(&query.actor),
        target: blank(&query.target),
        from: from.and_then(day_start).map(|at| at.with_timezone(&Utc)),
        to: to
            .and_then(|day| day.succ_opt())
            .and_then(day_start)
            .map(|at| at.with_timezone(&Utc)),
    })
}

/// The newest `limit` records that pass `filters`, older than `before`.
async fn records(
    conn: &mut sqlx::PgConnection,
    filters: &Filters,
    before: Option<i64>,
    limit: i64,
) -> sqlx::Result<Vec<EntryRow>> {
    sqlx::query_as(
        "select id, seq, at, actor_name, action, target, detail, client_ip, result, hash
         from audit_log
         where ($1::text is null or action = $1)
           and ($2::text is null or actor_name ilike '%' || $2 || '%')
           and ($3::text is null or target ilike '%' || $3 || '%')
           and ($4::timestamptz is null or at >= $4)
           and ($5::timestamptz is null or at < $5)
           and ($6::bigint is null or id < $6)
         order by id desc
         limit $7",
    )
    .bind(&filters.action)
    .bind(&filters.actor)
    .bind(&filters.target)
    .bind(filters.from)
    .bind(filters.to)
    .bind(before)
    .bind(limit)
    .fetch_all(conn)
    .await
}

fn result_label(result: &str) -> &'static str {
    if result == "failure" {
        "失败"
    } else {
        "成功"
    }
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
    let Some(filters) = filters_of(&query, layout.settings.time_zone) else {
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
    };
    let rows = records(&mut conn, &filters, query.before, PAGE_SIZE + 1).await?;
    // Whoever reads the log leaves a record in it, the auditor included.
    let shown = match query.before {
        Some(before) => format!("筛选：{}，自第 {before} 条起", query.filters_as_query()),
        None => format!("筛选：{}", query.filters_as_query()),
    };
    super::record(&mut conn, &staff.actor(), "audit.view", "审计日志", &shown).await?;
    let next_page = (rows.len() as i64 > PAGE_SIZE).then(|| {
        let last = rows[PAGE_SIZE as usize - 1].id;
        let filters = query.filters_as_query();
        format!("/admin/audit?{filters}&before={last}")
    });
    let entries = rows
        .into_iter()
        .take(PAGE_SIZE as usize)
        .map(|row| Entry {
            at: layout.settings.format_time(row.at),
            result: result_label(&row.result),
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

/// Most records one export holds; narrow the dates for more.
const EXPORT_LIMIT: i64 = 100_000;

/// GET /admin/audit/export: the filtered records as CSV (UTF-8 with a
/// byte-order mark) or an Excel workbook, with each record's place in the
/// chain and its hash, so that an assessor can check them against
/// `newsdesk audit verify`. Recorded as an action of its own.
pub async fn export(
    Backend {
        staff, mut conn, ..
    }: Backend,
    query: web::Query<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    use crate::stats::export::{Cell, Sheet, csv, xlsx};
    staff.require(Permission::ReadAuditLog)?;
    let query = query.into_inner();
    let settings = crate::settings::db::load(&mut conn).await?;
    let filters = filters_of(&query, settings.time_zone).ok_or(AppError::BadRequest)?;
    let xlsx_asked = match query.format.as_str() {
        "" | "csv" => false,
        "xlsx" => true,
        _ => return Err(AppError::BadRequest),
    };
    let rows = records(&mut conn, &filters, None, EXPORT_LIMIT).await?;
    let sheet = Sheet {
        name: "审计日志".into(),
        headings: [
            "序号",
            "时间",
            "操作人",
            "客户端地址",
            "事件类型",
            "对象",
            "结果",
            "详情",
            "哈希",
        ]
        .map(String::from)
        .to_vec(),
        rows: rows
            .iter()
            .map(|row| {
                vec![
                    Cell::Int(row.seq),
                    Cell::Text(settings.format_time(row.at)),
                    Cell::Text(row.actor_name.clone()),
                    Cell::Text(row.client_ip.clone()),
                    Cell::Text(action_label(&row.action).to_owned()),
                    Cell::Text(row.target.clone()),
                    Cell::Text(result_label(&row.result).to_owned()),
                    Cell::Text(row.detail.clone()),
                    Cell::Text(hex::encode(&row.hash)),
                ]
            })
            .collect(),
    };
    let actor = staff.actor();
    let detail = query.filters_as_query();
    super::record(
        &mut conn,
        &actor,
        "audit.export",
        "审计日志",
        &format!("{} 条，筛选：{detail}", rows.len()),
    )
    .await?;
    let extension = if xlsx_asked { "xlsx" } else { "csv" };
    let mut response = HttpResponse::Ok();
    response.insert_header((
        "Content-Disposition",
        format!(
            "attachment; filename=\"audit-{}.{extension}\"",
            Utc::now().format("%Y%m%d-%H%M%S")
        ),
    ));
    response.insert_header(("Cache-Control", "no-store"));
    if xlsx_asked {
        Ok(response
            .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            .body(xlsx(&sheet)?))
    } else {
        Ok(response
            .content_type("text/csv; charset=utf-8")
            .body(csv(&sheet)))
    }
}
