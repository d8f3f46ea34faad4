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
use crate::web::render;

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
    error: Option<FormError>,
}

async fn password_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    status: StatusCode,
    error: Option<FormError>,
) -> Result<HttpResponse, AppError> {
    let page = PasswordPage {
        layout: AdminLayout::load(conn, staff, csrf, "修改密码", "/admin/account").await?,
        forced: staff.must_change_password,
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
        password::check_policy(&form.new_password, &staff.username)
            .err()
            .map(|message| ("new_password", message))
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
