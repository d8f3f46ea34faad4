//! The statistics queries: every figure computed by SQL from the daily
//! rows the triggers keep (see migrations/README.md), for a period and a
//! scope (a unit subtree, a channel subtree).

use chrono::{Datelike, NaiveDate};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::ids::{ChannelId, UnitId};

use super::period::{Period, View};

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
    pub progress: Option<super::period::Progress>,
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

/// A table's rows and its total (the whole scope).
pub async fn table(
    conn: &mut PgConnection,
    period: &Period,
    unit: UnitId,
    channel: Option<ChannelId>,
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
        unit: UnitId,
        channel: Option<ChannelId>,
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
        for row in rows.iter_mut().filter(|row| row.key == unit.uuid()) {
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
                key: unit.uuid(),
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
    unit: UnitId,
    channel: Option<ChannelId>,
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
    unit: UnitId,
    channel: Option<ChannelId>,
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

pub fn sort_rows(rows: &mut [Row], sort: &str) {
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
    unit: UnitId,
    channel: Option<ChannelId>,
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
    unit: UnitId,
    channel: Option<ChannelId>,
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
    unit: UnitId,
    channel: Option<ChannelId>,
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
