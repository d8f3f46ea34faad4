//! Moderation: the queue editors work through (filters; bulk approve,
//! reject, mark as spam; pin), each comment shown with its article, the
//! hash of its client address and the history of that reader or address;
//! and the sensitive-word list admins keep. Every action is audited.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};

use super::CommentStatus;
use crate::audit;
use crate::auth::{Permission, Staff};
use crate::error::{AppError, FormError};
use crate::ids::{CommentId, UnitId, UserId};
use crate::layout::AdminLayout;
use crate::web::csrf::CsrfToken;
use crate::web::redirect::see_other;
use crate::web::render;

const PAGE_SIZE: i64 = 50;

#[derive(Deserialize, Default)]
pub struct QueueQuery {
    /// pending (default), approved, rejected, spam, held, reported, all.
    #[serde(default)]
    view: String,
    #[serde(default)]
    channel: String,
    /// Words of the article's title.
    #[serde(default)]
    q: String,
    /// Comments from one client address (its hash, hex).
    #[serde(default)]
    client: String,
    before: Option<DateTime<Utc>>,
    #[serde(default)]
    done: String,
}

/// A tab's count is shown up to this many ("1000+" beyond).
const TAB_CAP: i64 = 1000;

const VIEWS: &[(&str, &str)] = &[
    ("pending", "待审核"),
    ("held", "含敏感词"),
    ("reported", "被举报"),
    ("approved", "已通过"),
    ("rejected", "未通过"),
    ("spam", "垃圾评论"),
    ("all", "全部"),
];

#[derive(sqlx::FromRow)]
pub struct QueueRow {
    pub id: CommentId,
    pub author_name: String,
    pub reader_name: Option<String>,
    pub anonymous: bool,
    pub body: String,
    pub status: CommentStatus,
    pub held_for: String,
    pub pinned: bool,
    pub report_count: i32,
    pub client_hash: Vec<u8>,
    pub created_at: DateTime<Utc>,
    pub parent_id: Option<CommentId>,
    pub number: i64,
    pub title: String,
    pub channel_name: String,
    /// The history of the same reader (or address, for anonymous comments).
    pub approved_before: i64,
    pub refused_before: i64,
}

impl QueueRow {
    pub fn client(&self) -> String {
        hex::encode(&self.client_hash)
    }

    pub fn client_short(&self) -> String {
        hex::encode(&self.client_hash[..4.min(self.client_hash.len())])
    }

    pub fn status_label(&self) -> &'static str {
        self.status.label()
    }
}

#[derive(Template)]
#[template(path = "admin/comments/queue.html")]
struct QueuePage {
    layout: AdminLayout,
    view: String,
    /// Each tab: its view, its label and, for those that wait, its count.
    tabs: Vec<(&'static str, &'static str, Option<String>)>,
    channel: String,
    q: String,
    client: String,
    channels: Vec<(String, String)>,
    rows: Vec<(QueueRow, String)>,
    next_page: Option<String>,
    notice: Option<String>,
    error: Option<FormError>,
}

