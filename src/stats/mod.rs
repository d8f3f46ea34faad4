//! Contribution statistics (稿件统计): for a period (month, quarter, year
//! or a day range, in the site's time zone) and a scope (a unit subtree, a
//! channel subtree), what each unit, correspondent and credited author
//! contributed: submitted, published, returned, rejected, 头条, readings of
//! the period and approved comments. Every figure is computed by SQL from
//! the review events, stories, readings and comments: nothing is counted by
//! hand. A unit's row includes the units below it. Tables download as CSV
//! (UTF-8 with a BOM, so spreadsheet programs read the Chinese) and as
//! Excel workbooks (rust_xlsxwriter).

pub mod charts;
pub mod dashboard;
pub mod days;
pub mod export;
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
use crate::layout::AdminLayout;
use crate::roles::Role;
use crate::web::csrf::CsrfToken;
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
    /// "1": only the rows behind their yearly target.
    #[serde(default)]
    behind: String,
    /// Downloads: main or health.
    #[serde(default)]
    table: String,
    /// Charts: ranking, months or backlog.
    #[serde(default)]
    chart: String,
}

/// A period as days [first, last] of the site's calendar; the daily rows
/// are cut in the site's time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Period {
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl Period {
    /// The whole of `year`.
    pub fn year(year: i32) -> Option<Period> {
        Some(Period {
            first: NaiveDate::from_ymd_opt(year, 1, 1)?,
            last: NaiveDate::from_ymd_opt(year, 12, 31)?,
        })
    }
}

/// The period a query asks for; None when a date is malformed.
pub fn period(query: &StatsQuery, today: NaiveDate) -> Option<Period> {
    let day = |text: &str| -> Option<NaiveDate> {
        match text.trim() {
            "" => Some(today),
            text => NaiveDate::parse_from_str(text, "%Y-%m-%d").ok(),
        }
    };
    let anchor = day(&query.from)?;
    let (first, last) = match query.period.as_str() {
        "year" => {
            let year = Period::year(anchor.year())?;
            (year.first, year.last)
        }
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
    // Newsrooms count from this century; a far-off date is a typing slip,
    // and would have every day since built.
    if first.year() < 2000 || last.year() > 2999 {
        return None;
    }
    Some(Period { first, last })
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
    /// Against the year's target (units and correspondents).
    #[sqlx(skip)]
    pub progress: Option<quotas::Progress>,
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

/// `with recursive` and the scope: `scope_units`, the unit parameter `unit`
/// ($n) and the units below it, and `scope_channels`, likewise for the
/// channel parameter `channel` (empty when it is null).
fn scope_ctes(unit: &str, channel: &str) -> String {
    format!(
        "with recursive scope_units as (
             select id from units where id = {unit}
             union all select u.id from units u join scope_units s on u.parent_id = s.id
         ), scope_channels as (
             select id from channels where id = {channel}
             union all select c.id from channels c join scope_channels s on c.parent_id = s.id
         )"
    )
}

/// The scope's daily rows of `table` in the period: $1 and $2 the first and
/// last day, $3 the unit (with its subtree), $4 the channel (with its
/// subtree) or null.
fn scoped_days(table: &str) -> String {
    format!(
        "{}, stories as (
             select * from {table} d
             where d.day >= $1 and d.day <= $2
               and d.unit_id in (select id from scope_units)
               and ($4::uuid is null or d.channel_id in (select id from scope_channels))
         )",
        scope_ctes("$3", "$4")
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

/// The rows of a unit table: `parts` maps each unit of the scope ($3) to
/// its row, `top`: the scope unit's own stories to its own row, every
/// other unit to the child of the scope unit it lies under.
const UNIT_PARTS: &str = "tree as (
         select id as top, id from units where parent_id = $3
         union all select t.top, u.id from units u join tree t on u.parent_id = t.id
     ), parts as (
         select $3::uuid as top, $3::uuid as id
         union all select top, id from tree
     )";

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
            "{}, {UNIT_PARTS}
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
    let mut rows = bound(&grouped, period, unit, channel)
        .fetch_all(&mut *conn)
        .await?;
    if view == View::Units {
        // The scope unit's own row: its stories, not its sub-units'.
        for row in rows.iter_mut().filter(|row| row.key == unit) {
            row.name.push_str("（本级）");
        }
    }
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
    let mut health = Health {
        backlog: backlog_now(conn, unit, channel).await?,
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

/// (stage from 1, stories of the scope waiting there now).
pub async fn backlog_now(
    conn: &mut PgConnection,
    unit: Uuid,
    channel: Option<Uuid>,
) -> sqlx::Result<Vec<(i32, i64)>> {
    sqlx::query_as(&format!(
        "{}
         select a.review_stage::int + 1, count(*) from articles a
         where a.status in ('submitted', 'in_review') and a.unit_id in (select id from scope_units)
           and ($2::uuid is null or a.channel_id in (select id from scope_channels))
         group by a.review_stage order by a.review_stage",
        scope_ctes("$1", "$2")
    ))
    .bind(unit)
    .bind(channel)
    .fetch_all(&mut *conn)
    .await
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
    } else if sort == "progress" {
        // The furthest behind first; rows without a target last.
        let pace = |row: &Row| {
            row.progress
                .as_ref()
                .filter(|p| p.target.is_some())
                .map(|p| p.done as f64 / p.expected.max(1) as f64)
                .unwrap_or(f64::INFINITY)
        };
        rows.sort_by(|a, b| pace(a).total_cmp(&pace(b)));
    }
}

/// Who may act on how many waiting stories now, counted as the review queue
/// counts (the stage's role, an editor's own units, not their own stories
/// nor those they passed in the story's current round): the editors of the
/// scope with the most, and the chief editors, who may all act on every
/// waiting story, in one line.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReviewerLoad {
    pub name: String,
    pub unit_name: String,
    pub role: String,
    pub waiting: i64,
    /// Hours since the longest-waiting of them last changed.
    pub oldest_hours: f64,
}

