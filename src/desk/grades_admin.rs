//! The grades' page (/admin/grades): the desk adds grades, orders them and
//! stops or resumes giving one; a grade in use is never deleted.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::grades::{self, Grade};
use crate::audit;
use crate::auth::Permission;
use crate::backend::Backend;
use crate::error::{AppError, Checks, FormError};
use crate::layout::AdminLayout;
use crate::web::redirect::see_other;
use crate::web::render;

#[derive(Deserialize, Default)]
pub struct GradeForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    position: String,
    /// A grade to stop or resume giving.
    #[serde(default)]
    toggle: String,
}

#[derive(Template)]
#[template(path = "admin/desk/grades.html")]
struct GradesPage {
    layout: AdminLayout,
    /// Each grade with the number of stories that went out with it.
    grades: Vec<(Grade, i64)>,
    form: GradeForm,
    notice: Option<String>,
    error: Option<FormError>,
}

async fn grades_page(
    backend: &mut Backend,
    status: StatusCode,
    form: GradeForm,
    notice: Option<String>,
    error: Option<FormError>,
) -> Result<HttpResponse, AppError> {
    let layout = backend.layout("稿件评级", "/admin/grades").await?;
    let counts: Vec<(i32, i64)> =
        sqlx::query_as("select grade_id, count(*) from article_grades group by grade_id")
            .fetch_all(&mut *backend.conn)
            .await?;
    let grades = grades::all(&mut backend.conn)
        .await?
        .into_iter()
        .map(|grade| {
            let used = counts
                .iter()
                .find(|(id, _)| *id == grade.id)
                .map_or(0, |(_, n)| *n);
            (grade, used)
        })
        .collect();
    render(
        status,
        &GradesPage {
            layout,
            grades,
            form,
            notice,
            error,
        },
    )
}

#[derive(Deserialize, Default)]
pub struct GradesQuery {
    #[serde(default)]
    done: String,
}

/// GET /admin/grades
pub async fn list(
    mut backend: Backend,
    query: web::Query<GradesQuery>,
) -> Result<HttpResponse, AppError> {
    backend.require(Permission::ManageDesk)?;
    let notice = match query.done.as_str() {
        "added" => Some("已添加评级。".to_owned()),
        "toggled" => Some("已更改评级的启用状态；已评的稿件保留原评级。".to_owned()),
        _ => None,
    };
    grades_page(
        &mut backend,
        StatusCode::OK,
        GradeForm::default(),
        notice,
        None,
    )
    .await
}

/// POST /admin/grades: adds a grade, or stops or resumes giving one.
pub async fn change(
    mut backend: Backend,
    form: web::Form<GradeForm>,
) -> Result<HttpResponse, AppError> {
    backend.require(Permission::ManageDesk)?;
    let form = form.into_inner();
    let actor = backend.staff.actor();
    if !form.toggle.trim().is_empty() {
        let id: i32 = form
            .toggle
            .trim()
            .parse()
            .map_err(|_| AppError::BadRequest)?;
        let mut tx = sqlx::Connection::begin(&mut *backend.conn).await?;
        let changed: Option<(String, bool)> = sqlx::query_as(
            "update grades set active = not active where id = $1 returning name, active",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?;
        let (name, active) = changed.ok_or(AppError::NotFound)?;
        let detail = if active { "启用" } else { "停用" };
        audit::record(&mut tx, &actor, "grade.toggle", &name, detail).await?;
        tx.commit().await?;
        return Ok(see_other("/admin/grades?done=toggled"));
    }
    let mut checks = Checks::default();
    let name = form.name.trim().to_owned();
    if name.is_empty() {
        checks.refuse("name", "请填写评级名称。");
    } else if name.chars().count() > 20 {
        checks.refuse("name", "评级名称不超过 20 个字。");
    }
    let position = if form.position.trim().is_empty() {
        Some(0)
    } else {
        form.position
            .trim()
            .parse::<i32>()
            .ok()
            .filter(|p| (0..=999).contains(p))
    };
    if position.is_none() {
        checks.refuse("position", "排序请填写 0 到 999 的整数。");
    }
    let refusal = match checks.finish() {
        Err(refusal) => refusal,
        Ok(()) => {
            if add(&mut backend.conn, &actor, &name, position.unwrap_or(0)).await? {
                return Ok(see_other("/admin/grades?done=added"));
            }
            FormError::field("name", "已有同名的评级。")
        }
    };
    grades_page(
        &mut backend,
        StatusCode::UNPROCESSABLE_ENTITY,
        form,
        None,
        Some(refusal),
    )
    .await
}

/// Adds a grade and audits it; false when one of that name exists.
async fn add(
    conn: &mut sqlx::PgConnection,
    actor: &audit::Actor,
    name: &str,
    position: i32,
) -> Result<bool, AppError> {
    let mut tx = sqlx::Connection::begin(conn).await?;
    let inserted = sqlx::query(
        "insert into grades (name, position) values ($1, $2) on conflict (name) do nothing",
    )
    .bind(name)
    .bind(position)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if inserted == 0 {
        return Ok(false);
    }
    audit::record(&mut tx, actor, "grade.add", name, "").await?;
    tx.commit().await?;
    Ok(true)
}
