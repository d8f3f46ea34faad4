//! Admin pages for the channel tree: list, create, edit (name, slug, parent,
//! sort order, review stages), deactivate, reactivate and delete (only
//! channels without stories or sub-channels).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use sqlx::PgConnection;

use super::db::{self, ChannelNode};
use super::{StageRole, parse_name, parse_review_stages, parse_slug};
use crate::audit;
use crate::auth::{Permission, Staff};
use crate::backend::{Backend, Change, TreeTable, versioned};
use crate::error::{AppError, Checks, FormError, Refused, Violation, refusal_of};
use crate::ids::ChannelId;
use crate::layout::AdminLayout;
use crate::tree::{Tree, is_self_or_descendant, without_subtree};
use crate::web::csrf::CsrfToken;
use crate::web::redirect::see_other;
use crate::web::render;

const STAGE_ROLES: [StageRole; 2] = [StageRole::Editor, StageRole::ChiefEditor];

#[derive(Deserialize, Clone)]
pub struct ChannelForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    slug: String,
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    sort_order: String,
    #[serde(default)]
    stage1: String,
    #[serde(default)]
    stage2: String,
    #[serde(default)]
    stage3: String,
    /// pre (先审后发) or post (先发后审).
    #[serde(default)]
    comment_moderation: String,
    #[serde(default)]
    version: String,
}

impl Default for ChannelForm {
    fn default() -> Self {
        ChannelForm {
            name: String::new(),
            slug: String::new(),
            parent_id: String::new(),
            sort_order: "0".into(),
            stage1: "editor".into(),
            stage2: "chief_editor".into(),
            stage3: String::new(),
            comment_moderation: "pre".into(),
            version: String::new(),
        }
    }
}

/// A channel as stored, checked.
struct ChannelFields {
    name: String,
    slug: String,
    parent_id: Option<ChannelId>,
    sort_order: i32,
    stages: Vec<&'static str>,
    comment_moderation: &'static str,
}

impl ChannelForm {
    /// The role typed for stage `index` (templates loop by reference).
    fn stage(&self, index: &usize) -> &str {
        [&self.stage1, &self.stage2, &self.stage3][*index]
    }

    fn parse(&self) -> Result<ChannelFields, FormError> {
        let mut checks = Checks::default();
        let name = checks.check("name", parse_name(&self.name));
        let slug = checks.check("slug", parse_slug(&self.slug));
        let parent_id = checks.check(
            "parent_id",
            match self.parent_id.trim() {
                "" => Ok(None),
                id => id.parse().map(Some).map_err(|_| "上级栏目无效。"),
            },
        );
        let sort_order = checks.check(
            "sort_order",
            self.sort_order.trim().parse().map_err(|_| "排序应为整数。"),
        );
        let stages = checks
            .check(
                "stage1",
                parse_review_stages([&self.stage1, &self.stage2, &self.stage3]),
            )
            .into_iter()
            .map(StageRole::as_str)
            .collect();
        let comment_moderation = match self.comment_moderation.trim() {
            "" | "pre" => "pre",
            "post" => "post",
            _ => {
                checks.refuse("comment_moderation", "评论审核方式无效。");
                "pre"
            }
        };
        checks.finish()?;
        Ok(ChannelFields {
            name,
            slug,
            parent_id,
            sort_order,
            stages,
            comment_moderation,
        })
    }
}

#[derive(Template)]
#[template(path = "admin/channels/list.html")]
struct ChannelsPage {
    layout: AdminLayout,
    channels: Vec<ChannelNode>,
    stage_roles: [StageRole; 2],
    form: ChannelForm,
    error: Option<FormError>,
    notice: Option<String>,
}

#[derive(Deserialize)]
pub struct Notice {
    done: Option<String>,
}