pub async fn reviewer_loads(
    conn: &mut PgConnection,
    unit: Uuid,
    channel: Option<Uuid>,
) -> sqlx::Result<Vec<ReviewerLoad>> {
    const EDITORS: usize = 30;
    let loads: Vec<ReviewerLoad> = sqlx::query_as(&format!(
        "{}, ancestry as (
             select id as unit_id, id as ancestor_id, parent_id from units
             union all select a.unit_id, u.id, u.parent_id from ancestry a join units u on u.id = a.parent_id
         ), waiting as materialized (
             select a.id, a.unit_id, a.created_by, a.updated_at, a.passed_by,
                    c.review_stages[a.review_stage + 1] as stage_role
             from articles a join channels c on c.id = a.channel_id
             where a.status in ('submitted', 'in_review')
               and a.unit_id in (select id from scope_units)
               and ($2::uuid is null or a.channel_id in (select id from scope_channels))
         ), reviewers as (
             select id, display_name, role, unit_id from users
             where active and role in ('editor', 'chief_editor')
               and unit_id in (select id from scope_units)
         ), editor_loads as (
             select r.id, count(*) as waiting, min(w.updated_at) as oldest
             from waiting w join ancestry an on an.unit_id = w.unit_id
             join users r on r.unit_id = an.ancestor_id
             where r.active and r.role = 'editor' and r.unit_id in (select id from scope_units)
               and w.stage_role = 'editor' and w.created_by <> r.id
               and not r.id = any(w.passed_by)
             group by r.id
         ), eligible as materialized (
             select created_by, updated_at, passed_by from waiting
             where stage_role in ('editor', 'chief_editor')
         ), by_writer as (
             select created_by, count(*) as stories from eligible group by created_by
         ), by_passer as (
             select passer, count(*) as stories from eligible, unnest(passed_by) passer
             where passer <> created_by group by passer
         ), oldest as materialized (
             -- The oldest story a chief may take is among these: at most
             -- as many come before it as any chief wrote or passed.
             select * from eligible order by updated_at
             limit 1 + coalesce((select max(stories) from by_writer), 0)
                     + coalesce((select max(stories) from by_passer), 0)
         ), chief_loads as (
             -- Chief editors may act on every waiting story but their own
             -- and those they passed: all, less those, counted once for
             -- all chiefs (a scan of the waiting stories per chief took
             -- 176 ms for 81 chiefs and 5,000 stories).
             select r.id,
                    (select count(*) from eligible) - coalesce(w.stories, 0)
                    - coalesce(p.stories, 0) as waiting,
                    (select min(o.updated_at) from oldest o
                     where o.created_by <> r.id and not r.id = any(o.passed_by)) as oldest
             from reviewers r
             left join by_writer w on w.created_by = r.id
             left join by_passer p on p.passer = r.id
             where r.role = 'chief_editor'
         ), loads as (
             select * from editor_loads union all select * from chief_loads where waiting > 0
         )
         select r.display_name as name, n.name as unit_name, r.role, l.waiting,
                extract(epoch from now() - l.oldest)::float8 / 3600 as oldest_hours
         from loads l join reviewers r on r.id = l.id join units n on n.id = r.unit_id
         order by l.waiting desc, r.display_name",
        scope_ctes("$1", "$2")
    ))
    .bind(unit)
    .bind(channel)
    .fetch_all(&mut *conn)
    .await?;
    let (chiefs, editors): (Vec<_>, Vec<_>) = loads
        .into_iter()
        .partition(|load| load.role == "chief_editor");
    let mut shown: Vec<ReviewerLoad> = editors.into_iter().take(EDITORS).collect();
    match chiefs.len() {
        0 => {}
        1 => shown.extend(chiefs),
        n => shown.push(ReviewerLoad {
            name: format!("总编（{n} 人，任一人均可审）"),
            unit_name: "全部单位".into(),
            role: "chief_editor".into(),
            waiting: chiefs.iter().map(|c| c.waiting).max().unwrap_or(0),
            oldest_hours: chiefs.iter().map(|c| c.oldest_hours).fold(0.0, f64::max),
        }),
    }
    Ok(shown)
}

