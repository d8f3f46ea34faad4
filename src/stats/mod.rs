//! Contribution statistics (稿件统计): for a period (month, quarter, year
//! or a day range, in the site's time zone) and a scope (a unit subtree, a
//! channel subtree), what each unit, correspondent and credited author
//! contributed: submitted, published, returned, rejected, 头条, readings of
//! the period and approved comments. Every figure is computed by SQL from
//! the review events, stories, readings and comments: nothing is counted by
//! hand. A unit's row includes the units below it. Tables download as CSV
//! (UTF-8 with a BOM, so spreadsheet programs read the Chinese) and as
//! Excel workbooks (rust_xlsxwriter).

pub mod days;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::auth::{Permission, Staff};
use crate::error::AppError;
use crate::users::Role;
use crate::web::csrf::CsrfToken;
use crate::web::layout::AdminLayout;
use crate::web::render;

#[derive(Debug, Default, Deserialize, Clone)]
pub struct StatsQuery {
    /// month, quarter, year or range.
    #[serde(default)]
    period: String,
    /// The day the period contains (month, quarter, year), or the first day
    /// of a range.
    #[serde(default)]
    from: String,
    /// The last day of a range.
    #[serde(default)]
    to: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    channel: String,
    /// units, writers or authors.
    #[serde(default)]
    view: String,
    #[serde(default)]
    sort: String,
}

/// A period as days [first, last] and the UTC instants [start, end).
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub first: NaiveDate,
    pub last: NaiveDate,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// The period a query asks for, in `zone`; None when a date is malformed.
pub fn period(query: &StatsQuery, zone: chrono_tz::Tz, today: NaiveDate) -> Option<Period> {
    let day = |text: &str| -> Option<NaiveDate> {
        match text.trim() {
            "" => Some(today),
            text => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok(),
        }
    };
    let anchor = day(&query.from)?;
    let (first, last) = match query.period.as_str() {
        "year" => (
            NaiveDate::from_ymd_opt(anchor.year(), 1, 1)?,
            NaiveDate::from_ymd_opt(anchor.year(), 12, 31)?,
        ),
        "quarter" => {
            let month = (anchor.month0() / 3) * 3 + 1;
            let first = NaiveDate::from_ymd_opt(anchor.year(), month, 1)?;
            (
                first,
                first
                    .checked_add_months(chrono::Months::new(3))?
                    .pred_opt()?,
            )
        }
        "range" => {
            let last = day(&query.to)?;
            if last < anchor {
                return None;
            }
            (anchor, last)
        }
        _ => {
            let first = NaiveDate::from_ymd_opt(anchor.year(), anchor.month(), 1)?;
            (
                first,
                first
                    .checked_add_months(chrono::Months::new(1))?
                    .pred_opt()?,
            )
        }
    };
    let instant = |day: NaiveDate| {
        day.and_hms_opt(0, 0, 0)?
            .and_local_timezone(zone)
            .earliest()
            .map(|at| at.with_timezone(&Utc))
    };
    Some(Period {
        first,
        last,
        start: instant(first)?,
        end: instant(last.succ_opt()?)?,
    })
}

/// One row of a table.
#[derive(Debug, Clone, Default, sqlx::FromRow)]
pub struct Row {
    pub key: Uuid,
    pub name: String,
    pub submitted: i64,
    pub published: i64,
    pub returned: i64,
    pub rejected: i64,
    pub headlines: i64,
    pub views: i64,
    pub comments: i64,
}

/// The columns, in order: (sort key, heading).
pub const COLUMNS: &[(&str, &str)] = &[
    ("submitted", "投稿"),
    ("published", "采用"),
    ("returned", "退回"),
    ("rejected", "未采用"),
    ("headlines", "头条"),
    ("views", "阅读量"),
    ("comments", "评论"),
];

impl Row {
    pub fn values(&self) -> [i64; 7] {
        [
            self.submitted,
            self.published,
            self.returned,
            self.rejected,
            self.headlines,
            self.views,
            self.comments,
        ]
    }
}

