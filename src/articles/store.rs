//! Writing articles: the row, its tags, its credited authors, a revision for
//! every save and an event for every workflow step. Every function takes the
//! caller's transaction, so a save is all or nothing.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::ids::{ArticleId, ChannelId, UnitId, UserId};

use super::form::{ArticleInput, Credit};

/// An article as the backend pages need it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ArticleRecord {
    pub id: ArticleId,
    pub number: i64,
    pub channel_id: ChannelId,
    pub channel_name: String,
    pub review_stages: Vec<crate::roles::StageRole>,
    pub unit_id: UnitId,
    pub unit_name: String,
    pub created_by: UserId,
    pub writer_name: String,
    pub title: String,
    pub kicker: String,
    pub subtitle: String,
    pub summary: String,
    pub body_html: String,
    pub author_byline: String,
    pub correspondents: String,
    pub source: String,
    pub tags: String,
    pub status: crate::workflow::Status,
    pub review_stage: i16,
    pub published_at: Option<DateTime<Utc>>,
    pub version: i32,
    pub responsible_editors: String,
    pub schedule_missed: bool,
    pub is_headline: bool,
    pub is_recommended: bool,
    pub cover_media_id: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
    /// Who passed a stage since the story was last submitted (三审
    /// separation), as the workflow keeps it (migration 0030).
    pub passed_by: Vec<UserId>,
}

const RECORD_SQL: &str =
    "select a.id, a.number, a.channel_id, c.name as channel_name, c.review_stages,
        a.unit_id, n.name as unit_name, a.created_by, w.display_name as writer_name,
        a.title, a.kicker, a.subtitle, a.summary, a.body_html, a.author_byline, a.correspondents,
        a.source,
        coalesce((select string_agg(t.name, '，' order by at.position)
                  from article_tags at join tags t on t.id = at.tag_id
                  where at.article_id = a.id), '') as tags,
        a.status, a.review_stage, a.published_at, a.version, a.responsible_editors,
        a.schedule_missed, a.is_headline, a.is_recommended, a.cover_media_id, a.updated_at,
        a.passed_by
    from articles a
    join channels c on c.id = a.channel_id
    join units n on n.id = a.unit_id
    join users w on w.id = a.created_by
    where a.id = $1";

pub async fn record(conn: &mut PgConnection, id: ArticleId) -> sqlx::Result<Option<ArticleRecord>> {
    sqlx::query_as(RECORD_SQL)
        .bind(id)
        .fetch_optional(conn)
        .await
}

/// The record, with its row locked until the transaction ends.
pub async fn record_for_update(
    conn: &mut PgConnection,
    id: ArticleId,
) -> sqlx::Result<Option<ArticleRecord>> {
    sqlx::query("select 1 from articles where id = $1 for update")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    record(conn, id).await
}

/// Inserts a new draft and returns its id.
pub async fn insert(
    conn: &mut PgConnection,
    input: &ArticleInput,
    writer: UserId,
) -> sqlx::Result<ArticleId> {
    let id: Uuid = sqlx::query_scalar!(
        "insert into articles (channel_id, unit_id, created_by, title, kicker, subtitle, summary, body_html,
                               body_text, author_byline, correspondents, source, cover_media_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) returning id", input.channel_id as ChannelId, input.unit_id as UnitId, writer as UserId, &input.title, &input.kicker, &input.subtitle, &input.summary, input.body.as_str(), &input.body_text, &input.author_byline, &input.correspondents, &input.source, input.cover_media_id,)
    .fetch_one(&mut *conn)
    .await?;
    let id = ArticleId(id);
    replace_details(conn, id, input).await?;
    crate::search::index(conn, id, &input.indexed()).await?;
    Ok(id)
}

