//! Review decisions (/admin/articles/{id}/review), unpublishing and the
//! placement of a published story (头条, 推荐, 责编).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde::Deserialize;
use sqlx::PgPool;

use super::access::{self, access, in_scope};
use super::correction;
use super::show::{self, Feedback, Placement, show_page};
use super::store::{self, Event};
use crate::auth::{Permission, Staff};
use crate::desk::proof::ProofLists;
use crate::error::{AppError, FormError};
use crate::ids::{ArticleId, UserId};
use crate::site::TreeCache;
use crate::web::csrf::CsrfToken;
use crate::web::redirect::see_other;
use crate::workflow::{self, Action, ArticleState, Status, transition};

#[derive(Deserialize)]
pub struct ReviewForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    opinion: String,
    /// A local date-time (2026-11-25T09:30) in the site's time zone.
    #[serde(default)]
    publish_at: String,
    /// Present when the form offered 头条/推荐 (the last stage, to a chief
    /// editor): the boxes then say the placement the story is published with.
    placement: Option<String>,
    is_headline: Option<String>,
    is_recommended: Option<String>,
    /// The grade (稿件评级) a chief editor gives at the last stage.
    #[serde(default)]
    grade: String,
}

/// Sets a story's 头条/推荐 and audits it, in the caller's transaction.
async fn place(
    tx: &mut sqlx::PgConnection,
    staff: &Staff,
    id: ArticleId,
    placement: Placement,
    editors: Option<&str>,
) -> Result<(), AppError> {
    let (title, editors): (String, String) = sqlx::query_as(
        "update articles set is_headline = $2, is_recommended = $3,
                responsible_editors = coalesce($4, responsible_editors)
         where id = $1 returning title, responsible_editors",
    )
    .bind(id)
    .bind(placement.headline)
    .bind(placement.recommended)
    .bind(editors)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    let yes = |flag: bool| if flag { "是" } else { "否" };
    let detail = format!(
        "头条：{}；推荐：{}；责编：{}",
        yes(placement.headline),
        yes(placement.recommended),
        editors
    );
    crate::audit::record(tx, &staff.actor(), "article.placement", &title, &detail).await?;
    Ok(())
}

fn parse_local(value: &str, tz: chrono_tz::Tz) -> Result<Option<DateTime<Utc>>, &'static str> {
    let value = value.trim();
    if value.is_empty() {
        return Ok(None);
    }
    let naive = NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M"))
        .map_err(|_| "发布时间格式应为 2026-11-25 09:30。")?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|at| Some(at.with_timezone(&Utc)))
        .ok_or("该发布时间在本时区不存在。")
}

/// What the reviewer typed beside the decision, applied with it or shown
/// again with a refusal.
#[derive(Default)]
struct Typed {
    opinion: String,
    placement: Option<Placement>,
    publish_at: String,
    /// The grade chosen, checked to be one that may be given.
    grade: Option<i32>,
    grade_typed: String,
}

/// Applies a decision by `staff`, or shows the article page again with the
/// refusal and the typed opinion; nothing changes on a refusal.
/// Who decides: the staff member, their form's token and the lists the
/// story is proofread with.
struct Decider<'a> {
    staff: &'a Staff,
    csrf: &'a CsrfToken,
    proof: &'a ProofLists,
}

