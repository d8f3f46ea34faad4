//! Login and logout at /admin/login and /admin/logout.

use actix_web::http::StatusCode;
use actix_web::http::header::{LOCATION, USER_AGENT};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use sqlx::PgPool;

use super::password;
use super::{Staff, session, throttle};
use crate::audit::{self, Actor};
use crate::captcha;
use crate::error::{AppError, FormError, Refused};
use crate::ids::UserId;
use crate::layout::AdminLayout;
use crate::settings;
use crate::state::AppState;
use crate::web::client::client_ip;
use crate::web::cookies;
use crate::web::csrf::{self, CsrfToken};
use crate::web::redirect::see_other;
use crate::web::{page, render};

const WRONG_CREDENTIALS: &str = "用户名或密码错误。";

#[derive(Template)]
#[template(path = "admin/auth/login.html")]
struct LoginPage {
    layout: AdminLayout,
    username: String,
    next: String,
    error: Option<FormError>,
    /// Asked for when the account has had many failed logins lately.
    captcha_id: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginQuery {
    #[serde(default)]
    next: String,
}

/// Only backend paths on this site are followed after login.
fn safe_next(next: &str) -> Option<String> {
    crate::web::redirect::local_path(next)
        .filter(|path| path == "/admin" || path.starts_with("/admin/"))
}

pub async fn login_form(
    pool: web::Data<PgPool>,
    csrf: CsrfToken,
    staff: Option<Staff>,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, AppError> {
    if staff.is_some() {
        return Ok(see_other("/admin"));
    }
    let mut conn = pool.acquire().await?;
    page(&LoginPage {
        layout: AdminLayout::anonymous(&mut conn, &csrf, "登录").await?,
        username: String::new(),
        next: safe_next(&query.next).unwrap_or_default(),
        error: None,
        captcha_id: None,
    })
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    captcha_id: String,
    #[serde(default)]
    captcha_answer: String,
}

#[derive(sqlx::FromRow)]
struct Account {
    id: UserId,
    username: String,
    password_hash: String,
    active: bool,
    must_change_password: bool,
    /// Past the account's end date (set by an admin).
    expired: bool,
    /// The account logs in with a second factor.
    two_factor: bool,
    /// The single admin's account, on a site that has turned to 三员分立.
    superseded: bool,
}

pub async fn login(
    req: HttpRequest,
    pool: web::Data<PgPool>,
    state: web::Data<AppState>,
    csrf: CsrfToken,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let form = form.into_inner();
    let username = form.username.trim().to_owned();
    let ip = client_ip(&req, &state.trusted_proxies);
    let attempt = throttle::Attempt::new("account", &username, &ip);
    let mut conn = pool.acquire().await?;

    let refuse = async |conn: &mut sqlx::PgConnection,
                        status: StatusCode,
                        message: String,
                        captcha: bool| {
        let page = LoginPage {
            layout: AdminLayout::anonymous(conn, &csrf, "登录").await?,
            username: username
                .chars()
                .take(throttle::MAX_USERNAME_CHARS)
                .collect(),
            next: safe_next(&form.next).unwrap_or_default(),
            error: Some(message.into()),
            captcha_id: captcha.then(|| captcha::issue(state.secret.as_bytes())),
        };
        render(status, &page)
    };

    // No account has a longer name: nothing to look up, hash or count.
    if username.chars().count() > throttle::MAX_USERNAME_CHARS {
        let message = WRONG_CREDENTIALS.to_owned();
        return refuse(&mut conn, StatusCode::UNAUTHORIZED, message, false).await;
    }
    match throttle::gate(&mut conn, &attempt).await? {
        throttle::Gate::Locked { until, first } => {
            // One audit row per lock, not one per refused attempt: the
            // sweeper adds how many were refused when the lock is gone.
            if first {
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                audit::record(
                    &mut tx,
                    &Actor::anonymous(&username, ip.clone()),
                    "login.locked",
                    &username,
                    "",
                )
                .await?;
                tx.commit().await?;
            }
            let minutes = ((until - chrono::Utc::now()).num_seconds() + 59) / 60;
            let message = format!("登录失败次数过多，请于 {} 分钟后再试。", minutes.max(1));
            return refuse(&mut conn, StatusCode::TOO_MANY_REQUESTS, message, false).await;
        }
        throttle::Gate::CaptchaRequired => {
            let checked =
                captcha::check_form(&mut conn, &state, &form.captcha_id, &form.captcha_answer)
                    .await
                    .refused()?;
            if let Err(refusal) = checked {
                let message = if form.captcha_id.is_empty() {
                    "此账号近期登录失败较多，请输入验证码后再登录。".to_owned()
                } else {
                    refusal.summary()
                };
                return refuse(&mut conn, StatusCode::UNAUTHORIZED, message, true).await;
            }
        }
        throttle::Gate::Open => {}
    }

    let account: Option<Account> = sqlx::query_as(
        "select id, username, password_hash, active, must_change_password,
                coalesce(expires_at <= now(), false) as expired,
                totp_enabled_at is not null as two_factor,
                role = 'admin' and exists (select 1 from settings
                    where key = 'separation_of_duties' and value = 'true') as superseded
         from users where lower(username) = lower($1)",
    )
    .bind(&username)
    .fetch_optional(&mut *conn)
    .await?;
    let stored = account
        .as_ref()
        .map_or_else(password::dummy_hash, |account| {
            account.password_hash.clone()
        });
    let typed = form.password;
    // The connection goes back to the pool while the password is checked.
    drop(conn);
    let matches = password::bounded(move || password::verify(&typed, &stored)).await?;
    let mut conn = pool.acquire().await?;

    let account = match account {
        Some(account) if matches && account.active => account,
        _ => {
            let mut tx = sqlx::Connection::begin(&mut *conn).await?;
            throttle::record_failure(&mut tx, &attempt).await?;
            audit::record(
                &mut tx,
                &Actor::anonymous(&username, ip.clone()),
                "login.failure",
                &username,
                "",
            )
            .await?;
            tx.commit().await?;
            let captcha =
                throttle::gate(&mut conn, &attempt).await? == throttle::Gate::CaptchaRequired;
            return refuse(
                &mut conn,
                StatusCode::UNAUTHORIZED,
                WRONG_CREDENTIALS.to_owned(),
                captcha,
            )
            .await;
        }
    };

    let barred = if account.expired {
        Some(("账号已过期", "账号已过期，请联系管理员。"))
    } else if account.superseded {
        Some((
            "已启用三员分立",
            "本站已启用三员分立，管理员账号不再使用，请以系统管理员、安全管理员或审计管理员账号登录。",
        ))
    } else {
        None
    };
    if let Some((reason, message)) = barred {
        // Said only to whoever knows the password.
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        audit::record(
            &mut tx,
            &Actor::anonymous(&username, ip.clone()),
            "login.failure",
            &account.username,
            reason,
        )
        .await?;
        tx.commit().await?;
        return refuse(&mut conn, StatusCode::FORBIDDEN, message.to_owned(), false).await;
    }

    let user_agent = req
        .headers()
        .get(USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let secure = cookies::secure(&req, settings::db::load(&mut conn).await?.cookie_secure);
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    // A new session id at every login; the browser's previous one ends.
    if let Some(previous) = cookies::read(&req, session::COOKIE) {
        session::end(&mut tx, &session::hash_token(&previous)).await?;
    }
    if account.two_factor {
        // The password is right; the session opens nothing until the code.
        let token = session::start_pending(&mut tx, account.id, &ip, user_agent).await?;
        tx.commit().await?;
        let next = safe_next(&form.next).unwrap_or_default();
        let to = if next.is_empty() {
            "/admin/login/2fa".to_owned()
        } else {
            format!(
                "/admin/login/2fa?{}",
                serde_urlencoded::to_string([("next", next.as_str())]).unwrap_or_default()
            )
        };
        return Ok(HttpResponse::SeeOther()
            .insert_header((LOCATION, to))
            .cookie(session::cookie(token, secure))
            .finish());
    }
    let token = session::start(&mut tx, account.id, &ip, user_agent).await?;
    finish_login(&mut tx, account.id, &account.username, &attempt, ip, "").await?;
    tx.commit().await?;

    let destination = if account.must_change_password {
        "/admin/account/password".to_owned()
    } else {
        safe_next(&form.next).unwrap_or_else(|| "/admin".to_owned())
    };
    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, destination))
        .cookie(session::cookie(token, secure))
        .cookie(csrf::cookie(csrf::new_seed(), secure))
        .finish())
}