/// Published stories per month of the period for each of the table's unit
/// rows (a unit with the units below it): the eight with the most, and the
/// rest together as 其他.
pub async fn monthly(
    conn: &mut PgConnection,
    period: &Period,
    unit: Uuid,
    channel: Option<Uuid>,
) -> sqlx::Result<(Vec<NaiveDate>, Vec<(String, Vec<i64>)>)> {
    let counts: Vec<(String, NaiveDate, i64)> = sqlx::query_as(&format!(
        "{}, {UNIT_PARTS}, by_unit as (
             select unit_id, date_trunc('month', day)::date as month, sum(published) as published
             from stories where published > 0 group by 1, 2
         )
         select n.name, b.month, sum(b.published)::bigint
         from by_unit b join parts p on p.id = b.unit_id join units n on n.id = p.top
         group by n.name, b.month",
        scoped_days("stats_days")
    ))
    .bind(period.first)
    .bind(period.last)
    .bind(unit)
    .bind(channel)
    .fetch_all(&mut *conn)
    .await?;
    let mut months = Vec::new();
    let mut month = period.first.with_day(1).unwrap_or(period.first);
    while month <= period.last {
        months.push(month);
        month = match month.checked_add_months(chrono::Months::new(1)) {
            Some(next) => next,
            None => break,
        };
    }
    let mut series: Vec<(String, Vec<i64>)> = Vec::new();
    for (name, month, count) in counts {
        let Some(index) = months.iter().position(|m| *m == month) else {
            continue;
        };
        let position = match series.iter().position(|(n, _)| *n == name) {
            Some(position) => position,
            None => {
                series.push((name, vec![0; months.len()]));
                series.len() - 1
            }
        };
        series[position].1[index] += count;
    }
    series.sort_by(|a, b| {
        let total = |values: &Vec<i64>| values.iter().sum::<i64>();
        total(&b.1).cmp(&total(&a.1)).then(a.0.cmp(&b.0))
    });
    if series.len() > 9 {
        let rest = series.split_off(8);
        let mut other = vec![0; months.len()];
        for (_, values) in rest {
            for (sum, value) in other.iter_mut().zip(values) {
                *sum += value;
            }
        }
        series.push(("其他".to_string(), other));
    }
    Ok((months, series))
}

