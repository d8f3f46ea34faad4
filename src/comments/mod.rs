//! Reader comments: the section of the article page (最新评论 N, newest
//! first, pinned ones on top, one level of replies), posting behind a
//! captcha with rate limits, duplicate detection and a honeypot, reports,
//! and readers deleting their own comments. Moderation is in `admin`.

pub mod admin;
pub mod words;

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::articles::public::{self, ArticleQuery};
use crate::captcha;
use crate::error::AppError;
use crate::readers::{self, Reader};
use crate::settings::SiteSettings;
use crate::state::AppState;
use crate::web::client::client_ip;
use crate::web::redirect::see_other;

/// The name anonymous comments are shown under.
pub const ANONYMOUS_NAME: &str = "匿名网友";
pub const MAX_LENGTH: usize = 1000;
const PAGE_SIZE: i64 = 20;
/// Comments allowed per client address, and per reader, in the window.
const RATE_LIMIT: i64 = 5;
const RATE_WINDOW_MINUTES: i32 = 10;

/// A keyed hash of a client address: comments from one address can be
/// told apart without the address being kept.
pub fn client_hash(secret: &[u8], ip: &str) -> Vec<u8> {
    crate::secret::keyed_hash(secret, "newsdesk client address", ip.as_bytes())[..16].to_vec()
}

/// Where a comment stands; stored as text in `comments.status` (an unknown
/// value fails to decode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum CommentStatus {
    Pending,
    Approved,
    Rejected,
    Spam,
    Deleted,
}

impl CommentStatus {
    /// The value stored in `comments.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            CommentStatus::Pending => "pending",
            CommentStatus::Approved => "approved",
            CommentStatus::Rejected => "rejected",
            CommentStatus::Spam => "spam",
            CommentStatus::Deleted => "deleted",
        }
    }

    /// What the status is called on pages.
    pub fn label(self) -> &'static str {
        match self {
            CommentStatus::Pending => "待审核",
            CommentStatus::Approved => "已通过",
            CommentStatus::Rejected => "未通过",
            CommentStatus::Spam => "垃圾评论",
            CommentStatus::Deleted => "已删除",
        }
    }
}

impl std::fmt::Display for CommentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A comment as the article page shows it.
pub struct ShownComment {
    pub id: Uuid,
    pub name: String,
    pub body: String,
    pub time: String,
    pub pinned: bool,
    pub replies: Vec<ShownComment>,
}

/// The comment section of an article page.
pub struct Section {
    /// Approved comments, replies included.
    pub total: i64,
    pub comments: Vec<ShownComment>,
    pub next_page: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: Uuid,
    parent_id: Option<Uuid>,
    author_name: String,
    body: String,
    created_at: DateTime<Utc>,
    pinned: bool,
}

impl Row {
    fn shown(self, settings: &SiteSettings) -> ShownComment {
        ShownComment {
            id: self.id,
            name: self.author_name,
            body: self.body,
            time: settings.format_time(self.created_at),
            pinned: self.pinned,
            replies: Vec::new(),
        }
    }
}

/// One page of an article's approved comments with their replies, in two
/// queries. The first page starts with the pinned comments; later pages
/// continue after the comment `before` (keyset pages stay stable while
/// comments arrive). `total` is the story's count of approved comments,
/// kept by the database (migration 0012): without any, nothing is read.
pub async fn section(
    conn: &mut PgConnection,
    article_id: Uuid,
    number: i64,
    total: i64,
    before: Option<Uuid>,
    settings: &SiteSettings,
) -> sqlx::Result<Section> {
    if total == 0 {
        return Ok(Section {
            total,
            comments: Vec::new(),
            next_page: None,
        });
    }
    let rows: Vec<Row> = sqlx::query_as(
        "select id, parent_id, author_name, body, created_at, pinned from comments
         where article_id = $1 and parent_id is null and status = 'approved'
           and ($2::uuid is null or (not pinned and (created_at, id) <
                (select created_at, id from comments where id = $2)))
         order by pinned desc, created_at desc, id desc limit $3",
    )
    .bind(article_id)
    .bind(before)
    .bind(PAGE_SIZE + 1)
    .fetch_all(&mut *conn)
    .await?;
    let more = rows.len() as i64 > PAGE_SIZE;
    let mut comments: Vec<ShownComment> = rows
        .into_iter()
        .take(PAGE_SIZE as usize)
        .map(|row| row.shown(settings))
        .collect();
    let next_page = more
        .then(|| comments.last().map(|c| c.id))
        .flatten()
        .map(|last| format!("{}?comments_before={last}", public::article_url(number)));
    let ids: Vec<Uuid> = comments.iter().map(|c| c.id).collect();
    if !ids.is_empty() {
        let replies: Vec<Row> = sqlx::query_as(
            "select id, parent_id, author_name, body, created_at, pinned from comments
             where parent_id = any($1) and status = 'approved'
             order by created_at, id",
        )
        .bind(&ids)
        .fetch_all(&mut *conn)
        .await?;
        for reply in replies {
            if let Some(parent) = comments.iter_mut().find(|c| Some(c.id) == reply.parent_id) {
                parent.replies.push(reply.shown(settings));
            }
        }
    }
    Ok(Section {
        total,
        comments,
        next_page,
    })
}

