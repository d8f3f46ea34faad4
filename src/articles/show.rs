//! An article's backend page: its state, its text, its whole history as a
//! timeline, its revisions, and the decisions the visitor may take on it.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sqlx::PgConnection;

use super::access::{self, Access, access};
use super::form::byline;
use super::store::{self, ArticleRecord};
use super::{SanitizedHtml, article_url};
use crate::auth::{Permission, Staff};
use crate::backend::Backend;
use crate::desk::grades::{self, Grade};
use crate::desk::proof::{ProofLists, Proofread};
use crate::error::{AppError, FormError};
use crate::ids::ArticleId;
use crate::layout::AdminLayout;
use crate::roles::Role;
use crate::site::TreeCache;
use crate::web::csrf::CsrfToken;
use crate::web::render;
use crate::workflow::Status;

pub struct TimelineEntry {
    pub at: String,
    pub actor: String,
    pub action: &'static str,
    pub to_status: &'static str,
    pub stage: String,
    pub note: String,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    at: DateTime<Utc>,
    actor_name: String,
    action: String,
    to_status: String,
    stage: Option<i16>,
    note: String,
}

pub struct RevisionLine {
    pub version: i32,
    pub saved_by: String,
    pub saved_at: String,
}

#[derive(Template)]
#[template(path = "admin/articles/show.html")]
pub struct ShowPage {
    pub layout: AdminLayout,
    pub article: ArticleRecord,
    pub body: SanitizedHtml,
    pub status_label: &'static str,
    pub stage_label: String,
    pub byline: String,
    pub public_url: Option<String>,
    pub access: Access,
    pub can_unpublish: bool,
    /// Chief editors place stories in the headline and recommended slots.
    pub can_place: bool,
    /// A correction under review, and whether the visitor may decide on it.
    pub correction: Option<super::correction::OpenCorrection>,
    pub correction_stage: String,
    pub can_review_correction: bool,
    pub last_stage: bool,
    pub timeline: Vec<TimelineEntry>,
    pub revisions: Vec<RevisionLine>,
    pub notice: Option<String>,
    pub error: Option<FormError>,
    /// The review form's typed opinion, kept on a refusal.
    pub opinion: String,
    /// The 头条/推荐 ticks the last stage's review form shows: as typed
    /// on a refusal, else the story's own.
    pub placement: Placement,
    pub publish_at: String,
    /// Just saved from the form: the browser drops its autosaved copies.
    pub saved: bool,
    /// The writer's own draft or returned story: 提交/重新提交 from here.
    pub can_submit: bool,
    /// The last stage's review form carries the placement, so the
    /// separate placement form is not shown beside it.
    pub place_with_review: bool,
    /// The proofreading lists on the title and body: the suspected errors
    /// and both texts with them marked.
    pub proofread: Proofread,
    /// Who checked this version's suspected errors ("已核对"), and when.
    pub proof_checked: Option<(String, String)>,
    /// The grades the last stage's review form offers (稿件评级).
    pub grades: Vec<Grade>,
    /// The grade chosen in that form: as typed on a refusal, else the
    /// story's own.
    pub grade_chosen: String,
    /// The story's grade, who gave it and when.
    pub grade: Option<(String, String, String)>,
}

fn action_label(action: &str) -> &'static str {
    match action {
        "create" => "创建稿件",
        "submit" => "提交审核",
        "pass" => "审核通过",
        "return" => "退回修改",
        "reject" => "不予采用",
        "publish_due" => "定时发布",
        "correction_submit" => "提交更正",
        "correction_pass" => "更正审核通过",
        "correction_applied" => "更正已生效",
        "correction_rejected" => "更正未通过",
        "unpublish" => "撤稿",
        _ => "其他操作",
    }
}