/// The scope's daily rows of `table` in the period: $1 and $2 the first and
/// last day, $3 the unit (with its subtree), $4 the channel (with its
/// subtree) or null.
fn scoped_days(table: &str) -> String {
    format!(
        "with recursive scope_units as (
             select id from units where id = $3
             union all select u.id from units u join scope_units s on u.parent_id = s.id
         ), scope_channels as (
             select id from channels where id = $4
             union all select c.id from channels c join scope_channels s on c.parent_id = s.id
         ), stories as (
             select * from {table} d
             where d.day >= $1 and d.day <= $2
               and d.unit_id in (select id from scope_units)
               and ($4::uuid is null or d.channel_id in (select id from scope_channels))
         )"
    )
}

/// The scope's daily rows of `table` summed per `key` into `sums`: the
/// columns of [`Row`] with `key`.
fn summed_days(table: &str, key: &str) -> String {
    format!(
        "{}, sums as (
             select {key} as key, sum(submitted) as submitted, sum(published) as published,
                    sum(returned) as returned, sum(rejected) as rejected,
                    sum(headlines) as headlines, sum(views) as views, sum(comments) as comments
             from stories group by {key}
         )",
        scoped_days(table)
    )
}

const SUMS: &str = "coalesce(sum(s.submitted), 0)::bigint as submitted,
     coalesce(sum(s.published), 0)::bigint as published,
     coalesce(sum(s.returned), 0)::bigint as returned,
     coalesce(sum(s.rejected), 0)::bigint as rejected,
     coalesce(sum(s.headlines), 0)::bigint as headlines,
     coalesce(sum(s.views), 0)::bigint as views,
     coalesce(sum(s.comments), 0)::bigint as comments";

/// Which table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum View {
    /// The scope unit's direct sub-units, each with the units below it.
    Units,
    /// Correspondents (the stories' submitters).
    Writers,
    /// Credited authors.
    Authors,
}

impl View {
    fn parse(text: &str) -> View {
        match text {
            "writers" => View::Writers,
            "authors" => View::Authors,
            _ => View::Units,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            View::Units => "units",
            View::Writers => "writers",
            View::Authors => "authors",
        }
    }
}

/// A table's rows and its total (the whole scope).
pub async fn table(
    conn: &mut PgConnection,
    period: &Period,
    unit: Uuid,
    channel: Option<Uuid>,
    view: View,
) -> sqlx::Result<(Vec<Row>, Row)> {
    let grouped = match view {
        View::Units => format!(
            "{}, tree as (
                 select id as top, id from units where parent_id = $3
                 union all select t.top, u.id from units u join tree t on u.parent_id = t.id
             ), parts as (
                 select $3::uuid as top, $3::uuid as id
                 union all select top, id from tree
             )
             select t.id as key, t.name, {SUMS}
             from parts p join units t on t.id = p.top
             left join sums s on s.key = p.id
             group by t.id, t.name, t.sort_order
             order by (t.id = $3) desc, t.sort_order, t.name",
            summed_days("stats_days", "unit_id")
        ),
        View::Writers => format!(
            "{}
             select u.id as key, u.display_name as name, {SUMS}
             from sums s join users u on u.id = s.key
             group by u.id, u.display_name order by u.display_name",
            summed_days("stats_days", "writer_id")
        ),
        View::Authors => format!(
            "{}
             select au.id as key, au.name, {SUMS}
             from sums s join authors au on au.id = s.key
             group by au.id, au.name order by au.name",
            summed_days("stats_author_days", "author_id")
        ),
    };
    fn bound<'q>(
        sql: &'q str,
        period: &Period,
        unit: Uuid,
        channel: Option<Uuid>,
    ) -> sqlx::query::QueryAs<'q, sqlx::Postgres, Row, sqlx::postgres::PgArguments> {
        sqlx::query_as::<_, Row>(sql)
            .bind(period.first)
            .bind(period.last)
            .bind(unit)
            .bind(channel)
    }
    let rows = bound(&grouped, period, unit, channel)
        .fetch_all(&mut *conn)
        .await?;
    // Units and writers split the scope's stories between their rows, so
    // the total is their sum; a story may credit several authors.
    let total = if view == View::Authors {
        let total_sql = format!(
            "{} select $3::uuid as key, ''::text as name, {SUMS} from sums s",
            summed_days("stats_days", "unit_id")
        );
        bound(&total_sql, period, unit, channel)
            .fetch_one(&mut *conn)
            .await?
    } else {
        rows.iter().fold(
            Row {
                key: unit,
                ..Row::default()
            },
            |mut total, row| {
                total.submitted += row.submitted;
                total.published += row.published;
                total.returned += row.returned;
                total.rejected += row.rejected;
                total.headlines += row.headlines;
                total.views += row.views;
                total.comments += row.comments;
                total
            },
        )
    };
    Ok((rows, total))
}

