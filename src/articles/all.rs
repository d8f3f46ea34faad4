//! 全部稿件 (/admin/articles/all): every story the staff member may see —
//! correspondents their own, editors their own and their units', chief
//! editors and admins all — found by words of the title or text, writer,
//! unit, channel, state and date, in the order asked for, a page at a time;
//! and the bulk changes a chief editor makes to published stories (take
//! them off 头条 or 推荐, recommend them, unpublish them with one reason).

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use serde::Deserialize;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::access;
use super::article_url;
use super::store;
use crate::auth::{Permission, Staff};
use crate::backend::Backend;
use crate::error::{AppError, Checks, FormError};
use crate::ids::{ArticleId, ChannelId, UnitId};
use crate::layout::AdminLayout;
use crate::roles::Role;
use crate::site::{TreeCache, Trees};
use crate::tree::subtree;
use crate::web::redirect::see_other;
use crate::web::render;
use crate::workflow::{self, Action, ArticleState, Status};

/// Stories on a page.
const PAGE_SIZE: i64 = 50;
/// Pages reached by paging; past them, the filters narrow the list.
const MAX_PAGE: i64 = 200;
/// Matches counted exactly up to this many; more are "超过 …".
const COUNT_CAP: i64 = 10_000;

/// The orders the list can be read in.
const SORTS: &[(&str, &str, &str)] = &[
    ("updated", "最近更新", "a.updated_at desc, a.id desc"),
    (
        "published",
        "最新发布",
        "a.published_at desc nulls last, a.id desc",
    ),
    ("number", "稿件编号", "a.number desc"),
];

/// The filters as typed; each a string, so the form comes back as it was.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
pub struct AllQuery {
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub writer: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub page: String,
}

/// The filters, checked.
struct Filters {
    words: Vec<String>,
    /// The keywords as typed (a name is also searched whole).
    typed: String,
    conversions: std::sync::Arc<crate::web::variant::Conversions>,
    writer: String,
    /// The accounts and credited authors the writer's name stands for,
    /// looked up before the list (an index each, not a test per story).
    writers: Option<(Vec<crate::ids::UserId>, Vec<uuid::Uuid>)>,
    unit: Option<UnitId>,
    channel: Option<ChannelId>,
    status: Option<Status>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    order: &'static str,
    page: i64,
}

fn parse_day(value: &str) -> Result<Option<NaiveDate>, &'static str> {
    match value.trim() {
        "" => Ok(None),
        day => NaiveDate::parse_from_str(day, "%Y-%m-%d")
            .map(Some)
            .map_err(|_| "日期格式应为 2026-12-01。"),
    }
}

impl AllQuery {
    fn parse(&self, site: &crate::site::Trees) -> Result<Filters, FormError> {
        let zone = site.settings.time_zone;
        let mut checks = Checks::default();
        let unit = checks.check(
            "unit",
            match self.unit.trim() {
                "" => Ok(None),
                id => id.parse().map(Some).map_err(|_| "没有这个单位。"),
            },
        );
        let channel = checks.check(
            "channel",
            match self.channel.trim() {
                "" => Ok(None),
                id => id.parse().map(Some).map_err(|_| "没有这个栏目。"),
            },
        );
        let status = checks.check(
            "status",
            match self.status.trim() {
                "" => Ok(None),
                status => Status::parse(status).map(Some).ok_or("没有这个稿件状态。"),
            },
        );
        let from = checks.check("from", parse_day(&self.from));
        let to = checks.check("to", parse_day(&self.to));
        if let (Some(from), Some(to)) = (from, to)
            && from > to
        {
            checks.refuse("to", "结束日期早于开始日期，请重新选择。");
        }
        let page = checks.check(
            "page",
            match self.page.trim() {
                "" => Ok(1),
                page => page
                    .parse::<i64>()
                    .ok()
                    .filter(|page| (1..=MAX_PAGE).contains(page))
                    .ok_or("页码应为 1 至 200 之间的整数；更早的稿件请用筛选条件查找。"),
            },
        );
        let order = SORTS
            .iter()
            .find(|(key, _, _)| *key == self.sort.trim())
            .map_or(SORTS[0].2, |sort| sort.2);
        if self.q.chars().count() > 100 {
            checks.refuse("q", "关键词不超过 100 个字。");
        }
        if self.writer.chars().count() > 40 {
            checks.refuse("writer", "撰稿人不超过 40 个字。");
        }
        checks.finish()?;
        let start_of = |day: NaiveDate| {
            zone.from_local_datetime(&day.and_hms_opt(0, 0, 0).unwrap_or_default())
                .earliest()
                .map(|at| at.with_timezone(&Utc))
        };
        Ok(Filters {
            words: crate::search::query_words(&self.q, &site.conversions),
            typed: self.q.clone(),
            conversions: site.conversions.clone(),
            writer: self.writer.trim().to_owned(),
            writers: None,
            unit,
            channel,
            status,
            from: from.and_then(start_of),
            to: to.and_then(|day| day.succ_opt()).and_then(start_of),
            order,
            page,
        })
    }

