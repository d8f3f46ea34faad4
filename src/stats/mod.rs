//! Contribution statistics (稿件统计): for a period (month, quarter, year
//! or a day range, in the site's time zone) and a scope (a unit subtree, a
//! channel subtree), what each unit, correspondent and credited author
//! contributed: submitted, published, returned, rejected, 头条, readings of
//! the period and approved comments. Every figure is computed by SQL from
//! the review events, stories, readings and comments: nothing is counted by
//! hand. A unit's row includes the units below it. Tables download as CSV
//! (UTF-8 with a BOM, so spreadsheet programs read the Chinese) and as
//! Excel workbooks (rust_xlsxwriter). This module holds the pages; `period`
//! parses what a request asks for (pure), `queries` computes the figures,
//! `export` writes the sheets.

pub mod charts;
pub mod dashboard;
pub mod days;
pub mod export;
pub mod period;
pub mod queries;
pub mod quotas;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{Datelike, NaiveDate, Utc};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::auth::{Permission, Staff};
use crate::error::{AppError, FormError, Refused};
use crate::ids::{ChannelId, UnitId};
use crate::layout::AdminLayout;
use crate::roles::Role;
use crate::web::csrf::CsrfToken;
use crate::web::render;
use period::{Period, StatsQuery, View, period};
use queries::{
    COLUMNS, Health, ReviewerLoad, Row, backlog_by_day, health, monthly, reviewer_loads, sort_rows,
    table,
};

/// The unit a staff member may see: editors their own subtree, chief
/// editors and admins the whole tree. A requested unit outside it is
/// refused.
async fn scope_unit(
    conn: &mut PgConnection,
    staff: &Staff,
    requested: &str,
) -> Result<UnitId, AppError> {
    let own_root = if staff.role == Role::Editor {
        staff.unit_id
    } else {
        crate::units::db::root(conn)
            .await?
            .ok_or(AppError::NotFound)?
    };
    let Ok(requested) = requested.trim().parse::<UnitId>() else {
        return Ok(own_root);
    };
    let inside =
        crate::tree::is_self_or_descendant(conn, crate::tree::Tree::Units, own_root, requested)
            .await?;
    if inside {
        Ok(requested)
    } else {
        tracing::warn!(user = %staff.username, "statistics outside the staff member's units");
        Err(AppError::Forbidden)
    }
}

/// A request's period and scope, checked and resolved; the days it reads
/// are current.
struct Scope {
    period: Period,
    today: NaiveDate,
    unit: UnitId,
    unit_name: String,
    channel: Option<ChannelId>,
    view: View,
}

async fn resolve(
    conn: &mut PgConnection,
    staff: &Staff,
    query: &StatsQuery,
) -> Result<Scope, AppError> {
    staff.require(Permission::ViewStatistics)?;
    let settings = crate::settings::db::load(conn).await?;
    let today = Utc::now().with_timezone(&settings.time_zone).date_naive();
    let Some(period) = period(query, today) else {
        return Err(FormError::field(
            "from",
            "日期格式应为 年-月-日（2000 至 2999 年），且截止日期不早于起始日期。",
        )
        .into());
    };
    let unit = scope_unit(conn, staff, &query.unit).await?;
    let channel = match query.channel.trim() {
        "" => None,
        slug => Some(
            sqlx::query_scalar!("select id from channels where slug = $1", slug)
                .fetch_optional(&mut *conn)
                .await?
                .map(ChannelId)
                .ok_or(AppError::NotFound)?,
        ),
    };
    // From the start of the period's year (for the year's progress against
    // targets) up to today (for the backlog's walk back from today).
    let year_start = period.first.with_ordinal(1).unwrap_or(period.first);
    days::refresh(
        conn,
        year_start.min(today),
        today,
        settings.time_zone.name(),
    )
    .await?;
    let unit_name = sqlx::query_scalar!("select name from units where id = $1", unit as UnitId)
        .fetch_one(&mut *conn)
        .await?;
    Ok(Scope {
        period,
        today,
        unit,
        unit_name,
        channel,
        view: View::parse(&query.view),
    })
}

