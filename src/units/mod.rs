//! The unit tree (国家电网 > 国网山东电力 > 国网威海供电公司 > 带电作业中心):
//! where staff belong and stories come from.

pub mod admin;
pub mod db;

/// A unit in tree order, with its depth for indentation.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UnitNode {
    pub id: crate::ids::UnitId,
    pub parent_id: Option<crate::ids::UnitId>,
    pub name: String,
    pub depth: i32,
    pub active: bool,
    pub version: i32,
    pub user_count: i64,
    pub article_count: i64,
    pub child_count: i64,
}

impl crate::tree::TreeNode for UnitNode {
    type Id = crate::ids::UnitId;
    fn node_id(&self) -> crate::ids::UnitId {
        self.id
    }
    fn depth(&self) -> i32 {
        self.depth
    }
}

impl UnitNode {
    /// The name indented by depth, for `<select>` options.
    pub fn indented(&self) -> String {
        format!("{}{}", "　".repeat(self.depth as usize), self.name)
    }
}

/// Parses a unit name as typed: trimmed, 1 to 60 characters.
pub fn parse_name(name: &str) -> Result<String, &'static str> {
    let name = name.trim();
    if name.is_empty() {
        return Err("请填写单位名称。");
    }
    if name.chars().count() > 60 {
        return Err("单位名称不超过 60 个字。");
    }
    Ok(name.to_owned())
}
