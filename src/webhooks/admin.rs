//! The webhook receivers' pages (/admin/webhooks): register a receiver,
//! change it, see its secret and its deliveries, send a failed one again.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use sqlx::PgConnection;
use uuid::Uuid;

use super::{DeliveryLine, EVENTS, Receiver, ReceiverLine};
use crate::audit;
use crate::auth::{Permission, Staff};
use crate::backend::{Backend, versioned};
use crate::error::{AppError, Checks, FormError};
use crate::layout::AdminLayout;
use crate::web::csrf::CsrfToken;
use crate::web::redirect::see_other;
use crate::web::render;

/// Deliveries listed on a receiver's page.
const LISTED: i64 = 50;

/// A receiver as typed: one checkbox per event.
#[derive(Deserialize, Default, Clone)]
pub struct ReceiverForm {
    #[serde(default)]
    url: String,
    #[serde(default)]
    description: String,
    event_published: Option<String>,
    event_updated: Option<String>,
    event_corrected: Option<String>,
    event_unpublished: Option<String>,
    event_comment_approved: Option<String>,
    active: Option<String>,
    #[serde(default)]
    version: String,
}

impl ReceiverForm {
    fn of(receiver: &Receiver) -> Self {
        let wants = |event: &str| receiver.events.iter().any(|e| e == event).then(String::new);
        ReceiverForm {
            url: receiver.url.clone(),
            description: receiver.description.clone(),
            event_published: wants("published"),
            event_updated: wants("updated"),
            event_corrected: wants("corrected"),
            event_unpublished: wants("unpublished"),
            event_comment_approved: wants("comment_approved"),
            active: receiver.active.then(String::new),
            version: receiver.version.to_string(),
        }
    }

    /// The events ticked, in the order of [`EVENTS`].
    pub fn events(&self) -> Vec<&'static str> {
        [
            &self.event_published,
            &self.event_updated,
            &self.event_corrected,
            &self.event_unpublished,
            &self.event_comment_approved,
        ]
        .iter()
        .zip(EVENTS)
        .filter(|(ticked, _)| ticked.is_some())
        .map(|(_, (event, _))| event)
        .collect()
    }

    /// Whether the box of `event` is ticked (for the template).
    pub fn wants(&self, event: &str) -> bool {
        self.events().contains(&event)
    }

    fn parse(&self) -> Result<(String, String, Vec<&'static str>), FormError> {
        let mut checks = Checks::default();
        let url = self.url.trim();
        let parsed = url::Url::parse(url).ok().filter(|parsed| {
            matches!(parsed.scheme(), "http" | "https")
                && parsed.host_str().is_some()
                && parsed.username().is_empty()
                && parsed.password().is_none()
        });
        if parsed.is_none() || url.len() > 500 {
            checks.refuse(
                "url",
                "接收地址应为 http:// 或 https:// 开头的完整网址（不超过 500 个字符，不含用户名和密码）。",
            );
        }
        let description = self.description.trim();
        if description.chars().count() > 100 {
            checks.refuse("description", "说明不超过 100 个字。");
        }
        let events = self.events();
        if events.is_empty() {
            checks.refuse("events", "请至少选择一种事件。");
        }
        checks.finish()?;
        Ok((url.to_owned(), description.to_owned(), events))
    }
}

/// An event's name in the backend.
pub fn event_label(event: &str) -> &'static str {
    EVENTS
        .iter()
        .find(|(name, _)| *name == event)
        .map_or("未知事件", |(_, label)| label)
}

#[derive(Template)]
#[template(path = "admin/webhooks/list.html")]
struct ListPage {
    layout: AdminLayout,
    receivers: Vec<ReceiverLine>,
    form: ReceiverForm,
    error: Option<FormError>,
    events: [(&'static str, &'static str); 5],
}

async fn list_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    status: StatusCode,
    form: ReceiverForm,
    error: Option<FormError>,
) -> Result<HttpResponse, AppError> {
    let page = ListPage {
        layout: AdminLayout::load(conn, staff, csrf, "Webhook 推送", "/admin/webhooks").await?,
        receivers: super::receivers(conn).await?,
        form,
        error,
        events: EVENTS,
    };
    render(status, &page)
}

/// GET /admin/webhooks
pub async fn index(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageSettings)?;
    let form = ReceiverForm {
        event_published: Some(String::new()),
        event_corrected: Some(String::new()),
        event_unpublished: Some(String::new()),
        ..ReceiverForm::default()
    };
    list_page(&mut conn, &staff, &csrf, StatusCode::OK, form, None).await
}

/// POST /admin/webhooks: registers a receiver with a fresh secret.
pub async fn create(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    form: web::Form<ReceiverForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageSettings)?;
    let form = form.into_inner();
    let (url, description, events) = match form.parse() {
        Ok(parsed) => parsed,
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
    let id: Uuid = sqlx::query_scalar(
        "insert into webhook_receivers (url, description, secret, events, created_by)
         values ($1, $2, $3, $4, $5) returning id",
    )
    .bind(&url)
    .bind(&description)
    .bind(super::new_secret())
    .bind(&events)
    .bind(staff.id)
    .fetch_one(&mut *tx)
    .await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "webhook.create",
        &url,
        &events.join(","),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/admin/webhooks/{id}")))
}

#[derive(Template)]
#[template(path = "admin/webhooks/edit.html")]
struct EditPage {
    layout: AdminLayout,
    receiver: Receiver,
    deliveries: Vec<DeliveryLine>,
    form: ReceiverForm,
    error: Option<FormError>,
    events: [(&'static str, &'static str); 5],
    notice: Option<&'static str>,
}

