//! Reader comments: the section of the article page (最新评论 N, newest
//! first, pinned ones on top, one level of replies) and the comment form.
//! Posting, reporting and deleting are in `post`, moderation in `admin`.

pub mod admin;
pub mod post;
pub mod words;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgConnection;

use crate::error::FormError;
use crate::ids::{ArticleId, CommentId};
use crate::settings::SiteSettings;

/// The name anonymous comments are shown under.
pub const ANONYMOUS_NAME: &str = "匿名网友";
pub const MAX_LENGTH: usize = 1000;
const PAGE_SIZE: i64 = 20;
/// Comments allowed per client address, and per reader, in the window.
pub const RATE_LIMIT: i64 = 5;
pub const RATE_WINDOW_MINUTES: i32 = 10;

/// A keyed hash of a client address: comments from one address can be
/// told apart without the address being kept.
/// A comment body's hash, whitespace folded: the same words posted again
/// have the same hash.
pub fn body_hash(body: &str) -> Vec<u8> {
    use sha2::Digest;
    let normalised: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    sha2::Sha256::digest(normalised.as_bytes()).to_vec()
}

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
    pub id: CommentId,
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
    id: CommentId,
    parent_id: Option<CommentId>,
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
            time: settings.format_minute(self.created_at),
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
    article_id: ArticleId,
    number: i64,
    total: i64,
    before: Option<CommentId>,
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
        .map(|last| {
            format!(
                "{}?comments_before={last}",
                crate::articles::article_url(number)
            )
        });
    let ids: Vec<CommentId> = comments.iter().map(|c| c.id).collect();
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
    /// Why the comment was refused, each message beside its field.
    pub refusal: Option<FormError>,
}

impl Draft {
    /// The message beside `field`, if the refusal gave it one.
    pub fn says(&self, field: &str) -> Option<&str> {
        self.refusal.as_ref().and_then(|refusal| refusal.at(field))
    }
}

impl CommentForm {
    pub fn draft(&self, refusal: FormError) -> Draft {
        Draft {
            author_name: self.author_name.trim().to_owned(),
            anonymous: self.anonymous.is_some(),
            body: self.body.clone(),
            parent_id: self.parent_id.clone(),
            refusal: Some(refusal),
        }
    }
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
}
