//! The article form (/admin/articles/new, /admin/articles/{id}/edit), the
//! article's backend page with its history, and its revisions.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::access::{self, access};
use super::correction;
use super::form::{ArticleForm, ArticleInput};
use super::store::{self, ArticleRecord, Event};
use crate::auth::{Permission, Staff};
use crate::backend::Backend;
use crate::channels::db::ChannelNode;
use crate::error::{AppError, FormError, Refused};
use crate::ids::{ArticleId, ChannelId, UnitId};
use crate::layout::AdminLayout;
use crate::units::UnitNode;
use crate::web::csrf::CsrfToken;
use crate::web::redirect::see_other;
use crate::web::render;
use crate::workflow::{self, Action};
use crate::{channels, settings, units};

#[derive(Template)]
#[template(path = "admin/articles/form.html")]
struct FormPage {
    layout: AdminLayout,
    article: Option<ArticleRecord>,
    form: ArticleForm,
    channels: Vec<ChannelNode>,
    units: Vec<UnitNode>,
    /// Photos offered as the cover: the writer's recent uploads and the
    /// current cover.
    covers: Vec<CoverChoice>,
    error: Option<FormError>,
    /// Shown when a newer version was saved by someone else meanwhile.
    newer: bool,
    /// The reviewer's note of a returned story, shown where the writer fixes it.
    return_note: Option<String>,
    /// A reviewer editing a story that waits for review: the save keeps it
    /// in review (no 保存草稿 or 提交 of someone else's story).
    reviewing: bool,
}

impl FormPage {
    /// Editing a published story proposes a correction.
    fn correcting(&self) -> bool {
        self.article
            .as_ref()
            .is_some_and(|article| article.status == crate::workflow::Status::Published)
    }
}

#[derive(sqlx::FromRow)]
pub struct CoverChoice {
    pub id: Uuid,
    pub original_ext: String,
    pub derived_ext: String,
    pub caption: String,
}

impl CoverChoice {
    pub fn thumb(&self) -> String {
        crate::media::url(
            self.id,
            crate::media::Size::Thumb,
            &self.derived_ext,
            &self.original_ext,
        )
    }
}

pub(super) async fn form_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    article: Option<ArticleRecord>,
    form: ArticleForm,
    status: StatusCode,
    error: Option<FormError>,
) -> Result<HttpResponse, AppError> {
    let title = if article.is_some() {
        "编辑稿件"
    } else {
        "写稿"
    };
    let covers = sqlx::query_as(
        "select id, original_ext, derived_ext, caption from media
         where uploaded_by = $1 or id = $2::uuid
         order by (id = $2::uuid) desc, created_at desc limit 12",
    )
    .bind(staff.id)
    .bind(form.cover_media_id.parse::<Uuid>().ok())
    .fetch_all(&mut *conn)
    .await?;
    let return_note: Option<String> = match &article {
        Some(record) if record.status == crate::workflow::Status::Returned => {
            sqlx::query_scalar(
                "select note from review_events where article_id = $1 and action = 'return'
                 order by id desc limit 1",
            )
            .bind(record.id)
            .fetch_optional(&mut *conn)
            .await?
        }
        _ => None,
    };
    let reviewing = article.as_ref().is_some_and(|record| {
        record.created_by != staff.id
            && matches!(
                record.status,
                crate::workflow::Status::Submitted | crate::workflow::Status::InReview
            )
    });
    let page = FormPage {
        return_note,
        reviewing,
        covers,
        layout: AdminLayout::load(conn, staff, csrf, title, "/admin/articles").await?,
        newer: status == StatusCode::CONFLICT,
        article,
        form,
        channels: channels::db::tree(conn, false)
            .await?
            .into_iter()
            .filter(|c| c.active)
            .collect(),
        units: units::db::tree(conn, false)
            .await?
            .into_iter()
            .filter(|u| u.active)
            .collect(),
        error,
    };
    render(status, &page)
}

