//! The login locks page: the accounts, reader accounts and addresses that
//! too many failed logins have locked, and clearing a lock (audited).

use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use sqlx::PgPool;

use crate::audit;
use crate::auth::{Permission, Staff, throttle};
use crate::backend::Backend;
use crate::error::AppError;
use crate::layout::AdminLayout;
use crate::web::page;
use crate::web::redirect::see_other;

/// A lock as the locks page lists it.
pub struct LockLine {
    pub key: String,
    pub kind: &'static str,
    pub subject: String,
    pub failures: i32,
    pub until: String,
}

#[derive(Template)]
#[template(path = "admin/users/locks.html")]
struct LocksPage {
    layout: AdminLayout,
    locks: Vec<LockLine>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct LocksQuery {
    cleared: Option<String>,
}

pub async fn locks(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    query: web::Query<LocksQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageSecurity)?;
    let layout =
        AdminLayout::load(&mut conn, &staff, &csrf, "登录锁定", "/admin/users/locks").await?;
    let locks = throttle::current_locks(&mut conn)
        .await?
        .into_iter()
        .map(|lock| {
            let (kind, subject) = match lock.key.split_once(':') {
                Some((kind @ ("account" | "reader"), rest)) => {
                    let kind = if kind == "account" {
                        "账号"
                    } else {
                        "读者账号"
                    };
                    match rest.split_once('|') {
                        Some((name, client)) => (kind, format!("{name}（来自 {client}）")),
                        None => (kind, rest.to_owned()),
                    }
                }
                Some((_, address)) => ("地址", address.to_owned()),
                None => ("", lock.key.clone()),
            };
            LockLine {
                kind,
                subject,
                failures: lock.failures,
                until: layout.settings.format_time(lock.locked_until),
                key: lock.key,
            }
        })
        .collect();
    page(&LocksPage {
        layout,
        locks,
        notice: query.cleared.as_ref().map(|_| "已解除锁定。".into()),
    })
}

#[derive(Deserialize)]
pub struct ClearForm {
    #[serde(default)]
    key: String,
}

pub async fn clear_lock(
    pool: web::Data<PgPool>,
    staff: Staff,
    form: web::Form<ClearForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageSecurity)?;
    let mut tx = pool.begin().await?;
    if throttle::clear(&mut tx, &form.key).await? {
        let actor = staff.actor();
        audit::record(&mut tx, &actor, "lock.clear", &form.key, "").await?;
    }
    tx.commit().await?;
    Ok(see_other("/admin/users/locks?cleared=1"))
}
