//! The reader's pages on the public site: registration with a captcha,
//! login and logout, and the reader's own comments, which they can delete.

use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::auth::password;
use crate::auth::session::hash_token;
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

use super::{COOKIE, Reader, authenticate, end_session, removal_cookie, start_session};

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
    /// Registration: the user agreement and privacy notice accepted.
    #[serde(default)]
    agree: Option<String>,
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
    if form.agree.is_none() {
        return Err(FormError::field(
            "agree",
            "请阅读并勾选同意《用户协议》和《隐私政策》后注册。",
        )
        .into());
    }
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
        "insert into readers (username, password_hash, client_hash, agreed_at) values ($1, $2, $3, now()) returning id", &username, &hash, comments::client_hash(state.secret.as_bytes(), ip),)
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
            let time = layout.settings.format_minute(row.created_at);
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