/// Updates the article if it is still at `version`; returns the new version,
/// or None when someone saved in between.
pub async fn update(
    conn: &mut PgConnection,
    id: ArticleId,
    input: &ArticleInput,
    version: i32,
) -> sqlx::Result<Option<i32>> {
    let new_version: Option<i32> = sqlx::query_scalar!(
        "update articles set channel_id = $2, unit_id = $3, title = $4, kicker = $5, subtitle = $6,
                summary = $7, body_html = $8, body_text = $9, author_byline = $10, correspondents = $11,
                source = $12, cover_media_id = $14, version = version + 1
         where id = $1 and version = $13
         returning version", id as ArticleId, input.channel_id as ChannelId, input.unit_id as UnitId, &input.title, &input.kicker, &input.subtitle, &input.summary, input.body.as_str(), &input.body_text, &input.author_byline, &input.correspondents, &input.source, version, input.cover_media_id,)
    .fetch_optional(&mut *conn)
    .await?;
    if new_version.is_some() {
        replace_details(conn, id, input).await?;
        crate::search::index(conn, id, &input.indexed()).await?;
    }
    Ok(new_version)
}

async fn replace_details(
    conn: &mut PgConnection,
    id: ArticleId,
    input: &ArticleInput,
) -> sqlx::Result<()> {
    sqlx::query("delete from article_tags where article_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for (position, tag) in input.tags.iter().enumerate() {
        let tag_id: Uuid = sqlx::query_scalar!(
            "insert into tags (name) values ($1) on conflict (name) do update set name = excluded.name returning id", tag,)
        .fetch_one(&mut *conn)
        .await?;
        sqlx::query("insert into article_tags (article_id, tag_id, position) values ($1, $2, $3)")
            .bind(id)
            .bind(tag_id)
            .bind(position as i16)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("delete from article_authors where article_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    for (position, credit) in input.credits.iter().enumerate() {
        let author = author_for(conn, credit, input.unit_id).await?;
        sqlx::query("insert into article_authors (article_id, position, author_id, role) values ($1, $2, $3, $4)")
            .bind(id)
            .bind(position as i16)
            .bind(author)
            .bind(&credit.role)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// The author record for a credited name: the staff member of that name
/// (preferring one in the story's unit), else an outside contributor of
/// that name (likewise), else a new outside contributor of the story's unit.
async fn author_for(
    conn: &mut PgConnection,
    credit: &Credit,
    unit_id: UnitId,
) -> sqlx::Result<Uuid> {
    let staff: Option<(Uuid, Uuid)> = sqlx::query_as(
        "select id, unit_id from users where display_name = $1 and active
         order by (unit_id = $2) desc, created_at limit 1",
    )
    .bind(&credit.name)
    .bind(unit_id)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((user_id, user_unit)) = staff {
        return sqlx::query_scalar!(
            "insert into authors (name, unit_id, user_id) values ($1, $2, $3)
             on conflict (user_id) do update set name = excluded.name returning id",
            &credit.name,
            user_unit,
            user_id,
        )
        .fetch_one(conn)
        .await;
    }
    let existing: Option<Uuid> = sqlx::query_scalar!(
        "select id from authors where name = $1 and user_id is null
         order by (unit_id = $2) desc nulls last, created_at limit 1",
        &credit.name,
        unit_id as UnitId,
    )
    .fetch_optional(&mut *conn)
    .await?;
    match existing {
        Some(id) => Ok(id),
        None => {
            sqlx::query_scalar!(
                "insert into authors (name, unit_id) values ($1, $2) returning id",
                &credit.name,
                unit_id as UnitId
            )
            .fetch_one(conn)
            .await
        }
    }
}

/// Keeps the article as saved at `version`.
pub async fn save_revision(
    conn: &mut PgConnection,
    id: ArticleId,
    version: i32,
    saved_by: UserId,
    input: &ArticleInput,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into article_revisions (article_id, version, saved_by, channel_id, unit_id, title, kicker,
                                        subtitle, summary, body_html, author_byline, correspondents, source, tags,
                                        cover_media_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(id)
    .bind(version)
    .bind(saved_by)
    .bind(input.channel_id)
    .bind(input.unit_id)
    .bind(&input.title)
    .bind(&input.kicker)
    .bind(&input.subtitle)
    .bind(&input.summary)
    .bind(input.body.as_str())
    .bind(&input.author_byline)
    .bind(&input.correspondents)
    .bind(&input.source)
    .bind(input.tags.join("，"))
    .bind(input.cover_media_id)
    .execute(conn)
    .await?;
    Ok(())
}

/// One step of an article's history.
#[derive(Clone, Copy)]
pub struct Event<'a> {
    pub actor_id: Option<UserId>,
    pub actor_name: &'a str,
    pub action: &'a str,
    pub from_status: &'a str,
    pub to_status: &'a str,
    pub stage: Option<i16>,
    pub note: &'a str,
}

pub async fn record_event(
    conn: &mut PgConnection,
    article_id: ArticleId,
    event: &Event<'_>,
) -> sqlx::Result<()> {
    sqlx::query(
        "insert into review_events (article_id, actor_id, actor_name, action, from_status, to_status, stage, note)
         values ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(article_id)
    .bind(event.actor_id)
    .bind(event.actor_name)
    .bind(event.action)
    .bind(event.from_status)
    .bind(event.to_status)
    .bind(event.stage)
    .bind(event.note)
    .execute(conn)
    .await?;
    Ok(())
}

/// The credited authors in order, for bylines.
pub async fn credits(conn: &mut PgConnection, article_id: ArticleId) -> sqlx::Result<Vec<Credit>> {
    let rows: Vec<(String, String)> = sqlx::query_as(
        "select aa.role, au.name from article_authors aa join authors au on au.id = aa.author_id
         where aa.article_id = $1 order by aa.position",
    )
    .bind(article_id)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(role, name)| Credit { role, name })
        .collect())
}