/// How the workflow runs in a period and scope: hours from first submission
/// to publication, hours waited at each stage, and what waits now.
#[derive(Debug, Default, Clone)]
pub struct Health {
    /// (stories published, median hours, 90th percentile hours).
    pub to_publication: (i64, f64, f64),
    /// (stage from 1, decisions, median hours, 90th percentile hours).
    pub stages: Vec<(i32, i64, f64, f64)>,
    /// (stage from 1, stories waiting there now).
    pub backlog: Vec<(i32, i64)>,
}

/// The workflow's health: the waits come from the daily rows (rebuilt from
/// the review events), the backlog from the stories as they are now.
pub async fn health(
    conn: &mut PgConnection,
    period: &Period,
    unit: Uuid,
    channel: Option<Uuid>,
) -> sqlx::Result<Health> {
    let waits: Vec<(i32, i64, Option<f64>, Option<f64>)> = sqlx::query_as(&format!(
        "{}
         select stage::int, count(*), percentile_cont(0.5) within group (order by hours),
                percentile_cont(0.9) within group (order by hours)
         from stories group by stage order by stage",
        scoped_days("stats_waits")
    ))
    .bind(period.first)
    .bind(period.last)
    .bind(unit)
    .bind(channel)
    .fetch_all(&mut *conn)
    .await?;
    let backlog: Vec<(i32, i64)> = sqlx::query_as(
        "with recursive scope_units as (
             select id from units where id = $1
             union all select u.id from units u join scope_units s on u.parent_id = s.id
         ), scope_channels as (
             select id from channels where id = $2
             union all select c.id from channels c join scope_channels s on c.parent_id = s.id
         )
         select a.review_stage::int + 1, count(*) from articles a
         where a.status in ('submitted', 'in_review') and a.unit_id in (select id from scope_units)
           and ($2::uuid is null or a.channel_id in (select id from scope_channels))
         group by a.review_stage order by a.review_stage",
    )
    .bind(unit)
    .bind(channel)
    .fetch_all(&mut *conn)
    .await?;
    let mut health = Health {
        backlog,
        ..Health::default()
    };
    for (stage, n, p50, p90) in waits {
        let figures = (n, p50.unwrap_or(0.0), p90.unwrap_or(0.0));
        if stage == 0 {
            health.to_publication = figures;
        } else {
            health.stages.push((stage, figures.0, figures.1, figures.2));
        }
    }
    Ok(health)
}

