//! Staff sessions, kept in PostgreSQL so that every instance behind a load
//! balancer sees them and logout or disabling an account ends them at once.
//! The cookie holds a random token; the table holds only its SHA-256.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::Cookie;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};

use super::{Permission, allows};
use crate::error::AppError;
use crate::ids::{UnitId, UserId};
use crate::roles::Role;
use crate::state::AppState;
use crate::web::client::client_ip;
use crate::web::cookies;

pub const COOKIE: &str = "nd_session";

/// Paths a staff member who must change the password may still reach.
const PASSWORD_CHANGE_PATHS: &[&str] = &["/admin/account/password", "/admin/logout"];

/// Paths a staff member whose role requires two factors may reach before
/// turning them on.
const SECOND_FACTOR_PATHS: &[&str] = &[
    "/admin/account/2fa",
    "/admin/account/2fa/enable",
    "/admin/account/password",
    "/admin/logout",
];

/// The signed-in staff member of a request.
#[derive(Debug, Clone)]
pub struct Staff {
    pub id: crate::ids::UserId,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub unit_id: crate::ids::UnitId,
    pub must_change_password: bool,
    pub token_hash: Vec<u8>,
    /// The address the request came from, for the audit log.
    pub client_ip: String,
    /// Unread notifications when the request came in, for the header.
    pub unread_notifications: i64,
}

impl Staff {
    pub fn can(&self, permission: Permission) -> bool {
        allows(self.role, permission)
    }

    /// Refuses with 403 unless the staff member holds `permission`.
    pub fn require(&self, permission: Permission) -> Result<(), AppError> {
        if self.can(permission) {
            Ok(())
        } else {
            tracing::warn!(user = %self.username, ?permission, "permission refused");
            Err(AppError::Forbidden)
        }
    }

    /// The staff member as the audit log names them.
    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor {
            id: Some(self.id),
            name: self.username.clone(),
            client_ip: self.client_ip.clone(),
        }
    }
}

pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: UserId,
    username: String,
    display_name: String,
    role: Role,
    unit_id: UnitId,
    must_change_password: bool,
    needs_second_factor: bool,
    unread_notifications: i64,
}

/// The live session for `token_hash`, honouring the idle and absolute
/// timeouts from the settings; touches its last-seen time (once a minute).
async fn lookup(conn: &mut PgConnection, token_hash: &[u8]) -> sqlx::Result<Option<SessionRow>> {
    // One statement: a staff page is a string of small queries, and this
    // one runs before each of them. It also counts the unread notifications
    // every backend page shows in its header.
    sqlx::query_as(
        "with rules as (
             select coalesce((select nullif(value, '')::int from settings
                              where key = 'password_expiry_days'), 90) as expiry_days,
                    string_to_array(coalesce((select value from settings
                                              where key = 'two_factor_roles'), ''), ',')
                      as two_factor_roles,
                    coalesce((select value from settings
                              where key = 'separation_of_duties'), '') = 'true' as separated
         ), live as (
             select u.id, u.username, u.display_name, u.role, u.unit_id,
                    u.must_change_password
                      or (rules.expiry_days > 0 and u.password_changed_at
                          < now() - make_interval(days => rules.expiry_days))
                      as must_change_password,
                    u.totp_enabled_at is null and u.role = any(rules.two_factor_roles)
                      as needs_second_factor,
                    s.last_seen_at
             from rules, sessions s join users u on u.id = s.user_id
             where s.token_hash = $1 and u.active and not s.second_factor_pending
               and (u.expires_at is null or u.expires_at > now())
               and not (rules.separated and u.role = 'admin')
               and s.last_seen_at > now() - make_interval(mins => coalesce(
                   (select nullif(value, '')::int from settings where key = 'session_idle_minutes.' || u.role),
                   (select value::int from settings where key = 'session_idle_minutes'), 30))
               and s.created_at > now() - make_interval(hours => coalesce(
                   (select nullif(value, '')::int from settings where key = 'session_absolute_hours.' || u.role),
                   (select value::int from settings where key = 'session_absolute_hours'), 12))
         ), touched as (
             update sessions set last_seen_at = now()
             where token_hash = $1
               and exists (select 1 from live where last_seen_at < now() - interval '1 minute')
         )
         select id, username, display_name, role, unit_id, must_change_password,
                needs_second_factor,
                (select count(*) from notifications n
                 where n.user_id = live.id and n.read_at is null) as unread_notifications
         from live",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await
}

impl FromRequest for Staff {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pool = req.app_data::<web::Data<PgPool>>().cloned();
        let token = cookies::read(req, COOKIE);
        let path = req.path().to_owned();
        let next = return_path(req);
        let client_ip = req
            .app_data::<web::Data<AppState>>()
            .map(|state| client_ip(req, &state.trusted_proxies))
            .unwrap_or_default();
        Box::pin(async move {
            let pool = pool.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no pool")))?;
            let token = token.ok_or_else(|| AppError::Unauthenticated(next.clone()))?;
            let token_hash = hash_token(&token);
            let mut conn = pool.acquire().await?;
            let row = lookup(&mut conn, &token_hash)
                .await?
                .ok_or(AppError::Unauthenticated(next))?;
            let role = row.role;
            if row.must_change_password && !PASSWORD_CHANGE_PATHS.contains(&path.as_str()) {
                return Err(AppError::PasswordChangeRequired);
            }
            if row.needs_second_factor && !SECOND_FACTOR_PATHS.contains(&path.as_str()) {
                return Err(AppError::SecondFactorRequired);
            }
            Ok(Staff {
                id: row.id,
                username: row.username,
                display_name: row.display_name,
                role,
                unit_id: row.unit_id,
                must_change_password: row.must_change_password,
                token_hash,
                client_ip,
                unread_notifications: row.unread_notifications,
            })
        })
    }
}

