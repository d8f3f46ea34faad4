//! Reader accounts (role reader): registration with a captcha, login and
//! logout on the public site, and the reader's own comments, which they can
//! delete. Readers are kept apart from staff: their own table, their own
//! sessions and cookie, so a reader can never reach the backend.

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::{Cookie, time};
use actix_web::dev::Payload;
use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use rand::RngCore;
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::auth::password;
use crate::auth::session::hash_token;
use crate::auth::throttle;
use crate::captcha;
use crate::comments;
use crate::error::{AppError, FormError, Refused, unique_as_field};
use crate::layout::PublicLayout;
use crate::site::TreeCache;
use crate::state::AppState;
use crate::users;
use crate::web::client::client_ip;
use crate::web::cookies;
use crate::web::csrf::{self, CsrfToken};
use crate::web::render;

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

fn removal_cookie(secure: bool) -> Cookie<'static> {
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

#[derive(Template)]
#[template(path = "public/reader_form.html")]
struct ReaderForm {
    layout: PublicLayout,
    registering: bool,
    username: String,
    next: String,
    refusal: Option<FormError>,
    csrf_token: String,
    captcha_id: String,
    /// The login form asks for the captcha too (many failures lately).
    captcha_needed: bool,
}

impl ReaderForm {
    /// The message beside `field`, if the refusal gave it one.
    fn says(&self, field: &str) -> Option<&str> {
        self.refusal.as_ref().and_then(|refusal| refusal.at(field))
    }
}

#[derive(Deserialize)]
pub struct NextQuery {
    #[serde(default)]
    next: String,
}

/// Only pages of this site are followed after login.
fn safe_next(next: &str) -> String {
    crate::web::redirect::local_path(next).unwrap_or_else(|| "/".to_owned())
}

/// What the register or login form shows.
struct Shown<'a> {
    registering: bool,
    username: String,
    next: &'a str,
    refusal: Option<FormError>,
}

async fn form_page(
    pool: &PgPool,
    trees: &TreeCache,
    state: &AppState,
    csrf: &CsrfToken,
    shown: Shown<'_>,
    status: StatusCode,
) -> Result<HttpResponse, AppError> {
    let Shown {
        registering,
        username,
        next,
        refusal,
    } = shown;
    let mut conn = pool.acquire().await?;
    let title = if registering {
        "读者注册"
    } else {
        "读者登录"
    };
    let layout = PublicLayout::load(&mut conn, trees).await?;
    let description = format!("{title} - {}", layout.settings.site_name);
    let page = ReaderForm {
        layout: layout.titled(title, description),
        registering,
        username,
        next: safe_next(next),
        captcha_needed: refusal
            .as_ref()
            .is_some_and(|refusal| refusal.at(captcha::FIELD).is_some()),
        refusal,
        csrf_token: csrf.0.clone(),
        captcha_id: captcha::issue(state.secret.as_bytes()),
    };
    let mut response = render(status, &page)?;
    response.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

async fn blank_form(
    pool: &PgPool,
    trees: &TreeCache,
    state: &AppState,
    csrf: &CsrfToken,
    next: &str,
    registering: bool,
) -> Result<HttpResponse, AppError> {
    let shown = Shown {
        registering,
        username: String::new(),
        next,
        refusal: None,
    };
    form_page(pool, trees, state, csrf, shown, StatusCode::OK).await
}

/// GET /register
pub async fn register_form(
    pool: web::Data<PgPool>,
    trees: web::Data<TreeCache>,
    state: web::Data<AppState>,
    csrf: CsrfToken,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    blank_form(&pool, &trees, &state, &csrf, &query.next, true).await
}

/// GET /login
pub async fn login_form(
    pool: web::Data<PgPool>,
    trees: web::Data<TreeCache>,
    state: web::Data<AppState>,
    csrf: CsrfToken,
    query: web::Query<NextQuery>,
) -> Result<HttpResponse, AppError> {
    blank_form(&pool, &trees, &state, &csrf, &query.next, false).await
}

#[derive(Deserialize)]
pub struct AccountForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_again: String,
    #[serde(default)]
    captcha_id: String,
    #[serde(default)]
    captcha_answer: String,
    #[serde(default)]
    next: String,
}

fn signed_in(next: &str, cookie: Cookie<'static>, secure: bool) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, safe_next(next)))
        .cookie(cookie)
        .cookie(csrf::cookie(csrf::new_seed(), secure))
        .finish()
}

/// Creates the account a registration form asks for, or says why not.
async fn create_account(
    conn: &mut PgConnection,
    state: &AppState,
    form: &AccountForm,
    ip: &str,
    https: bool,
) -> Result<Cookie<'static>, AppError> {
    captcha::check_form(conn, state, &form.captcha_id, &form.captcha_answer).await?;
    let username = users::parse_username(&form.username)
        .map_err(|message| FormError::field("username", message))?;
    if form.password != form.password_again {
        return Err(FormError::field("password_again", "两次输入的密码不一致。").into());
    }
    password::check_policy(&form.password, &username)
        .map_err(|message| FormError::field("password", message))?;
    let typed = form.password.clone();
    let hash = password::bounded(move || password::hash(&typed))
        .await?
        .map_err(AppError::Internal)?;
    let secure = https || crate::settings::db::load(conn).await?.cookie_secure;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let id: Uuid = sqlx::query_scalar!(
        "insert into readers (username, password_hash, client_hash) values ($1, $2, $3) returning id", &username, &hash, comments::client_hash(state.secret.as_bytes(), ip),)
    .fetch_one(&mut *tx)
    .await
    .map_err(|error| unique_as_field(error, "username", "该用户名已被注册，请换一个。"))?;
    let cookie = start_session(&mut tx, id, secure).await?;
    tx.commit().await?;
    Ok(cookie)
}

