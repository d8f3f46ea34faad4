//! Admin pages for staff accounts: list with filters and search, create,
//! edit, disable and enable, reset password.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use sqlx::PgConnection;

use super::db::{self, NewUser, UserFilter, UserRow};
use super::{parse_display_name, parse_email, parse_username};
use crate::audit;
use crate::auth::password;
use crate::auth::{Permission, Staff, duties, session, throttle};
use crate::backend::Backend;
use crate::error::{AppError, Checks, FormError, Refused, unique_as_field};
use crate::ids::{UnitId, UserId};
use crate::layout::AdminLayout;
use crate::roles::Role;
use crate::units::{self, UnitNode};
use crate::web::csrf::CsrfToken;
use crate::web::redirect::see_other;
use crate::web::{page, render};

const PAGE_SIZE: i64 = 50;
const LAST_ADMIN: &str = "不能停用或降级最后一位启用的管理员。";

/// A user as the list shows it.
pub struct UserLine {
    pub row: UserRow,
    pub role_label: &'static str,
    pub created: String,
    pub last_login: String,
    /// The page may edit, disable and reset the account (not one of the
    /// three's under 三员分立).
    pub manageable: bool,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    role: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    active: String,
    #[serde(default)]
    q: String,
    after: Option<String>,
    done: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/users/list.html")]
struct ListPage {
    layout: AdminLayout,
    query: ListQuery,
    roles: [Role; 7],
    units: Vec<UnitNode>,
    users: Vec<UserLine>,
    next_page: Option<String>,
    notice: Option<String>,
    error: Option<FormError>,
}

fn notice_text(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "updated" => "用户信息已保存。",
        "disabled" => "用户已停用，其登录会话已全部结束。",
        "enabled" => "用户已启用。",
        _ => return None,
    };
    Some(text.into())
}

pub async fn list(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageUsers)?;
    let query = query.into_inner();
    let layout = AdminLayout::load(&mut conn, &staff, &csrf, "用户管理", "/admin/users").await?;
    let text = |value: &str| (!value.trim().is_empty()).then(|| value.trim().to_owned());
    let filter = UserFilter {
        role: Role::parse(&query.role).map(|role| role.as_str().to_owned()),
        unit_id: query.unit.parse().ok(),
        active: match query.active.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        },
        search: text(&query.q),
        after: query
            .after
            .as_deref()
            .and_then(text)
            .map(|after| after.to_lowercase()),
    };
    let rows = db::list(&mut conn, &filter, PAGE_SIZE + 1).await?;
    let next_page = (rows.len() as i64 > PAGE_SIZE).then(|| {
        let last = rows[PAGE_SIZE as usize - 1].username.to_lowercase();
        let params = serde_urlencoded::to_string([
            ("role", query.role.as_str()),
            ("unit", query.unit.as_str()),
            ("active", query.active.as_str()),
            ("q", query.q.as_str()),
            ("after", last.as_str()),
        ])
        .unwrap_or_default();
        format!("/admin/users?{params}")
    });
    let users = rows
        .into_iter()
        .take(PAGE_SIZE as usize)
        .map(|row| UserLine {
            role_label: row.role.label(),
            manageable: duties::may_manage(layout.settings.separation_of_duties, row.role),
            created: layout.settings.format_date(row.created_at),
            last_login: row
                .last_login_at
                .map_or_else(|| "从未登录".into(), |at| layout.settings.format_minute(at)),
            row,
        })
        .collect();
    let notice = notice_text(query.done.as_deref());
    page(&ListPage {
        units: units::db::tree(&mut conn, false).await?,
        layout,
        query,
        roles: Role::ALL,
        users,
        next_page,
        notice,
        error: None,
    })
}

#[derive(Deserialize, Default, Clone)]
pub struct UserForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    unit_id: String,
    #[serde(default)]
    email: String,
    /// 账号有效期至: the account's last day (YYYY-MM-DD), or empty.
    #[serde(default)]
    expires_on: String,
    #[serde(default)]
    version: String,
}

#[derive(Template)]
#[template(path = "admin/users/form.html")]
struct FormPage {
    layout: AdminLayout,
    /// The account being edited; none when creating.
    user: Option<UserRow>,
    form: UserForm,
    /// The roles the page may give.
    roles: Vec<Role>,
    units: Vec<UnitNode>,
    error: Option<FormError>,
}

