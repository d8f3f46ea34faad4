//! Special-topic pages (专题): chief editors gather stories on one subject
//! under a banner, in the order they choose; readers find them at
//! /topics/{slug} and on the home page.

pub mod admin;

use crate::web::reads::ReadPool;
use actix_web::{HttpResponse, web};
use askama::Template;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::articles::article_url;
use crate::error::AppError;
use crate::ids::ArticleId;
use crate::layout::PublicLayout;
use crate::media::{self, Size};
use crate::web::page;

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Topic {
    pub id: Uuid,
    pub slug: String,
    pub title: String,
    pub description: String,
    pub active: bool,
    pub banner_media_id: Option<Uuid>,
    pub banner_original_ext: Option<String>,
    pub banner_derived_ext: Option<String>,
}

impl Topic {
    pub fn banner(&self) -> Option<String> {
        let (id, original, derived) = (
            self.banner_media_id?,
            self.banner_original_ext.as_deref()?,
            self.banner_derived_ext.as_deref()?,
        );
        Some(media::url(id, Size::Display, derived, original))
    }

    pub fn url(&self) -> String {
        format!("/topics/{}", self.slug)
    }
}

const TOPIC_SQL: &str = "select t.id, t.slug, t.title, t.description, t.active, t.banner_media_id,
        m.original_ext as banner_original_ext, m.derived_ext as banner_derived_ext
    from topics t left join media m on m.id = t.banner_media_id";

pub async fn by_slug(conn: &mut PgConnection, slug: &str) -> sqlx::Result<Option<Topic>> {
    sqlx::query_as(&format!("{TOPIC_SQL} where t.slug = $1"))
        .bind(slug)
        .fetch_optional(conn)
        .await
}

pub async fn by_id(conn: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<Topic>> {
    sqlx::query_as(&format!("{TOPIC_SQL} where t.id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// All topics, newest first (active only when `active_only`).
pub async fn list(conn: &mut PgConnection, active_only: bool) -> sqlx::Result<Vec<Topic>> {
    sqlx::query_as(&format!(
        "{TOPIC_SQL} where (not $1 or t.active) order by t.created_at desc limit 100"
    ))
    .bind(active_only)
    .fetch_all(conn)
    .await
}

/// A story of a topic, in the topic's order.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TopicStory {
    pub article_id: ArticleId,
    pub number: i64,
    pub title: String,
    pub summary: String,
    pub status: String,
    pub position: i32,
}

impl TopicStory {
    pub fn url(&self) -> String {
        article_url(self.number)
    }
}

/// The stories of a topic in order; `published_only` for readers.
pub async fn stories(
    conn: &mut PgConnection,
    topic: Uuid,
    published_only: bool,
) -> sqlx::Result<Vec<TopicStory>> {
    sqlx::query_as(
        "select a.id as article_id, a.number, a.title, a.summary, a.status, ta.position
         from topic_articles ta join articles a on a.id = ta.article_id
         where ta.topic_id = $1 and (not $2 or a.status = 'published')
         order by ta.position, a.published_at desc",
    )
    .bind(topic)
    .bind(published_only)
    .fetch_all(conn)
    .await
}

#[derive(Template)]
#[template(path = "public/topic.html")]
struct TopicPage {
    layout: PublicLayout,
    topic: Topic,
    stories: Vec<TopicStory>,
}

/// GET /topics/{slug}
pub async fn show(
    pool: ReadPool,
    trees: web::Data<crate::site::TreeCache>,
    slug: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let mut conn = pool.acquire().await?;
    let topic = by_slug(&mut conn, &slug)
        .await?
        .filter(|topic| topic.active)
        .ok_or(AppError::NotFound)?;
    let stories = stories(&mut conn, topic.id, true).await?;
    let layout = PublicLayout::load(&mut conn, &trees).await?;
    let title = format!("专题：{}", topic.title);
    page(&TopicPage {
        layout: layout.titled(title, topic.description.clone()),
        topic,
        stories,
    })
}