    /// This query's address with `page` (and everything else) as given.
    fn url_with_page(&self, page: i64) -> String {
        let mut query = self.clone();
        query.page = page.to_string();
        let fields: Vec<(&str, String)> = [
            ("q", query.q),
            ("writer", query.writer),
            ("unit", query.unit),
            ("channel", query.channel),
            ("status", query.status),
            ("from", query.from),
            ("to", query.to),
            ("sort", query.sort),
            ("page", query.page),
        ]
        .into_iter()
        .filter(|(_, value)| !value.is_empty())
        .collect();
        format!(
            "/admin/articles/all?{}",
            serde_urlencoded::to_string(fields).unwrap_or_default()
        )
    }
}

/// A story of the list.
#[derive(sqlx::FromRow)]
pub struct Row {
    pub id: ArticleId,
    pub number: i64,
    pub title: String,
    pub status: Status,
    pub channel_id: ChannelId,
    pub unit_id: UnitId,
    pub writer_name: String,
    pub updated_at: DateTime<Utc>,
    pub published_at: Option<DateTime<Utc>>,
    pub is_headline: bool,
    pub is_recommended: bool,
}

pub struct Line {
    pub row: Row,
    pub channel: String,
    pub unit: String,
    pub updated: String,
    pub published: String,
    pub public_url: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/articles/all.html")]
struct AllPage {
    layout: AdminLayout,
    query: AllQuery,
    lines: Vec<Line>,
    /// Matches, exactly up to `COUNT_CAP`.
    total: i64,
    capped: bool,
    /// The filters were read (else the refusal says why nothing is listed).
    searched: bool,
    page: i64,
    previous: Option<String>,
    next: Option<String>,
    trees: Arc<Trees>,
    /// Editors and correspondents pick among their own units.
    unit_root: Option<UnitId>,
    statuses: Vec<(&'static str, &'static str)>,
    sorts: &'static [(&'static str, &'static str, &'static str)],
    /// Chief editors change published stories in bulk.
    can_bulk: bool,
    error: Option<FormError>,
    notice: Option<String>,
}

impl AllPage {
    fn unit_options(&self) -> String {
        self.trees.unit_options(self.unit_root, &self.query.unit)
    }

    fn channel_options(&self) -> String {
        self.trees.channel_options(&self.query.channel)
    }

    /// The list's own address, for coming back to it after a bulk change.
    fn back(&self) -> String {
        self.query.url_with_page(self.page)
    }
}

/// The condition that keeps to what `staff` may see (as `access` decides
/// for one story): their own stories, and those of the units below theirs
/// for editors; everything for chief editors and admins.
fn push_scope(sql: &mut QueryBuilder<'_, Postgres>, staff: &Staff, trees: &Trees) {
    match staff.role {
        Role::ChiefEditor | Role::Admin | Role::SystemAdmin => {}
        Role::SecurityAdmin | Role::AuditAdmin => {
            sql.push(" and false");
        }
        Role::Editor => {
            let units: Vec<UnitId> = subtree(&trees.units, staff.unit_id)
                .iter()
                .map(|unit| unit.id)
                .collect();
            sql.push(" and (a.created_by = ")
                .push_bind(staff.id)
                .push(" or a.unit_id = any(")
                .push_bind(units)
                .push("))");
        }
        Role::Correspondent => {
            sql.push(" and a.created_by = ").push_bind(staff.id);
        }
    }
}