fn form_of(record: &ArticleRecord) -> ArticleForm {
    ArticleForm {
        title: record.title.clone(),
        kicker: record.kicker.clone(),
        subtitle: record.subtitle.clone(),
        summary: record.summary.clone(),
        body: record.body_html.clone(),
        channel_id: record.channel_id.to_string(),
        unit_id: record.unit_id.to_string(),
        author_byline: record.author_byline.clone(),
        correspondents: record.correspondents.clone(),
        source: record.source.clone(),
        tags: record.tags.clone(),
        cover_media_id: record
            .cover_media_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        version: record.version.to_string(),
        action: String::new(),
        correction_note: String::new(),
    }
}

pub async fn new_form(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::WriteArticles)?;
    let site = settings::db::load(&mut conn).await?;
    let form = ArticleForm {
        unit_id: staff.unit_id.to_string(),
        source: site.site_name,
        ..ArticleForm::default()
    };
    form_page(&mut conn, &staff, &csrf, None, form, StatusCode::OK, None).await
}

/// Checks the typed form against the stored channels and units; a refusal
/// is an `AppError::Form`.
pub(super) async fn parse(
    conn: &mut PgConnection,
    staff: &Staff,
    form: &ArticleForm,
) -> Result<ArticleInput, AppError> {
    let site = settings::db::load(conn).await?;
    let input = form.parse(&site.site_name)?;
    let refuse = |field: &'static str, message: &str| Err(FormError::field(field, message).into());
    let channel_ok: bool =
        sqlx::query_scalar("select exists (select 1 from channels where id = $1 and active)")
            .bind(input.channel_id)
            .fetch_one(&mut *conn)
            .await?;
    if !channel_ok {
        return refuse("channel_id", "栏目不存在或已停用。");
    }
    if !units::db::is_active(conn, input.unit_id).await? {
        return refuse("unit_id", "单位不存在或已停用。");
    }
    if !access::may_file_into(conn, staff, input.unit_id).await? {
        return refuse("unit_id", "只能把稿件归入本单位或下属单位。");
    }
    if let Some(cover) = input.cover_media_id {
        let exists: bool = sqlx::query_scalar("select exists (select 1 from media where id = $1)")
            .bind(cover)
            .fetch_one(&mut *conn)
            .await?;
        if !exists {
            return refuse("cover_media_id", "封面图片不存在，请重新选择。");
        }
    }
    Ok(input)
}

pub async fn create(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    form: web::Form<ArticleForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::WriteArticles)?;
    let form = form.into_inner();
    let input = match parse(&mut conn, &staff, &form).await.refused()? {
        Ok(input) => input,
        Err(refusal) => {
            return form_page(
                &mut conn,
                &staff,
                &csrf,
                None,
                form,
                refusal.status,
                Some(refusal),
            )
            .await;
        }
    };
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let id = store::insert(&mut tx, &input, staff.id).await?;
    store::save_revision(&mut tx, id, 1, staff.id, &input).await?;
    let event = Event {
        actor_id: Some(staff.id),
        actor_name: &staff.display_name,
        action: "create",
        from_status: "",
        to_status: "draft",
        stage: None,
        note: "",
    };
    store::record_event(&mut tx, id, &event).await?;
    let done = submit_if_asked(&mut tx, &staff, id, &form.action).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/admin/articles/{id}?done={done}")))
}

/// Applies `action=submit` after a save; `save` (or nothing) keeps a draft.
async fn submit_if_asked(
    conn: &mut PgConnection,
    staff: &Staff,
    id: ArticleId,
    action: &str,
) -> Result<&'static str, AppError> {
    if action != "submit" {
        return Ok("saved");
    }
    let record = store::record_for_update(conn, id)
        .await?
        .ok_or(AppError::NotFound)?;
    let state = workflow::ArticleState {
        status: access::status_of(&record),
        stage: record.review_stage as usize,
        stages: access::stages_of(&record),
        writer: record.created_by,
        reviewers: Vec::new(),
    };
    let actor = workflow::Actor {
        id: staff.id,
        role: staff.role,
        in_scope: false,
    };
    // A refusal here (say, submitting someone else's story) keeps the save.
    match workflow::transition(&state, actor, &Action::Submit, chrono::Utc::now()) {
        Ok(outcome) => {
            super::transition::apply(conn, &record, staff, "submit", &outcome, "").await?;
            Ok("submitted")
        }
        Err(_) => Ok("saved_not_submitted"),
    }
}