/// The unit a staff member may see: editors their own subtree, chief
/// editors and admins the whole tree. A requested unit outside it is
/// refused.
async fn scope_unit(
    conn: &mut PgConnection,
    staff: &Staff,
    requested: &str,
) -> Result<Uuid, AppError> {
    let own_root = if staff.role == Role::Editor {
        staff.unit_id
    } else {
        crate::units::db::root(conn)
            .await?
            .ok_or(AppError::NotFound)?
    };
    let Ok(requested) = requested.trim().parse::<Uuid>() else {
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

fn sort_rows(rows: &mut [Row], sort: &str) {
    if let Some(index) = COLUMNS.iter().position(|(key, _)| *key == sort) {
        rows.sort_by(|a, b| b.values()[index].cmp(&a.values()[index]));
    }
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
    csv_url: String,
    xlsx_url: String,
    chart_url: String,
    drill: bool,
    health: Health,
    error: Option<String>,
}

impl StatsPage {
    fn link(&self, changes: &[(&str, &str)]) -> String {
        let mut fields = vec![
            ("period", self.query.period.clone()),
            ("from", self.query.from.clone()),
            ("to", self.query.to.clone()),
            ("unit", self.query.unit.clone()),
            ("channel", self.query.channel.clone()),
            ("view", self.view.to_owned()),
            ("sort", self.query.sort.clone()),
        ];
        for (key, value) in changes {
            if let Some(field) = fields.iter_mut().find(|(k, _)| k == key) {
                field.1 = (*value).to_owned();
            }
        }
        fields.retain(|(_, value)| !value.is_empty());
        format!(
            "/admin/stats?{}",
            serde_urlencoded::to_string(&fields).unwrap_or_default()
        )
    }

    fn sort_link(&self, key: &str) -> String {
        self.link(&[("sort", key)])
    }

    fn view_link(&self, view: &str) -> String {
        self.link(&[("view", view), ("sort", "")])
    }

    fn unit_link(&self, key: &Uuid) -> String {
        self.link(&[("unit", &key.to_string()), ("view", "units")])
    }
}

struct Computed {
    period: Period,
    view: View,
    health: Health,
    rows: Vec<Row>,
    total: Row,
    scope_name: String,
}

async fn compute(
    conn: &mut PgConnection,
    staff: &Staff,
    query: &StatsQuery,
) -> Result<Result<Computed, &'static str>, AppError> {
    staff.require(Permission::ViewStatistics)?;
    let settings = crate::settings::db::load(conn).await?;
    let today = Utc::now().with_timezone(&settings.time_zone).date_naive();
    let Some(period) = period(query, settings.time_zone, today) else {
        return Ok(Err("日期格式应为 年-月-日，且截止日期不早于起始日期。"));
    };
    let unit = scope_unit(conn, staff, &query.unit).await?;
    let channel = match query.channel.trim() {
        "" => None,
        slug => Some(
            sqlx::query_scalar("select id from channels where slug = $1")
                .bind(slug)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(AppError::NotFound)?,
        ),
    };
    let today = Utc::now().with_timezone(&settings.time_zone).date_naive();
    days::refresh(
        conn,
        period.first,
        period.last.min(today),
        settings.time_zone.name(),
    )
    .await?;
    let view = View::parse(&query.view);
    let (mut rows, total) = table(conn, &period, unit, channel, view).await?;
    let health = health(conn, &period, unit, channel).await?;
    sort_rows(&mut rows, &query.sort);
    let scope_name = sqlx::query_scalar("select name from units where id = $1")
        .bind(unit)
        .fetch_one(&mut *conn)
        .await?;
    Ok(Ok(Computed {
        period,
        view,
        health,
        rows,
        total,
        scope_name,
    }))
}

/// GET /admin/stats
pub async fn index(
    pool: web::Data<PgPool>,
    staff: Staff,
    csrf: CsrfToken,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let mut conn = pool.acquire().await?;
    let computed = compute(&mut conn, &staff, &query).await?;
    let layout = AdminLayout::load(&mut conn, &staff, &csrf, "稿件统计", "/admin/stats").await?;
    let units = crate::units::db::tree(&mut conn, false)
        .await?
        .into_iter()
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
    let health = computed
        .as_ref()
        .map(|c| c.health.clone())
        .unwrap_or_default();
    let (status, view, period_label, scope_name, rows, total, drill, error) = match computed {
        Ok(c) => (
            StatusCode::OK,
            c.view.as_str(),
            format!("{} 至 {}", c.period.first, c.period.last),
            c.scope_name,
            c.rows,
            c.total,
            c.view == View::Units,
            None,
        ),
        Err(message) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            View::parse(&query.view).as_str(),
            String::new(),
            String::new(),
            Vec::new(),
            Row::default(),
            false,
            Some(message.to_owned()),
        ),
    };
    let csv_query = serde_urlencoded::to_string([
        ("period", query.period.as_str()),
        ("from", query.from.as_str()),
        ("to", query.to.as_str()),
        ("unit", query.unit.as_str()),
        ("channel", query.channel.as_str()),
        ("view", view),
        ("sort", query.sort.as_str()),
    ])
    .unwrap_or_default();
    render(
        status,
        &StatsPage {
            layout,
            view,
            period_label,
            scope_name,
            units,
            channels,
            columns: COLUMNS,
            rows,
            total,
            csv_url: format!("/admin/stats.csv?{csv_query}"),
            xlsx_url: format!("/admin/stats.xlsx?{csv_query}"),
            chart_url: format!("/admin/stats.svg?{csv_query}"),
            drill,
            health,
            error,
            query,
        },
    )
}