/// The comment form's fields as typed, for filling the form again.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct CommentForm {
    #[serde(default)]
    pub author_name: String,
    #[serde(default)]
    pub password: String,
    pub anonymous: Option<String>,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub parent_id: String,
    #[serde(default)]
    pub captcha_id: String,
    #[serde(default)]
    pub captcha_answer: String,
    /// The honeypot: hidden from people, filled in by bots.
    #[serde(default)]
    pub website: String,
}

/// The form as the page shows it again after a refusal.
#[derive(Debug, Default, Clone)]
pub struct Draft {
    pub author_name: String,
    pub anonymous: bool,
    pub body: String,
    pub parent_id: String,
    pub error: Option<String>,
}

impl CommentForm {
    fn draft(&self, error: &str) -> Draft {
        Draft {
            author_name: self.author_name.trim().to_owned(),
            anonymous: self.anonymous.is_some(),
            body: self.body.clone(),
            parent_id: self.parent_id.clone(),
            error: Some(error.to_owned()),
        }
    }
}

/// The story a comment is posted on.
#[derive(sqlx::FromRow)]
struct Target {
    id: Uuid,
    comment_moderation: String,
}

fn body_hash(body: &str) -> Vec<u8> {
    let normalised: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    Sha256::digest(normalised.as_bytes()).to_vec()
}

/// Who a comment is posted as.
struct Author {
    reader_id: Option<Uuid>,
    name: String,
    anonymous: bool,
    /// Logged in with the form's username and password: a session opens
    /// with the comment.
    signed_in: bool,
}

/// A refusal of a comment: the message for the form and the status.
type Refusal = (String, StatusCode);

fn refusal(message: &str, status: StatusCode) -> Result<Result<Accepted, Refusal>, AppError> {
    Ok(Err((message.to_owned(), status)))
}

/// A stored comment: shown at once or waiting, and the session opened by
/// logging in with the form.
struct Accepted {
    shown: bool,
    cookie: Option<actix_web::cookie::Cookie<'static>>,
}

/// Where a comment comes from: the client's address and whether it came
/// over https (for the reader's session cookie).
struct Sender<'a> {
    ip: &'a str,
    https: bool,
}