async fn decide(
    pool: &PgPool,
    decider: Decider<'_>,
    id: ArticleId,
    name: &str,
    action: Result<Action, FormError>,
    typed: Typed,
) -> Result<HttpResponse, AppError> {
    let Decider { staff, csrf, proof } = decider;
    let Typed {
        opinion,
        placement,
        publish_at,
        grade,
        grade_typed,
    } = typed;
    let mut tx = pool.begin().await?;
    let record = store::record_for_update(&mut tx, id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !access(&mut tx, staff, &record).await?.view {
        return Err(AppError::NotFound);
    }
    let state = ArticleState {
        status: access::status_of(&record),
        stage: record.review_stage as usize,
        stages: access::stages_of(&record),
        writer: record.created_by,
        reviewers: record.passed_by.clone(),
    };
    let actor = crate::workflow::Actor {
        id: staff.id,
        role: staff.role,
        in_scope: in_scope(&mut tx, staff, record.unit_id).await?,
    };
    let action = match action {
        Ok(action @ Action::Pass { .. }) => unchecked_errors(&mut tx, proof, &record)
            .await?
            .map_or(Ok(action), Err),
        other => other,
    };
    let outcome = action.and_then(|action| transition(&state, actor, &action, Utc::now()));
    match outcome {
        Ok(outcome) => {
            super::transition::apply(&mut tx, &record, staff, name, &outcome, opinion.trim())
                .await?;
            let going_out = matches!(outcome.status, Status::Published | Status::Scheduled);
            if let Some(placement) = placement.filter(|_| going_out) {
                place(&mut tx, staff, id, placement, None).await?;
            }
            if let Some(grade) =
                grade.filter(|_| going_out && staff.can(Permission::PublishArticles))
            {
                let name =
                    crate::desk::grades::give(&mut tx, id, grade, staff.id, &staff.display_name)
                        .await?;
                crate::audit::record(
                    &mut tx,
                    &staff.actor(),
                    "article.grade",
                    &record.title,
                    &name,
                )
                .await?;
            }
            tx.commit().await?;
            let done = match (name, outcome.status) {
                ("unpublish", _) => "unpublished",
                (_, Status::Published) => "published",
                (_, Status::Scheduled) => "scheduled",
                (_, Status::InReview) => "passed",
                (_, Status::Returned) => "returned",
                (_, Status::Rejected) => "rejected",
                _ => "reviewed",
            };
            Ok(see_other(&format!("/admin/articles/{id}?done={done}")))
        }
        Err(refusal) => {
            drop(tx);
            let mut conn = pool.acquire().await?;
            let status = refusal.status;
            let feedback = Feedback {
                error: Some(refusal),
                opinion,
                placement,
                publish_at,
                grade: grade_typed,
                ..Feedback::default()
            };
            show_page(&mut conn, staff, csrf, proof, id, status, feedback).await
        }
    }
}

/// How many suspected errors the lists mark in the story as its page
/// shows it.
fn suspected(proof: &ProofLists, record: &store::ArticleRecord) -> usize {
    let body = super::SanitizedHtml::clean(&record.body_html);
    proof.proofread(&record.title, body.as_str()).total
}

/// The refusal of a pass while the story's version has suspected errors
/// no reviewer has checked ("已核对").
async fn unchecked_errors(
    conn: &mut sqlx::PgConnection,
    proof: &ProofLists,
    record: &store::ArticleRecord,
) -> Result<Option<FormError>, AppError> {
    let found = suspected(proof, record);
    if found == 0
        || show::proof_check(conn, record.id, record.version)
            .await?
            .is_some()
    {
        return Ok(None);
    }
    Ok(Some(
        FormError::whole(format!(
            "本稿有 {found} 处疑似差错尚未核对：请逐条核对（需要改的先退回或修改），再点“已核对”后通过。"
        ))
        .with_status(StatusCode::UNPROCESSABLE_ENTITY),
    ))
}

#[derive(Deserialize)]
pub struct ProofreadForm {
    #[serde(default)]
    version: String,
}

/// POST /admin/articles/{id}/proofread: the reviewer of the story's
/// current stage has checked the suspected errors of the version shown
/// and passes it as it is ("已核对"). A version saved since is refused.
pub async fn proofread(
    pool: web::Data<PgPool>,
    trees: web::Data<TreeCache>,
    staff: Staff,
    csrf: CsrfToken,
    id: web::Path<ArticleId>,
    form: web::Form<ProofreadForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ReviewArticles)?;
    let mut tx = pool.begin().await?;
    let trees = trees.current(&mut tx).await?;
    let record = store::record_for_update(&mut tx, *id)
        .await?
        .ok_or(AppError::NotFound)?;
    let access = access(&mut tx, &staff, &record).await?;
    if !access.view {
        return Err(AppError::NotFound);
    }
    if !access.review {
        return Err(AppError::Forbidden);
    }
    if form.version.trim() != record.version.to_string() {
        drop(tx);
        let mut conn = pool.acquire().await?;
        let feedback = Feedback {
            error: Some("稿件在您核对期间已被修改，请核对新版本的疑似差错后再点“已核对”。".into()),
            ..Feedback::default()
        };
        return show_page(
            &mut conn,
            &staff,
            &csrf,
            &trees.proof,
            record.id,
            StatusCode::CONFLICT,
            feedback,
        )
        .await;
    }
    let hits = suspected(&trees.proof, &record);
    let inserted = sqlx::query(
        "insert into proof_checks (article_id, version, hits, checked_by, checker_name)
         values ($1, $2, $3, $4, $5) on conflict do nothing",
    )
    .bind(record.id)
    .bind(record.version)
    .bind(i32::try_from(hits).unwrap_or(i32::MAX))
    .bind(staff.id)
    .bind(&staff.display_name)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted > 0 {
        let detail = format!("第 {} 版，{hits} 处疑似差错", record.version);
        crate::audit::record(
            &mut tx,
            &staff.actor(),
            "proof.checked",
            &record.title,
            &detail,
        )
        .await?;
    }
    tx.commit().await?;
    Ok(see_other(&format!("/admin/articles/{id}?done=proofread")))
}