/// Where to come back after logging in: the page asked for, or for a form
/// posted after the session ended, the page the form was on (its text waits
/// there in the browser's autosave).
fn return_path(req: &HttpRequest) -> Option<String> {
    let candidate = if req.method() == actix_web::http::Method::GET {
        req.uri().path_and_query().map(|pq| pq.as_str().to_owned())
    } else {
        let referer = req
            .headers()
            .get(actix_web::http::header::REFERER)?
            .to_str()
            .ok()?;
        let host = crate::web::client::host(req, crate::web::client::proxies(req));
        let (_, rest) = referer.split_once("://")?;
        rest.strip_prefix(host.as_str()).map(str::to_owned)
    }?;
    (candidate.starts_with("/admin")
        && candidate != "/admin"
        && !candidate.starts_with("/admin/login"))
    .then_some(candidate)
}

/// Opens a session and returns the token for the cookie.
pub async fn start(
    conn: &mut PgConnection,
    user_id: UserId,
    client_ip: &str,
    user_agent: &str,
) -> sqlx::Result<String> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    sqlx::query!(
        "insert into sessions (token_hash, user_id, client_ip, user_agent) values ($1, $2, $3, $4)",
        hash_token(&token),
        user_id as UserId,
        client_ip,
        user_agent.chars().take(300).collect::<String>(),
    )
    .execute(&mut *conn)
    .await?;
    // Expired sessions are swept as new ones open.
    sqlx::query!("delete from sessions where last_seen_at < now() - interval '7 days'")
        .execute(&mut *conn)
        .await?;
    Ok(token)
}

/// A login past its password, waiting for the second factor: opens no
/// page, and lasts five minutes.
pub async fn start_pending(
    conn: &mut PgConnection,
    user_id: UserId,
    client_ip: &str,
    user_agent: &str,
) -> sqlx::Result<String> {
    let token = start(conn, user_id, client_ip, user_agent).await?;
    sqlx::query("update sessions set second_factor_pending = true where token_hash = $1")
        .bind(hash_token(&token))
        .execute(conn)
        .await?;
    Ok(token)
}

/// The pending login of `token_hash`: its account and the wrong codes so far.
pub async fn pending(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> sqlx::Result<Option<(UserId, String, i32)>> {
    sqlx::query_as(
        "select u.id, u.username, s.second_factor_failures
         from sessions s join users u on u.id = s.user_id
         where s.token_hash = $1 and s.second_factor_pending and u.active
           and s.created_at > now() - interval '5 minutes'",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await
}

/// Counts a wrong code of a pending login; returns how many there were.
pub async fn count_second_factor_failure(
    conn: &mut PgConnection,
    token_hash: &[u8],
) -> sqlx::Result<i32> {
    sqlx::query_scalar(
        "update sessions set second_factor_failures = second_factor_failures + 1
         where token_hash = $1 returning second_factor_failures",
    )
    .bind(token_hash)
    .fetch_optional(conn)
    .await
    .map(|failures| failures.unwrap_or(i32::MAX))
}

/// Ends the user's oldest sessions beyond the limit of their role
/// (`session_limit.ROLE`, else `session_limit`; none while 0 or unset), the
/// one just opened always kept. Returns how many it ended.
pub async fn enforce_limit(conn: &mut PgConnection, user_id: UserId) -> sqlx::Result<u64> {
    let ended = sqlx::query(
        "with rule as (
             select coalesce(
                 (select nullif(value, '')::int from settings
                  where key = 'session_limit.' || (select role from users where id = $1)),
                 (select nullif(value, '')::int from settings where key = 'session_limit'), 0) as most
         )
         delete from sessions where user_id = $1 and (select most from rule) > 0
           and id not in (select id from sessions where user_id = $1
                          order by created_at desc, id desc
                          limit (select most from rule))",
    )
    .bind(user_id)
    .execute(conn)
    .await?;
    Ok(ended.rows_affected())
}

pub async fn end(conn: &mut PgConnection, token_hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query!("delete from sessions where token_hash = $1", token_hash)
        .execute(conn)
        .await?;
    Ok(())
}

/// Ends every session of a user (disabled, password reset or changed).
pub async fn end_all_for(conn: &mut PgConnection, user_id: crate::ids::UserId) -> sqlx::Result<()> {
    sqlx::query!(
        "delete from sessions where user_id = $1",
        user_id as crate::ids::UserId
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The session cookie (see `web::cookies`).
pub fn cookie(token: String, secure: bool) -> Cookie<'static> {
    cookies::build(COOKIE, token, secure).finish()
}

/// A cookie that removes the session cookie from the browser.
pub fn removal_cookie(secure: bool) -> Cookie<'static> {
    cookies::removal(COOKIE, secure)
}
