//! Self-service for every staff member: edit one's display name, change
//! one's password (the current one required).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};

use super::{db, parse_display_name};
use crate::audit;
use crate::auth::password;
use crate::auth::{Permission, Staff};
use crate::backend::Backend;
use crate::error::{AppError, FormError};
use crate::ids::UserId;
use crate::layout::AdminLayout;
use crate::web::csrf::CsrfToken;
use crate::web::redirect::see_other;
use crate::web::{page, render};

#[derive(Template)]
#[template(path = "admin/account/profile.html")]
struct ProfilePage {
    layout: AdminLayout,
    username: String,
    display_name: String,
    notice: Option<String>,
    error: Option<FormError>,
}

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

async fn profile_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    status: StatusCode,
    display_name: String,
    notice: Option<String>,
    error: Option<FormError>,
) -> Result<HttpResponse, AppError> {
    let page = ProfilePage {
        layout: AdminLayout::load(conn, staff, csrf, "个人设置", "/admin/account").await?,
        username: staff.username.clone(),
        display_name,
        notice,
        error,
    };
    render(status, &page)
}

pub async fn profile(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    query: web::Query<Done>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::UseBackend)?;
    let notice = match query.done.as_deref() {
        Some("profile") => Some("个人资料已保存。".to_string()),
        Some("password") => Some("密码已修改。".to_string()),
        _ => None,
    };
    let name = staff.display_name.clone();
    profile_page(&mut conn, &staff, &csrf, StatusCode::OK, name, notice, None).await
}

#[derive(Deserialize)]
pub struct ProfileForm {
    #[serde(default)]
    display_name: String,
}

pub async fn update_profile(
    pool: web::Data<PgPool>,
    staff: Staff,
    csrf: CsrfToken,
    form: web::Form<ProfileForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::UseBackend)?;
    let display_name = match parse_display_name(&form.display_name) {
        Ok(name) => name,
        Err(message) => {
            let mut conn = pool.acquire().await?;
            let typed = form.into_inner().display_name;
            return profile_page(
                &mut conn,
                &staff,
                &csrf,
                StatusCode::UNPROCESSABLE_ENTITY,
                typed,
                None,
                Some(FormError::field("display_name", message)),
            )
            .await;
        }
    };
    let mut tx = pool.begin().await?;
    sqlx::query!(
        "update users set display_name = $2, version = version + 1 where id = $1",
        staff.id as UserId,
        &display_name
    )
    .execute(&mut *tx)
    .await?;
    let actor = staff.actor();
    let detail = format!("姓名：{} → {}", staff.display_name, display_name);
    audit::record(&mut tx, &actor, "profile.update", &staff.username, &detail).await?;
    tx.commit().await?;
    Ok(see_other("/admin/account?done=profile"))
}

#[derive(Template)]
#[template(path = "admin/account/password.html")]
struct PasswordPage {
    layout: AdminLayout,
    forced: bool,
    /// What a new password must be, as the site's policy says.
    rule: String,
    error: Option<FormError>,
}

async fn password_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    status: StatusCode,
    error: Option<FormError>,
) -> Result<HttpResponse, AppError> {
    let layout = AdminLayout::load(conn, staff, csrf, "修改密码", "/admin/account").await?;
    let settings = &layout.settings;
    let policy = password::Policy::of(settings);
    let mut rule = format!("至少 {} 个字符", policy.min_length);
    if policy.classes > 0 {
        rule.push_str(&format!(
            "，包含小写字母、大写字母、数字、其他符号中的至少 {} 种",
            policy.classes
        ));
    }
    rule.push_str("；不能包含用户名，不能使用常见密码");
    if settings.password_history > 0 {
        rule.push_str(&format!(
            "，不能与最近 {} 次使用过的密码相同",
            settings.password_history
        ));
    }
    rule.push('。');
    let page = PasswordPage {
        layout,
        forced: staff.must_change_password,
        rule,
        error,
    };
    render(status, &page)
}

pub async fn password_form(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::UseBackend)?;
    password_page(&mut conn, &staff, &csrf, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
}

