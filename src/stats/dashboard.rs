//! The backend's landing page (/admin): a writer's month so far and year,
//! their own figures and target, and how their unit ranks among its
//! sibling units, from the daily rows.

use actix_web::HttpResponse;
use askama::Template;
use chrono::{Datelike, NaiveDate};
use sqlx::PgConnection;

use crate::auth::Permission;
use crate::backend::Backend;
use crate::error::AppError;
use crate::ids::{UnitId, UserId};
use crate::layout::AdminLayout;
use crate::web::page;

use super::period::Progress;
use super::quotas;
use super::{Row, View, days};

/// One line of the unit ranking.
pub struct Ranked {
    pub rank: usize,
    pub name: String,
    pub published: i64,
    pub own: bool,
}

pub struct YearSummary {
    pub year: i32,
    pub mine: Row,
    pub progress: Progress,
    pub unit_name: String,
    pub unit_progress: Progress,
    /// The unit's place among its siblings and how many there are.
    pub unit_rank: Option<(usize, usize)>,
    /// The top of the ranking, and the writer's unit if it is lower.
    pub ranking: Vec<Ranked>,
}

const SHOWN: usize = 10;

pub async fn year_summary(
    conn: &mut PgConnection,
    writer: UserId,
    unit: UnitId,
    zone: chrono_tz::Tz,
    today: NaiveDate,
) -> Result<YearSummary, crate::error::AppError> {
    let year = today.year();
    let period = super::Period::year(year).ok_or(crate::error::AppError::BadRequest)?;
    days::refresh(conn, period.first, today, zone.name()).await?;
    let mine: Row = sqlx::query_as(
        "select $1::uuid as key, ''::text as name,
                coalesce(sum(submitted), 0)::bigint as submitted,
                coalesce(sum(published), 0)::bigint as published,
                coalesce(sum(returned), 0)::bigint as returned,
                coalesce(sum(rejected), 0)::bigint as rejected,
                coalesce(sum(headlines), 0)::bigint as headlines,
                coalesce(sum(views), 0)::bigint as views,
                coalesce(sum(comments), 0)::bigint as comments
         from stats_days where writer_id = $1 and day >= $2 and day <= $3",
    )
    .bind(writer)
    .bind(period.first)
    .bind(period.last)
    .fetch_one(&mut *conn)
    .await?;
    let own_target = quotas::targets(conn, year, View::Writers, &[writer.uuid()])
        .await?
        .get(&writer.uuid())
        .copied();
    let (unit_name, parent): (String, Option<UnitId>) =
        sqlx::query_as("select name, parent_id from units where id = $1")
            .bind(unit)
            .fetch_one(&mut *conn)
            .await?;
    // The unit's siblings (each with the units below it), or the unit
    // alone at the root.
    let (rows, _) = super::table(conn, &period, parent.unwrap_or(unit), None, View::Units).await?;
    let mut siblings: Vec<Row> = rows
        .into_iter()
        .filter(|row| parent.is_none() || Some(row.key) != parent.map(UnitId::uuid))
        .collect();
    siblings.sort_by(|a, b| b.published.cmp(&a.published).then(a.name.cmp(&b.name)));
    let unit_target = quotas::targets(conn, year, View::Units, &[unit.uuid()])
        .await?
        .get(&unit.uuid())
        .copied();
    let unit_done = siblings
        .iter()
        .find(|row| row.key == unit.uuid())
        .map_or(0, |row| row.published);
    // Equal figures share a rank.
    let mut ranking = Vec::new();
    let mut unit_rank = None;
    for (index, row) in siblings.iter().enumerate() {
        let rank = 1 + siblings
            .iter()
            .take(index)
            .filter(|other| other.published > row.published)
            .count();
        let own = row.key == unit.uuid();
        if own {
            unit_rank = Some((rank, siblings.len()));
        }
        if index < SHOWN || own {
            ranking.push(Ranked {
                rank,
                name: row.name.clone(),
                published: row.published,
                own,
            });
        }
    }
    Ok(YearSummary {
        year,
        progress: Progress::new(year, own_target, mine.published, today),
        mine,
        unit_name,
        unit_progress: Progress::new(year, unit_target, unit_done, today),
        unit_rank: if parent.is_some() { unit_rank } else { None },
        ranking: if parent.is_some() {
            ranking
        } else {
            Vec::new()
        },
    })
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct Dashboard {
    layout: AdminLayout,
    display_name: String,
    /// The writer's month so far, for staff who write.
    month: Option<MonthTotals>,
    /// The writer's year: their figures, target and their unit's rank.
    year: Option<YearSummary>,
}

/// A writer's stories this month (in the site's time zone).
#[derive(sqlx::FromRow)]
pub struct MonthTotals {
    pub written: i64,
    pub submitted: i64,
    pub published: i64,
    pub views: i64,
}

pub async fn dashboard(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::UseBackend)?;
    let layout = AdminLayout::load(&mut conn, &staff, &csrf, "工作台", "/admin").await?;
    let month = if staff.can(Permission::WriteArticles) {
        let tz = layout.settings.time_zone.name();
        let totals: MonthTotals = sqlx::query_as(
            "select count(*) as written,
                    count(*) filter (where exists (select 1 from review_events e
                                                   where e.article_id = a.id and e.action = 'submit')) as submitted,
                    count(*) filter (where a.status = 'published') as published,
                    coalesce(sum(t.views) filter (where a.status = 'published'), 0)::bigint as views
             from articles a left join article_totals t on t.article_id = a.id
             where a.created_by = $1
               and a.created_at >= date_trunc('month', now() at time zone $2) at time zone $2",
        )
        .bind(staff.id)
        .bind(tz)
        .fetch_one(&mut *conn)
        .await?;
        Some(totals)
    } else {
        None
    };
    let year = if staff.can(Permission::WriteArticles) {
        let zone = layout.settings.time_zone;
        let today = chrono::Utc::now().with_timezone(&zone).date_naive();
        Some(year_summary(&mut conn, staff.id, staff.unit_id, zone, today).await?)
    } else {
        None
    };
    page(&Dashboard {
        layout,
        display_name: staff.display_name,
        month,
        year,
    })
}
