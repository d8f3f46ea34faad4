//! Yearly contribution targets (年度任务) per unit and per correspondent, and
//! the progress against them: stories published in the year so far, and
//! whether that keeps pace with the share of the year gone by.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{Datelike, NaiveDate, Utc};
use serde::Deserialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{Period, View};
use crate::auth::{Permission, Staff};
use crate::backend::Backend;
use crate::error::{AppError, FormError};
use crate::ids::UnitId;
use crate::layout::AdminLayout;
use crate::web::csrf::CsrfToken;
use crate::web::redirect::see_other;
use crate::web::render;

use super::period::Progress;

/// The targets of `year` set for `keys`: units or correspondents.
pub async fn targets(
    conn: &mut PgConnection,
    year: i32,
    view: View,
    keys: &[Uuid],
) -> sqlx::Result<HashMap<Uuid, i64>> {
    let column = match view {
        View::Units => "unit_id",
        View::Writers => "user_id",
        View::Authors => return Ok(HashMap::new()),
    };
    let rows: Vec<(Uuid, i32)> = sqlx::query_as(&format!(
        "select {column}, target from quotas where year = $1 and {column} = any($2)"
    ))
    .bind(year as i16)
    .bind(keys)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(key, target)| (key, i64::from(target)))
        .collect())
}

#[derive(Debug, Deserialize, Default)]
pub struct QuotaQuery {
    #[serde(default)]
    year: String,
    #[serde(default)]
    unit: String,
    /// How many targets the last save changed.
    #[serde(default)]
    saved: String,
}

/// One line of the quota form.
pub struct QuotaLine {
    /// "unit.<id>" or "user.<id>".
    pub field: String,
    pub name: String,
    /// What the form shows (typed, or as stored).
    pub value: String,
    /// The target as stored when the form was loaded ("" for none).
    pub was: String,
    pub progress: Progress,
    pub link: Option<String>,
    pub invalid: bool,
}

pub struct Section {
    caption: &'static str,
    heading: &'static str,
    lines: Vec<QuotaLine>,
}

#[derive(Template)]
#[template(path = "admin/stats/quotas.html")]
struct QuotaPage {
    layout: AdminLayout,
    year: i32,
    unit: UnitId,
    unit_name: String,
    parent: Option<UnitId>,
    sections: Vec<Section>,
    error: Option<FormError>,
    notice: Option<String>,
}

fn parse_year(text: &str, today: NaiveDate) -> Result<i32, AppError> {
    match text.trim() {
        "" => Ok(today.year()),
        text => text
            .parse::<i32>()
            .ok()
            .filter(|year| (2000..=2999).contains(year))
            .ok_or(AppError::NotFound),
    }
}