/// Changes the password; the other sessions of the user end, this one stays.
pub async fn change_password(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::UseBackend)?;
    let form = form.into_inner();
    let stored: String = sqlx::query_scalar!(
        "select password_hash from users where id = $1",
        staff.id as UserId
    )
    .fetch_one(&mut *conn)
    .await?;
    let current = form.current_password.clone();
    let matches = web::block(move || password::verify(&current, &stored)).await?;
    let problem = if !matches {
        Some(("current_password", "当前密码不正确。"))
    } else if form.new_password != form.confirm_password {
        Some(("confirm_password", "两次输入的新密码不一致。"))
    } else if form.new_password == form.current_password {
        Some(("new_password", "新密码不能与当前密码相同。"))
    } else {
        None
    };
    let settings = crate::settings::db::load(&mut conn).await?;
    let problem: Option<(&'static str, String)> = match problem {
        Some((field, message)) => Some((field, message.to_owned())),
        None => password::check_staff_policy(
            &form.new_password,
            &staff.username,
            &password::Policy::of(&settings),
        )
        .err()
        .map(|message| ("new_password", message)),
    };
    // Not one of the last few passwords (the current one included).
    let problem = match problem {
        Some(problem) => Some(problem),
        None => {
            let recent =
                db::recent_passwords(&mut conn, staff.id, settings.password_history).await?;
            let typed = form.new_password.clone();
            let reused =
                password::bounded(move || recent.iter().any(|hash| password::verify(&typed, hash)))
                    .await?;
            reused.then(|| {
                (
                    "new_password",
                    format!(
                        "新密码不能与最近 {} 次使用过的密码相同。",
                        settings.password_history
                    ),
                )
            })
        }
    };
    if let Some((field, message)) = problem {
        let refusal = FormError::field(field, message);
        return password_page(&mut conn, &staff, &csrf, refusal.status, Some(refusal)).await;
    }
    let typed = form.new_password;
    let hash = web::block(move || password::hash(&typed)).await??;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    db::set_password(&mut tx, staff.id, &hash, false).await?;
    sqlx::query!(
        "delete from sessions where user_id = $1 and token_hash <> $2",
        staff.id as UserId,
        &staff.token_hash
    )
    .execute(&mut *tx)
    .await?;
    let actor = staff.actor();
    audit::record(&mut tx, &actor, "password.change", &staff.username, "").await?;
    tx.commit().await?;
    Ok(see_other("/admin/account?done=password"))
}

/// A session as read: id, started, last seen, address, browser, token hash.
#[derive(sqlx::FromRow)]
struct SessionRow(
    i64,
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::Utc>,
    String,
    String,
    Vec<u8>,
);

/// One of the staff member's own sessions, as the sessions page lists it.
pub struct SessionLine {
    pub id: i64,
    pub started: String,
    pub seen: String,
    pub client_ip: String,
    pub user_agent: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "admin/account/sessions.html")]
struct SessionsPage {
    layout: AdminLayout,
    sessions: Vec<SessionLine>,
    notice: Option<String>,
}

/// GET /admin/account/sessions: where the staff member is signed in now.
pub async fn sessions(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    query: web::Query<Done>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::UseBackend)?;
    let layout = AdminLayout::load(&mut conn, &staff, &csrf, "登录会话", "/admin/account").await?;
    let rows: Vec<SessionRow> = sqlx::query_as(
        "select id, created_at, last_seen_at, client_ip, user_agent, token_hash
             from sessions where user_id = $1 order by last_seen_at desc, id desc",
    )
    .bind(staff.id)
    .fetch_all(&mut *conn)
    .await?;
    let sessions = rows
        .into_iter()
        .map(
            |SessionRow(id, started, seen, client_ip, user_agent, token_hash)| SessionLine {
                id,
                started: layout.settings.format_minute(started),
                seen: layout.settings.format_minute(seen),
                client_ip,
                user_agent,
                current: token_hash == staff.token_hash,
            },
        )
        .collect();
    let notice = match query.done.as_deref() {
        Some("one") => Some("该会话已结束。".to_string()),
        Some("others") => Some("其他会话均已结束。".to_string()),
        _ => None,
    };
    page(&SessionsPage {
        layout,
        sessions,
        notice,
    })
}