pub async fn review(
    pool: web::Data<PgPool>,
    trees: web::Data<TreeCache>,
    staff: Staff,
    csrf: CsrfToken,
    id: web::Path<ArticleId>,
    form: web::Form<ReviewForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ReviewArticles)?;
    let form = form.into_inner();
    let mut conn = pool.acquire().await?;
    let trees = trees.current(&mut conn).await?;
    let tz = trees.settings.time_zone;
    let grade_typed = form.grade.trim().to_owned();
    let grade = match grade_typed.parse::<i32>() {
        _ if grade_typed.is_empty() => Ok(None),
        Ok(grade) if crate::desk::grades::is_active(&mut conn, grade).await? => Ok(Some(grade)),
        _ => Err(FormError::field(
            "grade",
            "所选评级不存在或已停用，请重新选择。",
        )),
    };
    drop(conn);
    let opinion = form.opinion.clone();
    let placement = form
        .placement
        .as_ref()
        .filter(|_| staff.can(Permission::PublishArticles))
        .map(|_| Placement {
            headline: form.is_headline.is_some(),
            recommended: form.is_recommended.is_some(),
        });
    let (refused_grade, grade) = match grade {
        Ok(grade) => (None, grade),
        Err(refusal) => (Some(refusal), None),
    };
    let action = match form.decision.as_str() {
        "pass" => parse_local(&form.publish_at, tz)
            .map(|publish_at| Action::Pass {
                opinion: form.opinion,
                publish_at,
            })
            .map_err(|message| FormError::field("publish_at", message)),
        "return" => Ok(Action::Return { note: form.opinion }),
        "reject" => Ok(Action::Reject { note: form.opinion }),
        _ => Err(FormError::field(
            "decision",
            "请选择审核结论：通过、退回或不予采用。",
        )),
    };
    let action = match refused_grade {
        Some(refusal) => Err(refusal),
        None => action,
    };
    let typed = Typed {
        opinion,
        placement,
        publish_at: form.publish_at.clone(),
        grade,
        grade_typed,
    };
    let decider = Decider {
        staff: &staff,
        csrf: &csrf,
        proof: &trees.proof,
    };
    decide(&pool, decider, *id, &form.decision, action, typed).await
}

#[derive(Deserialize)]
pub struct UnpublishForm {
    #[serde(default)]
    reason: String,
}

pub async fn unpublish(
    pool: web::Data<PgPool>,
    trees: web::Data<TreeCache>,
    staff: Staff,
    csrf: CsrfToken,
    id: web::Path<ArticleId>,
    form: web::Form<UnpublishForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::PublishArticles)?;
    let reason = form.into_inner().reason;
    let action = Ok(Action::Unpublish {
        reason: reason.clone(),
    });
    let typed = Typed {
        opinion: reason,
        ..Typed::default()
    };
    let mut conn = pool.acquire().await?;
    let trees = trees.current(&mut conn).await?;
    drop(conn);
    let decider = Decider {
        staff: &staff,
        csrf: &csrf,
        proof: &trees.proof,
    };
    decide(&pool, decider, *id, "unpublish", action, typed).await
}

#[derive(Deserialize)]
pub struct PlacementForm {
    is_headline: Option<String>,
    is_recommended: Option<String>,
    #[serde(default)]
    responsible_editors: String,
}

/// Chief editors set the headline (头条) and recommended (推荐) slots and
/// may correct the 责编 line.
pub async fn placement(
    pool: web::Data<PgPool>,
    trees: web::Data<TreeCache>,
    staff: Staff,
    csrf: CsrfToken,
    id: web::Path<ArticleId>,
    form: web::Form<PlacementForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::PublishArticles)?;
    let form = form.into_inner();
    let editors = form
        .responsible_editors
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if editors.chars().count() > 100 {
        let mut conn = pool.acquire().await?;
        let feedback = Feedback {
            error: Some("责编不超过 100 个字。".into()),
            ..Feedback::default()
        };
        let trees = trees.current(&mut conn).await?;
        return show_page(
            &mut conn,
            &staff,
            &csrf,
            &trees.proof,
            *id,
            StatusCode::UNPROCESSABLE_ENTITY,
            feedback,
        )
        .await;
    }
    let mut tx = pool.begin().await?;
    let placement = Placement {
        headline: form.is_headline.is_some(),
        recommended: form.is_recommended.is_some(),
    };
    place(&mut tx, &staff, *id, placement, Some(&editors)).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/admin/articles/{id}?done=placed")))
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
pub async fn review_correction(
    pool: web::Data<PgPool>,
    trees: web::Data<TreeCache>,
    staff: Staff,
    csrf: CsrfToken,
    id: web::Path<ArticleId>,
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
    let correction = correction::open_correction(&mut tx, record.id)
        .await?
        .ok_or(AppError::NotFound)?;
    let reviewers: Vec<UserId> = sqlx::query_scalar(
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
                error: Some(refusal),
                opinion: form.opinion,
                ..Feedback::default()
            };
            let trees = trees.current(&mut conn).await?;
            return show_page(
                &mut conn,
                &staff,
                &csrf,
                &trees.proof,
                record.id,
                StatusCode::UNPROCESSABLE_ENTITY,
                feedback,
            )
            .await;
        }
    };
    let name = correction::decide(&mut tx, &staff, &record, &correction, &outcome).await?;
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
