//! The channel tree (首页 > 电网 > 企业风采): where stories are filed, what the
//! portal's navigation shows, and how many review stages a story passes.

pub mod db;

use uuid::Uuid;

/// A top-level channel as the navigation bar shows it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct NavChannel {
    pub name: String,
    pub slug: String,
}

/// A channel with its place in the tree.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Channel {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub name: String,
    pub slug: String,
}

/// One step of a breadcrumb (当前位置: 首页 > 电网 > 企业风采), root first.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Crumb {
    pub name: String,
    pub slug: String,
}
