//! Who may see and change which article: correspondents their own stories;
//! editors their own and those of their unit's subtree; chief editors and
//! admins every story. Writers edit while a story is theirs (draft or
//! returned); reviewers while it waits at a stage they act on.

use sqlx::PgConnection;

use super::store::ArticleRecord;
use crate::auth::{Permission, Staff};
use crate::ids::UnitId;
use crate::roles::Role;
use crate::roles::StageRole;
use crate::tree::{Tree, is_self_or_descendant};
use crate::workflow::{self, Status};

/// Whether the story's unit is within reach of `staff` for reviewing.
pub async fn in_scope(
    conn: &mut PgConnection,
    staff: &Staff,
    unit_id: UnitId,
) -> sqlx::Result<bool> {
    match staff.role {
        Role::ChiefEditor | Role::Admin | Role::SystemAdmin => Ok(true),
        Role::Editor => is_self_or_descendant(conn, Tree::Units, staff.unit_id, unit_id).await,
        Role::Correspondent | Role::SecurityAdmin | Role::AuditAdmin => Ok(false),
    }
}

/// The units `staff` works within: `None` for the whole site (chief
/// editors and admins), else the staff member's unit and those below it.
/// Stories are filed, reviewed and moderated, and photos captioned, only
/// within them.
pub async fn scope_units(
    conn: &mut PgConnection,
    staff: &Staff,
) -> sqlx::Result<Option<Vec<UnitId>>> {
    match staff.role {
        Role::ChiefEditor | Role::Admin | Role::SystemAdmin => Ok(None),
        // Their duties are outside the newsroom's stories.
        Role::SecurityAdmin | Role::AuditAdmin => Ok(Some(Vec::new())),
        Role::Editor | Role::Correspondent => sqlx::query_scalar(
            "with recursive below as (
                 select id from units where id = $1
                 union all
                 select u.id from units u join below b on u.parent_id = b.id
             )
             select id from below",
        )
        .bind(staff.unit_id)
        .fetch_all(conn)
        .await
        .map(Some),
    }
}

/// Whether `staff` may file a story into `unit_id`.
pub async fn may_file_into(
    conn: &mut PgConnection,
    staff: &Staff,
    unit_id: UnitId,
) -> sqlx::Result<bool> {
    match staff.role {
        Role::ChiefEditor | Role::Admin => Ok(true),
        Role::Editor | Role::Correspondent => {
            is_self_or_descendant(conn, Tree::Units, staff.unit_id, unit_id).await
        }
        Role::SystemAdmin | Role::SecurityAdmin | Role::AuditAdmin => Ok(false),
    }
}

pub fn status_of(record: &ArticleRecord) -> Status {
    record.status
}

pub fn stages_of(record: &ArticleRecord) -> Vec<StageRole> {
    record.review_stages.clone()
}

/// What `staff` may do with one article.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    pub view: bool,
    pub edit: bool,
    /// May decide on the current review stage (the workflow has the last word).
    pub review: bool,
    /// May propose a correction of the published story.
    pub correct: bool,
}

pub async fn access(
    conn: &mut PgConnection,
    staff: &Staff,
    record: &ArticleRecord,
) -> sqlx::Result<Access> {
    let own = record.created_by == staff.id;
    let scope = in_scope(conn, staff, record.unit_id).await?;
    let status = status_of(record);
    let at_stage = stages_of(record)
        .get(record.review_stage as usize)
        .is_some_and(|stage| workflow::may_act_on(staff.role, *stage));
    let reviewing = matches!(status, Status::Submitted | Status::InReview);
    let review = reviewing && at_stage && scope && staff.can(Permission::ReviewArticles);
    let correct = status == Status::Published
        && (own || scope)
        && staff.can(Permission::WriteArticles)
        && (own || staff.can(Permission::ReviewArticles));
    Ok(Access {
        correct,
        view: own || scope,
        edit: (own && matches!(status, Status::Draft | Status::Returned)) || review,
        review,
    })
}