fn notice_text(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "saved" => "稿件已保存。",
        "submitted" => "稿件已保存并提交审核。",
        "resubmitted" => "稿件已重新提交审核。",
        "saved_not_submitted" => "稿件已保存，但当前状态不能提交审核。",
        "reviewed" => "审核意见已提交。",
        "published" => "稿件已通过审核并发布。",
        "scheduled" => "稿件已通过审核，将按设定时间发布。",
        "passed" => "稿件已通过本审，已送下一审。",
        "returned" => "稿件已退回作者修改。",
        "rejected" => "稿件已不予采用。",
        "unpublished" => "稿件已撤下。",
        "placed" => "头条、推荐与责编已保存。",
        "correction" => "更正已提交审核；审核通过前，网站上仍显示原稿。",
        "restored" => "已将所选版本恢复为最新版本。",
        "stale" => "恢复失败：稿件刚被他人修改，请刷新后重试。",
        "correction_open" => "这篇稿件已有一份更正在审核中，请等审核结束后再恢复旧版本。",
        "proofread" => "已记录核对：本版的疑似差错已由您核对，可以通过。",
        _ => return None,
    };
    Some(text.into())
}

#[derive(Deserialize)]
pub struct ShowQuery {
    done: Option<String>,
}

/// The 头条 and 推荐 ticks a story is published with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    pub headline: bool,
    pub recommended: bool,
}

/// What the page says back after an action.
#[derive(Default)]
pub struct Feedback {
    pub notice: Option<String>,
    pub error: Option<FormError>,
    /// The review form's typed opinion, kept on a refusal.
    pub opinion: String,
    /// The review form's 头条/推荐 ticks, kept on a refusal.
    pub placement: Option<Placement>,
    /// The review form's 定时发布 time as typed, kept on a refusal.
    pub publish_at: String,
    /// The form was just saved: its autosaved copies are done with.
    pub saved: bool,
    /// The review form's grade as chosen, kept on a refusal.
    pub grade: String,
}

/// Who checked the suspected errors of `version` of a story, and when.
pub async fn proof_check(
    conn: &mut PgConnection,
    id: ArticleId,
    version: i32,
) -> sqlx::Result<Option<(String, DateTime<Utc>)>> {
    sqlx::query_as(
        "select checker_name, checked_at from proof_checks where article_id = $1 and version = $2",
    )
    .bind(id)
    .bind(version)
    .fetch_optional(conn)
    .await
}