/// The backlog (stories waiting for review) at the end of each day of the
/// period up to today: today's backlog, less each later day's change.
pub async fn backlog_by_day(
    conn: &mut PgConnection,
    period: &Period,
    today: NaiveDate,
    unit: Uuid,
    channel: Option<Uuid>,
) -> sqlx::Result<Vec<(NaiveDate, i64)>> {
    let now: i64 = backlog_now(conn, unit, channel)
        .await?
        .iter()
        .map(|(_, n)| n)
        .sum();
    let changes: Vec<(NaiveDate, i64)> = sqlx::query_as(&format!(
        "{} select day, sum(waiting)::bigint from stories group by day",
        scoped_days("stats_days")
    ))
    .bind(period.first)
    .bind(today)
    .bind(unit)
    .bind(channel)
    .fetch_all(&mut *conn)
    .await?;
    let changes: std::collections::HashMap<NaiveDate, i64> = changes.into_iter().collect();
    let mut days = Vec::new();
    let mut level = now;
    let mut day = today;
    while day >= period.first {
        if day <= period.last {
            days.push((day, level));
        }
        level -= changes.get(&day).copied().unwrap_or(0);
        match day.pred_opt() {
            Some(before) => day = before,
            None => break,
        }
    }
    days.reverse();
    Ok(days)
}