async fn queue_rows(
    conn: &mut PgConnection,
    query: &QueueQuery,
    view: &str,
    scope: Option<&[UnitId]>,
) -> sqlx::Result<Vec<QueueRow>> {
    let client = hex::decode(query.client.trim())
        .ok()
        .filter(|c| !c.is_empty());
    sqlx::query_as(
        "select c.id, c.author_name, r.username as reader_name, c.anonymous, c.body, c.status,
                c.held_for, c.pinned, c.report_count, c.client_hash, c.created_at, c.parent_id,
                a.number, a.title, ch.name as channel_name,
                coalesce(h.approved, 0) as approved_before, coalesce(h.refused, 0) as refused_before
         from comments c
         join articles a on a.id = c.article_id
         join channels ch on ch.id = a.channel_id
         left join readers r on r.id = c.reader_id
         left join lateral (
             select count(*) filter (where o.status = 'approved') as approved,
                    count(*) filter (where o.status in ('rejected', 'spam')) as refused
             from comments o
             where o.id <> c.id and (case when c.reader_id is not null then o.reader_id = c.reader_id
                                          else o.client_hash = c.client_hash end)
         ) h on true
         where case $1
                 when 'held' then c.status = 'pending' and c.held_for <> ''
                 when 'reported' then c.report_count > 0 and c.status = 'approved'
                 when 'all' then c.status <> 'deleted'
                 else c.status = $1
               end
           and ($2 = '' or ch.slug = $2)
           and ($3 = '' or a.title like '%' || $3 || '%')
           and ($4::bytea is null or c.client_hash = $4)
           and ($5::timestamptz is null or c.created_at < $5)
           and ($7::uuid[] is null or a.unit_id = any($7))
         order by c.created_at desc limit $6",
    )
    .bind(view)
    .bind(query.channel.trim())
    .bind(query.q.trim())
    .bind(client)
    .bind(query.before)
    .bind(PAGE_SIZE + 1)
    .bind(scope)
    .fetch_all(conn)
    .await
}

fn done_notice(done: &str) -> Option<String> {
    let (action, count) = done.split_once(':')?;
    let label = match action {
        "approve" => "通过",
        "reject" => "拒绝",
        "spam" => "标为垃圾",
        "pin" => "置顶",
        "unpin" => "取消置顶",
        _ => return None,
    };
    let count: u32 = count.parse().ok()?;
    Some(format!("已{label} {count} 条评论。"))
}

async fn queue_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    query: QueueQuery,
    status: StatusCode,
    error: Option<FormError>,
) -> Result<HttpResponse, AppError> {
    let view = if VIEWS.iter().any(|(v, _)| *v == query.view) {
        query.view.clone()
    } else {
        "pending".to_owned()
    };
    let layout = AdminLayout::load(conn, staff, csrf, "评论审核", "/admin/comments").await?;
    let scope = crate::articles::access::scope_units(conn, staff).await?;
    let mut rows = queue_rows(conn, &query, &view, scope.as_deref()).await?;
    let next_page = (rows.len() as i64 > PAGE_SIZE).then(|| {
        rows.truncate(PAGE_SIZE as usize);
        let last = rows
            .last()
            .map(|r| r.created_at.to_rfc3339())
            .unwrap_or_default();
        format!(
            "/admin/comments?{}",
            serde_urlencoded::to_string([
                ("view", view.as_str()),
                ("channel", query.channel.trim()),
                ("q", query.q.trim()),
                ("client", query.client.trim()),
                ("before", last.as_str()),
            ])
            .unwrap_or_default()
        )
    });
    let channels = sqlx::query_as("select slug, name from channels order by sort_order, name")
        .fetch_all(&mut *conn)
        .await?;
    // What waits, per tab, within the moderator's units; counted up to
    // TAB_CAP each.
    let (pending, held, reported): (i64, i64, i64) = sqlx::query_as(
        "with scoped as (
             select c.status, c.held_for, c.report_count from comments c
             join articles a on a.id = c.article_id
             where ($1::uuid[] is null or a.unit_id = any($1))
         )
         select (select count(*) from (select 1 from scoped where status = 'pending' limit $2) p),
                (select count(*) from (select 1 from scoped
                                       where status = 'pending' and held_for <> '' limit $2) h),
                (select count(*) from (select 1 from scoped
                                       where status = 'approved' and report_count > 0 limit $2) r)",
    )
    .bind(scope.as_deref())
    .bind(TAB_CAP)
    .fetch_one(&mut *conn)
    .await?;
    let count_of = |key: &str| -> Option<String> {
        let n = match key {
            "pending" => pending,
            "held" => held,
            "reported" => reported,
            _ => return None,
        };
        Some(if n >= TAB_CAP {
            format!("{TAB_CAP}+")
        } else {
            n.to_string()
        })
    };
    let tabs = VIEWS
        .iter()
        .map(|(key, label)| (*key, *label, count_of(key)))
        .collect();
    let rows = rows
        .into_iter()
        .map(|row| {
            let time = layout.settings.format_minute(row.created_at);
            (row, time)
        })
        .collect();
    let page = QueuePage {
        layout,
        tabs,
        channel: query.channel.trim().to_owned(),
        q: query.q.trim().to_owned(),
        client: query.client.trim().to_owned(),
        channels,
        rows,
        next_page,
        notice: done_notice(&query.done),
        error,
        view,
    };
    render(status, &page)
}

