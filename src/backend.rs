//! What the backend's administration pages share: one argument that brings
//! a handler its connection, staff member and CSRF token (and the layout on
//! asking), the optimistic lock of a versioned edit, and the deactivate /
//! reactivate / delete path of the unit and channel trees; error pages
//! inside the backend, said again in its layout.

use std::future::Future;
use std::pin::Pin;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest, HttpResponse, web};
use askama::Template;
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgQueryResult;
use sqlx::{PgConnection, PgPool, Postgres};
use uuid::Uuid;

use crate::audit;
use crate::auth::{Permission, Staff};
use crate::error::{AppError, ErrorShown, FormError, unique_as_field};
use crate::layout::{AdminLayout, nav_entry_of};
use crate::web::csrf::CsrfToken;

/// A backend request: the signed-in staff member, the browser's CSRF token
/// and a connection of the request's pool.
pub struct Backend {
    pub staff: Staff,
    pub csrf: CsrfToken,
    pub conn: PoolConnection<Postgres>,
}

impl Backend {
    /// Refuses with 403 unless the staff member holds `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        self.staff.require(permission)
    }

    /// The layout of a page titled `title` under the navigation entry
    /// `active`.
    pub async fn layout(&mut self, title: &str, active: &str) -> sqlx::Result<AdminLayout> {
        AdminLayout::load(&mut self.conn, &self.staff, &self.csrf, title, active).await
    }
}

impl FromRequest for Backend {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let staff = Staff::from_request(req, payload);
        let csrf = CsrfToken::from_request(req, payload);
        let pool = req.app_data::<web::Data<PgPool>>().cloned();
        Box::pin(async move {
            let staff = staff.await?;
            let csrf = csrf.await?;
            let pool = pool.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no pool")))?;
            let conn = pool.acquire().await?;
            Ok(Backend { staff, csrf, conn })
        })
    }
}

#[derive(Template)]
#[template(path = "admin/error.html")]
struct BackendError<'a> {
    layout: AdminLayout,
    status: u16,
    message: &'a str,
}

/// An error page of a backend address keeps the backend's header and menu
/// for a signed-in staff member, so that a refusal or a missing story is
/// one click from where to go on; anyone else gets the plain page.
pub async fn error_pages(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    // (The request is not held meanwhile: actix needs it unshared.)
    let inside = req.path().starts_with("/admin/") || req.path() == "/admin";
    let response = next.call(req).await?.map_into_left_body();
    if !inside {
        return with_filing(response).await;
    }
    let shown = response
        .response()
        .extensions()
        .get::<ErrorShown>()
        .cloned();
    let status = response.status();
    let (Some(shown), true) = (shown, status.is_client_error()) else {
        return Ok(response);
    };
    let http = response.request().clone();
    match in_layout(&http, status, &shown).await {
        Some(page) => {
            drop(response);
            Ok(ServiceResponse::new(http, page).map_into_right_body())
        }
        None => Ok(response),
    }
}

/// A public error page (a missing story, a refused form) carries the
/// footer's filing lines as every page of the site does.
async fn with_filing<B: MessageBody + 'static>(
    response: ServiceResponse<EitherBody<B>>,
) -> Result<ServiceResponse<EitherBody<B>>, actix_web::Error> {
    let shown = response
        .response()
        .extensions()
        .get::<ErrorShown>()
        .is_some();
    if !shown || !response.status().is_client_error() {
        return Ok(response);
    }
    let http = response.request().clone();
    let Some(filing) = filing_of(&http)
        .await
        .filter(|html| !html.trim().is_empty())
    else {
        return Ok(response);
    };
    let (_, answer) = response.into_parts();
    let mut page = HttpResponse::build(answer.status());
    for (name, value) in answer.headers() {
        if name != actix_web::http::header::CONTENT_LENGTH {
            page.append_header((name.clone(), value.clone()));
        }
    }
    let body = actix_web::body::to_bytes(answer.into_body())
        .await
        .map_err(|_| actix_web::error::ErrorInternalServerError("error page"))?;
    let html = String::from_utf8_lossy(&body).replacen(
        "</main>",
        &format!("</main>\n<footer class=\"error-foot\">{filing}</footer>"),
        1,
    );
    Ok(ServiceResponse::new(http, page.body(html)).map_into_right_body())
}