fn push_filters(sql: &mut QueryBuilder<'_, Postgres>, filters: &Filters, trees: &Trees) {
    if !filters.words.is_empty() {
        let tsquery = crate::search::tsquery(&filters.words, &filters.typed, &filters.conversions);
        sql.push(" and a.search_vector @@ to_tsquery('simple', ")
            .push_bind(tsquery)
            .push(")");
    }
    if let Some((users, authors)) = &filters.writers {
        // The writer's stories as one set the list starts from (by the
        // writer and credits indexes), not a test of every story.
        sql.push(" and a.id in (select id from articles where created_by = any(")
            .push_bind(users.clone())
            .push(") union all select article_id from article_authors where author_id = any(")
            .push_bind(authors.clone())
            .push("))");
    }
    if let Some(unit) = filters.unit {
        let units: Vec<UnitId> = subtree(&trees.units, unit)
            .iter()
            .map(|unit| unit.id)
            .collect();
        sql.push(" and a.unit_id = any(").push_bind(units).push(")");
    }
    if let Some(channel) = filters.channel {
        let channels: Vec<ChannelId> = subtree(&trees.channels, channel)
            .iter()
            .map(|channel| channel.id)
            .collect();
        sql.push(" and a.channel_id = any(")
            .push_bind(channels)
            .push(")");
    }
    if let Some(status) = filters.status {
        sql.push(" and a.status = ").push_bind(status.as_str());
    }
    // A story's date is its publication, else its creation.
    if let Some(from) = filters.from {
        sql.push(" and coalesce(a.published_at, a.created_at) >= ")
            .push_bind(from);
    }
    if let Some(to) = filters.to {
        sql.push(" and coalesce(a.published_at, a.created_at) < ")
            .push_bind(to);
    }
}

/// The matching stories of the page asked for, and how many match (up to
/// `COUNT_CAP`). Built from the filters that apply (runtime-checked).
async fn find(
    conn: &mut PgConnection,
    staff: &Staff,
    trees: &Trees,
    filters: &mut Filters,
) -> sqlx::Result<(Vec<Row>, i64)> {
    if !filters.writer.is_empty() {
        let users = sqlx::query_scalar(
            "select id from users where display_name = $1 or lower(username) = lower($1)",
        )
        .bind(&filters.writer)
        .fetch_all(&mut *conn)
        .await?;
        let authors = sqlx::query_scalar("select id from authors where name = $1")
            .bind(&filters.writer)
            .fetch_all(&mut *conn)
            .await?;
        filters.writers = Some((users, authors));
    }
    // Compiling these statements costs more than running them.
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    sqlx::query("set local jit = off").execute(&mut *tx).await?;
    let conn = &mut *tx;
    let mut sql = QueryBuilder::<Postgres>::new(
        "select a.id, a.number, a.title, a.status, a.channel_id, a.unit_id,
                w.display_name as writer_name, a.updated_at, a.published_at,
                a.is_headline, a.is_recommended
         from articles a join users w on w.id = a.created_by where true",
    );
    push_scope(&mut sql, staff, trees);
    push_filters(&mut sql, filters, trees);
    sql.push(" order by ")
        .push(filters.order)
        .push(" limit ")
        .push_bind(PAGE_SIZE)
        .push(" offset ")
        .push_bind((filters.page - 1) * PAGE_SIZE);
    let rows: Vec<Row> = sql.build_query_as().fetch_all(&mut *conn).await?;
    let mut count = QueryBuilder::<Postgres>::new(
        "select count(*) from (select 1 from articles a join users w on w.id = a.created_by where true",
    );
    push_scope(&mut count, staff, trees);
    push_filters(&mut count, filters, trees);
    count.push(" limit ").push_bind(COUNT_CAP + 1).push(") c");
    let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
    tx.commit().await?;
    Ok((rows, total))
}

