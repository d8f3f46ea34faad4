//! Managing special topics: chief editors create them, set title, slug,
//! description and banner, and add, order and remove their stories.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{Topic, TopicStory, by_id, list, stories};
use crate::articles::admin::CoverChoice;
use crate::audit;
use crate::auth::{Permission, Staff};
use crate::backend::Backend;
use crate::channels::parse_slug;
use crate::error::{AppError, Checks, FormError, Refused, Violation, refusal_of};
use crate::ids::ArticleId;
use crate::layout::AdminLayout;
use crate::web::csrf::CsrfToken;
use crate::web::redirect::see_other;
use crate::web::render;

#[derive(Deserialize, Default, Clone)]
pub struct TopicForm {
    #[serde(default)]
    title: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    banner_media_id: String,
    active: Option<String>,
}

struct TopicFields {
    title: String,
    slug: String,
    description: String,
    banner: Option<Uuid>,
}

impl TopicForm {
    fn parse(&self) -> Result<TopicFields, FormError> {
        let mut checks = Checks::default();
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 40 {
            checks.refuse("title", "专题名称不能为空，且不超过 40 个字。");
        }
        let slug = checks.check("slug", parse_slug(&self.slug));
        let description = self.description.trim();
        if description.chars().count() > 300 {
            checks.refuse("description", "专题简介不超过 300 个字。");
        }
        let banner = checks.check(
            "banner_media_id",
            match self.banner_media_id.trim() {
                "" => Ok(None),
                id => id.parse().map(Some).map_err(|_| "题图不存在，请重新选择。"),
            },
        );
        checks.finish()?;
        Ok(TopicFields {
            title: title.to_owned(),
            slug,
            description: description.to_owned(),
            banner,
        })
    }
}

#[derive(Template)]
#[template(path = "admin/topics/list.html")]
struct ListPage {
    layout: AdminLayout,
    topics: Vec<Topic>,
    form: TopicForm,
    error: Option<FormError>,
}

async fn list_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    status: StatusCode,
    form: TopicForm,
    error: Option<FormError>,
) -> Result<HttpResponse, AppError> {
    let page = ListPage {
        layout: AdminLayout::load(conn, staff, csrf, "专题", "/admin/topics").await?,
        topics: list(conn, false).await?,
        form,
        error,
    };
    render(status, &page)
}

pub async fn index(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::PublishArticles)?;
    list_page(
        &mut conn,
        &staff,
        &csrf,
        StatusCode::OK,
        TopicForm::default(),
        None,
    )
    .await
}

/// A database refusal of a topic row as the form's message.
fn refusal(error: sqlx::Error) -> AppError {
    refusal_of(
        error,
        &[
            (Violation::Unique, "slug", "专题标识已被使用。"),
            (
                Violation::ForeignKey,
                "banner_media_id",
                "题图不存在，请重新选择。",
            ),
        ],
    )
}

pub async fn create(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    form: web::Form<TopicForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::PublishArticles)?;
    let form = form.into_inner();
    let fields = match form.parse() {
        Ok(fields) => fields,
        Err(refusal) => {
            return list_page(
                &mut conn,
                &staff,
                &csrf,
                refusal.status,
                form,
                Some(refusal),
            )
            .await;
        }
    };
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let inserted: Result<Uuid, sqlx::Error> = sqlx::query_scalar!(
        "insert into topics (title, slug, description, banner_media_id) values ($1, $2, $3, $4) returning id", &fields.title, &fields.slug, &fields.description, fields.banner,)
    .fetch_one(&mut *tx)
    .await;
    let id = match inserted.map_err(refusal).refused()? {
        Ok(id) => id,
        Err(refusal) => {
            drop(tx);
            return list_page(
                &mut conn,
                &staff,
                &csrf,
                refusal.status,
                form,
                Some(refusal),
            )
            .await;
        }
    };
    audit::record(
        &mut tx,
        &staff.actor(),
        "topic.create",
        &fields.title,
        &fields.slug,
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/admin/topics/{id}")))
}

#[derive(Template)]
#[template(path = "admin/topics/edit.html")]
struct EditPage {
    layout: AdminLayout,
    topic: Topic,
    stories: Vec<TopicStory>,
    banners: Vec<CoverChoice>,
    form: TopicForm,
    error: Option<FormError>,
}