/// The table's rows with their progress against the year's targets (units
/// and correspondents), sorted and filtered as asked, and the total.
async fn rows_of(
    conn: &mut PgConnection,
    scope: &Scope,
    query: &StatsQuery,
) -> Result<(Vec<Row>, Row), AppError> {
    let (mut rows, mut total) =
        table(conn, &scope.period, scope.unit, scope.channel, scope.view).await?;
    if scope.view != View::Authors {
        let year = scope.period.first.year();
        let whole_year = Period::year(year).ok_or(AppError::BadRequest)?;
        let (done, year_total): (std::collections::HashMap<Uuid, i64>, i64) =
            if scope.period == whole_year && scope.channel.is_none() {
                (
                    rows.iter().map(|row| (row.key, row.published)).collect(),
                    total.published,
                )
            } else {
                let (year_rows, year_total) =
                    table(conn, &whole_year, scope.unit, None, scope.view).await?;
                (
                    year_rows
                        .into_iter()
                        .map(|row| (row.key, row.published))
                        .collect(),
                    year_total.published,
                )
            };
        let keys: Vec<Uuid> = rows
            .iter()
            .map(|row| row.key)
            .chain([scope.unit.uuid()])
            .collect();
        let targets = quotas::targets(conn, year, scope.view, &keys).await?;
        for row in &mut rows {
            // The scope unit's own row holds only its own stories; its
            // target is measured against the whole scope, in the total.
            if scope.view == View::Units && row.key == scope.unit.uuid() {
                continue;
            }
            row.progress = Some(period::Progress::new(
                year,
                targets.get(&row.key).copied(),
                done.get(&row.key).copied().unwrap_or(0),
                scope.today,
            ));
        }
        if scope.view == View::Units {
            total.progress = Some(period::Progress::new(
                year,
                targets.get(&scope.unit.uuid()).copied(),
                year_total,
                scope.today,
            ));
        }
    }
    if query.behind == "1" {
        rows.retain(|row| row.progress.as_ref().is_some_and(|p| p.behind()));
    }
    sort_rows(&mut rows, &query.sort);
    Ok((rows, total))
}

#[derive(Template)]
#[template(path = "admin/stats/index.html")]
struct StatsPage {
    layout: AdminLayout,
    query: StatsQuery,
    view: &'static str,
    period_label: String,
    scope_name: String,
    units: Vec<(String, String)>,
    channels: Vec<(String, String)>,
    columns: &'static [(&'static str, &'static str)],
    rows: Vec<Row>,
    total: Row,
    quota_year: i32,
    can_set_quotas: bool,
    drill: bool,
    health: Health,
    reviewers: Vec<ReviewerLoad>,
    error: Option<FormError>,
}

impl StatsPage {
    fn link(&self, path: &str, changes: &[(&str, &str)]) -> String {
        let mut fields = vec![
            ("period", self.query.period.clone()),
            ("from", self.query.from.clone()),
            ("to", self.query.to.clone()),
            ("unit", self.query.unit.clone()),
            ("channel", self.query.channel.clone()),
            ("view", self.view.to_owned()),
            ("sort", self.query.sort.clone()),
            ("behind", self.query.behind.clone()),
            ("table", String::new()),
            ("chart", String::new()),
        ];
        for (key, value) in changes {
            if let Some(field) = fields.iter_mut().find(|(k, _)| k == key) {
                field.1 = (*value).to_owned();
            }
        }
        fields.retain(|(_, value)| !value.is_empty());
        format!(
            "{path}?{}",
            serde_urlencoded::to_string(&fields).unwrap_or_default()
        )
    }

    fn sort_link(&self, key: &str) -> String {
        self.link("/admin/stats", &[("sort", key)])
    }

    fn view_link(&self, view: &str) -> String {
        self.link("/admin/stats", &[("view", view), ("sort", "")])
    }

    fn unit_link(&self, key: &Uuid) -> String {
        self.link(
            "/admin/stats",
            &[("unit", &key.to_string()), ("view", "units")],
        )
    }

    fn behind_link(&self, on: bool) -> String {
        self.link("/admin/stats", &[("behind", if on { "1" } else { "" })])
    }

    fn download(&self, format: &str, table: &str) -> String {
        self.link(&format!("/admin/stats.{format}"), &[("table", table)])
    }

    fn chart(&self, chart: &str) -> String {
        self.link("/admin/stats.svg", &[("chart", chart)])
    }

    fn quotas(&self) -> bool {
        self.view != "authors"
    }
}