#[derive(Deserialize)]
pub struct DoneQuery {
    done: Option<String>,
}

/// The page for `query`, with `status` and what the last action says.
async fn all_page(
    mut backend: Backend,
    tree_cache: &TreeCache,
    query: AllQuery,
    status: StatusCode,
    feedback: (Option<FormError>, Option<String>),
) -> Result<HttpResponse, AppError> {
    let trees = tree_cache.current(&mut backend.conn).await?;
    let (error, notice) = feedback;
    let (mut filters, error) = match query.parse(&trees) {
        Ok(filters) => (Some(filters), error),
        Err(refusal) => (None, Some(refusal)),
    };
    let status = if filters.is_none() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        status
    };
    let (rows, total) = match &mut filters {
        Some(filters) => find(&mut backend.conn, &backend.staff, &trees, filters).await?,
        None => (Vec::new(), 0),
    };
    let layout = backend.layout("全部稿件", "/admin/articles/all").await?;
    let page = filters.as_ref().map_or(1, |filters| filters.page);
    let lines = rows
        .into_iter()
        .map(|row| Line {
            channel: trees
                .channel(row.channel_id)
                .map_or_else(String::new, |channel| channel.name.clone()),
            unit: trees
                .unit(row.unit_id)
                .map_or_else(String::new, |unit| unit.name.clone()),
            updated: layout.settings.format_minute(row.updated_at),
            published: row
                .published_at
                .map(|at| layout.settings.format_minute(at))
                .unwrap_or_default(),
            public_url: (row.status == Status::Published).then(|| article_url(row.number)),
            row,
        })
        .collect();
    let shown_to = (page - 1) * PAGE_SIZE + PAGE_SIZE;
    let more = total > shown_to && page < MAX_PAGE;
    let statuses = Status::ALL
        .into_iter()
        .map(|status| (status.as_str(), status.label()))
        .collect();
    let staff_role = backend.staff.role;
    let page = AllPage {
        can_bulk: staff_role == Role::ChiefEditor,
        unit_root: matches!(staff_role, Role::Editor | Role::Correspondent)
            .then_some(backend.staff.unit_id),
        previous: (page > 1).then(|| query.url_with_page(page - 1)),
        next: more.then(|| query.url_with_page(page + 1)),
        capped: total > COUNT_CAP,
        searched: filters.is_some(),
        total: total.min(COUNT_CAP),
        page,
        layout,
        query,
        lines,
        trees,
        statuses,
        sorts: SORTS,
        error,
        notice,
    };
    render(status, &page)
}

/// GET /admin/articles/all
pub async fn list(
    backend: Backend,
    tree_cache: web::Data<TreeCache>,
    query: web::Query<AllQuery>,
    done: web::Query<DoneQuery>,
) -> Result<HttpResponse, AppError> {
    backend.require(Permission::ReadArticles)?;
    let notice = done.done.as_deref().and_then(|done| {
        let count = done.strip_prefix("bulk-")?;
        Some(format!("已处理 {count} 篇稿件。"))
    });
    all_page(
        backend,
        &tree_cache,
        query.into_inner(),
        StatusCode::OK,
        (None, notice),
    )
    .await
}

/// The bulk changes, each to a published story.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bulk {
    Unheadline,
    Unrecommend,
    Recommend,
    Unpublish,
}

impl Bulk {
    fn parse(value: &str) -> Option<Bulk> {
        match value {
            "unheadline" => Some(Bulk::Unheadline),
            "unrecommend" => Some(Bulk::Unrecommend),
            "recommend" => Some(Bulk::Recommend),
            "unpublish" => Some(Bulk::Unpublish),
            _ => None,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Bulk::Unheadline => "取消头条",
            Bulk::Unrecommend => "取消推荐",
            Bulk::Recommend => "设为推荐",
            Bulk::Unpublish => "撤稿",
        }
    }
}