/// POST /admin/account/sessions/{id}/end: ends one of one's own sessions
/// (another's number is not found).
pub async fn end_session(
    Backend {
        staff, mut conn, ..
    }: Backend,
    id: web::Path<i64>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::UseBackend)?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let ended: Option<(String, bool)> = sqlx::query_as(
        "delete from sessions where id = $1 and user_id = $2
         returning client_ip, token_hash = $3",
    )
    .bind(id.into_inner())
    .bind(staff.id)
    .bind(&staff.token_hash)
    .fetch_optional(&mut *tx)
    .await?;
    let (client_ip, current) = ended.ok_or(AppError::NotFound)?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "session.end",
        &staff.username,
        &format!("结束了来自 {client_ip} 的会话"),
    )
    .await?;
    tx.commit().await?;
    if current {
        return Ok(see_other("/admin/login"));
    }
    Ok(see_other("/admin/account/sessions?done=one"))
}

/// POST /admin/account/sessions/end-others: every session but this one.
pub async fn end_other_sessions(
    Backend {
        staff, mut conn, ..
    }: Backend,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::UseBackend)?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let ended = sqlx::query("delete from sessions where user_id = $1 and token_hash <> $2")
        .bind(staff.id)
        .bind(&staff.token_hash)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    audit::record(
        &mut tx,
        &staff.actor(),
        "session.end",
        &staff.username,
        &format!("结束了其他 {ended} 个会话"),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other("/admin/account/sessions?done=others"))
}

#[derive(Template)]
#[template(path = "admin/account/two_factor.html")]
struct TwoFactorPage {
    layout: AdminLayout,
    /// When it was turned on; none while off.
    enabled: Option<String>,
    /// While off: the secret to enrol, typed or scanned.
    secret: String,
    qr: Option<String>,
    /// Recovery codes made just now, shown this once.
    codes: Vec<String>,
    /// Recovery codes not used yet.
    unused: i64,
    /// The staff member's role must log in with two factors.
    required: bool,
    notice: Option<String>,
    error: Option<FormError>,
}

async fn two_factor_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    status: StatusCode,
    codes: Vec<String>,
    notice: Option<String>,
    error: Option<FormError>,
) -> Result<HttpResponse, AppError> {
    use crate::auth::two_factor;
    let layout = AdminLayout::load(conn, staff, csrf, "两步验证", "/admin/account").await?;
    let (enabled_at, unused): (Option<chrono::DateTime<chrono::Utc>>, i64) = sqlx::query_as(
        "select totp_enabled_at,
                (select count(*) from recovery_codes where user_id = $1 and used_at is null)
         from users where id = $1",
    )
    .bind(staff.id)
    .fetch_one(&mut *conn)
    .await?;
    let (secret, qr) = match enabled_at {
        Some(_) => (String::new(), None),
        None => {
            // The secret being enrolled stays with this session until proved.
            let stored: Option<Vec<u8>> =
                sqlx::query_scalar("select totp_enrolment from sessions where token_hash = $1")
                    .bind(&staff.token_hash)
                    .fetch_one(&mut *conn)
                    .await?;
            let secret = match stored {
                Some(secret) => secret,
                None => {
                    let secret = two_factor::new_secret();
                    sqlx::query("update sessions set totp_enrolment = $2 where token_hash = $1")
                        .bind(&staff.token_hash)
                        .bind(&secret)
                        .execute(&mut *conn)
                        .await?;
                    secret
                }
            };
            two_factor::enrolment(&secret, &staff.username, &layout.settings.site_name)
        }
    };
    render(
        status,
        &TwoFactorPage {
            enabled: enabled_at.map(|at| layout.settings.format_minute(at)),
            secret,
            qr,
            codes,
            unused,
            required: layout
                .settings
                .two_factor_roles
                .split(',')
                .any(|role| role == staff.role.as_str()),
            notice,
            error,
            layout,
        },
    )
}

/// The two-factor page again, with `message` beside the code field.
async fn refuse_code(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    message: &str,
) -> Result<HttpResponse, AppError> {
    let refusal = FormError::field("code", message.to_owned());
    two_factor_page(
        conn,
        staff,
        csrf,
        refusal.status,
        Vec::new(),
        None,
        Some(refusal),
    )
    .await
}

