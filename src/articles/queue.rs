//! The story lists of the backend: a writer's own stories and a
//! reviewer's queue.

use std::sync::Arc;

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool, Postgres, QueryBuilder};

use super::article_url;
use crate::auth::{Permission, Staff};
use crate::channels;
use crate::error::AppError;
use crate::ids::{ArticleId, ChannelId, UnitId};
use crate::layout::AdminLayout;
use crate::roles::Role;
use crate::site::{TreeCache, Trees};
use crate::tree::subtree;
use crate::web::csrf::CsrfToken;
use crate::web::page;
use crate::workflow::Status;

/// A story in a list.
#[derive(sqlx::FromRow)]
pub struct ListRow {
    pub id: ArticleId,
    pub number: i64,
    pub title: String,
    pub status: String,
    pub review_stage: i16,
    pub channel_id: ChannelId,
    pub unit_id: UnitId,
    pub writer_name: String,
    pub updated_at: DateTime<Utc>,
    pub view_count: i64,
    pub latest_note: Option<String>,
    pub schedule_missed: bool,
}

pub struct ListLine {
    pub row: ListRow,
    pub status_label: &'static str,
    pub updated: String,
    pub public_url: Option<String>,
}

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    #[serde(default)]
    unit: String,
    #[serde(default)]
    channel: String,
    #[serde(default)]
    status: String,
    /// The last story of the previous page: its updated_at (RFC 3339) and
    /// id, joined by a space.
    #[serde(default)]
    after: String,
}

impl QueueQuery {
    fn after(&self) -> Option<(DateTime<Utc>, ArticleId)> {
        let (at, id) = self.after.split_once(' ')?;
        Some((
            DateTime::parse_from_rfc3339(at).ok()?.with_timezone(&Utc),
            id.parse().ok()?,
        ))
    }
}

/// Stories on a page of the review queue.
const QUEUE_PAGE: usize = 50;

#[derive(Template)]
#[template(path = "admin/articles/list.html")]
struct ListPage {
    layout: AdminLayout,
    mine: Vec<ListLine>,
    queue: Option<ReviewQueue>,
    missed: Vec<ListLine>,
    query: QueueQuery,
    can_write: bool,
}

/// A page of the stories waiting for the reviewer, and the pickers of its
/// filters.
struct ReviewQueue {
    lines: Vec<ListLine>,
    /// The next page, when there is one.
    next: Option<String>,
    /// Whether the queue is longer than this page.
    paged: bool,
    trees: Arc<Trees>,
    /// Editors pick among their own units; chief editors among all.
    unit_root: Option<UnitId>,
}

impl ReviewQueue {
    /// Submitted and in review on this page.
    fn counts(&self) -> (usize, usize) {
        let first = self
            .lines
            .iter()
            .filter(|line| line.row.status == "submitted")
            .count();
        (first, self.lines.len() - first)
    }

    fn unit_options(&self, selected: &str) -> String {
        self.trees.unit_options(self.unit_root, selected)
    }

    fn channel_options(&self, selected: &str) -> String {
        self.trees.channel_options(selected)
    }

    fn channel_name(&self, id: &ChannelId) -> &str {
        self.trees.channel(*id).map_or("", |channel| &channel.name)
    }

    fn unit_name(&self, id: &UnitId) -> &str {
        self.trees.unit(*id).map_or("", |unit| &unit.name)
    }

    fn stage_count(&self, channel_id: &ChannelId) -> usize {
        self.trees
            .channel(*channel_id)
            .map_or(0, |channel| channel.review_stages.len())
    }
}

/// The columns of a story list, from `articles a`; the latest review note
/// and the readings only for the writer's own list, the one that shows
/// them. Units and channels are named from the instance's copy of the
/// trees.
fn list_columns(details: bool) -> String {
    let (note, views) = if details {
        (
            "(select e.note from review_events e where e.article_id = a.id and e.note <> ''
              order by e.id desc limit 1)",
            "coalesce((select t.views from article_totals t where t.article_id = a.id), 0)",
        )
    } else {
        ("null::text", "0::int8")
    };
    format!(
        "a.id, a.number, a.title, a.status, a.review_stage, a.channel_id, a.unit_id,
            w.display_name as writer_name, a.updated_at, {views} as view_count,
            {note} as latest_note, a.schedule_missed
         from articles a join users w on w.id = a.created_by"
    )
}

