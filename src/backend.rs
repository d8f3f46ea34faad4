//! What the backend's administration pages share: one argument that brings
//! a handler its connection, staff member and CSRF token (and the layout on
//! asking), the optimistic lock of a versioned edit, and the deactivate /
//! reactivate / delete path of the unit and channel trees.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use sqlx::pool::PoolConnection;
use sqlx::postgres::PgQueryResult;
use sqlx::{PgConnection, PgPool, Postgres};
use uuid::Uuid;

use crate::audit;
use crate::auth::{Permission, Staff};
use crate::error::{AppError, FormError, unique_as_field};
use crate::layout::AdminLayout;
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