/// GET /admin/stats
pub async fn index(
    pool: web::Data<PgPool>,
    tree_cache: web::Data<crate::site::TreeCache>,
    staff: Staff,
    csrf: CsrfToken,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let mut conn = pool.acquire().await?;
    let resolved = resolve(&mut conn, &staff, &query).await.refused()?;
    let layout = AdminLayout::load(&mut conn, &staff, &csrf, "稿件统计", "/admin/stats").await?;
    let trees = tree_cache.current(&mut conn).await?;
    let units = if staff.role == Role::Editor {
        // Editors choose among their own units only.
        crate::tree::subtree(&trees.units, staff.unit_id)
    } else {
        &trees.units
    };
    let units = units
        .iter()
        .map(|u| {
            (
                u.id.to_string(),
                format!("{}{}", "　".repeat(u.depth as usize), u.name),
            )
        })
        .collect();
    let channels = sqlx::query_as("select slug, name from channels order by sort_order, name")
        .fetch_all(&mut *conn)
        .await?;
    let mut page = StatsPage {
        layout,
        view: View::parse(&query.view).as_str(),
        period_label: String::new(),
        scope_name: String::new(),
        units,
        channels,
        columns: COLUMNS,
        rows: Vec::new(),
        total: Row::default(),
        quota_year: 0,
        can_set_quotas: staff.can(Permission::SetQuotas),
        drill: false,
        health: Health::default(),
        reviewers: Vec::new(),
        error: None,
        query,
    };
    let scope = match resolved {
        Ok(scope) => scope,
        Err(refusal) => {
            let status = refusal.status;
            page.error = Some(refusal);
            return render(status, &page);
        }
    };
    let (rows, total) = rows_of(&mut conn, &scope, &page.query).await?;
    page.health = health(&mut conn, &scope.period, scope.unit, scope.channel).await?;
    page.reviewers = reviewer_loads(&mut conn, scope.unit, scope.channel).await?;
    page.period_label = format!("{} 至 {}", scope.period.first, scope.period.last);
    page.scope_name = scope.unit_name;
    page.quota_year = scope.period.first.year();
    page.drill = scope.view == View::Units;
    page.rows = rows;
    page.total = total;
    render(StatusCode::OK, &page)
}

#[derive(Deserialize)]
pub struct Format {
    format: String,
}

/// GET /admin/stats.{csv,xlsx,svg}: a table (`table`: the main one or
/// `health`) as a download, or a chart (`chart`: ranking, months, backlog).
pub async fn download(
    pool: web::Data<PgPool>,
    staff: Staff,
    format: web::Path<Format>,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse, AppError> {
    let format = format.format.as_str();
    if !matches!(format, "csv" | "xlsx" | "svg") {
        return Err(AppError::NotFound);
    }
    let query = query.into_inner();
    let mut conn = pool.acquire().await?;
    let scope = resolve(&mut conn, &staff, &query)
        .await
        .map_err(|error| match error {
            AppError::Form(_) => AppError::BadRequest,
            other => other,
        })?;
    let span = format!("{} 至 {}", scope.period.first, scope.period.last);
    if format == "svg" {
        let svg = match query.chart.as_str() {
            "" | "ranking" => {
                let (rows, _) = table(
                    &mut conn,
                    &scope.period,
                    scope.unit,
                    scope.channel,
                    scope.view,
                )
                .await?;
                let who = match scope.view {
                    View::Units => "单位",
                    View::Writers => "通讯员",
                    View::Authors => "作者",
                };
                let items: Vec<(String, i64)> = rows
                    .into_iter()
                    .map(|row| (row.name, row.published))
                    .collect();
                charts::ranking(&items, &format!("{who}采用稿件排名（{span}）"))
            }
            "months" => {
                let (months, series) =
                    monthly(&mut conn, &scope.period, scope.unit, scope.channel).await?;
                charts::stacked_months(&months, &series, &format!("各单位每月采用稿件（{span}）"))
            }
            "backlog" => {
                let days = backlog_by_day(
                    &mut conn,
                    &scope.period,
                    scope.today,
                    scope.unit,
                    scope.channel,
                )
                .await?;
                let length = (scope.period.last - scope.period.first).num_days() as usize + 1;
                charts::daily_line(&days, length, &format!("待审稿件积压（{span}，每日日终）"))
            }
            _ => return Err(AppError::NotFound),
        };
        return Ok(HttpResponse::Ok()
            .content_type("image/svg+xml; charset=utf-8")
            .body(svg));
    }
    let (sheet, name) = match query.table.as_str() {
        "" | "main" => {
            let (rows, total) = rows_of(&mut conn, &scope, &query).await?;
            (
                export::main_sheet(scope.view, &rows, &total),
                scope.view.as_str(),
            )
        }
        "health" => {
            let health = health(&mut conn, &scope.period, scope.unit, scope.channel).await?;
            let reviewers = reviewer_loads(&mut conn, scope.unit, scope.channel).await?;
            (export::health_sheet(&health, &reviewers), "health")
        }
        _ => return Err(AppError::NotFound),
    };
    let filename = format!(
        "stats-{name}-{}-{}.{format}",
        scope.period.first, scope.period.last
    );
    let mut response = HttpResponse::Ok();
    response.insert_header((
        "Content-Disposition",
        format!("attachment; filename=\"{filename}\""),
    ));
    if format == "xlsx" {
        Ok(response
            .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            .body(export::xlsx(&sheet)?))
    } else {
        Ok(response
            .content_type("text/csv; charset=utf-8")
            .body(export::csv(&sheet)))
    }
}