/// What every login that opens a session does: clears the failures, keeps
/// the previous login for the notice, holds the role's session limit and
/// records the login (`how`: how it was proved, when it says more).
async fn finish_login(
    tx: &mut sqlx::PgConnection,
    id: UserId,
    username: &str,
    attempt: &throttle::Attempt,
    ip: String,
    how: &str,
) -> Result<(), AppError> {
    throttle::record_success(tx, attempt).await?;
    sqlx::query!(
        "update users set previous_login_at = last_login_at, previous_login_ip = last_login_ip,
                          last_login_at = now(), last_login_ip = $2
         where id = $1",
        id as UserId,
        &ip,
    )
    .execute(&mut *tx)
    .await?;
    let ended = session::enforce_limit(tx, id).await?;
    let actor = Actor {
        id: Some(id),
        name: username.to_owned(),
        client_ip: ip,
    };
    let mut detail = how.to_owned();
    if ended > 0 {
        if !detail.is_empty() {
            detail.push('；');
        }
        detail.push_str(&format!("超出会话数上限，结束了最早的 {ended} 个会话"));
    }
    audit::record(tx, &actor, "login.success", username, &detail).await?;
    Ok(())
}

#[derive(Template)]
#[template(path = "admin/auth/second_factor.html")]
struct SecondFactorPage {
    layout: AdminLayout,
    next: String,
    error: Option<FormError>,
}