async fn form_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    user: Option<UserRow>,
    form: UserForm,
    status: StatusCode,
    error: Option<FormError>,
) -> Result<HttpResponse, AppError> {
    let title = if user.is_some() {
        "编辑用户"
    } else {
        "新建用户"
    };
    let units = units::db::tree(conn, false)
        .await?
        .into_iter()
        .filter(|unit| unit.active)
        .collect();
    let layout = AdminLayout::load(conn, staff, csrf, title, "/admin/users").await?;
    let page = FormPage {
        roles: duties::assignable(layout.settings.separation_of_duties),
        layout,
        user,
        form,
        units,
        error,
    };
    render(status, &page)
}

/// The fields shared by create and edit, checked.
struct Fields {
    display_name: String,
    role: Role,
    unit_id: UnitId,
    email: String,
    expires_on: Option<chrono::NaiveDate>,
}

/// The last day of an account that ends at `at` (the start of the next day).
fn expiry_day(at: chrono::DateTime<chrono::Utc>, zone: chrono_tz::Tz) -> chrono::NaiveDate {
    let local = (at - chrono::Duration::seconds(1)).with_timezone(&zone);
    local.date_naive()
}

/// The fields, and the username when the account is new (`creating`).
/// The refusal of a web change to one of the three's accounts under
/// 三员分立.
const SEPARATED_ADMINS: &str = "本站已启用三员分立：系统管理员、安全管理员和审计管理员的账号只能在服务器上用 newsdesk 命令设立和管理。";

/// Refuses (403) a change to `user` that the accounts pages may not make.
fn guard(separated: bool, user: &UserRow) -> Result<(), AppError> {
    if duties::may_manage(separated, user.role) {
        Ok(())
    } else {
        Err(AppError::Form(
            FormError::whole(SEPARATED_ADMINS).with_status(StatusCode::FORBIDDEN),
        ))
    }
}

async fn separated(conn: &mut PgConnection) -> sqlx::Result<bool> {
    Ok(crate::settings::db::load(conn).await?.separation_of_duties)
}

/// `assignable`: the roles the page may give.
fn parse_fields(
    form: &UserForm,
    creating: bool,
    assignable: &[Role],
) -> Result<(String, Fields), FormError> {
    let mut checks = Checks::default();
    let username = match creating {
        true => checks.check("username", parse_username(&form.username)),
        false => String::new(),
    };
    let display_name = checks.check("display_name", parse_display_name(&form.display_name));
    let role = checks.check(
        "role",
        match Role::parse(&form.role) {
            Some(role) if assignable.contains(&role) => Ok(Some(role)),
            Some(_) => Err(SEPARATED_ADMINS),
            None => Err("请选择角色。"),
        },
    );
    let unit_id = checks.check(
        "unit_id",
        form.unit_id
            .parse()
            .map(Some)
            .map_err(|_| "请选择所属单位。"),
    );
    let email = checks.check("email", parse_email(&form.email));
    let expires_on = checks.check(
        "expires_on",
        match form.expires_on.trim() {
            "" => Ok(None),
            typed => chrono::NaiveDate::parse_from_str(typed, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| "日期格式应为 2026-12-31。"),
        },
    );
    checks.finish()?;
    let (Some(role), Some(unit_id)) = (role, unit_id) else {
        return Err(FormError::whole("请选择角色和所属单位。"));
    };
    Ok((
        username,
        Fields {
            display_name,
            role,
            unit_id,
            email,
            expires_on,
        },
    ))
}

pub async fn new_form(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageUsers)?;
    let form = UserForm {
        role: Role::Correspondent.as_str().into(),
        ..UserForm::default()
    };
    form_page(&mut conn, &staff, &csrf, None, form, StatusCode::OK, None).await
}

#[derive(Template)]
#[template(path = "admin/users/password_issued.html")]
struct PasswordIssued {
    layout: AdminLayout,
    username: String,
    display_name: String,
    password: String,
    created: bool,
}

