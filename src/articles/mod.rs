//! Articles: the stories of the newsroom. This module holds the domain types
//! and the body sanitiser; `db` the queries, `public` the reader's pages.

pub mod access;
pub mod admin;
pub mod all;
pub mod body;
pub mod correction;
pub mod db;
pub mod diff;
pub mod feeds;
pub mod form;
pub mod home;
pub mod legacy;
pub mod parts;
pub mod public;
pub mod queue;
pub mod review;
pub mod show;
pub mod store;
pub mod transition;
pub mod views;

pub use body::SanitizedHtml;

use chrono::{DateTime, Utc};
use uuid::Uuid;

/// The public address of the story numbered `number`.
pub fn article_url(number: i64) -> String {
    format!("/articles/{number}")
}

/// The public address of a channel page.
pub fn channel_url(slug: &str) -> String {
    format!("/channels/{slug}")
}

/// A published story as lists show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ArticleListItem {
    pub number: i64,
    pub title: String,
    pub summary: String,
    pub channel_name: String,
    pub channel_slug: String,
    pub published_at: DateTime<Utc>,
    pub comment_count: i32,
    pub cover_id: Option<Uuid>,
    pub cover_original_ext: Option<String>,
    pub cover_derived_ext: Option<String>,
}

impl ArticleListItem {
    /// The cover's thumbnail URL, when the story has a cover.
    pub fn cover_thumb(&self) -> Option<String> {
        let (id, original, derived) = (
            self.cover_id?,
            self.cover_original_ext.as_deref()?,
            self.cover_derived_ext.as_deref()?,
        );
        Some(crate::media::url(
            id,
            crate::media::Size::Thumb,
            derived,
            original,
        ))
    }
}

/// A published story with everything its public page shows.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PublishedArticle {
    pub id: crate::ids::ArticleId,
    pub number: i64,
    pub channel_id: crate::ids::ChannelId,
    pub unit_id: crate::ids::UnitId,
    pub title: String,
    pub kicker: String,
    pub subtitle: String,
    pub summary: String,
    pub body_html: String,
    pub source: String,
    pub published_at: DateTime<Utc>,
    pub view_count: i64,
    /// Approved comments, kept by the database.
    pub comment_count: i32,
    pub correction_note: String,
    pub corrected_at: Option<DateTime<Utc>>,
    pub responsible_editors: String,
    pub cover_id: Option<Uuid>,
    pub cover_original_ext: Option<String>,
    pub cover_derived_ext: Option<String>,
}

impl PublishedArticle {
    /// The cover photo at display size (for `og:image`), when there is one.
    pub fn cover_display(&self) -> Option<String> {
        Some(crate::media::url(
            self.cover_id?,
            crate::media::Size::Display,
            self.cover_derived_ext.as_deref()?,
            self.cover_original_ext.as_deref()?,
        ))
    }
}