async fn list_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    status: StatusCode,
    form: ChannelForm,
    error: Option<FormError>,
    notice: Option<String>,
) -> Result<HttpResponse, AppError> {
    let page = ChannelsPage {
        layout: AdminLayout::load(conn, staff, csrf, "栏目管理", "/admin/channels").await?,
        channels: db::tree(conn, true).await?,
        stage_roles: STAGE_ROLES,
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
    staff.require(Permission::ManageChannels)?;
    let notice = match query.done.as_deref() {
        Some("created") => Some("栏目已创建。".to_string()),
        Some("updated") => Some("栏目已保存。".to_string()),
        Some("deactivated") => Some("栏目已停用，不再出现在网站导航中。".to_string()),
        Some("activated") => Some("栏目已启用。".to_string()),
        Some("deleted") => Some("栏目已删除。".to_string()),
        _ => None,
    };
    list_page(
        &mut conn,
        &staff,
        &csrf,
        StatusCode::OK,
        ChannelForm::default(),
        None,
        notice,
    )
    .await
}

pub async fn create(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    form: web::Form<ChannelForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageChannels)?;
    let form = form.into_inner();
    let fields = match form.parse() {
        Ok(fields) => fields,
        Err(refusal) => {
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
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    let inserted = sqlx::query(
        "insert into channels (name, slug, parent_id, sort_order, review_stages, comment_moderation)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&fields.name)
    .bind(&fields.slug)
    .bind(fields.parent_id)
    .bind(fields.sort_order)
    .bind(&fields.stages)
    .bind(fields.comment_moderation)
    .execute(&mut *tx)
    .await;
    let inserted = inserted
        .map_err(|error| {
            refusal_of(
                error,
                &[
                    (Violation::Unique, "slug", "栏目标识已被其他栏目使用。"),
                    (Violation::ForeignKey, "parent_id", "上级栏目不存在。"),
                ],
            )
        })
        .refused()?;
    if let Err(refusal) = inserted {
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
    let actor = staff.actor();
    audit::record(
        &mut tx,
        &actor,
        "channel.create",
        &fields.name,
        &fields.slug,
    )
    .await?;
    tx.commit().await?;
    Ok(see_other("/admin/channels?done=created"))
}

#[derive(Template)]
#[template(path = "admin/channels/edit.html")]
struct EditPage {
    layout: AdminLayout,
    channel: ChannelNode,
    parents: Vec<ChannelNode>,
    stage_roles: [StageRole; 2],
    form: ChannelForm,
    error: Option<FormError>,
}

async fn edit_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    id: ChannelId,
    status: StatusCode,
    form: Option<ChannelForm>,
    error: Option<FormError>,
) -> Result<HttpResponse, AppError> {
    let tree = db::tree(conn, true).await?;
    let channel = tree
        .iter()
        .find(|c| c.id == id)
        .cloned()
        .ok_or(AppError::NotFound)?;
    let version: i32 = sqlx::query_scalar("select version from channels where id = $1")
        .bind(id)
        .fetch_one(&mut *conn)
        .await?;
    let parents = without_subtree(tree, id);
    let form = form.unwrap_or_else(|| ChannelForm {
        name: channel.name.clone(),
        slug: channel.slug.clone(),
        parent_id: channel
            .parent_id
            .map(|id| id.to_string())
            .unwrap_or_default(),
        sort_order: channel.sort_order.to_string(),
        stage1: channel.stage(0).to_owned(),
        stage2: channel.stage(1).to_owned(),
        stage3: channel.stage(2).to_owned(),
        comment_moderation: channel.comment_moderation.clone(),
        version: version.to_string(),
    });
    let page = EditPage {
        layout: AdminLayout::load(conn, staff, csrf, "编辑栏目", "/admin/channels").await?,
        channel,
        parents,
        stage_roles: STAGE_ROLES,
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
    id: web::Path<ChannelId>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageChannels)?;
    edit_page(&mut conn, &staff, &csrf, *id, StatusCode::OK, None, None).await
}

pub async fn update(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    id: web::Path<ChannelId>,
    form: web::Form<ChannelForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ManageChannels)?;
    let id = *id;
    let form = form.into_inner();
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
    let fields = match form.parse() {
        Ok(fields) => fields,
        Err(refusal) => return refuse(&mut conn, refusal).await,
    };
    let version: i32 = form.version.parse().map_err(|_| AppError::BadRequest)?;
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    if let Some(parent) = fields.parent_id
        && is_self_or_descendant(&mut tx, Tree::Channels, id, parent).await?
    {
        drop(tx);
        let refusal = FormError::field("parent_id", "不能把栏目移到它自己或它的下级栏目之下。");
        return refuse(&mut conn, refusal).await;
    }
    let updated = sqlx::query(
        "update channels set name = $2, slug = $3, parent_id = $4, sort_order = $5, review_stages = $6,
                             comment_moderation = $8, version = version + 1
         where id = $1 and version = $7",
    )
    .bind(id)
    .bind(&fields.name)
    .bind(&fields.slug)
    .bind(fields.parent_id)
    .bind(fields.sort_order)
    .bind(&fields.stages)
    .bind(version)
    .bind(fields.comment_moderation)
    .execute(&mut *tx)
    .await;
    let saved = versioned(
        updated,
        "slug",
        "栏目标识已被其他栏目使用。",
        "该栏目已被其他管理员修改，请刷新页面后重新编辑。",
    )
    .refused()?;
    if let Err(refusal) = saved {
        drop(tx);
        let exists: bool =
            sqlx::query_scalar("select exists (select 1 from channels where id = $1)")
                .bind(id)
                .fetch_one(&mut *conn)
                .await?;
        if !exists {
            return Err(AppError::NotFound);
        }
        return refuse(&mut conn, refusal).await;
    }
    let actor = staff.actor();
    let detail = format!("审核环节：{}", fields.stages.join(" → "));
    audit::record(&mut tx, &actor, "channel.update", &fields.name, &detail).await?;
    tx.commit().await?;
    Ok(see_other("/admin/channels?done=updated"))
}

/// The channel tree as the shared deactivate / reactivate / delete path
/// sees it.
const CHANNELS: TreeTable = TreeTable {
    table: "channels",
    entity: "channel",
};

/// POST /admin/channels/{id}/{deactivate|activate|delete}: deactivates,
/// reactivates or deletes a channel.
pub async fn change(
    mut backend: Backend,
    path: web::Path<(ChannelId, String)>,
) -> Result<HttpResponse, AppError> {
    let (id, verb) = path.into_inner();
    let change = Change::parse(&verb).ok_or(AppError::NotFound)?;
    backend.require(Permission::ManageChannels)?;
    let mut tx = sqlx::Connection::begin(&mut *backend.conn).await?;
    let (name, _) = CHANNELS.lock(&mut tx, id.uuid()).await?;
    if change == Change::Delete {
        let (articles, children): (i64, i64) = sqlx::query_as(
            "select (select count(*) from articles where channel_id = $1),
                    (select count(*) from channels where parent_id = $1)",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await?;
        if articles + children > 0 {
            drop(tx);
            let message = format!(
                "栏目“{name}”还有 {articles} 篇稿件、{children} 个下级栏目，不能删除；可以先停用。"
            );
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
                ChannelForm::default(),
                Some(message.into()),
                None,
            )
            .await;
        }
    }
    CHANNELS
        .apply(&mut tx, &backend.staff, id.uuid(), &name, change)
        .await?;
    tx.commit().await?;
    Ok(see_other(&format!(
        "/admin/channels?done={}",
        change.done()
    )))
}
