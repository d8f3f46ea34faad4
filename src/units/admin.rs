//! Admin pages for the unit tree: list, create, rename, move, deactivate,
//! reactivate and delete (only units with no users, articles or sub-units).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use sqlx::PgConnection;

use super::{UnitNode, db, parse_name};
use crate::audit;
use crate::auth::{Permission, Staff};
use crate::backend::{Backend, Change, TreeTable, versioned};
use crate::error::{AppError, Checks, FormError, Refused, unique_as_field};
use crate::ids::UnitId;
use crate::layout::AdminLayout;
use crate::tree::{Tree, is_self_or_descendant, without_subtree};
use crate::web::csrf::CsrfToken;
use crate::web::redirect::see_other;
use crate::web::render;

const DUPLICATE_NAME: &str = "同一上级单位下已有同名单位。";

#[derive(Deserialize, Default, Clone)]
pub struct UnitForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    sort_order: String,
    #[serde(default)]
    version: String,
}

#[derive(Template)]
#[template(path = "admin/units/list.html")]
struct UnitsPage {
    layout: AdminLayout,
    units: Vec<UnitNode>,
    form: UnitForm,
    error: Option<FormError>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct Notice {
    done: Option<String>,
}

fn notice_text(done: Option<&str>) -> Option<String> {
    let text = match done? {
        "created" => "单位已创建。",
        "updated" => "单位已保存。",
        "deactivated" => "单位已停用。",
        "activated" => "单位已启用。",
        "deleted" => "单位已删除。",
        _ => return None,
    };
    Some(text.into())
}

async fn list_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    status: StatusCode,
    form: UnitForm,
    error: Option<FormError>,
    notice: Option<String>,
) -> Result<HttpResponse, AppError> {
    let page = UnitsPage {
        layout: AdminLayout::load(conn, staff, csrf, "单位管理", "/admin/units").await?,
        units: db::tree(conn, true).await?,
        form,
        error,
        notice,
    };
    render(status, &page)
}

pub async fn list(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    query: web::Query<Notice>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageUnits)?;
    let notice = notice_text(query.done.as_deref());
    list_page(
        &mut conn,
        &staff,
        &csrf,
        StatusCode::OK,
        UnitForm::default(),
        None,
        notice,
    )
    .await
}

fn parse_parent(value: &str) -> Result<UnitId, &'static str> {
    value.parse().map_err(|_| "请选择上级单位。")
}

fn parse_sort_order(value: &str) -> Result<i32, &'static str> {
    if value.trim().is_empty() {
        return Ok(0);
    }
    value
        .trim()
        .parse()
        .ok()
        .filter(|n: &i32| n.abs() <= 100_000)
        .ok_or("排序应为整数。")
}

pub async fn create(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    form: web::Form<UnitForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageUnits)?;
    let form = form.into_inner();
    let mut checks = Checks::default();
    let name = checks.check("name", parse_name(&form.name));
    let parent_id = checks.check("parent_id", parse_parent(&form.parent_id).map(Some));
    let sort_order = checks.check("sort_order", parse_sort_order(&form.sort_order));
    let parent_id = match (checks.finish(), parent_id) {
        (Ok(()), Some(parent_id)) => parent_id,
        (refused, _) => {
            let refusal = refused.err().unwrap_or_else(|| "请选择上级单位。".into());
            return list_page(
                &mut conn,
                &staff,
                &csrf,
                refusal.status,
                form,
                Some(refusal),
                None,
            )
            .await;
        }
    };
    if !db::is_active(&mut conn, parent_id).await? {
        let refusal = FormError::field("parent_id", "上级单位不存在或已停用。");
        return list_page(
            &mut conn,
            &staff,
            &csrf,
            refusal.status,
            form,
            Some(refusal),
            None,
        )
        .await;
    }
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let inserted = sqlx::query!(
        "insert into units (name, parent_id, sort_order) values ($1, $2, $3)",
        &name,
        parent_id as UnitId,
        sort_order
    )
    .execute(&mut *tx)
    .await;
    let inserted = inserted
        .map_err(|error| unique_as_field(error, "name", DUPLICATE_NAME))
        .refused()?;
    match inserted {
        Err(refusal) => {
            drop(tx);
            return list_page(
                &mut conn,
                &staff,
                &csrf,
                refusal.status,
                form,
                Some(refusal),
                None,
            )
            .await;
        }
        Ok(done) => done,
    };
    let actor = staff.actor();
    audit::record(&mut tx, &actor, "unit.create", &name, "").await?;
    tx.commit().await?;
    Ok(see_other("/admin/units?done=created"))
}

#[derive(Template)]
#[template(path = "admin/units/edit.html")]
struct EditPage {
    layout: AdminLayout,
    unit: UnitNode,
    parents: Vec<UnitNode>,
    form: UnitForm,
    error: Option<FormError>,
}

async fn find(conn: &mut PgConnection, id: UnitId) -> Result<(UnitNode, Vec<UnitNode>), AppError> {
    let tree = db::tree(conn, true).await?;
    let unit = tree
        .iter()
        .find(|unit| unit.id == id)
        .cloned()
        .ok_or(AppError::NotFound)?;
    // A unit cannot move below itself: leave out its own subtree.
    let parents = without_subtree(tree, id)
        .into_iter()
        .filter(|node| node.active)
        .collect();
    Ok((unit, parents))
}