/// POST /admin/articles/bulk: one change to every ticked story, all or
/// none: a story that is not published, or (for 撤稿) that the workflow
/// refuses, refuses the whole change and nothing is written.
pub async fn bulk(
    mut backend: Backend,
    tree_cache: web::Data<TreeCache>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    backend.require(Permission::PublishArticles)?;
    if backend.staff.role != Role::ChiefEditor {
        return Err(AppError::Forbidden);
    }
    let fields = form.into_inner();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim().to_owned())
            .unwrap_or_default()
    };
    let back: AllQuery = serde_urlencoded::from_str(
        field("back")
            .strip_prefix("/admin/articles/all?")
            .unwrap_or(""),
    )
    .unwrap_or_default();
    let mut ids: Vec<ArticleId> = Vec::new();
    for (_, value) in fields.iter().filter(|(key, _)| key == "ids") {
        ids.push(value.parse().map_err(|_| AppError::BadRequest)?);
    }
    ids.sort();
    ids.dedup();
    let reason = field("reason");
    let refuse = async |backend: Backend, refusal: FormError| {
        let status = refusal.status;
        all_page(
            backend,
            &tree_cache,
            back.clone(),
            status,
            (Some(refusal), None),
        )
        .await
    };
    let Some(change) = Bulk::parse(&field("action")) else {
        return refuse(backend, FormError::field("action", "请选择要进行的操作。")).await;
    };
    if ids.is_empty() {
        return refuse(backend, FormError::field("ids", "请先勾选要处理的稿件。")).await;
    }
    if ids.len() > PAGE_SIZE as usize {
        return refuse(backend, FormError::whole("一次最多处理 50 篇稿件。")).await;
    }
    if change == Bulk::Unpublish && reason.is_empty() {
        return refuse(backend, FormError::field("reason", "撤稿时请写明原因。")).await;
    }
    let staff = backend.staff.clone();
    let mut tx = sqlx::Connection::begin(&mut *backend.conn).await?;
    let mut refusal = None;
    for &id in &ids {
        let Some(record) = store::record_for_update(&mut tx, id).await? else {
            return Err(AppError::NotFound);
        };
        if !access::access(&mut tx, &staff, &record).await?.view {
            return Err(AppError::NotFound);
        }
        if record.status != Status::Published {
            refusal = Some(format!(
                "“{}”不是已发布的稿件，不能{}；本次没有处理任何稿件。",
                record.title,
                change.label()
            ));
            break;
        }
        match change {
            Bulk::Unpublish => {
                let state = ArticleState {
                    status: record.status,
                    stage: record.review_stage as usize,
                    stages: record.review_stages.clone(),
                    writer: record.created_by,
                    reviewers: record.passed_by.clone(),
                };
                let actor = workflow::Actor {
                    id: staff.id,
                    role: staff.role,
                    in_scope: access::in_scope(&mut tx, &staff, record.unit_id).await?,
                };
                let action = Action::Unpublish {
                    reason: reason.clone(),
                };
                match workflow::transition(&state, actor, &action, Utc::now()) {
                    Ok(outcome) => {
                        super::transition::apply(
                            &mut tx,
                            &record,
                            &staff,
                            "unpublish",
                            &outcome,
                            &reason,
                        )
                        .await?;
                    }
                    Err(refused) => {
                        refusal = Some(format!("“{}”：{}", record.title, refused.summary()));
                        break;
                    }
                }
            }
            placement => {
                let (column, value) = match placement {
                    Bulk::Unheadline => ("is_headline", false),
                    Bulk::Unrecommend => ("is_recommended", false),
                    _ => ("is_recommended", true),
                };
                sqlx::query(&format!("update articles set {column} = $2 where id = $1"))
                    .bind(id)
                    .bind(value)
                    .execute(&mut *tx)
                    .await?;
                crate::audit::record(
                    &mut tx,
                    &staff.actor(),
                    "article.placement",
                    &record.title,
                    change.label(),
                )
                .await?;
            }
        }
    }
    if let Some(message) = refusal {
        drop(tx);
        return refuse(
            backend,
            FormError::whole(message).with_status(StatusCode::CONFLICT),
        )
        .await;
    }
    tx.commit().await?;
    let mut to = back.url_with_page(back.page.parse().unwrap_or(1));
    to.push_str(&format!("&done=bulk-{}", ids.len()));
    Ok(see_other(&to))
}
