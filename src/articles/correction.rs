//! Corrections (更正) of published stories. Editing a published story
//! proposes a correction; it passes the channel's review stages like a new
//! story while the live text stays online, and when the last stage passes
//! it replaces the live text (a new revision) and its public note is shown
//! on the article page with its date.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::Utc;
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::access::{self, in_scope};
use super::admin::form_page;
use super::form::{ArticleForm, ArticleInput};
use super::show::{Feedback, show_page};
use super::store::{self, ArticleRecord, Event};
use crate::auth::{Permission, Staff};
use crate::error::AppError;
use crate::web::csrf::CsrfToken;
use crate::web::redirect::see_other;
use crate::workflow::{self, Action, ArticleState, Outcome, Status};

/// An open correction as the article page shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OpenCorrection {
    pub id: Uuid,
    pub stage: i16,
    pub proposed_by: Uuid,
    pub proposer_name: String,
    pub title: String,
    pub body_html: String,
    pub public_note: String,
}

pub async fn open_correction(
    conn: &mut PgConnection,
    article_id: Uuid,
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

/// Records the edited story as a correction under review.
pub async fn propose(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    record: ArticleRecord,
    form: ArticleForm,
    input: ArticleInput,
) -> Result<HttpResponse, AppError> {
    let note: String = form.correction_note.trim().chars().take(300).collect();
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    if !open_for_review(&mut tx, staff, &record, &input, &note).await? {
        drop(tx);
        let message = "这篇稿件已有一份更正在审核中，请等审核结束后再提交新的更正。".to_string();
        return form_page(
            conn,
            staff,
            csrf,
            Some(record),
            form,
            StatusCode::CONFLICT,
            Some(message),
        )
        .await;
    }
    tx.commit().await?;
    Ok(see_other(&format!(
        "/admin/articles/{}?done=correction",
        record.id
    )))
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
    let inserted = sqlx::query(
        "insert into corrections (article_id, proposed_by, title, kicker, subtitle, summary, body_html, channel_id,
                                  unit_id, author_byline, correspondents, source, tags, cover_media_id, public_note)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
         on conflict do nothing",
    )
    .bind(record.id)
    .bind(staff.id)
    .bind(&input.title)
    .bind(&input.kicker)
    .bind(&input.subtitle)
    .bind(&input.summary)
    .bind(input.body.as_str())
    .bind(input.channel_id)
    .bind(input.unit_id)
    .bind(&input.author_byline)
    .bind(&input.correspondents)
    .bind(&input.source)
    .bind(input.tags.join("，"))
    .bind(input.cover_media_id)
    .bind(note)
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

#[derive(Deserialize)]
pub struct CorrectionReview {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    opinion: String,
}

/// POST /admin/articles/{id}/correction: a decision on the open correction,
/// by the same rules as a review of a new story.
pub async fn review(
    pool: web::Data<PgPool>,
    staff: Staff,
    csrf: CsrfToken,
    id: web::Path<Uuid>,
    form: web::Form<CorrectionReview>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ReviewArticles)?;
    let form = form.into_inner();
    let action = match form.decision.as_str() {
        "pass" => Action::Pass {
            opinion: form.opinion.clone(),
            publish_at: None,
        },
        "return" | "reject" => Action::Reject {
            note: form.opinion.clone(),
        },
        _ => return Err(AppError::BadRequest),
    };
    let mut tx = pool.begin().await?;
    let record = store::record_for_update(&mut tx, *id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !access::access(&mut tx, &staff, &record).await?.view {
        return Err(AppError::NotFound);
    }
    let correction = open_correction(&mut tx, record.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let reviewers: Vec<Uuid> = sqlx::query_scalar(
        "select actor_id from review_events
         where article_id = $1 and action = 'correction_pass' and actor_id is not null
           and at >= (select created_at from corrections where id = $2)",
    )
    .bind(record.id)
    .bind(correction.id)
    .fetch_all(&mut *tx)
    .await?;
    let state = ArticleState {
        status: Status::InReview,
        stage: correction.stage as usize,
        stages: access::stages_of(&record),
        writer: correction.proposed_by,
        reviewers,
    };
    let actor = workflow::Actor {
        id: staff.id,
        role: staff.role,
        in_scope: in_scope(&mut tx, &staff, record.unit_id).await?,
    };
    let outcome = match workflow::transition(&state, actor, &action, Utc::now()) {
        Ok(outcome) => outcome,
        Err(refusal) => {
            drop(tx);
            let mut conn = pool.acquire().await?;
            let feedback = Feedback {
                error: Some(refusal.0.into()),
                opinion: form.opinion,
                ..Feedback::default()
            };
            return show_page(
                &mut conn,
                &staff,
                &csrf,
                record.id,
                StatusCode::UNPROCESSABLE_ENTITY,
                feedback,
            )
            .await;
        }
    };
    let name = decide(&mut tx, &staff, &record, &correction, &outcome).await?;
    let event = Event {
        actor_id: Some(staff.id),
        actor_name: &staff.display_name,
        action: name,
        from_status: "published",
        to_status: "published",
        stage: Some(correction.stage),
        note: form.opinion.trim(),
    };
    store::record_event(&mut tx, record.id, &event).await?;
    tx.commit().await?;
    Ok(see_other(&format!(
        "/admin/articles/{}?done=reviewed",
        record.id
    )))
}

/// Applies a correction decision; returns the event's name.
async fn decide(
    conn: &mut PgConnection,
    staff: &Staff,
    record: &ArticleRecord,
    correction: &OpenCorrection,
    outcome: &Outcome,
) -> Result<&'static str, AppError> {
    match outcome.status {
        Status::InReview => {
            sqlx::query("update corrections set stage = $2 where id = $1")
                .bind(correction.id)
                .bind(outcome.stage as i16)
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
            sqlx::query(
                "update articles set correction_note = case when $2 = '' then correction_note else $2 end,
                        corrected_at = case when $2 = '' then corrected_at else now() end
                 where id = $1",
            )
            .bind(record.id)
            .bind(&correction.public_note)
            .execute(&mut *conn)
            .await?;
            sqlx::query(
                "update corrections set status = 'applied', decided_at = now() where id = $1",
            )
            .bind(correction.id)
            .execute(&mut *conn)
            .await?;
            Ok("correction_applied")
        }
        _ => {
            sqlx::query(
                "update corrections set status = 'rejected', decided_at = now() where id = $1",
            )
            .bind(correction.id)
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
    channel_id: Uuid,
    unit_id: Uuid,
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