/// GET /admin/comments
pub async fn queue(
    pool: web::Data<PgPool>,
    staff: Staff,
    csrf: CsrfToken,
    query: web::Query<QueueQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ModerateComments)?;
    let mut conn = pool.acquire().await?;
    queue_page(
        &mut conn,
        &staff,
        &csrf,
        query.into_inner(),
        StatusCode::OK,
        None,
    )
    .await
}

/// What a bulk action does.
fn action_update(action: &str) -> Option<(&'static str, &'static str)> {
    Some(match action {
        "approve" => (
            "status = 'approved', moderated_at = now(), moderated_by = $2",
            "comment.approve",
        ),
        "reject" => (
            "status = 'rejected', moderated_at = now(), moderated_by = $2",
            "comment.reject",
        ),
        "spam" => (
            "status = 'spam', moderated_at = now(), moderated_by = $2",
            "comment.spam",
        ),
        "pin" => ("pinned = true, moderated_by = $2", "comment.pin"),
        "unpin" => ("pinned = false, moderated_by = $2", "comment.unpin"),
        _ => return None,
    })
}

/// POST /admin/comments: `action` on every checked `ids`, in one
/// transaction, one audit entry per comment. The form's filters come back.
pub async fn moderate(
    pool: web::Data<PgPool>,
    staff: Staff,
    csrf: CsrfToken,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ModerateComments)?;
    let fields = form.into_inner();
    let field = |name: &str| {
        fields
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.clone())
            .unwrap_or_default()
    };
    // A row's own button names its action and its comment (`one` =
    // "approve:ID"); the bar above the table acts on the ticked ones.
    let one = field("one");
    let (action, ids): (String, Vec<CommentId>) = match one.split_once(':') {
        Some((action, id)) => (action.to_owned(), id.parse().ok().into_iter().collect()),
        None => (
            field("action"),
            fields
                .iter()
                .filter(|(key, _)| key == "ids")
                .filter_map(|(_, value)| value.parse().ok())
                .collect(),
        ),
    };
    let back = QueueQuery {
        view: field("view"),
        channel: field("channel"),
        q: field("q"),
        client: field("client"),
        ..QueueQuery::default()
    };
    let Some((update, audit_action)) = action_update(&action) else {
        return Err(AppError::BadRequest);
    };
    if ids.is_empty() {
        let mut conn = pool.acquire().await?;
        return queue_page(
            &mut conn,
            &staff,
            &csrf,
            back,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("请先勾选要处理的评论。".into()),
        )
        .await;
    }
    let mut tx = pool.begin().await?;
    // Comments on stories outside the editor's units are left untouched.
    let scope = crate::articles::access::scope_units(&mut tx, &staff).await?;
    let changed: Vec<(CommentId, String, i64)> = sqlx::query_as(&format!(
        "update comments c set {update} from articles a
         where c.id = any($1) and c.status <> 'deleted' and a.id = c.article_id
           and ($3::uuid[] is null or a.unit_id = any($3))
         returning c.id, c.body, a.number"
    ))
    .bind(&ids)
    .bind(staff.id)
    .bind(scope)
    .fetch_all(&mut *tx)
    .await?;
    let actor = staff.actor();
    for (id, body, number) in &changed {
        let excerpt: String = body.chars().take(60).collect();
        audit::record(
            &mut tx,
            &actor,
            audit_action,
            &format!("评论 {id}（稿件 {number}）"),
            &excerpt,
        )
        .await?;
    }
    tx.commit().await?;
    let query = serde_urlencoded::to_string([
        ("view", back.view.as_str()),
        ("channel", back.channel.as_str()),
        ("q", back.q.as_str()),
        ("client", back.client.as_str()),
        ("done", &format!("{action}:{}", changed.len())),
    ])
    .unwrap_or_default();
    Ok(see_other(&format!("/admin/comments?{query}")))
}