/// Checks a comment against every rule and stores it, on one connection.
#[allow(clippy::too_many_arguments)]
async fn accept(
    pool: &PgPool,
    conn: &mut PgConnection,
    state: &AppState,
    site: &crate::site::Trees,
    reader: Option<&Reader>,
    target: &Target,
    form: &CommentForm,
    sender: Sender<'_>,
) -> Result<Result<Accepted, Refusal>, AppError> {
    let Sender { ip, https } = sender;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let client = client_hash(state.secret.as_bytes(), ip);
    let checked = captcha::check_form(conn, state, &form.captcha_id, &form.captcha_answer).await?;
    if let Err(refused) = checked {
        return refusal(refused.message(), unprocessable);
    }
    let body = form.body.trim();
    if body.is_empty() {
        return refusal("请填写评论内容。", unprocessable);
    }
    if body.chars().count() > MAX_LENGTH {
        return refusal(
            &format!("评论内容不能超过 {MAX_LENGTH} 个字。"),
            unprocessable,
        );
    }
    let settings = &site.settings;
    let author = if form.anonymous.is_some() {
        if !settings.anonymous_comments {
            return refusal("本站目前不允许匿名评论，请登录后发表。", unprocessable);
        }
        Author {
            reader_id: reader.map(|r| r.id),
            name: ANONYMOUS_NAME.to_owned(),
            anonymous: true,
            signed_in: false,
        }
    } else if let Some(reader) = reader {
        Author {
            reader_id: Some(reader.id),
            name: reader.username.clone(),
            anonymous: false,
            signed_in: false,
        }
    } else {
        let username = form.author_name.trim();
        if username.is_empty() || form.password.is_empty() {
            let message = if settings.anonymous_comments {
                "请填写读者用户名和密码，或选择匿名发表。"
            } else {
                "请填写读者用户名和密码后发表。"
            };
            return refusal(message, unprocessable);
        }
        match readers::authenticate(pool, username, form.password.clone(), ip, true).await? {
            Ok(id) => {
                let name: String = sqlx::query_scalar("select username from readers where id = $1")
                    .bind(id)
                    .fetch_one(&mut *conn)
                    .await?;
                Author {
                    reader_id: Some(id),
                    name,
                    anonymous: false,
                    signed_in: true,
                }
            }
            Err(refused) => return refusal(&refused.message, StatusCode::UNAUTHORIZED),
        }
    };
    let parent_id = match form.parent_id.trim() {
        "" => None,
        id => {
            let parent = id.parse::<Uuid>().ok();
            let valid: bool = sqlx::query_scalar(
                "select exists (select 1 from comments where id = $1 and article_id = $2
                                and parent_id is null and status = 'approved')",
            )
            .bind(parent)
            .bind(target.id)
            .fetch_one(&mut *conn)
            .await?;
            if !valid {
                return refusal("要回复的评论不存在或已不再显示。", unprocessable);
            }
            parent
        }
    };
    let (by_address, by_reader): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where client_hash = $1),
                count(*) filter (where $2::uuid is not null and reader_id = $2)
         from comments
         where (client_hash = $1 or reader_id = $2)
           and created_at > now() - make_interval(mins => $3)",
    )
    .bind(&client)
    .bind(author.reader_id)
    .bind(RATE_WINDOW_MINUTES)
    .fetch_one(&mut *conn)
    .await?;
    if by_address >= RATE_LIMIT || by_reader >= RATE_LIMIT {
        return refusal("评论过于频繁，请稍后再试。", StatusCode::TOO_MANY_REQUESTS);
    }
    let hash = body_hash(body);
    let duplicate: bool = sqlx::query_scalar(
        "select exists (select 1 from comments
                        where body_hash = $1 and status <> 'deleted'
                          and ((client_hash = $2 or reader_id = $3) and created_at > now() - interval '1 day'
                               or article_id = $4 and created_at > now() - interval '1 hour'))",
    )
    .bind(&hash)
    .bind(&client)
    .bind(author.reader_id)
    .bind(target.id)
    .fetch_one(&mut *conn)
    .await?;
    if duplicate {
        return refusal("请勿重复发表相同的评论。", StatusCode::CONFLICT);
    }
    let held = site.words.find(body).join("、");
    let status = if held.is_empty() && target.comment_moderation == "post" {
        CommentStatus::Approved
    } else {
        CommentStatus::Pending
    };
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    sqlx::query(
        "insert into comments (article_id, parent_id, reader_id, author_name, anonymous, body,
                               status, held_for, client_hash, body_hash)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(target.id)
    .bind(parent_id)
    .bind(author.reader_id)
    .bind(&author.name)
    .bind(author.anonymous)
    .bind(body)
    .bind(status)
    .bind(&held)
    .bind(&client)
    .bind(&hash)
    .execute(&mut *tx)
    .await?;
    let cookie = match author.reader_id.filter(|_| author.signed_in) {
        Some(id) => {
            Some(readers::start_session(&mut tx, id, https || settings.cookie_secure).await?)
        }
        None => None,
    };
    tx.commit().await?;
    Ok(Ok(Accepted {
        shown: status == CommentStatus::Approved,
        cookie,
    }))
}