/// The (channel, stage) pairs whose review `roles` hold.
fn stages_held(
    channels: &[channels::db::ChannelNode],
    roles: &[&str],
) -> (Vec<ChannelId>, Vec<i16>) {
    channels
        .iter()
        .flat_map(|channel| {
            channel
                .review_stages
                .iter()
                .enumerate()
                .filter(|(_, role)| roles.contains(&role.as_str()))
                .map(|(stage, _)| (channel.id, stage as i16))
        })
        .unzip()
}

/// Appends to `sql` the stories `staff` may review now, within the units
/// below `unit_root` (all units when `None`) and the query's filters: the
/// list's page and the dashboard's count read the same set.
fn push_waiting<'q>(
    sql: &mut QueryBuilder<'q, Postgres>,
    staff: &Staff,
    trees: &Trees,
    unit_root: Option<UnitId>,
    query: &QueueQuery,
) {
    let roles: &[&str] = if staff.role == Role::ChiefEditor {
        &["editor", "chief_editor"]
    } else {
        &["editor"]
    };
    let (stage_channels, stages) = stages_held(&trees.channels, roles);
    let ids = |units: &[crate::units::UnitNode]| units.iter().map(|u| u.id).collect::<Vec<_>>();
    // A reviewer at the top of the tree needs no test of units at all.
    let scope = unit_root
        .map(|root| subtree(&trees.units, root))
        .filter(|units| units.len() < trees.units.len())
        .map(ids);
    // A unit picked counts with the units below it, as in the statistics.
    let picked = query
        .unit
        .parse::<UnitId>()
        .ok()
        .map(|unit| ids(subtree(&trees.units, unit)));
    let units = match (scope, picked) {
        (Some(scope), Some(picked)) => {
            Some(picked.into_iter().filter(|id| scope.contains(id)).collect())
        }
        (scope, picked) => scope.or(picked),
    };
    // Only the filters that apply are written into the statement, and each
    // combination keeps one generic plan: the waiting stories read oldest
    // first until a page is full. Planned for each request's values, the
    // statement took longer to plan (2 ms) than to run. The units are tested
    // on each story rather than looked up in the index of stories by unit,
    // which a plan made without knowing how many units there are would
    // prefer, reading every story of the units (a million, for a reviewer
    // at the top).
    sql.push(
        " where a.status in ('submitted', 'in_review')
           and (a.channel_id, a.review_stage) in (select * from unnest(",
    )
    .push_bind(stage_channels)
    .push("::uuid[], ")
    .push_bind(stages)
    .push("::int2[])) and a.created_by <> ")
    .push_bind(staff.id)
    // Not the stories this reviewer passed in their current round.
    .push(" and not ")
    .push_bind(staff.id)
    .push(" = any(a.passed_by)");
    if let Some(units) = units {
        sql.push(" and array_position(")
            .push_bind(units)
            .push("::uuid[], a.unit_id) is not null");
    }
    if let Ok(channel) = query.channel.parse::<ChannelId>() {
        sql.push(" and a.channel_id = ").push_bind(channel);
    }
    if let Some(status) = Status::parse(&query.status).map(Status::as_str) {
        sql.push(" and a.status = ").push_bind(status);
    }
}

/// The unit a reviewer's queue is limited to: an editor's own unit and
/// those below it; chief editors review every unit's stories.
pub fn queue_root(staff: &Staff) -> Option<UnitId> {
    (staff.role != Role::ChiefEditor).then_some(staff.unit_id)
}

/// How many stories wait for `staff`'s review, counted up to `cap` (a
/// figure beyond it is shown as "cap 以上").
pub async fn waiting_count(
    conn: &mut PgConnection,
    staff: &Staff,
    trees: &Trees,
    cap: i64,
) -> sqlx::Result<i64> {
    let mut sql = QueryBuilder::<Postgres>::new("select count(*) from (select 1 from articles a");
    push_waiting(
        &mut sql,
        staff,
        trees,
        queue_root(staff),
        &QueueQuery::default(),
    );
    sql.push(" limit ").push_bind(cap).push(") waiting");
    sql.build_query_scalar().fetch_one(conn).await
}

/// A page of the stories `staff` may review now, oldest first, within the
/// units below `unit_root` (all units when `None`).
async fn review_queue(
    conn: &mut PgConnection,
    staff: &Staff,
    trees: &Trees,
    unit_root: Option<UnitId>,
    query: &QueueQuery,
) -> sqlx::Result<(Vec<ListRow>, Option<String>)> {
    let mut sql = QueryBuilder::<Postgres>::new("select ");
    sql.push(list_columns(false));
    push_waiting(&mut sql, staff, trees, unit_root, query);
    if let Some((at, id)) = query.after() {
        sql.push(" and (a.updated_at, a.id) > (")
            .push_bind(at)
            .push(", ")
            .push_bind(id)
            .push(")");
    }
    sql.push(" order by a.updated_at, a.id limit ")
        .push_bind(QUEUE_PAGE as i64 + 1);
    let mut tx = sqlx::Connection::begin_with(
        &mut *conn,
        "begin; set local plan_cache_mode = force_generic_plan",
    )
    .await?;
    let mut rows: Vec<ListRow> = sql.build_query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    if rows.len() <= QUEUE_PAGE {
        return Ok((rows, None));
    }
    rows.truncate(QUEUE_PAGE);
    let next = rows.last().map(|last| {
        let fields = [
            ("unit", query.unit.clone()),
            ("channel", query.channel.clone()),
            ("status", query.status.clone()),
            (
                "after",
                format!("{} {}", last.updated_at.to_rfc3339(), last.id),
            ),
        ];
        let fields: Vec<_> = fields.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        format!(
            "/admin/articles?{}",
            serde_urlencoded::to_string(fields).unwrap_or_default()
        )
    });
    Ok((rows, next))
}

pub async fn list(
    pool: web::Data<PgPool>,
    tree_cache: web::Data<TreeCache>,
    staff: Staff,
    csrf: CsrfToken,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ReadArticles)?;
    let query = query.into_inner();
    let mut conn = pool.acquire().await?;
    let layout = AdminLayout::load(&mut conn, &staff, &csrf, "稿件", "/admin/articles").await?;
    let line = |row: ListRow| {
        let status = Status::parse(&row.status).unwrap_or(Status::Draft);
        ListLine {
            status_label: status.label(),
            updated: layout.settings.format_minute(row.updated_at),
            public_url: (status == Status::Published).then(|| article_url(row.number)),
            row,
        }
    };
    let mine: Vec<ListRow> = sqlx::query_as(&format!(
        "select {} where a.created_by = $1 order by a.updated_at desc limit 100",
        list_columns(true)
    ))
    .bind(staff.id)
    .fetch_all(&mut *conn)
    .await?;
    let mine = mine.into_iter().map(line).collect();

    let queue = if staff.can(Permission::ReviewArticles) {
        let trees = tree_cache.current(&mut conn).await?;
        let unit_root = queue_root(&staff);
        let (rows, next) = review_queue(&mut conn, &staff, &trees, unit_root, &query).await?;
        Some(ReviewQueue {
            lines: rows.into_iter().map(line).collect(),
            // A longer queue is not counted here: its figures are the
            // statistics' backlog per reviewer.
            paged: next.is_some() || query.after().is_some(),
            next,
            trees,
            unit_root,
        })
    } else {
        None
    };
    let missed: Vec<ListRow> = if staff.can(Permission::PublishArticles) {
        sqlx::query_as(&format!(
            "select {} where a.schedule_missed order by a.updated_at desc limit 50",
            list_columns(false)
        ))
        .fetch_all(&mut *conn)
        .await?
    } else {
        Vec::new()
    };
    let missed = missed.into_iter().map(line).collect();
    page(&ListPage {
        can_write: staff.can(Permission::WriteArticles),
        layout,
        mine,
        queue,
        missed,
        query,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(stages: &[&str]) -> channels::db::ChannelNode {
        channels::db::ChannelNode {
            id: ChannelId::new(),
            parent_id: None,
            name: String::new(),
            slug: String::new(),
            depth: 0,
            sort_order: 0,
            review_stages: stages
                .iter()
                .map(|stage| crate::roles::StageRole::parse(stage).expect("a stage role"))
                .collect(),
            comment_moderation: String::new(),
            active: true,
            article_count: 0,
            child_count: 0,
        }
    }

    #[test]
    fn reviewers_hold_the_stages_of_their_roles() {
        let channels = [
            channel(&["editor"]),
            channel(&["editor", "editor", "chief_editor"]),
            channel(&["chief_editor"]),
        ];
        let (ids, stages) = stages_held(&channels, &["editor"]);
        assert_eq!(ids, [channels[0].id, channels[1].id, channels[1].id]);
        assert_eq!(stages, [0, 0, 1]);
        let (ids, stages) = stages_held(&channels, &["editor", "chief_editor"]);
        assert_eq!(
            ids,
            [
                channels[0].id,
                channels[1].id,
                channels[1].id,
                channels[1].id,
                channels[2].id
            ]
        );
        assert_eq!(stages, [0, 0, 1, 2, 0]);
    }
}