/// GET /admin/account/2fa: turn two-factor login on, or manage it.
pub async fn two_factor(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    query: web::Query<Done>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::UseBackend)?;
    let notice = (query.done.as_deref() == Some("off")).then(|| "两步验证已关闭。".to_string());
    two_factor_page(
        &mut conn,
        &staff,
        &csrf,
        StatusCode::OK,
        Vec::new(),
        notice,
        None,
    )
    .await
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// POST /admin/account/2fa/enable: a code from the secret being enrolled
/// turns it on and makes the recovery codes, shown once.
pub async fn enable_two_factor(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    use crate::auth::two_factor;
    staff.require(Permission::UseBackend)?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let enrolling: Option<Vec<u8>> = sqlx::query_scalar(
        "select s.totp_enrolment from sessions s join users u on u.id = s.user_id
         where s.token_hash = $1 and u.totp_enabled_at is null for update of s",
    )
    .bind(&staff.token_hash)
    .fetch_optional(&mut *tx)
    .await?
    .flatten();
    let step = enrolling
        .as_ref()
        .and_then(|secret| two_factor::matching_step(secret, &form.code, 0, two_factor::now()));
    let (Some(secret), Some(step)) = (enrolling, step) else {
        drop(tx);
        let message = "动态口令不正确，请核对手机时间后输入验证器上的新口令。";
        return refuse_code(&mut conn, &staff, &csrf, message).await;
    };
    sqlx::query(
        "update users set totp_secret = $2, totp_enabled_at = now(), totp_last_step = $3
         where id = $1",
    )
    .bind(staff.id)
    .bind(&secret)
    .bind(step)
    .execute(&mut *tx)
    .await?;
    sqlx::query("update sessions set totp_enrolment = null where user_id = $1")
        .bind(staff.id)
        .execute(&mut *tx)
        .await?;
    let codes = two_factor::new_recovery_codes(&mut tx, staff.id).await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "two_factor.enable",
        &staff.username,
        "",
    )
    .await?;
    tx.commit().await?;
    let notice = Some(
        "两步验证已开启。请把下面的恢复码抄写或打印后妥善保管，它们只显示这一次。".to_string(),
    );
    two_factor_page(
        &mut conn,
        &staff,
        &csrf,
        StatusCode::OK,
        codes,
        notice,
        None,
    )
    .await
}

/// POST /admin/account/2fa/{disable|recovery}: with a current code, turns
/// two-factor login off, or makes new recovery codes (the old ones stop).
pub async fn manage_two_factor(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    action: web::Path<String>,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, AppError> {
    use crate::auth::two_factor;
    staff.require(Permission::UseBackend)?;
    let action = action.into_inner();
    if action != "disable" && action != "recovery" {
        return Err(AppError::NotFound);
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    if two_factor::prove(&mut tx, staff.id, &form.code)
        .await?
        .is_none()
    {
        drop(tx);
        return refuse_code(&mut conn, &staff, &csrf, "动态口令不正确或已使用过。").await;
    }
    if action == "disable" {
        sqlx::query(
            "update users set totp_secret = null, totp_enabled_at = null, totp_last_step = 0
             where id = $1",
        )
        .bind(staff.id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("delete from recovery_codes where user_id = $1")
            .bind(staff.id)
            .execute(&mut *tx)
            .await?;
        audit::record(
            &mut tx,
            &staff.actor(),
            "two_factor.disable",
            &staff.username,
            "",
        )
        .await?;
        tx.commit().await?;
        return Ok(see_other("/admin/account/2fa?done=off"));
    }
    let codes = two_factor::new_recovery_codes(&mut tx, staff.id).await?;
    audit::record(
        &mut tx,
        &staff.actor(),
        "two_factor.recovery",
        &staff.username,
        "",
    )
    .await?;
    tx.commit().await?;
    let notice = Some("已生成新的恢复码，原有恢复码全部作废。新的恢复码只显示这一次。".to_string());
    two_factor_page(
        &mut conn,
        &staff,
        &csrf,
        StatusCode::OK,
        codes,
        notice,
        None,
    )
    .await
}
