//! Where a request reads from: the primary, or a streaming replica that has
//! replayed what the request must see (`db::replicas`).
//!
//! Public pages take a [`ReadPool`]: a replica's pool for a GET or HEAD
//! from a visitor without a staff session, once a healthy replica has
//! replayed the instance's floor and the visitor's own last write; the
//! primary's otherwise. Every other request reads and writes the primary.
//! After each state-changing request the primary's position is read once:
//! it raises the floor (before the page cache drops its pages, so that no
//! page rendered from a replica behind the change is kept) and goes back
//! to the browser in a signed cookie that makes its next pages wait for
//! that position, on this instance or any other.

use std::future::{Ready, ready};
use std::ops::Deref;

use actix_web::body::MessageBody;
use actix_web::cookie::time;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, FromRequest, HttpMessage, HttpRequest, web};
use sqlx::PgPool;

use crate::db::replicas::{PRIMARY_POSITION, Replicas};
use crate::error::AppError;
use crate::secret::{SecretKey, keyed_hash};

/// The cookie holding the position of the browser's last write.
pub const COOKIE: &str = "nd_seen";

/// The replicas' pools of this worker, in the order of `Replicas`.
pub struct ReplicaPools(pub Vec<PgPool>);

/// Cookies that mark a request as staff's, read from the primary.
pub struct PrimaryCookies(pub Vec<&'static str>);

/// Which replica a request's reads went to.
#[derive(Clone, Copy)]
struct ReadFrom(usize);

/// The pool a public page reads from, and the primary's when that is a
/// replica's (for what a page keeps, such as computed page parts).
pub struct ReadPool(PgPool, Option<PgPool>);

impl Deref for ReadPool {
    type Target = PgPool;

    fn deref(&self) -> &PgPool {
        &self.0
    }
}

impl ReadPool {
    pub fn get_ref(&self) -> &PgPool {
        &self.0
    }

    /// The primary's pool when this one is a replica's.
    pub fn primary(&self) -> Option<&PgPool> {
        self.1.as_ref()
    }
}

impl FromRequest for ReadPool {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(pick(req).ok_or_else(|| {
            AppError::Internal(anyhow::anyhow!("the database pool is not registered"))
        }))
    }
}

fn pick(req: &HttpRequest) -> Option<ReadPool> {
    let primary = req.app_data::<web::Data<PgPool>>()?.get_ref();
    let replica = (|| {
        if !matches!(*req.method(), Method::GET | Method::HEAD) {
            return None;
        }
        let replicas = req.app_data::<web::Data<Replicas>>()?;
        if req
            .app_data::<web::Data<PrimaryCookies>>()
            .is_some_and(|names| {
                names
                    .0
                    .iter()
                    .any(|name| super::cookies::read(req, name).is_some())
            })
        {
            return None;
        }
        let index = replicas.pick(seen(req))?;
        let pool = req.app_data::<web::Data<ReplicaPools>>()?.0.get(index)?;
        req.extensions_mut().insert(ReadFrom(index));
        Some(pool.clone())
    })();
    Some(match replica {
        Some(replica) => ReadPool(replica, Some(primary.clone())),
        None => ReadPool(primary.clone(), None),
    })
}

/// The position of this browser's last write, when its cookie is ours.
pub fn seen(req: &HttpRequest) -> u64 {
    let (Some(value), Some(key)) = (
        super::cookies::read(req, COOKIE),
        req.app_data::<web::Data<SecretKey>>(),
    ) else {
        return 0;
    };
    let Some((position, signature)) = value.split_once('.') else {
        return 0;
    };
    match u64::from_str_radix(position, 16) {
        Ok(parsed) if signature == sign(key, parsed) => parsed,
        _ => 0,
    }
}

fn sign(key: &SecretKey, position: u64) -> String {
    let mac = keyed_hash(key.as_bytes(), "replica position", &position.to_be_bytes());
    hex::encode(&mac[..12])
}

/// Whether `req` must see a write this instance has not yet heard of: its
/// pages are neither served from the page cache nor kept in it.
pub fn ahead_of_instance(req: &HttpRequest) -> bool {
    req.app_data::<web::Data<Replicas>>()
        .is_some_and(|replicas| seen(req) > replicas.floor())
}

/// The middleware: after a state-changing request, the primary's position
/// raises the floor and is remembered by the browser.
pub async fn remember_writes(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let writing = !matches!(*req.method(), Method::GET | Method::HEAD);
    let replicas = req
        .app_data::<web::Data<Replicas>>()
        .map(|replicas| replicas.clone().into_inner());
    let mut response = next.call(req).await?;
    let Some(replicas) = replicas else {
        return Ok(response);
    };
    if !writing {
        // A replica that failed a read (stopping, restarting, unreachable)
        // answers no more reads; the proxy retries this one on another node.
        if response.status() == StatusCode::SERVICE_UNAVAILABLE
            && let Some(&ReadFrom(index)) = response.request().extensions().get::<ReadFrom>()
        {
            replicas.leave_out(index);
        }
        return Ok(response);
    }
    if let Some(position) = primary_position(response.request()).await {
        replicas.raise_floor(position);
        let req = response.request();
        if let Some(key) = req.app_data::<web::Data<SecretKey>>() {
            let secure = super::cookies::https(req);
            let value = format!("{position:x}.{}", sign(key, position));
            // Past the longest lag a replica is read at, the position
            // holds nothing back.
            let cookie = super::cookies::build(COOKIE, value, secure)
                .max_age(time::Duration::seconds(60))
                .finish();
            let _ = response.response_mut().add_cookie(&cookie);
        }
    }
    Ok(response)
}

async fn primary_position(req: &HttpRequest) -> Option<u64> {
    let pool = req.app_data::<web::Data<PgPool>>()?;
    match sqlx::query_scalar::<_, i64>(PRIMARY_POSITION)
        .fetch_one(pool.get_ref())
        .await
    {
        Ok(position) => Some(position as u64),
        Err(error) => {
            tracing::warn!(%error, "cannot read the primary's WAL position after a write");
            None
        }
    }
}