/// POST /admin/articles/{id}/submit: the writer sends a draft or a
/// returned story to review as it stands (重新提交 on its page).
pub async fn submit(
    Backend {
        staff,
        csrf: _,
        mut conn,
    }: Backend,
    id: web::Path<ArticleId>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::WriteArticles)?;
    let record = editable(&mut conn, &staff, *id).await?;
    if record.created_by != staff.id {
        return Err(AppError::Forbidden);
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let done = submit_if_asked(&mut tx, &staff, *id, "submit").await?;
    tx.commit().await?;
    let done = if done == "submitted" {
        "resubmitted"
    } else {
        done
    };
    Ok(see_other(&format!("/admin/articles/{id}?done={done}")))
}

async fn editable(
    conn: &mut PgConnection,
    staff: &Staff,
    id: ArticleId,
) -> Result<ArticleRecord, AppError> {
    let record = store::record(conn, id).await?.ok_or(AppError::NotFound)?;
    let access = access(conn, staff, &record).await?;
    if !access.view {
        return Err(AppError::NotFound);
    }
    if !access.edit && !access.correct {
        return Err(AppError::Forbidden);
    }
    Ok(record)
}

pub async fn edit(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    id: web::Path<ArticleId>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::WriteArticles)?;
    let record = editable(&mut conn, &staff, *id).await?;
    let form = form_of(&record);
    form_page(
        &mut conn,
        &staff,
        &csrf,
        Some(record),
        form,
        StatusCode::OK,
        None,
    )
    .await
}

pub async fn update(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    id: web::Path<ArticleId>,
    form: web::Form<ArticleForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::WriteArticles)?;
    let form = form.into_inner();
    let record = editable(&mut conn, &staff, *id).await?;
    let input = match parse(&mut conn, &staff, &form).await.refused()? {
        Ok(input) => input,
        Err(refusal) => {
            return form_page(
                &mut conn,
                &staff,
                &csrf,
                Some(record),
                form,
                refusal.status,
                Some(refusal),
            )
            .await;
        }
    };
    if record.status == crate::workflow::Status::Published {
        return propose_correction(&mut conn, &staff, &csrf, record, form, input).await;
    }
    let version: i32 = form
        .version
        .trim()
        .parse()
        .map_err(|_| AppError::BadRequest)?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let Some(new_version) = store::update(&mut tx, record.id, &input, version).await? else {
        drop(tx);
        let message =
            "保存失败：这篇稿件已被他人修改。您填写的内容仍在下面，请对照最新版本后再保存。"
                .to_string();
        return form_page(
            &mut conn,
            &staff,
            &csrf,
            Some(record),
            form,
            StatusCode::CONFLICT,
            Some(message.into()),
        )
        .await;
    };
    store::save_revision(&mut tx, record.id, new_version, staff.id, &input).await?;
    let done = if record.created_by == staff.id {
        submit_if_asked(&mut tx, &staff, record.id, &form.action).await?
    } else {
        "saved"
    };
    tx.commit().await?;
    Ok(see_other(&format!(
        "/admin/articles/{}?done={done}",
        record.id
    )))
}

#[derive(Deserialize)]
pub struct RestoreForm {
    #[serde(default)]
    version: String,
}