/// Renders the page with `status` and `feedback`, the story proofread
/// with `proof`.
pub async fn show_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    proof: &ProofLists,
    id: ArticleId,
    status: StatusCode,
    feedback: Feedback,
) -> Result<HttpResponse, AppError> {
    let article = store::record(conn, id).await?.ok_or(AppError::NotFound)?;
    let access = access(conn, staff, &article).await?;
    if !access.view {
        return Err(AppError::NotFound);
    }
    let layout = AdminLayout::load(conn, staff, csrf, "稿件详情", "/admin/articles").await?;
    let settings = &layout.settings;
    let events: Vec<EventRow> = sqlx::query_as(
        "select at, actor_name, action, to_status, stage, note from review_events
         where article_id = $1 order by id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let timeline = events
        .into_iter()
        .map(|event| TimelineEntry {
            at: settings.format_minute(event.at),
            actor: event.actor_name,
            action: action_label(&event.action),
            to_status: Status::parse(&event.to_status).map_or("", Status::label),
            stage: event
                .stage
                .map(|s| format!("第 {} 审", s + 1))
                .unwrap_or_default(),
            note: event.note,
        })
        .collect();
    let revisions: Vec<(i32, Option<String>, DateTime<Utc>)> = sqlx::query_as(
        "select r.version, u.display_name, r.saved_at from article_revisions r
         left join users u on u.id = r.saved_by where r.article_id = $1 order by r.version desc",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    let revisions = revisions
        .into_iter()
        .map(|(version, by, at)| RevisionLine {
            version,
            saved_by: by.unwrap_or_default(),
            saved_at: settings.format_minute(at),
        })
        .collect();
    let state = access::status_of(&article);
    let stages = access::stages_of(&article);
    let stage_label = match (state, stages.get(article.review_stage as usize)) {
        (Status::Submitted | Status::InReview, Some(role)) => {
            format!(
                "第 {}/{} 审（{}）",
                article.review_stage + 1,
                stages.len(),
                role.label()
            )
        }
        _ => String::new(),
    };
    let credits = store::credits(conn, id).await?;
    let correction = super::correction::open_correction(conn, id).await?;
    let correction_role = correction
        .as_ref()
        .and_then(|c| stages.get(c.stage as usize).copied());
    let can_review_correction = match (&correction, correction_role) {
        (Some(c), Some(role)) => {
            staff.can(Permission::ReviewArticles)
                && crate::workflow::may_act_on(staff.role, role)
                && c.proposed_by != staff.id
                && access::in_scope(conn, staff, article.unit_id).await?
        }
        _ => false,
    };
    let correction_stage = match (&correction, correction_role) {
        (Some(c), Some(role)) => {
            format!("第 {}/{} 审（{}）", c.stage + 1, stages.len(), role.label())
        }
        _ => String::new(),
    };
    let last_stage = article.review_stage as usize + 1 == stages.len();
    let can_place = staff.can(Permission::PublishArticles);
    let placement = feedback.placement.unwrap_or(Placement {
        headline: article.is_headline,
        recommended: article.is_recommended,
    });
    let body = SanitizedHtml::clean(&article.body_html);
    let proofread = proof.proofread(&article.title, body.as_str());
    let proof_checked = proof_check(conn, id, article.version)
        .await?
        .map(|(name, at)| (name, settings.format_minute(at)));
    let place_with_review = can_place && last_stage && access.review;
    let graded = grades::of_article(conn, id).await?;
    let grade_chosen = if feedback.grade.is_empty() {
        graded
            .as_ref()
            .map(|given| given.grade_id.to_string())
            .unwrap_or_default()
    } else {
        feedback.grade.clone()
    };
    let page = ShowPage {
        grades: if place_with_review {
            grades::active(conn).await?
        } else {
            Vec::new()
        },
        grade_chosen,
        grade: graded.map(|given| {
            let at = settings.format_minute(given.graded_at);
            (given.name, given.grader_name, at)
        }),
        proofread,
        proof_checked,
        place_with_review,
        publish_at: feedback.publish_at,
        saved: feedback.saved,
        can_submit: article.created_by == staff.id
            && matches!(state, Status::Draft | Status::Returned)
            && staff.can(Permission::WriteArticles),
        placement,
        body,
        status_label: state.label(),
        stage_label,
        byline: byline(&credits),
        public_url: (state == Status::Published).then(|| article_url(article.number)),
        can_unpublish: state == Status::Published && staff.role == Role::ChiefEditor,
        can_place,
        correction,
        correction_stage,
        can_review_correction,
        last_stage,
        access,
        article,
        layout,
        timeline,
        revisions,
        notice: feedback.notice,
        error: feedback.error,
        opinion: feedback.opinion,
    };
    render(status, &page)
}

pub async fn show(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    trees: web::Data<TreeCache>,
    id: web::Path<ArticleId>,
    query: web::Query<ShowQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ReadArticles)?;
    let feedback = Feedback {
        notice: notice_text(query.done.as_deref()),
        saved: matches!(
            query.done.as_deref(),
            Some("saved" | "submitted" | "saved_not_submitted" | "correction")
        ),
        ..Feedback::default()
    };
    let trees = trees.current(&mut conn).await?;
    show_page(
        &mut conn,
        &staff,
        &csrf,
        &trees.proof,
        *id,
        StatusCode::OK,
        feedback,
    )
    .await
}

#[derive(Template)]
#[template(path = "admin/articles/revision.html")]
struct RevisionPage {
    layout: AdminLayout,
    article_id: ArticleId,
    version: i32,
    current_version: i32,
    title: String,
    body: SanitizedHtml,
    author_byline: String,
    tags: String,
    saved_at: String,
    can_restore: bool,
}

pub async fn revision(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    path: web::Path<(ArticleId, i32)>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ReadArticles)?;
    let (id, version) = path.into_inner();
    let article = store::record(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let access = access(&mut conn, &staff, &article).await?;
    if !access.view {
        return Err(AppError::NotFound);
    }
    let (title, body, author_byline, tags, saved_at): (
        String,
        String,
        String,
        String,
        DateTime<Utc>,
    ) = sqlx::query_as(
        "select title, body_html, author_byline, tags, saved_at from article_revisions
             where article_id = $1 and version = $2",
    )
    .bind(id)
    .bind(version)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    let layout = AdminLayout::load(&mut conn, &staff, &csrf, "历史版本", "/admin/articles").await?;
    let page = RevisionPage {
        saved_at: layout.settings.format_minute(saved_at),
        layout,
        article_id: id,
        version,
        current_version: article.version,
        title,
        body: SanitizedHtml::clean(&body),
        author_byline,
        tags,
        can_restore: access.edit && version != article.version,
    };
    render(StatusCode::OK, &page)
}

/// One decision on the review sheet.
pub struct SheetLine {
    pub step: String,
    pub who: String,
    pub decision: &'static str,
    pub opinion: String,
    pub at: String,
}

#[derive(Template)]
#[template(path = "admin/articles/sheet.html")]
struct SheetPage {
    layout: AdminLayout,
    article: ArticleRecord,
    byline: String,
    status_label: &'static str,
    words: usize,
    lines: Vec<SheetLine>,
    proof_checked: Option<(String, String)>,
    grade: Option<(String, String, String)>,
    published_at: String,
    public_url: String,
    printed_at: String,
}

/// GET /admin/articles/{id}/sheet: the story's review sheet (审稿单) as
/// one printable A4 page: who wrote it, each stage's reviewer, opinion,
/// decision and time, the proofreading check and where it was published,
/// read from the story's own review events.
pub async fn sheet(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    id: web::Path<ArticleId>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ReadArticles)?;
    let article = store::record(&mut conn, *id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !access(&mut conn, &staff, &article).await?.view {
        return Err(AppError::NotFound);
    }
    let layout = AdminLayout::load(&mut conn, &staff, &csrf, "审稿单", "/admin/articles").await?;
    let settings = &layout.settings;
    let events: Vec<EventRow> = sqlx::query_as(
        "select at, actor_name, action, to_status, stage, note from review_events
         where article_id = $1 order by id",
    )
    .bind(article.id)
    .fetch_all(&mut *conn)
    .await?;
    let stages = access::stages_of(&article);
    let lines = events
        .into_iter()
        .filter(|event| event.action != "create")
        .map(|event| {
            let step = match (event.action.as_str(), event.stage) {
                ("submit", _) => "送审".to_owned(),
                (_, Some(stage)) => match stages.get(stage as usize) {
                    Some(role) => format!("第 {} 审（{}）", stage + 1, role.label()),
                    None => format!("第 {} 审", stage + 1),
                },
                _ => "—".to_owned(),
            };
            SheetLine {
                step,
                who: event.actor_name,
                decision: action_label(&event.action),
                opinion: event.note,
                at: settings.format_minute(event.at),
            }
        })
        .collect();
    let proof_checked = proof_check(&mut conn, article.id, article.version)
        .await?
        .map(|(name, at)| (name, settings.format_minute(at)));
    let credits = store::credits(&mut conn, article.id).await?;
    let state = access::status_of(&article);
    let published = state == Status::Published;
    let grade = grades::of_article(&mut conn, article.id)
        .await?
        .map(|given| {
            let at = settings.format_minute(given.graded_at);
            (given.name, given.grader_name, at)
        });
    let page = SheetPage {
        grade,
        byline: byline(&credits),
        status_label: state.label(),
        words: SanitizedHtml::clean(&article.body_html)
            .plain_text()
            .chars()
            .filter(|c| !c.is_whitespace())
            .count(),
        lines,
        proof_checked,
        published_at: article
            .published_at
            .filter(|_| published)
            .map(|at| settings.format_minute(at))
            .unwrap_or_default(),
        public_url: if published {
            format!(
                "{}{}",
                settings.site_url.trim_end_matches('/'),
                article_url(article.number)
            )
        } else {
            String::new()
        },
        printed_at: settings.format_minute(Utc::now()),
        article,
        layout,
    };
    render(StatusCode::OK, &page)
}