async fn edit_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    id: Uuid,
    status: StatusCode,
    form: Option<TopicForm>,
    error: Option<FormError>,
) -> Result<HttpResponse, AppError> {
    let topic = by_id(conn, id).await?.ok_or(AppError::NotFound)?;
    let form = form.unwrap_or_else(|| TopicForm {
        title: topic.title.clone(),
        slug: topic.slug.clone(),
        description: topic.description.clone(),
        banner_media_id: topic
            .banner_media_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        active: topic.active.then(|| "on".into()),
    });
    let banners = sqlx::query_as(
        "select id, original_ext, derived_ext, caption from media
         order by (id = $1) desc, created_at desc limit 12",
    )
    .bind(topic.banner_media_id)
    .fetch_all(&mut *conn)
    .await?;
    let page = EditPage {
        layout: AdminLayout::load(conn, staff, csrf, "编辑专题", "/admin/topics").await?,
        stories: stories(conn, id, false).await?,
        topic,
        banners,
        form,
        error,
    };
    render(status, &page)
}

pub async fn edit(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::PublishArticles)?;
    edit_page(&mut conn, &staff, &csrf, *id, StatusCode::OK, None, None).await
}

pub async fn update(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    id: web::Path<Uuid>,
    form: web::Form<TopicForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::PublishArticles)?;
    let form = form.into_inner();
    let refuse = async |conn: &mut PgConnection, refusal: FormError| {
        edit_page(
            conn,
            &staff,
            &csrf,
            *id,
            refusal.status,
            Some(form.clone()),
            Some(refusal),
        )
        .await
    };
    let fields = match form.parse() {
        Ok(fields) => fields,
        Err(refusal) => return refuse(&mut conn, refusal).await,
    };
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let updated = sqlx::query!(
        "update topics set title = $2, slug = $3, description = $4, banner_media_id = $5, active = $6 where id = $1", *id, &fields.title, &fields.slug, &fields.description, fields.banner, form.active.is_some(),)
    .execute(&mut *tx)
    .await;
    match updated.map_err(refusal).refused()? {
        Ok(done) if done.rows_affected() == 0 => return Err(AppError::NotFound),
        Ok(_) => {}
        Err(refusal) => {
            drop(tx);
            return refuse(&mut conn, refusal).await;
        }
    }
    audit::record(&mut tx, &staff.actor(), "topic.update", &fields.title, "").await?;
    tx.commit().await?;
    Ok(see_other(&format!("/admin/topics/{id}")))
}

#[derive(Deserialize)]
pub struct StoryForm {
    #[serde(default)]
    number: String,
}

/// Adds a story, by its public number, at the end of the topic.
pub async fn add_story(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    id: web::Path<Uuid>,
    form: web::Form<StoryForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::PublishArticles)?;
    let number = form
        .number
        .trim()
        .trim_start_matches("/articles/")
        .parse::<i64>()
        .ok();
    let article: Option<ArticleId> = match number {
        Some(number) => sqlx::query_scalar!("select id from articles where number = $1", number)
            .fetch_optional(&mut *conn)
            .await?
            .map(ArticleId),
        None => None,
    };
    let Some(article) = article else {
        let message = "找不到该稿件，请填写稿件编号（网址 /articles/ 后面的数字）。".to_string();
        return edit_page(
            &mut conn,
            &staff,
            &csrf,
            *id,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Some(message.into()),
        )
        .await;
    };
    sqlx::query!(
        "insert into topic_articles (topic_id, article_id, position)
         select $1, $2, coalesce(max(position), 0) + 1 from topic_articles where topic_id = $1
         on conflict do nothing",
        *id,
        article as ArticleId,
    )
    .execute(&mut *conn)
    .await?;
    Ok(see_other(&format!("/admin/topics/{id}")))
}

#[derive(Deserialize)]
pub struct MoveForm {
    #[serde(default)]
    action: String,
}

/// Moves a story up or down in its topic, or removes it.
pub async fn arrange(
    pool: web::Data<PgPool>,
    staff: Staff,
    path: web::Path<(Uuid, Uuid)>,
    form: web::Form<MoveForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::PublishArticles)?;
    let (topic, article) = path.into_inner();
    let mut tx = pool.begin().await?;
    let order: Vec<Uuid> = sqlx::query_scalar!(
        "select article_id from topic_articles where topic_id = $1 order by position for update",
        topic,
    )
    .fetch_all(&mut *tx)
    .await?;
    let Some(at) = order.iter().position(|id| *id == article) else {
        return Err(AppError::NotFound);
    };
    let mut order = order;
    match form.action.as_str() {
        "up" if at > 0 => order.swap(at, at - 1),
        "down" if at + 1 < order.len() => order.swap(at, at + 1),
        "remove" => {
            order.remove(at);
            sqlx::query!(
                "delete from topic_articles where topic_id = $1 and article_id = $2",
                topic,
                article
            )
            .execute(&mut *tx)
            .await?;
        }
        "up" | "down" => {}
        _ => return Err(AppError::BadRequest),
    }
    for (position, id) in order.iter().enumerate() {
        sqlx::query!(
            "update topic_articles set position = $3 where topic_id = $1 and article_id = $2",
            topic,
            id,
            position as i32 + 1,
        )
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(see_other(&format!("/admin/topics/{topic}")))
}