/// The table as CSV: UTF-8 with a byte-order mark, a header row, one row per
/// line and the total last.
pub fn csv(rows: &[Row], total: &Row, first_heading: &str) -> String {
    let quote = |text: &str| format!("\"{}\"", text.replace('"', "\"\""));
    let mut out = String::from("\u{feff}");
    out.push_str(&quote(first_heading));
    for (_, heading) in COLUMNS {
        out.push(',');
        out.push_str(&quote(heading));
    }
    out.push_str("\r\n");
    for (name, values) in rows
        .iter()
        .map(|row| (row.name.as_str(), row.values()))
        .chain([("合计", total.values())])
    {
        out.push_str(&quote(name));
        for value in values {
            out.push(',');
            out.push_str(&value.to_string());
        }
        out.push_str("\r\n");
    }
    out
}

/// The table as an Excel workbook: one sheet, a bold header row, numbers
/// as numbers, the total last.
pub fn xlsx(rows: &[Row], total: &Row, first_heading: &str) -> Result<Vec<u8>, AppError> {
    let fail = |error: rust_xlsxwriter::XlsxError| AppError::Internal(error.into());
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("稿件统计").map_err(fail)?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    sheet
        .write_string_with_format(0, 0, first_heading, &bold)
        .map_err(fail)?;
    for (column, (_, heading)) in COLUMNS.iter().enumerate() {
        sheet
            .write_string_with_format(0, column as u16 + 1, *heading, &bold)
            .map_err(fail)?;
    }
    for (line, (name, values)) in rows
        .iter()
        .map(|row| (row.name.as_str(), row.values()))
        .chain([("合计", total.values())])
        .enumerate()
    {
        let line = line as u32 + 1;
        sheet.write_string(line, 0, name).map_err(fail)?;
        for (column, value) in values.iter().enumerate() {
            sheet
                .write_number(line, column as u16 + 1, *value as f64)
                .map_err(fail)?;
        }
    }
    sheet.set_column_width(0, 28).map_err(fail)?;
    book.save_to_buffer().map_err(fail)
}