#[derive(Template)]
#[template(path = "admin/comments/words.html")]
struct WordsPage {
    layout: AdminLayout,
    words: Vec<(String, String)>,
    typed: String,
    notice: Option<String>,
    error: Option<FormError>,
}

async fn words_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    status: StatusCode,
    typed: String,
    notice: Option<String>,
    error: Option<FormError>,
) -> Result<HttpResponse, AppError> {
    let layout = AdminLayout::load(conn, staff, csrf, "敏感词", "/admin/sensitive-words").await?;
    let rows: Vec<(String, DateTime<Utc>)> =
        sqlx::query_as("select word, created_at from sensitive_words order by word")
            .fetch_all(&mut *conn)
            .await?;
    let words = rows
        .into_iter()
        .map(|(word, at)| (word, layout.settings.format_date(at)))
        .collect();
    render(
        status,
        &WordsPage {
            layout,
            words,
            typed,
            notice,
            error,
        },
    )
}

/// GET /admin/sensitive-words
pub async fn words(
    pool: web::Data<PgPool>,
    staff: Staff,
    csrf: CsrfToken,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageSecurity)?;
    let mut conn = pool.acquire().await?;
    words_page(
        &mut conn,
        &staff,
        &csrf,
        StatusCode::OK,
        String::new(),
        None,
        None,
    )
    .await
}

#[derive(Deserialize)]
pub struct WordsForm {
    #[serde(default)]
    add: String,
    #[serde(default)]
    remove: String,
}

/// POST /admin/sensitive-words: adds the words typed (one per line) or
/// removes one.
pub async fn change_words(
    pool: web::Data<PgPool>,
    staff: Staff,
    csrf: CsrfToken,
    form: web::Form<WordsForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageSecurity)?;
    let form = form.into_inner();
    let actor = staff.actor();
    let mut tx = pool.begin().await?;
    let notice = if !form.remove.trim().is_empty() {
        let removed = sqlx::query!(
            "delete from sensitive_words where word = $1",
            form.remove.trim()
        )
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if removed > 0 {
            audit::record(
                &mut tx,
                &actor,
                "sensitive_word.remove",
                form.remove.trim(),
                "",
            )
            .await?;
        }
        format!("已删除“{}”。", form.remove.trim())
    } else {
        let words: Vec<&str> = form
            .add
            .lines()
            .map(str::trim)
            .filter(|w| !w.is_empty())
            .collect();
        if words.is_empty() || words.iter().any(|w| w.chars().count() > 40) {
            drop(tx);
            let mut conn = pool.acquire().await?;
            return words_page(
                &mut conn,
                &staff,
                &csrf,
                StatusCode::UNPROCESSABLE_ENTITY,
                form.add,
                None,
                Some("请输入敏感词，每行一个，每个不超过 40 个字。".into()),
            )
            .await;
        }
        let mut added = 0;
        for word in &words {
            let inserted = sqlx::query!(
                "insert into sensitive_words (word, created_by) values ($1, $2) on conflict do nothing", word, staff.id as UserId,)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if inserted > 0 {
                added += 1;
                audit::record(&mut tx, &actor, "sensitive_word.add", word, "").await?;
            }
        }
        format!("已添加 {added} 个敏感词。")
    };
    tx.commit().await?;
    let mut conn = pool.acquire().await?;
    words_page(
        &mut conn,
        &staff,
        &csrf,
        StatusCode::OK,
        String::new(),
        Some(notice),
        None,
    )
    .await
}