/// The scope unit, its direct sub-units and the people who write in it:
/// their targets and their year so far.
async fn lines(
    conn: &mut PgConnection,
    year: i32,
    unit: UnitId,
    zone: chrono_tz::Tz,
    today: NaiveDate,
) -> Result<(Vec<QuotaLine>, Vec<QuotaLine>), AppError> {
    let period = Period::year(year).ok_or(AppError::NotFound)?;
    super::days::refresh(conn, period.first, period.last.min(today), zone.name()).await?;
    let (unit_rows, total) = super::table(conn, &period, unit, None, View::Units).await?;
    let keys: Vec<Uuid> = unit_rows.iter().map(|row| row.key).collect();
    let unit_targets = targets(conn, year, View::Units, &keys).await?;
    let units = unit_rows
        .into_iter()
        .map(|row| {
            let target = unit_targets.get(&row.key).copied();
            // The unit itself: its target covers all the units below it.
            let (name, done) = if row.key == unit.uuid() {
                (row.name.replace("（本级）", "（整体）"), total.published)
            } else {
                (row.name, row.published)
            };
            QuotaLine {
                field: format!("unit.{}", row.key),
                value: target.map(|t| t.to_string()).unwrap_or_default(),
                was: target.map(|t| t.to_string()).unwrap_or_default(),
                progress: Progress::new(year, target, done, today),
                link: (row.key != unit.uuid())
                    .then(|| format!("/admin/stats/quotas?year={year}&unit={}", row.key)),
                name,
                invalid: false,
            }
        })
        .collect();
    let writers: Vec<(Uuid, String, Option<i32>, i64)> = sqlx::query_as(
        "select u.id, u.display_name, q.target,
                coalesce((select sum(d.published) from stats_days d
                          where d.writer_id = u.id and d.day >= $3 and d.day <= $4), 0)::bigint
         from users u left join quotas q on q.user_id = u.id and q.year = $2
         where u.unit_id = $1 and u.active and u.role in ('correspondent', 'editor', 'chief_editor')
         order by u.display_name",
    )
    .bind(unit)
    .bind(year as i16)
    .bind(period.first)
    .bind(period.last)
    .fetch_all(&mut *conn)
    .await?;
    let writers = writers
        .into_iter()
        .map(|(id, name, target, done)| {
            let target = target.map(i64::from);
            QuotaLine {
                field: format!("user.{id}"),
                name,
                value: target.map(|t| t.to_string()).unwrap_or_default(),
                was: target.map(|t| t.to_string()).unwrap_or_default(),
                progress: Progress::new(year, target, done, today),
                link: None,
                invalid: false,
            }
        })
        .collect();
    Ok((units, writers))
}

#[allow(clippy::too_many_arguments)]
async fn quota_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    status: StatusCode,
    year: i32,
    unit: UnitId,
    typed: Option<&[(String, String)]>,
    error: Option<FormError>,
    notice: Option<String>,
) -> Result<HttpResponse, AppError> {
    let settings = crate::settings::db::load(conn).await?;
    let today = Utc::now().with_timezone(&settings.time_zone).date_naive();
    let (mut units, mut writers) = lines(conn, year, unit, settings.time_zone, today).await?;
    if let Some(typed) = typed {
        for line in units.iter_mut().chain(writers.iter_mut()) {
            if let Some((_, value)) = typed.iter().find(|(key, _)| *key == line.field) {
                line.invalid = parse_target(value).is_err();
                line.value = value.clone();
            }
        }
    }
    let (unit_name, parent): (String, Option<UnitId>) =
        sqlx::query_as("select name, parent_id from units where id = $1")
            .bind(unit)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(AppError::NotFound)?;
    let layout = AdminLayout::load(conn, staff, csrf, "年度任务", "/admin/stats").await?;
    render(
        status,
        &QuotaPage {
            layout,
            year,
            unit,
            unit_name,
            parent,
            sections: vec![
                Section {
                    caption: "单位",
                    heading: "单位（含下级）",
                    lines: units,
                },
                Section {
                    caption: "本单位人员",
                    heading: "姓名",
                    lines: writers,
                },
            ],
            error,
            notice,
        },
    )
}

/// GET /admin/stats/quotas
pub async fn form(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    query: web::Query<QuotaQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::SetQuotas)?;
    let zone = crate::settings::db::load(&mut conn).await?.time_zone;
    let year = parse_year(&query.year, Utc::now().with_timezone(&zone).date_naive())?;
    let unit = match query.unit.parse::<UnitId>() {
        Ok(unit) => unit,
        Err(_) => crate::units::db::root(&mut conn)
            .await?
            .ok_or(AppError::NotFound)?,
    };
    let notice = query
        .saved
        .parse::<usize>()
        .ok()
        .map(|n| format!("已保存，更改了 {n} 项任务。"));
    quota_page(
        &mut conn,
        &staff,
        &csrf,
        StatusCode::OK,
        year,
        unit,
        None,
        None,
        notice,
    )
    .await
}