/// POST /register
pub async fn register(
    req: HttpRequest,
    pool: web::Data<PgPool>,
    trees: web::Data<TreeCache>,
    state: web::Data<AppState>,
    csrf: CsrfToken,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let ip = client_ip(&req, &state.trusted_proxies);
    let mut conn = pool.acquire().await?;
    let outcome = create_account(&mut conn, &state, &form, &ip, cookies::https(&req)).await;
    drop(conn);
    match outcome.refused()? {
        Ok(cookie) => {
            let secure = cookie.secure().unwrap_or(false);
            Ok(signed_in(&form.next, cookie, secure))
        }
        Err(refusal) => {
            let status = refusal.status;
            form_page(
                &pool,
                &trees,
                &state,
                &csrf,
                Shown {
                    registering: true,
                    username: form.username.trim().to_owned(),
                    next: &form.next,
                    refusal: Some(refusal),
                },
                status,
            )
            .await
        }
    }
}

/// POST /login
pub async fn login(
    req: HttpRequest,
    pool: web::Data<PgPool>,
    trees: web::Data<TreeCache>,
    state: web::Data<AppState>,
    csrf: CsrfToken,
    form: web::Form<AccountForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let ip = client_ip(&req, &state.trusted_proxies);
    let refused = async |refusal: FormError| {
        let shown = Shown {
            registering: false,
            username: form.username.trim().chars().take(32).collect(),
            next: &form.next,
            refusal: Some(refusal.with_status(StatusCode::UNAUTHORIZED)),
        };
        form_page(
            &pool,
            &trees,
            &state,
            &csrf,
            shown,
            StatusCode::UNAUTHORIZED,
        )
        .await
    };
    let outcome = async {
        let mut captcha_passed = false;
        if !form.captcha_id.is_empty() {
            let mut conn = pool.acquire().await?;
            captcha::check_form(&mut conn, &state, &form.captcha_id, &form.captcha_answer).await?;
            captcha_passed = true;
        }
        authenticate(
            &pool,
            &form.username,
            form.password.clone(),
            &ip,
            captcha_passed,
        )
        .await
    }
    .await;
    let id = match outcome.refused()? {
        Ok(id) => id,
        Err(refusal) => return refused(refusal).await,
    };
    let mut tx = pool.begin().await?;
    let secure = cookies::secure(
        &req,
        crate::settings::db::load(&mut tx).await?.cookie_secure,
    );
    if let Some(previous) = cookies::read(&req, COOKIE) {
        end_session(&mut tx, &hash_token(&previous)).await?;
    }
    let cookie = start_session(&mut tx, id, secure).await?;
    tx.commit().await?;
    Ok(signed_in(&form.next, cookie, secure))
}

async fn end_session(conn: &mut PgConnection, token_hash: &[u8]) -> sqlx::Result<()> {
    sqlx::query!(
        "delete from reader_sessions where token_hash = $1",
        token_hash
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// POST /logout
pub async fn logout(
    req: HttpRequest,
    pool: web::Data<PgPool>,
    reader: Option<Reader>,
) -> Result<HttpResponse, AppError> {
    let mut conn = pool.acquire().await?;
    if let Some(reader) = reader {
        end_session(&mut conn, &reader.token_hash).await?;
    }
    let secure = cookies::secure(
        &req,
        crate::settings::db::load(&mut conn).await?.cookie_secure,
    );
    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, "/"))
        .cookie(removal_cookie(secure))
        .cookie(csrf::cookie(csrf::new_seed(), secure))
        .finish())
}

/// A comment on the reader's own page.
#[derive(sqlx::FromRow)]
struct OwnComment {
    id: Uuid,
    body: String,
    status: comments::CommentStatus,
    created_at: chrono::DateTime<chrono::Utc>,
    number: i64,
    title: String,
}

#[derive(Template)]
#[template(path = "public/my_comments.html")]
struct MyComments {
    layout: PublicLayout,
    username: String,
    comments: Vec<(OwnComment, String)>,
    csrf_token: String,
}

/// GET /account: the reader's comments, newest first.
pub async fn account(
    pool: web::Data<PgPool>,
    trees: web::Data<TreeCache>,
    csrf: CsrfToken,
    reader: Reader,
) -> Result<HttpResponse, AppError> {
    let mut conn = pool.acquire().await?;
    let layout = PublicLayout::load(&mut conn, &trees).await?;
    let rows: Vec<OwnComment> = sqlx::query_as(
        "select c.id, c.body, c.status, c.created_at, a.number, a.title
         from comments c join articles a on a.id = c.article_id
         where c.reader_id = $1 and c.status <> 'deleted'
         order by c.created_at desc limit 100",
    )
    .bind(reader.id)
    .fetch_all(&mut *conn)
    .await?;
    let comments = rows
        .into_iter()
        .map(|row| {
            let time = layout.settings.format_time(row.created_at);
            (row, time)
        })
        .collect();
    let description = format!("我的评论 - {}", layout.settings.site_name);
    let mut response = render(
        StatusCode::OK,
        &MyComments {
            layout: layout.titled("我的评论", description),
            username: reader.username,
            comments,
            csrf_token: csrf.0,
        },
    )?;
    response.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}