/// POST /articles/{number}/comments
pub async fn post(
    req: HttpRequest,
    pool: web::Data<PgPool>,
    trees: web::Data<crate::site::TreeCache>,
    state: web::Data<AppState>,
    reader: Option<Reader>,
    number: web::Path<String>,
    form: web::Form<CommentForm>,
) -> Result<HttpResponse, AppError> {
    let number: i64 = number.parse().map_err(|_| AppError::NotFound)?;
    let form = form.into_inner();
    let mut conn = pool.acquire().await?;
    let target: Target = sqlx::query_as(
        "select a.id, c.comment_moderation from articles a join channels c on c.id = a.channel_id
         where a.number = $1 and a.status = 'published'",
    )
    .bind(number)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    let article = public::article_url(number);
    if !form.website.is_empty() {
        tracing::info!("dropped a comment that filled in the honeypot");
        return Ok(see_other(&format!("{article}?comment=pending#comments")));
    }
    let ip = client_ip(&req, &state.trusted_proxies);
    let site = trees.current(&mut conn).await?;
    let outcome = accept(
        &pool,
        &mut conn,
        &state,
        &site,
        reader.as_ref(),
        &target,
        &form,
        Sender {
            ip: &ip,
            https: crate::web::cookies::https(&req),
        },
    )
    .await?;
    drop(conn);
    match outcome {
        Ok(accepted) => {
            let outcome = if accepted.shown { "posted" } else { "pending" };
            let mut response = HttpResponse::SeeOther();
            response.insert_header((LOCATION, format!("{article}?comment={outcome}#comments")));
            if let Some(cookie) = accepted.cookie {
                response.cookie(cookie);
            }
            Ok(response.finish())
        }
        Err((message, status)) => {
            let sources = public::PageSources {
                pool: &pool,
                trees: &trees,
                key: state.secret.as_bytes(),
            };
            public::render_article(
                sources,
                number,
                &ArticleQuery::default(),
                Some(form.draft(&message)),
                status,
            )
            .await
        }
    }
}

/// POST /comments/{id}/report: any visitor, once per address.
pub async fn report(
    req: HttpRequest,
    pool: web::Data<PgPool>,
    state: web::Data<AppState>,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, &state.trusted_proxies);
    let client = client_hash(state.secret.as_bytes(), &ip);
    let mut tx = pool.begin().await?;
    let number: i64 = sqlx::query_scalar(
        "select a.number from comments c join articles a on a.id = c.article_id
         where c.id = $1 and c.status = 'approved' and a.status = 'published'",
    )
    .bind(*id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    let first = sqlx::query(
        "insert into comment_reports (comment_id, client_hash) values ($1, $2) on conflict do nothing",
    )
    .bind(*id)
    .bind(&client)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if first {
        sqlx::query("update comments set report_count = report_count + 1 where id = $1")
            .bind(*id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(see_other(&format!(
        "{}?comment=reported#comments",
        public::article_url(number)
    )))
}

/// POST /comments/{id}/delete: a reader deletes one of their comments.
pub async fn delete_own(
    pool: web::Data<PgPool>,
    reader: Reader,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let mut conn = pool.acquire().await?;
    let deleted = sqlx::query(
        "update comments set status = 'deleted' where id = $1 and reader_id = $2 and status <> 'deleted'",
    )
    .bind(*id)
    .bind(reader.id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if deleted == 0 {
        return Err(AppError::NotFound);
    }
    Ok(see_other("/account?deleted=1"))
}

/// The notice shown after posting, reporting or on a reply link.
pub fn notice(outcome: Option<&str>) -> Option<&'static str> {
    match outcome? {
        "posted" => Some("评论已发表。"),
        "pending" => Some("评论已提交，审核通过后显示。"),
        "reported" => Some("感谢举报，我们会尽快处理。"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_hashed_with_the_key() {
        let one = client_hash(b"k1", "10.0.0.1");
        assert_eq!(one.len(), 16);
        assert_eq!(one, client_hash(b"k1", "10.0.0.1"));
        assert_ne!(one, client_hash(b"k2", "10.0.0.1"));
        assert_ne!(one, client_hash(b"k1", "10.0.0.2"));
    }

    #[test]
    fn duplicates_ignore_spacing() {
        assert_eq!(body_hash("好 文章\n"), body_hash("好  文章"));
        assert_ne!(body_hash("好文章"), body_hash("好文章！"));
    }
}