async fn edit_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    id: UnitId,
    status: StatusCode,
    form: Option<UnitForm>,
    error: Option<FormError>,
) -> Result<HttpResponse, AppError> {
    let (unit, parents) = find(conn, id).await?;
    let form = form.unwrap_or_else(|| UnitForm {
        name: unit.name.clone(),
        parent_id: unit.parent_id.map(|id| id.to_string()).unwrap_or_default(),
        sort_order: String::new(),
        version: unit.version.to_string(),
    });
    let page = EditPage {
        layout: AdminLayout::load(conn, staff, csrf, "编辑单位", "/admin/units").await?,
        unit,
        parents,
        form,
        error,
    };
    render(status, &page)
}

pub async fn edit(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    id: web::Path<UnitId>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageUnits)?;
    edit_page(&mut conn, &staff, &csrf, *id, StatusCode::OK, None, None).await
}

pub async fn update(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    id: web::Path<UnitId>,
    form: web::Form<UnitForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageUnits)?;
    let id = *id;
    let form = form.into_inner();
    let (unit, _) = find(&mut conn, id).await?;
    let refuse = async |conn: &mut PgConnection, refusal: FormError| {
        edit_page(
            conn,
            &staff,
            &csrf,
            id,
            refusal.status,
            Some(form.clone()),
            Some(refusal),
        )
        .await
    };
    let mut checks = Checks::default();
    let name = checks.check("name", parse_name(&form.name));
    let parent_id = match unit.parent_id {
        None => None,
        Some(_) => checks.check("parent_id", parse_parent(&form.parent_id).map(Some)),
    };
    let sort_order = checks.check("sort_order", parse_sort_order(&form.sort_order));
    if let Err(refusal) = checks.finish() {
        return refuse(&mut conn, refusal).await;
    }
    let version: i32 = form.version.parse().map_err(|_| AppError::BadRequest)?;

    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    if let Some(parent) = parent_id {
        if is_self_or_descendant(&mut tx, Tree::Units, id, parent).await? {
            drop(tx);
            let refusal = FormError::field("parent_id", "不能把单位移到它自己或它的下级单位之下。");
            return refuse(&mut conn, refusal).await;
        }
        if !db::is_active(&mut tx, parent).await? {
            drop(tx);
            let refusal = FormError::field("parent_id", "上级单位不存在或已停用。");
            return refuse(&mut conn, refusal).await;
        }
    }
    let updated = sqlx::query!(
        "update units set name = $2, parent_id = $3, sort_order = case when $4 = '' then sort_order else $5 end,
                          version = version + 1
         where id = $1 and version = $6", id as UnitId, &name, parent_id as Option<UnitId>, form.sort_order.trim(), sort_order, version,)
    .execute(&mut *tx)
    .await;
    let saved = versioned(
        updated,
        "name",
        DUPLICATE_NAME,
        "该单位已被其他管理员修改，请刷新页面后重新编辑。",
    )
    .refused()?;
    if let Err(refusal) = saved {
        drop(tx);
        return refuse(&mut conn, refusal).await;
    }
    let detail = if unit.name == name {
        String::new()
    } else {
        format!("名称：{} → {}", unit.name, name)
    };
    let actor = staff.actor();
    audit::record(&mut tx, &actor, "unit.update", &name, &detail).await?;
    tx.commit().await?;
    Ok(see_other("/admin/units?done=updated"))
}

/// The unit tree as the shared deactivate / reactivate / delete path sees it.
const UNITS: TreeTable = TreeTable {
    table: "units",
    entity: "unit",
};

/// POST /admin/units/{id}/{deactivate|activate|delete}: deactivates,
/// reactivates or deletes a unit.
pub async fn change(
    mut backend: Backend,
    path: web::Path<(UnitId, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, verb) = path.into_inner();
    let change = Change::parse(&verb).ok_or(AppError::NotFound)?;
    backend.require(Permission::ManageUnits)?;
    let mut tx = sqlx::Connection::begin(&mut *backend.conn).await?;
    let (name, parent_id) = UNITS.lock(&mut tx, id.uuid()).await?;
    let refusal = if parent_id.is_none() && change != Change::Activate {
        Some("根单位不能停用或删除。".to_string())
    } else if change == Change::Delete {
        let (users, articles, children): (i64, i64, i64) = sqlx::query_as(
            "select (select count(*) from users where unit_id = $1),
                    (select count(*) from articles where unit_id = $1),
                    (select count(*) from units where parent_id = $1)",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        (users + articles + children > 0).then(|| {
            format!(
                "单位“{name}”还有 {users} 名用户、{articles} 篇稿件、{children} 个下级单位，不能删除；可以先停用。"
            )
        })
    } else {
        None
    };
    if let Some(message) = refusal {
        drop(tx);
        let Backend {
            staff,
            csrf,
            mut conn,
        } = backend;
        return list_page(
            &mut conn,
            &staff,
            &csrf,
            StatusCode::UNPROCESSABLE_ENTITY,
            UnitForm::default(),
            Some(message.into()),
            None,
        )
        .await;
    }
    UNITS
        .apply(&mut tx, &backend.staff, id.uuid(), &name, change)
        .await?;
    tx.commit().await?;
    Ok(see_other(&format!("/admin/units?done={}", change.done())))
}
