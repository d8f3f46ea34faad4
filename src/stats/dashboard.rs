//! The backend's landing page (/admin): a writer's month so far and year,
//! their own figures and target, and how their unit ranks among its
//! sibling units, from the daily rows.

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{Datelike, NaiveDate};
use sqlx::PgConnection;

use crate::articles::queue;
use crate::auth::Permission;
use crate::backend::Backend;
use crate::error::AppError;
use crate::ids::{UnitId, UserId};
use crate::layout::AdminLayout;
use crate::site::TreeCache;
use crate::web::page;

use super::period::{Period, Progress};
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
    let period = Period::year(year).ok_or(crate::error::AppError::BadRequest)?;
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
    // The unit's own figure counts the units below it: its row among its
    // siblings, or at the root the whole tree.
    let unit_done = match parent {
        Some(_) => siblings
            .iter()
            .find(|row| row.key == unit.uuid())
            .map_or(0, |row| row.published),
        None => siblings.iter().map(|row| row.published).sum(),
    };
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

/// What waits for the staff member: stories to review, their own stories
/// returned for changes and drafts not yet submitted, scheduled stories
/// that missed their time.
pub struct Todo {
    /// Stories waiting for this reviewer, counted up to `WAITING_CAP`.
    pub waiting: Option<i64>,
    pub returned: i64,
    pub drafts: i64,
    pub missed: Option<i64>,
}

/// Waiting stories are counted up to this many.
const WAITING_CAP: i64 = 1000;

impl Todo {
    pub fn waiting_shown(&self) -> String {
        match self.waiting {
            Some(n) if n >= WAITING_CAP => format!("{WAITING_CAP}+"),
            Some(n) => n.to_string(),
            None => String::new(),
        }
    }
}

/// The stories of a reviewer's unit and the units below it, this month and
/// this year.
pub struct Desk {
    pub unit_name: String,
    pub month: Row,
    pub year: Row,
}

#[derive(Template)]
#[template(path = "admin/dashboard.html")]
struct Dashboard {
    layout: AdminLayout,
    display_name: String,
    /// 上次登录: the time and address of the login before this one.
    last_login: Option<String>,
    todo: Todo,
    /// The writer's month so far, for staff who write.
    month: Option<MonthTotals>,
    /// The writer's year: their figures, target and their unit's rank.
    year: Option<YearSummary>,
    /// A reviewer's unit with the units below it.
    desk: Option<Desk>,
}

/// A writer's stories this month (in the site's time zone): written counts
/// the stories begun this month, the others what happened this month, from
/// the same daily figures as the year's.
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
    tree_cache: web::Data<TreeCache>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::UseBackend)?;
    let layout = AdminLayout::load(&mut conn, &staff, &csrf, "工作台", "/admin").await?;
    let zone = layout.settings.time_zone;
    let today = chrono::Utc::now().with_timezone(&zone).date_naive();
    let month_period = Period {
        first: today.with_day(1).unwrap_or(today),
        last: today,
    };
    let previous: Option<(chrono::DateTime<chrono::Utc>, String)> = sqlx::query_as(
        "select previous_login_at, previous_login_ip from users
         where id = $1 and previous_login_at is not null",
    )
    .bind(staff.id)
    .fetch_optional(&mut *conn)
    .await?;
    let last_login = previous.map(|(at, ip)| {
        let from = if ip.is_empty() {
            String::new()
        } else {
            format!("，地址 {ip}")
        };
        format!("上次登录：{}{from}", layout.settings.format_minute(at))
    });
    let (returned, drafts): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where status = 'returned'),
                count(*) filter (where status = 'draft')
         from articles where created_by = $1 and status in ('returned', 'draft')",
    )
    .bind(staff.id)
    .fetch_one(&mut *conn)
    .await?;
    let waiting = if staff.can(Permission::ReviewArticles) {
        let trees = tree_cache.current(&mut conn).await?;
        Some(queue::waiting_count(&mut conn, &staff, &trees, WAITING_CAP).await?)
    } else {
        None
    };
    let missed = if staff.can(Permission::PublishArticles) {
        Some(
            sqlx::query_scalar("select count(*) from articles where schedule_missed")
                .fetch_one(&mut *conn)
                .await?,
        )
    } else {
        None
    };
    let todo = Todo {
        waiting,
        returned,
        drafts,
        missed,
    };
    let (month, year) = if staff.can(Permission::WriteArticles) {
        // The year's summary brings the days up to date first.
        let year = year_summary(&mut conn, staff.id, staff.unit_id, zone, today).await?;
        let written: i64 = sqlx::query_scalar(
            "select count(*) from articles
             where created_by = $1
               and created_at >= date_trunc('month', now() at time zone $2) at time zone $2",
        )
        .bind(staff.id)
        .bind(zone.name())
        .fetch_one(&mut *conn)
        .await?;
        let (submitted, published, views): (i64, i64, i64) = sqlx::query_as(
            "select coalesce(sum(submitted), 0)::bigint, coalesce(sum(published), 0)::bigint,
                    coalesce(sum(views), 0)::bigint
             from stats_days where writer_id = $1 and day >= $2 and day <= $3",
        )
        .bind(staff.id)
        .bind(month_period.first)
        .bind(month_period.last)
        .fetch_one(&mut *conn)
        .await?;
        let month = MonthTotals {
            written,
            submitted,
            published,
            views,
        };
        (Some(month), Some(year))
    } else {
        (None, None)
    };
    let desk = if staff.can(Permission::ReviewArticles) {
        let year_period = Period::year(today.year()).ok_or(AppError::BadRequest)?;
        // The writer's summary brought the days up to date already.
        if year.is_none() {
            days::refresh(&mut conn, year_period.first, today, zone.name()).await?;
        }
        let (_, month) =
            super::table(&mut conn, &month_period, staff.unit_id, None, View::Units).await?;
        let (_, year) =
            super::table(&mut conn, &year_period, staff.unit_id, None, View::Units).await?;
        let unit_name: String = sqlx::query_scalar("select name from units where id = $1")
            .bind(staff.unit_id)
            .fetch_one(&mut *conn)
            .await?;
        Some(Desk {
            unit_name,
            month,
            year,
        })
    } else {
        None
    };
    page(&Dashboard {
        layout,
        display_name: staff.display_name,
        last_login,
        todo,
        month,
        year,
        desk,
    })
}