/// The one-time password page: shown once, never cached.
async fn show_password(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    user: (String, String),
    password: String,
    created: bool,
) -> Result<HttpResponse, AppError> {
    let title = if created {
        "用户已创建"
    } else {
        "密码已重置"
    };
    let page = PasswordIssued {
        layout: AdminLayout::load(conn, staff, csrf, title, "/admin/users").await?,
        username: user.0,
        display_name: user.1,
        password,
        created,
    };
    let mut response = render(StatusCode::OK, &page)?;
    response.headers_mut().insert(
        actix_web::http::header::CACHE_CONTROL,
        actix_web::http::header::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

async fn one_time_password() -> Result<(String, String), AppError> {
    let password = password::generate(14);
    let typed = password.clone();
    let hash = web::block(move || password::hash(&typed)).await??;
    Ok((password, hash))
}

pub async fn create(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    form: web::Form<UserForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageUsers)?;
    let form = form.into_inner();
    let assignable = duties::assignable(separated(&mut conn).await?);
    let parsed = parse_fields(&form, true, &assignable);
    let (
        username,
        Fields {
            display_name,
            role,
            unit_id,
            email,
            expires_on,
        },
    ) = match parsed {
        Ok(parsed) => parsed,
        Err(refusal) => {
            return form_page(
                &mut conn,
                &staff,
                &csrf,
                None,
                form,
                refusal.status,
                Some(refusal),
            )
            .await;
        }
    };
    if !units::db::is_active(&mut conn, unit_id).await? {
        let refusal = FormError::field("unit_id", "所属单位不存在或已停用。");
        return form_page(
            &mut conn,
            &staff,
            &csrf,
            None,
            form,
            refusal.status,
            Some(refusal),
        )
        .await;
    }
    let (password, hash) = one_time_password().await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let new_user = NewUser {
        username: &username,
        display_name: &display_name,
        role: role.as_str(),
        unit_id,
        password_hash: &hash,
        must_change_password: true,
        email: &email,
    };
    let inserted = db::insert(&mut tx, &new_user)
        .await
        .map_err(|error| {
            unique_as_field(
                error,
                "username",
                "该用户名已被使用（用户名不区分大小写）。",
            )
        })
        .refused()?;
    if let Err(refusal) = inserted {
        drop(tx);
        return form_page(
            &mut conn,
            &staff,
            &csrf,
            None,
            form,
            refusal.status,
            Some(refusal),
        )
        .await;
    }
    if let Ok(id) = inserted {
        let zone = crate::settings::db::load(&mut tx).await?.time_zone;
        db::set_expiry(&mut tx, id, expires_on, zone).await?;
    }
    let actor = staff.actor();
    let until = expires_on.map_or(String::new(), |day| format!("；有效期至 {day}"));
    audit::record(
        &mut tx,
        &actor,
        "user.create",
        &username,
        &format!("角色：{}{until}", role.label()),
    )
    .await?;
    tx.commit().await?;
    show_password(
        &mut conn,
        &staff,
        &csrf,
        (username, display_name),
        password,
        true,
    )
    .await
}

pub async fn edit(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    id: web::Path<UserId>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageUsers)?;
    let user = db::by_id(&mut conn, *id).await?.ok_or(AppError::NotFound)?;
    let settings = crate::settings::db::load(&mut conn).await?;
    guard(settings.separation_of_duties, &user)?;
    let zone = settings.time_zone;
    let form = UserForm {
        username: user.username.clone(),
        display_name: user.display_name.clone(),
        role: user.role.as_str().to_owned(),
        unit_id: user.unit_id.to_string(),
        email: user.email.clone(),
        expires_on: user
            .expires_at
            .map(|at| expiry_day(at, zone).to_string())
            .unwrap_or_default(),
        version: user.version.to_string(),
    };
    form_page(
        &mut conn,
        &staff,
        &csrf,
        Some(user),
        form,
        StatusCode::OK,
        None,
    )
    .await
}