/// A target as typed: empty for none, else 1 to 100,000 stories.
fn parse_target(text: &str) -> Result<Option<i32>, ()> {
    match text.trim() {
        "" => Ok(None),
        text => text
            .parse::<i32>()
            .ok()
            .filter(|n| (1..=100_000).contains(n))
            .map(Some)
            .ok_or(()),
    }
}

/// What a submitted line asks: the row and the target before and after.
struct Change {
    unit: Option<Uuid>,
    user: Option<Uuid>,
    was: Option<i32>,
    target: Option<i32>,
}

/// POST /admin/stats/quotas: saves the targets that were changed on the
/// form, all or none. A target someone else changed since the form was
/// loaded is not overwritten: the form comes back with the typed values and
/// says which.
pub async fn save(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::SetQuotas)?;
    let fields = form.into_inner();
    let value = |key: &str| {
        fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let year: i32 = value("year").parse().map_err(|_| AppError::BadRequest)?;
    if !(2000..=2999).contains(&year) {
        return Err(AppError::BadRequest);
    }
    let unit: UnitId = value("unit").parse().map_err(|_| AppError::BadRequest)?;
    let typed: Vec<(String, String)> = fields
        .iter()
        .filter(|(key, _)| key.starts_with("unit.") || key.starts_with("user."))
        .cloned()
        .collect();
    let mut changes = Vec::new();
    let mut invalid = false;
    for (field, text) in &typed {
        let (kind, id) = field.split_once('.').ok_or(AppError::BadRequest)?;
        let id: Uuid = id.parse().map_err(|_| AppError::BadRequest)?;
        let was = parse_target(value(&format!("was.{field}"))).map_err(|_| AppError::BadRequest)?;
        let Ok(target) = parse_target(text) else {
            invalid = true;
            continue;
        };
        if target != was {
            changes.push(Change {
                unit: (kind == "unit").then_some(id),
                user: (kind == "user").then_some(id),
                was,
                target,
            });
        }
    }
    if invalid {
        return quota_page(
            &mut conn,
            &staff,
            &csrf,
            StatusCode::UNPROCESSABLE_ENTITY,
            year,
            unit,
            Some(&typed),
            Some("年度任务须为 1 至 100000 之间的整数；留空表示不设任务。".into()),
            None,
        )
        .await;
    }
    let mut tx = sqlx::Acquire::begin(&mut *conn).await?;
    // One writer of a year's targets at a time, so the comparison below
    // and the writes see the same rows.
    sqlx::query("select pg_advisory_xact_lock(hashtext('newsdesk_quotas'), $1)")
        .bind(year)
        .execute(&mut *tx)
        .await?;
    let unit_ids: Vec<Uuid> = changes.iter().filter_map(|c| c.unit).collect();
    let user_ids: Vec<Uuid> = changes.iter().filter_map(|c| c.user).collect();
    let stored: Vec<(Option<Uuid>, Option<Uuid>, i32)> = sqlx::query_as(
        "select unit_id, user_id, target from quotas
         where year = $1 and (unit_id = any($2) or user_id = any($3))",
    )
    .bind(year as i16)
    .bind(&unit_ids)
    .bind(&user_ids)
    .fetch_all(&mut *tx)
    .await?;
    let stored_of = |change: &Change| {
        stored
            .iter()
            .find(|(unit, user, _)| *unit == change.unit && *user == change.user)
            .map(|(_, _, target)| *target)
    };
    let names: HashMap<Uuid, String> = sqlx::query_as::<_, (Uuid, String)>(
        "select id, name from units where id = any($1)
         union all select id, display_name from users where id = any($2)",
    )
    .bind(&unit_ids)
    .bind(&user_ids)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let name_of = |change: &Change| {
        change
            .unit
            .or(change.user)
            .and_then(|id| names.get(&id))
            .cloned()
            .unwrap_or_default()
    };
    let conflicts: Vec<String> = changes
        .iter()
        .filter(|change| stored_of(change) != change.was)
        .map(name_of)
        .collect();
    if !conflicts.is_empty() {
        drop(tx);
        return quota_page(
            &mut conn,
            &staff,
            &csrf,
            StatusCode::CONFLICT,
            year,
            unit,
            Some(&typed),
            Some(
                format!(
                    "{} 的任务已被他人修改，下面显示的“原任务”已更新为最新值。请核对后再保存。",
                    conflicts.join("、")
                )
                .into(),
            ),
            None,
        )
        .await;
    }
    // Cleared targets go; set ones are written, units and people each in
    // one statement.
    let cleared = |key: fn(&Change) -> Option<Uuid>| -> Vec<Uuid> {
        changes
            .iter()
            .filter(|c| c.target.is_none())
            .filter_map(key)
            .collect()
    };
    sqlx::query("delete from quotas where year = $1 and (unit_id = any($2) or user_id = any($3))")
        .bind(year as i16)
        .bind(cleared(|c| c.unit))
        .bind(cleared(|c| c.user))
        .execute(&mut *tx)
        .await?;
    for (column, key) in [
        (
            "unit_id",
            (|c: &Change| c.unit) as fn(&Change) -> Option<Uuid>,
        ),
        ("user_id", |c: &Change| c.user),
    ] {
        let (ids, targets): (Vec<Uuid>, Vec<i32>) = changes
            .iter()
            .filter_map(|c| Some((key(c)?, c.target?)))
            .unzip();
        sqlx::query(&format!(
            "insert into quotas (year, {column}, target, updated_by)
             select $1, id, target, $4 from unnest($2::uuid[], $3::int[]) as t(id, target)
             on conflict (year, {column}) where {column} is not null
             do update set target = excluded.target, updated_by = excluded.updated_by,
                           updated_at = now()"
        ))
        .bind(year as i16)
        .bind(&ids)
        .bind(&targets)
        .bind(staff.id)
        .execute(&mut *tx)
        .await?;
    }
    let detail: Vec<String> = changes
        .iter()
        .map(|change| {
            format!(
                "{}：{} → {}",
                name_of(change),
                change.was.map_or("无".to_string(), |n| n.to_string()),
                change.target.map_or("无".to_string(), |n| n.to_string())
            )
        })
        .collect();
    if !detail.is_empty() {
        crate::audit::record(
            &mut tx,
            &staff.actor(),
            "quota.set",
            &format!("{year} 年度任务"),
            &detail.join("；"),
        )
        .await?;
    }
    tx.commit().await?;
    Ok(see_other(&format!(
        "/admin/stats/quotas?year={year}&unit={unit}&saved={}",
        changes.len()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::period::elapsed_share;

    #[test]
    fn pace_follows_the_share_of_the_year_gone_by() {
        let today = NaiveDate::from_ymd_opt(2026, 7, 2).unwrap();
        assert!((elapsed_share(2026, today) - 183.0 / 365.0).abs() < 1e-9);
        assert_eq!(elapsed_share(2025, today), 1.0);
        assert_eq!(elapsed_share(2027, today), 0.0);
        let behind = Progress::new(2026, Some(100), 49, today);
        assert_eq!(behind.expected, 50);
        assert!(behind.behind());
        assert!(!Progress::new(2026, Some(100), 50, today).behind());
        assert!(!Progress::new(2026, None, 0, today).behind());
        assert_eq!(
            Progress::new(2025, Some(40), 10, today).percent(),
            Some(25.0)
        );
        assert!(Progress::new(2025, Some(40), 39, today).behind());
    }

    #[test]
    fn targets_are_whole_numbers_within_bounds() {
        assert_eq!(parse_target(" "), Ok(None));
        assert_eq!(parse_target("60"), Ok(Some(60)));
        assert!(parse_target("0").is_err());
        assert!(parse_target("十").is_err());
        assert!(parse_target("100001").is_err());
    }
}