async fn edit_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    id: Uuid,
    form: Option<ReceiverForm>,
    error: Option<FormError>,
    notice: Option<&'static str>,
) -> Result<HttpResponse, AppError> {
    let status = error
        .as_ref()
        .map_or(StatusCode::OK, |refusal| refusal.status);
    let receiver = super::receiver(conn, id).await?.ok_or(AppError::NotFound)?;
    let page = EditPage {
        layout: AdminLayout::load(conn, staff, csrf, "Webhook 接收方", "/admin/webhooks").await?,
        deliveries: super::deliveries(conn, id, LISTED).await?,
        form: form.unwrap_or_else(|| ReceiverForm::of(&receiver)),
        receiver,
        error,
        events: EVENTS,
        notice,
    };
    render(status, &page)
}

#[derive(Deserialize)]
pub struct Notice {
    done: Option<String>,
}

fn notice_of(done: Option<&str>) -> Option<&'static str> {
    match done? {
        "saved" => Some("已保存。"),
        "secret" => Some("已更换签名密钥，请同时更新接收方的密钥。"),
        "retry" => Some("已重新排队，稍后发送。"),
        _ => None,
    }
}

fn receiver_id(id: &str) -> Result<Uuid, AppError> {
    id.parse().map_err(|_| AppError::NotFound)
}

/// GET /admin/webhooks/{id}
pub async fn edit(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    id: web::Path<String>,
    notice: web::Query<Notice>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageSettings)?;
    let id = receiver_id(&id)?;
    let notice = notice_of(notice.done.as_deref());
    edit_page(&mut conn, &staff, &csrf, id, None, None, notice).await
}

/// POST /admin/webhooks/{id}: saves the receiver (versioned).
pub async fn update(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    id: web::Path<String>,
    form: web::Form<ReceiverForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageSettings)?;
    let id = receiver_id(&id)?;
    let form = form.into_inner();
    let outcome = match form.parse() {
        Err(refusal) => Err(refusal),
        Ok((url, description, events)) => {
            let version: i32 = form.version.trim().parse().unwrap_or(-1);
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            let updated = sqlx::query(
                "update webhook_receivers set url = $2, description = $3, events = $4,
                        active = $5, version = version + 1
                 where id = $1 and version = $6",
            )
            .bind(id)
            .bind(&url)
            .bind(&description)
            .bind(&events)
            .bind(form.active.is_some())
            .bind(version)
            .execute(&mut *tx)
            .await;
            match versioned(
                updated,
                "url",
                "",
                "该接收方已被他人修改，请查看最新内容后再保存。",
            ) {
                Ok(()) => {
                    audit::record(
                        &mut tx,
                        &staff.actor(),
                        "webhook.update",
                        &url,
                        &format!(
                            "{}{}",
                            events.join(","),
                            if form.active.is_some() {
                                ""
                            } else {
                                "（停用）"
                            }
                        ),
                    )
                    .await?;
                    tx.commit().await?;
                    Ok(())
                }
                Err(AppError::Form(refusal)) => Err(refusal),
                Err(other) => return Err(other),
            }
        }
    };
    match outcome {
        Ok(()) => Ok(see_other(&format!("/admin/webhooks/{id}?done=saved"))),
        Err(refusal) => {
            edit_page(
                &mut conn,
                &staff,
                &csrf,
                id,
                Some(form),
                Some(refusal),
                None,
            )
            .await
        }
    }
}

/// POST /admin/webhooks/{id}/secret: a new signing secret.
pub async fn rotate_secret(
    Backend {
        staff,
        csrf: _,
        mut conn,
    }: Backend,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageSettings)?;
    let id = receiver_id(&id)?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let url: Option<String> = sqlx::query_scalar(
        "update webhook_receivers set secret = $2, version = version + 1 where id = $1
         returning url",
    )
    .bind(id)
    .bind(super::new_secret())
    .fetch_optional(&mut *tx)
    .await?;
    let url = url.ok_or(AppError::NotFound)?;
    audit::record(&mut tx, &staff.actor(), "webhook.secret", &url, "").await?;
    tx.commit().await?;
    Ok(see_other(&format!("/admin/webhooks/{id}?done=secret")))
}

/// POST /admin/webhooks/{id}/delete: the receiver and its deliveries.
pub async fn delete(
    Backend {
        staff,
        csrf: _,
        mut conn,
    }: Backend,
    id: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageSettings)?;
    let id = receiver_id(&id)?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let url: Option<String> =
        sqlx::query_scalar("delete from webhook_receivers where id = $1 returning url")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
    let url = url.ok_or(AppError::NotFound)?;
    audit::record(&mut tx, &staff.actor(), "webhook.delete", &url, "").await?;
    tx.commit().await?;
    Ok(see_other("/admin/webhooks"))
}

/// POST /admin/webhooks/{id}/deliveries/{delivery}/retry: sends a failed
/// delivery once more, now.
pub async fn retry(
    Backend {
        staff,
        csrf: _,
        mut conn,
    }: Backend,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageSettings)?;
    let (id, delivery) = path.into_inner();
    let id = receiver_id(&id)?;
    let delivery: i64 = delivery.parse().map_err(|_| AppError::NotFound)?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let url: Option<String> = sqlx::query_scalar(
        "update webhook_deliveries d set failed_at = null, next_attempt_at = now()
         from webhook_receivers r
         where d.id = $1 and d.receiver_id = $2 and r.id = d.receiver_id
           and d.failed_at is not null
         returning r.url",
    )
    .bind(delivery)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let url = url.ok_or(AppError::NotFound)?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "webhook.retry",
        &url,
        &delivery.to_string(),
    )
    .await?;
    tx.commit().await?;
    sqlx::query("select pg_notify($1, '')")
        .bind(super::CHANNEL)
        .execute(&mut *conn)
        .await?;
    Ok(see_other(&format!("/admin/webhooks/{id}?done=retry")))
}