#[derive(sqlx::FromRow)]
struct RevisionRow {
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

/// Restores an old revision as a new one (nothing is overwritten).
pub async fn restore(
    pool: web::Data<PgPool>,
    staff: Staff,
    path: web::Path<(ArticleId, i32)>,
    form: web::Form<RestoreForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::WriteArticles)?;
    let (id, revision) = path.into_inner();
    let mut conn = pool.acquire().await?;
    let record = editable(&mut conn, &staff, id).await?;
    let old: RevisionRow = sqlx::query_as(
        "select title, kicker, subtitle, summary, body_html, channel_id, unit_id, author_byline,
                correspondents, source, tags, cover_media_id
         from article_revisions where article_id = $1 and version = $2",
    )
    .bind(id)
    .bind(revision)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    let old = ArticleForm {
        title: old.title,
        kicker: old.kicker,
        subtitle: old.subtitle,
        summary: old.summary,
        body: old.body_html,
        channel_id: old.channel_id.to_string(),
        unit_id: old.unit_id.to_string(),
        author_byline: old.author_byline,
        correspondents: old.correspondents,
        source: old.source,
        tags: old.tags,
        cover_media_id: old
            .cover_media_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        ..ArticleForm::default()
    };
    let input = parse(&mut conn, &staff, &old)
        .await
        .map_err(|error| match error {
            AppError::Form(_) => AppError::BadRequest,
            other => other,
        })?;
    let version: i32 = form
        .version
        .trim()
        .parse()
        .map_err(|_| AppError::BadRequest)?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    if record.status == crate::workflow::Status::Published {
        // A live story's text changes only through review: the old
        // revision becomes a proposed correction, and the live text stays.
        if record.version != version {
            return Ok(see_other(&format!("/admin/articles/{id}?done=stale")));
        }
        if !super::correction::open_for_review(&mut tx, &staff, &record, &input, "").await? {
            return Ok(see_other(&format!(
                "/admin/articles/{id}?done=correction_open"
            )));
        }
        tx.commit().await?;
        return Ok(see_other(&format!("/admin/articles/{id}?done=correction")));
    }
    let Some(new_version) = store::update(&mut tx, record.id, &input, version).await? else {
        return Ok(see_other(&format!("/admin/articles/{id}?done=stale")));
    };
    store::save_revision(&mut tx, id, new_version, staff.id, &input).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/admin/articles/{id}?done=restored")))
}

#[derive(Deserialize)]
pub struct AuthorQuery {
    #[serde(default)]
    q: String,
}

#[derive(serde::Serialize, sqlx::FromRow)]
pub struct AuthorSuggestion {
    name: String,
    unit: Option<String>,
}

/// GET /admin/authors?q=: author records whose name starts with `q`, staff
/// first, for the byline fields' autocomplete.
pub async fn authors(
    pool: web::Data<PgPool>,
    staff: Staff,
    query: web::Query<AuthorQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::WriteArticles)?;
    let q = query.q.trim();
    if q.is_empty() {
        return Ok(HttpResponse::Ok().json(Vec::<AuthorSuggestion>::new()));
    }
    let mut conn = pool.acquire().await?;
    let found: Vec<AuthorSuggestion> = sqlx::query_as(
        "select name, unit from (
             select display_name as name, n.name as unit, 0 as kind from users u join units n on n.id = u.unit_id
             where u.active and u.display_name like $1 || '%'
             union
             select a.name, n.name, 1 from authors a left join units n on n.id = a.unit_id
             where a.user_id is null and a.name like $1 || '%'
         ) found order by kind, name limit 10",
    )
    .bind(q.replace(['%', '_'], ""))
    .fetch_all(&mut *conn)
    .await?;
    Ok(HttpResponse::Ok().json(found))
}

/// Records the edited story as a correction under review.
async fn propose_correction(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    record: ArticleRecord,
    form: ArticleForm,
    input: ArticleInput,
) -> Result<HttpResponse, AppError> {
    let note: String = form.correction_note.trim().chars().take(300).collect();
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    if !correction::open_for_review(&mut tx, staff, &record, &input, &note).await? {
        drop(tx);
        let message = "这篇稿件已有一份更正在审核中，请等审核结束后再提交新的更正。".to_string();
        return form_page(
            conn,
            staff,
            csrf,
            Some(record),
            form,
            StatusCode::CONFLICT,
            Some(message.into()),
        )
        .await;
    }
    tx.commit().await?;
    Ok(see_other(&format!(
        "/admin/articles/{}?done=correction",
        record.id
    )))
}