pub async fn update(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    id: web::Path<UserId>,
    form: web::Form<UserForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageUsers)?;
    let form = form.into_inner();
    let user = db::by_id(&mut conn, *id).await?.ok_or(AppError::NotFound)?;
    let separated = separated(&mut conn).await?;
    guard(separated, &user)?;
    let assignable = duties::assignable(separated);
    let refuse = async |conn: &mut PgConnection, refusal: FormError| {
        let mut shown = form.clone();
        shown.username = user.username.clone();
        form_page(
            conn,
            &staff,
            &csrf,
            Some(user.clone()),
            shown,
            refusal.status,
            Some(refusal),
        )
        .await
    };
    let Fields {
        display_name,
        role,
        unit_id,
        email,
        expires_on,
    } = match parse_fields(&form, false, &assignable) {
        Ok((_, fields)) => fields,
        Err(refusal) => return refuse(&mut conn, refusal).await,
    };
    if user.id == staff.id && role != user.role {
        let refusal = FormError::field("role", "不能更改自己的角色。");
        return refuse(&mut conn, refusal).await;
    }
    if unit_id != user.unit_id && !units::db::is_active(&mut conn, unit_id).await? {
        let refusal = FormError::field("unit_id", "所属单位不存在或已停用。");
        return refuse(&mut conn, refusal).await;
    }
    let version: i32 = form.version.parse().map_err(|_| AppError::BadRequest)?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    // Under 三员分立 the admin's account is retired: its role may go.
    if !separated
        && user.role == Role::Admin
        && role != Role::Admin
        && db::is_last_active_admin(&mut tx, user.id).await?
    {
        drop(tx);
        return refuse(&mut conn, FormError::field("role", LAST_ADMIN)).await;
    }
    let updated = sqlx::query!(
        "update users set display_name = $2, role = $3, unit_id = $4, email = $6, version = version + 1
         where id = $1 and version = $5", user.id as UserId, &display_name, role.as_str(), unit_id as UnitId, version, &email,)
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        drop(tx);
        return refuse(
            &mut conn,
            FormError::whole("该用户已被其他管理员修改，请刷新页面后重新编辑。")
                .with_status(StatusCode::CONFLICT),
        )
        .await;
    }
    let mut changes = Vec::new();
    if display_name != user.display_name {
        changes.push(format!("姓名：{} → {}", user.display_name, display_name));
    }
    if role != user.role {
        changes.push(format!("角色：{} → {}", user.role.label(), role.label()));
    }
    if unit_id != user.unit_id {
        changes.push("所属单位已变更".to_string());
    }
    let settings = crate::settings::db::load(&mut tx).await?;
    let before = user.expires_at.map(|at| expiry_day(at, settings.time_zone));
    if before != expires_on {
        db::set_expiry(&mut tx, user.id, expires_on, settings.time_zone).await?;
        let shown =
            |day: Option<chrono::NaiveDate>| day.map_or("不限".to_owned(), |d| d.to_string());
        changes.push(format!(
            "有效期至：{} → {}",
            shown(before),
            shown(expires_on)
        ));
    }
    let actor = staff.actor();
    audit::record(
        &mut tx,
        &actor,
        "user.update",
        &user.username,
        &changes.join("；"),
    )
    .await?;
    tx.commit().await?;
    Ok(see_other("/admin/users?done=updated"))
}

/// POST /admin/users/{id}/{disable|enable}: disabling ends the account's
/// sessions at once.
pub async fn set_active(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    path: web::Path<(UserId, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, verb) = path.into_inner();
    let active = match verb.as_str() {
        "enable" => true,
        "disable" => false,
        _ => return Err(AppError::NotFound),
    };
    staff.require(Permission::ManageUsers)?;
    let user = db::by_id(&mut conn, id).await?.ok_or(AppError::NotFound)?;
    let separated = separated(&mut conn).await?;
    guard(separated, &user)?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    if !active
        && !separated
        && user.role == Role::Admin
        && user.active
        && db::is_last_active_admin(&mut tx, user.id).await?
    {
        drop(tx);
        let layout =
            AdminLayout::load(&mut conn, &staff, &csrf, "用户管理", "/admin/users").await?;
        let page = ListPage {
            units: units::db::tree(&mut conn, false).await?,
            layout,
            query: ListQuery::default(),
            roles: Role::ALL,
            users: Vec::new(),
            next_page: None,
            notice: None,
            error: Some(LAST_ADMIN.into()),
        };
        return render(StatusCode::UNPROCESSABLE_ENTITY, &page);
    }
    sqlx::query!(
        "update users set active = $2, version = version + 1 where id = $1",
        id as UserId,
        active
    )
    .execute(&mut *tx)
    .await?;
    if !active {
        session::end_all_for(&mut tx, id).await?;
    }
    let action = if active {
        "user.enable"
    } else {
        "user.disable"
    };
    let actor = staff.actor();
    audit::record(&mut tx, &actor, action, &user.username, "").await?;
    tx.commit().await?;
    Ok(see_other(if active {
        "/admin/users?done=enabled"
    } else {
        "/admin/users?done=disabled"
    }))
}

/// Issues a one-time password, shown once; the user must change it at the
/// next login, and every open session of the user ends.
pub async fn reset_password(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    id: web::Path<UserId>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageUsers)?;
    let user = db::by_id(&mut conn, *id).await?.ok_or(AppError::NotFound)?;
    guard(separated(&mut conn).await?, &user)?;
    let (password, hash) = one_time_password().await?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    db::set_password(&mut tx, user.id, &hash, true).await?;
    session::end_all_for(&mut tx, user.id).await?;
    throttle::clear(&mut tx, &throttle::account_key(&user.username)).await?;
    let actor = staff.actor();
    audit::record(&mut tx, &actor, "user.reset_password", &user.username, "").await?;
    tx.commit().await?;
    show_password(
        &mut conn,
        &staff,
        &csrf,
        (user.username, user.display_name),
        password,
        false,
    )
    .await
}