async fn filing_of(req: &HttpRequest) -> Option<String> {
    let trees = req.app_data::<web::Data<crate::site::TreeCache>>()?;
    let pool = req.app_data::<web::Data<PgPool>>()?;
    let mut conn = pool.acquire().await.ok()?;
    let trees = trees.current(&mut conn).await.ok()?;
    Some(crate::layout::Filing::html(&trees.settings))
}

/// The error page in the backend's layout, when the visitor is signed in.
async fn in_layout(
    req: &HttpRequest,
    status: StatusCode,
    shown: &ErrorShown,
) -> Option<HttpResponse> {
    let staff = Staff::extract(req).await.ok()?;
    let csrf = req.extensions().get::<CsrfToken>().cloned()?;
    let pool = req.app_data::<web::Data<PgPool>>()?;
    let mut conn = pool.acquire().await.ok()?;
    let layout = AdminLayout::load(
        &mut conn,
        &staff,
        &csrf,
        shown.title,
        nav_entry_of(req.path()),
    )
    .await
    .ok()?;
    let body = BackendError {
        layout,
        status: status.as_u16(),
        message: &shown.message,
    }
    .render()
    .ok()?;
    Some(
        HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .insert_header(("Cache-Control", "no-store"))
            .body(body),
    )
}

/// The outcome of `update … where id = $1 and version = $n` (a versioned
/// edit): a unique-constraint violation is `duplicate` beside `field`, no
/// row changed means someone saved first (409, `stale`).
pub fn versioned(
    updated: Result<PgQueryResult, sqlx::Error>,
    field: &'static str,
    duplicate: &str,
    stale: &str,
) -> Result<(), AppError> {
    let updated = updated.map_err(|error| unique_as_field(error, field, duplicate))?;
    if updated.rows_affected() == 0 {
        return Err(FormError::whole(stale)
            .with_status(StatusCode::CONFLICT)
            .into());
    }
    Ok(())
}

/// What a tree row's list page may do to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Deactivate,
    Activate,
    Delete,
}

impl Change {
    /// The change a path names (`/admin/units/{id}/deactivate`).
    pub fn parse(verb: &str) -> Option<Change> {
        match verb {
            "deactivate" => Some(Change::Deactivate),
            "activate" => Some(Change::Activate),
            "delete" => Some(Change::Delete),
            _ => None,
        }
    }

    fn verb(self) -> &'static str {
        match self {
            Change::Deactivate => "deactivate",
            Change::Activate => "activate",
            Change::Delete => "delete",
        }
    }

    /// The `done` the list page is sent back with.
    pub fn done(self) -> &'static str {
        match self {
            Change::Deactivate => "deactivated",
            Change::Activate => "activated",
            Change::Delete => "deleted",
        }
    }
}

/// A tree table whose rows are deactivated, reactivated and deleted alike.
#[derive(Debug, Clone, Copy)]
pub struct TreeTable {
    /// The table, and the entity's name in audit actions (`unit.delete`).
    pub table: &'static str,
    pub entity: &'static str,
}

impl TreeTable {
    /// Locks row `id` and returns its name and parent, or 404.
    pub async fn lock(
        self,
        tx: &mut PgConnection,
        id: Uuid,
    ) -> Result<(String, Option<Uuid>), AppError> {
        let row: Option<(String, Option<Uuid>)> = sqlx::query_as(&format!(
            "select name, parent_id from {} where id = $1 for update",
            self.table
        ))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        row.ok_or(AppError::NotFound)
    }

    /// Applies `change` to the locked row `id` named `name` (its version
    /// moves with it) and records it in the audit log, in the caller's
    /// transaction.
    pub async fn apply(
        self,
        tx: &mut PgConnection,
        staff: &Staff,
        id: Uuid,
        name: &str,
        change: Change,
    ) -> Result<(), AppError> {
        let table = self.table;
        let statement = match change {
            Change::Deactivate => {
                format!("update {table} set active = false, version = version + 1 where id = $1")
            }
            Change::Activate => {
                format!("update {table} set active = true, version = version + 1 where id = $1")
            }
            Change::Delete => format!("delete from {table} where id = $1"),
        };
        sqlx::query(&statement).bind(id).execute(&mut *tx).await?;
        let action = format!("{}.{}", self.entity, change.verb());
        audit::record(tx, &staff.actor(), &action, name, "").await?;
        Ok(())
    }
}