#[derive(Deserialize)]
pub struct SecondFactorQuery {
    #[serde(default)]
    next: String,
}

/// GET /admin/login/2fa: the code of a login past its password.
pub async fn second_factor_form(
    req: HttpRequest,
    pool: web::Data<PgPool>,
    csrf: CsrfToken,
    query: web::Query<SecondFactorQuery>,
) -> Result<HttpResponse, AppError> {
    let mut conn = pool.acquire().await?;
    let pending = match cookies::read(&req, session::COOKIE) {
        Some(token) => session::pending(&mut conn, &session::hash_token(&token)).await?,
        None => None,
    };
    if pending.is_none() {
        return Ok(see_other("/admin/login"));
    }
    page(&SecondFactorPage {
        layout: AdminLayout::anonymous(&mut conn, &csrf, "两步验证").await?,
        next: safe_next(&query.next).unwrap_or_default(),
        error: None,
    })
}

#[derive(Deserialize)]
pub struct SecondFactorForm {
    #[serde(default)]
    code: String,
    #[serde(default)]
    next: String,
}

/// POST /admin/login/2fa: a code from the authenticator (or a recovery
/// code) opens the session; five wrong ones end the login.
pub async fn second_factor(
    req: HttpRequest,
    pool: web::Data<PgPool>,
    state: web::Data<AppState>,
    csrf: CsrfToken,
    form: web::Form<SecondFactorForm>,
) -> Result<HttpResponse, AppError> {
    let mut conn = pool.acquire().await?;
    let Some(token) = cookies::read(&req, session::COOKIE) else {
        return Ok(see_other("/admin/login"));
    };
    let token_hash = session::hash_token(&token);
    let Some((user, username, _)) = session::pending(&mut conn, &token_hash).await? else {
        return Ok(see_other("/admin/login"));
    };
    let ip = client_ip(&req, &state.trusted_proxies);
    let secure = cookies::secure(&req, settings::db::load(&mut conn).await?.cookie_secure);
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let proof = super::two_factor::prove(&mut tx, user, &form.code).await?;
    let Some(proof) = proof else {
        // Counted as a login failure too: whoever has the password cannot
        // start login after login to keep guessing codes.
        throttle::record_failure(&mut tx, &throttle::Attempt::new("account", &username, &ip))
            .await?;
        let failures = session::count_second_factor_failure(&mut tx, &token_hash).await?;
        audit::record(
            &mut tx,
            &Actor::anonymous(&username, ip.clone()),
            "login.failure",
            &username,
            "动态口令错误",
        )
        .await?;
        if failures >= super::two_factor::MAX_FAILURES {
            session::end(&mut tx, &token_hash).await?;
            tx.commit().await?;
            return Ok(see_other("/admin/login?second_factor=ended"));
        }
        tx.commit().await?;
        let page_data = SecondFactorPage {
            layout: AdminLayout::anonymous(&mut conn, &csrf, "两步验证").await?,
            next: safe_next(&form.next).unwrap_or_default(),
            error: Some(FormError::field(
                "code",
                "动态口令不正确或已使用过，请输入验证器上显示的新口令。",
            )),
        };
        return render(StatusCode::UNAUTHORIZED, &page_data);
    };
    // The pending session ends and a new one opens: a new id once proved.
    session::end(&mut tx, &token_hash).await?;
    let user_agent = req
        .headers()
        .get(USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let fresh = session::start(&mut tx, user, &ip, user_agent).await?;
    let attempt = throttle::Attempt::new("account", &username, &ip);
    let how = match proof {
        super::two_factor::Proof::Code => "两步验证：动态口令",
        super::two_factor::Proof::RecoveryCode => "两步验证：恢复码",
    };
    finish_login(&mut tx, user, &username, &attempt, ip, how).await?;
    tx.commit().await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((
            LOCATION,
            safe_next(&form.next).unwrap_or_else(|| "/admin".to_owned()),
        ))
        .cookie(session::cookie(fresh, secure))
        .cookie(csrf::cookie(csrf::new_seed(), secure))
        .finish())
}

pub async fn logout(
    req: HttpRequest,
    pool: web::Data<PgPool>,
    staff: Staff,
) -> Result<HttpResponse, AppError> {
    let mut tx = pool.begin().await?;
    let secure = cookies::secure(&req, settings::db::load(&mut tx).await?.cookie_secure);
    session::end(&mut tx, &staff.token_hash).await?;
    let actor = staff.actor();
    audit::record(&mut tx, &actor, "logout", &staff.username, "").await?;
    tx.commit().await?;
    Ok(HttpResponse::SeeOther()
        .insert_header((LOCATION, "/admin/login"))
        .cookie(session::removal_cookie(secure))
        .cookie(csrf::cookie(csrf::new_seed(), secure))
        .finish())
}