/// A request's period and scope, checked and resolved; the days it reads
/// are current.
struct Scope {
    period: Period,
    today: NaiveDate,
    unit: Uuid,
    unit_name: String,
    channel: Option<Uuid>,
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
            sqlx::query_scalar("select id from channels where slug = $1")
                .bind(slug)
                .fetch_optional(&mut *conn)
                .await?
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
    let unit_name = sqlx::query_scalar("select name from units where id = $1")
        .bind(unit)
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
        let keys: Vec<Uuid> = rows.iter().map(|row| row.key).chain([scope.unit]).collect();
        let targets = quotas::targets(conn, year, scope.view, &keys).await?;
        for row in &mut rows {
            // The scope unit's own row holds only its own stories; its
            // target is measured against the whole scope, in the total.
            if scope.view == View::Units && row.key == scope.unit {
                continue;
            }
            row.progress = Some(quotas::Progress::new(
                year,
                targets.get(&row.key).copied(),
                done.get(&row.key).copied().unwrap_or(0),
                scope.today,
            ));
        }
        if scope.view == View::Units {
            total.progress = Some(quotas::Progress::new(
                year,
                targets.get(&scope.unit).copied(),
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
    error: Option<String>,
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
            page.error = Some(refusal.summary());
            return render(refusal.status, &page);
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

/// The main table as a sheet: the figures, then (units and
/// correspondents) the year's target, what is done and the percentage.
fn main_sheet(view: View, rows: &[Row], total: &Row) -> export::Sheet {
    let first = match view {
        View::Units => "单位",
        View::Writers => "通讯员",
        View::Authors => "作者",
    };
    let mut headings: Vec<String> = std::iter::once(first)
        .chain(COLUMNS.iter().map(|(_, heading)| *heading))
        .map(str::to_owned)
        .collect();
    let quotas = view != View::Authors;
    if quotas {
        headings.extend(["年度任务", "本年已采用", "完成率（%）", "进度"].map(str::to_owned));
    }
    let line = |name: &str, row: &Row| {
        let mut cells: Vec<export::Cell> = std::iter::once(name.into())
            .chain(row.values().into_iter().map(export::Cell::from))
            .collect();
        if let Some(progress) = row.progress.as_ref().filter(|_| quotas) {
            cells.push(
                progress
                    .target
                    .map_or(export::Cell::Empty, export::Cell::Int),
            );
            cells.push(progress.done.into());
            cells.push(
                progress
                    .percent()
                    .map_or(export::Cell::Empty, export::Cell::Decimal),
            );
            cells.push(match (progress.target, progress.behind()) {
                (None, _) => export::Cell::Empty,
                (Some(_), true) => "落后".into(),
                (Some(_), false) => "正常".into(),
            });
        }
        cells.resize(headings.len(), export::Cell::Empty);
        cells
    };
    let lines: Vec<Vec<export::Cell>> = rows
        .iter()
        .map(|row| line(&row.name, row))
        .chain([line("合计", total)])
        .collect();
    export::Sheet {
        name: "稿件统计".into(),
        headings,
        rows: lines,
    }
}

fn health_sheet(health: &Health, reviewers: &[ReviewerLoad]) -> export::Sheet {
    let mut rows = vec![vec![
        "从投稿到发布".into(),
        health.to_publication.0.into(),
        export::Cell::Decimal(health.to_publication.1),
        export::Cell::Decimal(health.to_publication.2),
    ]];
    for (stage, count, median, p90) in &health.stages {
        rows.push(vec![
            format!("第 {stage} 审等待").into(),
            (*count).into(),
            export::Cell::Decimal(*median),
            export::Cell::Decimal(*p90),
        ]);
    }
    for (stage, count) in &health.backlog {
        rows.push(vec![
            format!("当前积压：第 {stage} 审").into(),
            (*count).into(),
            export::Cell::Empty,
            export::Cell::Empty,
        ]);
    }
    for reviewer in reviewers {
        rows.push(vec![
            format!("待审：{}（{}）", reviewer.name, reviewer.unit_name).into(),
            reviewer.waiting.into(),
            export::Cell::Empty,
            export::Cell::Decimal(reviewer.oldest_hours),
        ]);
    }
    export::Sheet {
        name: "审核效率".into(),
        headings: [
            "环节",
            "篇次",
            "中位数（小时）",
            "90% 在（小时）以内；待审为最久等待（小时）",
        ]
        .map(str::to_owned)
        .to_vec(),
        rows,
    }
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
            (main_sheet(scope.view, &rows, &total), scope.view.as_str())
        }
        "health" => {
            let health = health(&mut conn, &scope.period, scope.unit, scope.channel).await?;
            let reviewers = reviewer_loads(&mut conn, scope.unit, scope.channel).await?;
            (health_sheet(&health, &reviewers), "health")
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
    fn periods_are_whole_months_quarters_years_or_ranges() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 24).unwrap();
        let month = period(&query("month", "", ""), today).unwrap();
        assert_eq!(month.first.to_string(), "2026-11-01");
        assert_eq!(month.last.to_string(), "2026-11-30");
        let quarter = period(&query("quarter", "2026-05-10", ""), today).unwrap();
        assert_eq!(
            (quarter.first.to_string(), quarter.last.to_string()),
            ("2026-04-01".into(), "2026-06-30".into())
        );
        let year = period(&query("year", "", ""), today).unwrap();
        assert_eq!(year.last.to_string(), "2026-12-31");
        assert!(period(&query("range", "2026-03-02", "2026-03-01"), today).is_none());
        assert!(period(&query("month", "2026-13-01", ""), today).is_none());
        assert!(period(&query("range", "0001-01-01", "2026-01-01"), today).is_none());
    }
}
