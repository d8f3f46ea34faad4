//! Reader accounts (role reader): their sessions and the password check
//! that opens one. Readers are kept apart from staff: their own table,
//! their own sessions and cookie, so a reader can never reach the backend.
//! The pages (register, log in and out, the reader's own comments) are in
//! `page`.

pub mod page;

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, time};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, web};
use rand::RngCore;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::auth::password;
use crate::auth::session::hash_token;
use crate::auth::throttle;
use crate::captcha;
use crate::error::{AppError, FormError};
use crate::web::cookies;

pub const COOKIE: &str = "nd_reader";
/// Reader sessions last 30 days from their last use.
const SESSION_DAYS: i64 = 30;

/// The signed-in reader of a request.
#[derive(Debug, Clone)]
pub struct Reader {
    pub id: Uuid,
    pub username: String,
    pub token_hash: Vec<u8>,
}

/// The reader a session token belongs to, touching the session.
pub async fn lookup(conn: &mut PgConnection, token: &str) -> sqlx::Result<Option<Reader>> {
    let token_hash = hash_token(token);
    let row: Option<(Uuid, String)> = sqlx::query_as(
        "update reader_sessions s set last_seen_at = now()
         from readers r
         where s.token_hash = $1 and r.id = s.reader_id and r.active
           and s.last_seen_at > now() - make_interval(days => $2)
         returning r.id, r.username",
    )
    .bind(&token_hash)
    .bind(SESSION_DAYS as i32)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|(id, username)| Reader {
        id,
        username,
        token_hash,
    }))
}

/// Whether a reader is in good standing, and so comments without a
/// captcha: moderators approved at least one of their comments and
/// rejected none of them (nor took one for spam) in the last 90 days.
pub async fn in_good_standing(conn: &mut PgConnection, reader_id: Uuid) -> sqlx::Result<bool> {
    sqlx::query_scalar(
        "select exists (select 1 from comments where reader_id = $1 and status = 'approved')
            and not exists (select 1 from comments where reader_id = $1
                              and status in ('rejected', 'spam')
                              and created_at > now() - interval '90 days')",
    )
    .bind(reader_id)
    .fetch_one(conn)
    .await
}

impl FromRequest for Reader {
    type Error = AppError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, AppError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pool = req.app_data::<web::Data<PgPool>>().cloned();
        let token = cookies::read(req, COOKIE);
        Box::pin(async move {
            let login = || AppError::ReaderLoginRequired;
            let (pool, token) = (pool.ok_or_else(login)?, token.ok_or_else(login)?);
            let mut conn = pool.acquire().await?;
            lookup(&mut conn, &token).await?.ok_or_else(login)
        })
    }
}

/// Opens a session for `reader_id`; returns the cookie.
pub async fn start_session(
    conn: &mut PgConnection,
    reader_id: Uuid,
    secure: bool,
) -> sqlx::Result<Cookie<'static>> {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = hex::encode(bytes);
    sqlx::query!(
        "insert into reader_sessions (token_hash, reader_id) values ($1, $2)",
        hash_token(&token),
        reader_id
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "delete from reader_sessions where last_seen_at < now() - make_interval(days => $1)",
        SESSION_DAYS as i32,
    )
    .execute(&mut *conn)
    .await?;
    Ok(cookies::build(COOKIE, token, secure)
        .max_age(time::Duration::days(SESSION_DAYS))
        .finish())
}

pub fn removal_cookie(secure: bool) -> Cookie<'static> {
    cookies::removal(COOKIE, secure)
}

/// What the login form says beside the captcha when the next try needs one.
const CAPTCHA_NEXT: &str = "请输入验证码后再登录。";

/// Checks a reader's username and password, throttled like staff logins
/// (per account and client, per client, and a captcha for an account with
/// many failures). `captcha_passed` says the form's captcha was already
/// checked (the comment form has one). No connection is held while the
/// password is checked. A refusal (401) says its reason beside the password,
/// and beside the captcha when the next try must answer one.
pub async fn authenticate(
    pool: &PgPool,
    username: &str,
    typed: String,
    ip: &str,
    captcha_passed: bool,
) -> Result<Uuid, AppError> {
    let refuse = |field: &'static str, message: &str| {
        Err(FormError::field(field, message)
            .with_status(StatusCode::UNAUTHORIZED)
            .into())
    };
    if username.trim().chars().count() > throttle::MAX_USERNAME_CHARS {
        return refuse("password", "用户名或密码错误。");
    }
    let attempt = throttle::Attempt::new("reader", username, ip);
    let mut conn = pool.acquire().await?;
    match throttle::gate(&mut conn, &attempt).await? {
        throttle::Gate::Locked { until, .. } => {
            let minutes = ((until - chrono::Utc::now()).num_seconds() + 59) / 60;
            let message = format!("登录失败次数过多，请于 {} 分钟后再试。", minutes.max(1));
            // A lock is about the account and the client, not the password.
            return refuse("", &message);
        }
        throttle::Gate::CaptchaRequired if !captcha_passed => {
            return refuse(
                captcha::FIELD,
                "此账号近期登录失败较多，请输入验证码后再登录。",
            );
        }
        _ => {}
    }
    let account: Option<(Uuid, String, bool)> = sqlx::query_as(
        "select id, password_hash, active from readers where lower(username) = lower($1)",
    )
    .bind(username.trim())
    .fetch_optional(&mut *conn)
    .await?;
    drop(conn);
    let stored = account
        .as_ref()
        .map_or_else(crate::auth::password::dummy_hash, |(_, hash, _)| {
            hash.clone()
        });
    let matches = password::bounded(move || password::verify(&typed, &stored)).await?;
    let mut tx = pool.begin().await?;
    let outcome = match account {
        Some((id, _, true)) if matches => {
            throttle::record_success(&mut tx, &attempt).await?;
            Ok(id)
        }
        _ => {
            throttle::record_failure(&mut tx, &attempt).await?;
            let mut refusal = FormError::field("password", "用户名或密码错误。")
                .with_status(StatusCode::UNAUTHORIZED);
            if throttle::gate(&mut tx, &attempt).await? == throttle::Gate::CaptchaRequired {
                refusal = refusal.and(captcha::FIELD, CAPTCHA_NEXT);
            }
            Err(AppError::from(refusal))
        }
    };
    tx.commit().await?;
    outcome
}

pub async fn end_session(conn: &mut PgConnection, token_hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query!(
        "delete from reader_sessions where token_hash = $1",
        token_hash
    )
    .execute(conn)
    .await?;
    Ok(())
}
