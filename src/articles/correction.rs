//! Corrections (更正) of published stories. Editing a published story
//! proposes a correction; it passes the channel's review stages like a new
//! story while the live text stays online, and when the last stage passes
//! it replaces the live text (a new revision) and its public note is shown
//! on the article page with its date. The pages that propose and decide
//! corrections are `admin` and `review`.

use sqlx::PgConnection;
use uuid::Uuid;

use super::form::{ArticleForm, ArticleInput};
use super::store::{self, ArticleRecord, Event};
use crate::auth::Staff;
use crate::error::AppError;
use crate::ids::{ArticleId, ChannelId, UnitId, UserId};
use crate::workflow::{Outcome, Status};

/// An open correction as the article page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpenCorrection {
    pub id: Uuid,
    pub stage: i16,
    pub proposed_by: UserId,
    pub proposer_name: String,
    pub title: String,
    pub body_html: String,
    pub public_note: String,
}

pub async fn open_correction(
    conn: &mut PgConnection,
    article_id: ArticleId,
) -> sqlx::Result<Option<OpenCorrection>> {
    sqlx::query_as(
        "select c.id, c.stage, c.proposed_by, u.display_name as proposer_name, c.title, c.body_html, c.public_note
         from corrections c join users u on u.id = c.proposed_by
         where c.article_id = $1 and c.status = 'in_review'",
    )
    .bind(article_id)
    .fetch_optional(conn)
    .await
}

/// Puts `input` up for review as a correction of the published `record`,
/// inside the caller's transaction. Every change of a live story's text goes
/// through here. Returns false, with nothing written, when the story already
/// has a correction under review.
pub async fn open_for_review(
    tx: &mut PgConnection,
    staff: &Staff,
    record: &ArticleRecord,
    input: &ArticleInput,
    note: &str,
) -> Result<bool, AppError> {
    let inserted = sqlx::query!(
        "insert into corrections (article_id, proposed_by, title, kicker, subtitle, summary, body_html, channel_id,
                                  unit_id, author_byline, correspondents, source, tags, cover_media_id, public_note)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         on conflict do nothing", record.id as ArticleId, staff.id as UserId, &input.title, &input.kicker, &input.subtitle, &input.summary, input.body.as_str(), input.channel_id as ChannelId, input.unit_id as UnitId, &input.author_byline, &input.correspondents, &input.source, input.tags.join("，"), input.cover_media_id, note,)
    .execute(&mut *tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(false);
    }
    let event = Event {
        actor_id: Some(staff.id),
        actor_name: &staff.display_name,
        action: "correction_submit",
        from_status: "published",
        to_status: "published",
        stage: None,
        note,
    };
    store::record_event(&mut *tx, record.id, &event).await?;
    crate::notifications::story_moved(&mut *tx, record, Status::Submitted, 0, "").await?;
    Ok(true)
}

/// Applies a decision on an open correction, inside the caller's
/// transaction; returns the event's name.
pub async fn decide(
    conn: &mut PgConnection,
    staff: &Staff,
    record: &ArticleRecord,
    correction: &OpenCorrection,
    outcome: &Outcome,
) -> Result<&'static str, AppError> {
    match outcome.status {
        Status::InReview => {
            sqlx::query!(
                "update corrections set stage = $2 where id = $1",
                correction.id,
                outcome.stage as i16
            )
            .execute(&mut *conn)
            .await?;
            crate::notifications::story_moved(conn, record, Status::InReview, outcome.stage, "")
                .await?;
            Ok("correction_pass")
        }
        Status::Published => {
            let form: ArticleForm = sqlx::query_as::<_, ProposedForm>(
                "select title, kicker, subtitle, summary, body_html, channel_id, unit_id, author_byline,
                        correspondents, source, tags, cover_media_id from corrections where id = $1",
            )
            .bind(correction.id)
            .fetch_one(&mut *conn)
            .await?
            .into();
            let input = form
                .parse(&record.source)
                .map_err(|_| AppError::BadRequest)?;
            let version = store::update(conn, record.id, &input, record.version)
                .await?
                .ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!("article changed under its row lock"))
                })?;
            store::save_revision(conn, record.id, version, staff.id, &input).await?;
            sqlx::query!(
                "update articles set correction_note = case when $2 = '' then correction_note else $2 end,
                        corrected_at = case when $2 = '' then corrected_at else now() end
                 where id = $1", record.id as ArticleId, &correction.public_note,)
            .execute(&mut *conn)
            .await?;
            sqlx::query!(
                "update corrections set status = 'applied', decided_at = now() where id = $1",
                correction.id,
            )
            .execute(&mut *conn)
            .await?;
            Ok("correction_applied")
        }
        _ => {
            sqlx::query!(
                "update corrections set status = 'rejected', decided_at = now() where id = $1",
                correction.id,
            )
            .execute(&mut *conn)
            .await?;
            Ok("correction_rejected")
        }
    }
}

#[derive(sqlx::FromRow)]
struct ProposedForm {
    title: String,
    kicker: String,
    subtitle: String,
    summary: String,
    body_html: String,
    channel_id: ChannelId,
    unit_id: UnitId,
    author_byline: String,
    correspondents: String,
    source: String,
    tags: String,
    cover_media_id: Option<Uuid>,
}

impl From<ProposedForm> for ArticleForm {
    fn from(p: ProposedForm) -> Self {
        ArticleForm {
            title: p.title,
            kicker: p.kicker,
            subtitle: p.subtitle,
            summary: p.summary,
            body: p.body_html,
            channel_id: p.channel_id.to_string(),
            unit_id: p.unit_id.to_string(),
            author_byline: p.author_byline,
            correspondents: p.correspondents,
            source: p.source,
            tags: p.tags,
            cover_media_id: p
                .cover_media_id
                .map(|id| id.to_string())
                .unwrap_or_default(),
            ..ArticleForm::default()
        }
    }
}