/// The ranking of a table's rows by published stories, as an SVG bar chart
/// (at most 20 bars), legible in Chinese and printable.
pub fn ranking_svg(rows: &[Row], title: &str) -> String {
    const LABELS: usize = 190;
    const BARS: usize = 400;
    let mut ranked: Vec<&Row> = rows.iter().collect();
    ranked.sort_by(|a, b| b.published.cmp(&a.published).then(a.name.cmp(&b.name)));
    ranked.truncate(20);
    let most = ranked.iter().map(|r| r.published).max().unwrap_or(0).max(1);
    let height = 50 + ranked.len() * 26;
    let width = LABELS + BARS + 70;
    let escape = crate::web::variant::escape;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{title}\" \
         font-family=\"Noto Sans CJK SC, Source Han Sans SC, Microsoft YaHei, sans-serif\" font-size=\"13\">\
         <title>{title}</title><text x=\"10\" y=\"24\" font-size=\"15\" font-weight=\"bold\">{title}</text>",
        title = escape(title)
    );
    for (index, row) in ranked.iter().enumerate() {
        let y = 40 + index * 26;
        let bar = (row.published as usize * BARS) / most as usize;
        let name = escape(&row.name);
        svg.push_str(&format!(
            "<text x=\"{label}\" y=\"{text_y}\" text-anchor=\"end\">{name}</text>\
             <rect class=\"bar\" x=\"{left}\" y=\"{y}\" width=\"{bar}\" height=\"18\" fill=\"#00706b\">\
             <title>{name}：{count}</title></rect>\
             <text x=\"{after}\" y=\"{text_y}\">{count}</text>",
            label = LABELS - 8,
            text_y = y + 14,
            left = LABELS,
            after = LABELS + bar + 6,
            count = row.published,
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[derive(Deserialize)]
pub struct Format {
    format: String,
}

/// GET /admin/stats.{csv,xlsx}
pub async fn download(
    pool: web::Data<PgPool>,
    staff: Staff,
    format: web::Path<Format>,
    query: web::Query<StatsQuery>,
) -> Result<HttpResponse, AppError> {
    if !matches!(format.format.as_str(), "csv" | "xlsx" | "svg") {
        return Err(AppError::NotFound);
    }
    let mut conn = pool.acquire().await?;
    let computed = compute(&mut conn, &staff, &query)
        .await?
        .map_err(|_| AppError::BadRequest)?;
    let heading = match computed.view {
        View::Units => "单位",
        View::Writers => "通讯员",
        View::Authors => "作者",
    };
    let name = format!(
        "stats-{}-{}-{}.{}",
        computed.view.as_str(),
        computed.period.first,
        computed.period.last,
        format.format
    );
    let mut response = HttpResponse::Ok();
    response.insert_header((
        "Content-Disposition",
        format!("attachment; filename=\"{name}\""),
    ));
    match format.format.as_str() {
        "xlsx" => {
            let body = xlsx(&computed.rows, &computed.total, heading)?;
            Ok(response
                .content_type("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
                .body(body))
        }
        "svg" => {
            let title = format!(
                "{heading}采用稿件排名（{} 至 {}）",
                computed.period.first, computed.period.last
            );
            Ok(HttpResponse::Ok()
                .content_type("image/svg+xml; charset=utf-8")
                .body(ranking_svg(&computed.rows, &title)))
        }
        _ => {
            let body = csv(&computed.rows, &computed.total, heading);
            Ok(response.content_type("text/csv; charset=utf-8").body(body))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(period: &str, from: &str, to: &str) -> StatsQuery {
        StatsQuery {
            period: period.into(),
            from: from.into(),
            to: to.into(),
            ..StatsQuery::default()
        }
    }

    #[test]
    fn periods_are_whole_days_in_the_site_time_zone() {
        let zone = chrono_tz::Asia::Shanghai;
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let month = period(&query("month", "", ""), zone, today).unwrap();
        assert_eq!(month.first.to_string(), "2026-11-01");
        assert_eq!(month.last.to_string(), "2026-11-30");
        assert_eq!(month.start.to_rfc3339(), "2026-10-31T16:00:00+00:00");
        assert_eq!(month.end.to_rfc3339(), "2026-11-30T16:00:00+00:00");
        let quarter = period(&query("quarter", "2026-05-10", ""), zone, today).unwrap();
        assert_eq!(
            (quarter.first.to_string(), quarter.last.to_string()),
            ("2026-04-01".into(), "2026-06-30".into())
        );
        let year = period(&query("year", "", ""), zone, today).unwrap();
        assert_eq!(year.last.to_string(), "2026-12-31");
        assert!(period(&query("range", "2026-03-02", "2026-03-01"), zone, today).is_none());
        assert!(period(&query("month", "2026-13-01", ""), zone, today).is_none());
    }

    #[test]
    fn csv_has_a_bom_a_header_and_the_total() {
        let row = Row {
            key: Uuid::nil(),
            name: "国网\"济南\"供电公司".into(),
            submitted: 3,
            published: 2,
            returned: 1,
            rejected: 0,
            headlines: 1,
            views: 120,
            comments: 4,
        };
        let text = csv(std::slice::from_ref(&row), &row, "单位");
        assert!(text.starts_with('\u{feff}'));
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(
            lines[0],
            "\"单位\",\"投稿\",\"采用\",\"退回\",\"未采用\",\"头条\",\"阅读量\",\"评论\""
        );
        assert_eq!(lines[1], "\"国网\"\"济南\"\"供电公司\",3,2,1,0,1,120,4");
        assert_eq!(lines[2], "\"合计\",3,2,1,0,1,120,4");
    }
}
