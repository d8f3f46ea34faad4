//! Queries on the channel tree.

use sqlx::PgConnection;

/// A channel in tree order with what the admin page shows of it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ChannelNode {
    pub id: crate::ids::ChannelId,
    pub parent_id: Option<crate::ids::ChannelId>,
    pub name: String,
    pub slug: String,
    pub depth: i32,
    pub sort_order: i32,
    pub review_stages: Vec<crate::roles::StageRole>,
    pub comment_moderation: String,
    pub active: bool,
    pub article_count: i64,
    pub child_count: i64,
}

impl crate::tree::TreeNode for ChannelNode {
    type Id = crate::ids::ChannelId;
    fn node_id(&self) -> crate::ids::ChannelId {
        self.id
    }
    fn depth(&self) -> i32 {
        self.depth
    }
}

impl ChannelNode {
    pub fn indented(&self) -> String {
        format!("{}{}", "　".repeat(self.depth as usize), self.name)
    }

    /// The review stages as the newsroom says them: 编辑 → 总编.
    pub fn stages_label(&self) -> String {
        self.review_stages
            .iter()
            .map(|stage| stage.label())
            .collect::<Vec<_>>()
            .join(" → ")
    }

    pub fn stage(&self, index: usize) -> &str {
        self.review_stages
            .get(index)
            .map_or("", |stage| stage.as_str())
    }
}

/// Every channel in tree order (siblings by sort order, then name).
/// Every channel in tree order; with `counts`, the number of stories of
/// each (one pass over the stories, for the channels page).
pub async fn tree(conn: &mut PgConnection, counts: bool) -> sqlx::Result<Vec<ChannelNode>> {
    sqlx::query_as(
        "with recursive walk as (
             select id, array[to_char(sort_order, 'S0000000000') || name] as path, 0 as depth
             from channels where parent_id is null
             union all
             select c.id, w.path || (to_char(c.sort_order, 'S0000000000') || c.name), w.depth + 1
             from channels c join walk w on c.parent_id = w.id
         )
         select c.id, c.parent_id, c.name, c.slug, w.depth, c.sort_order, c.review_stages,
                c.comment_moderation, c.active,
                coalesce(a.n, 0) as article_count,
                coalesce(k.n, 0) as child_count
         from walk w join channels c on c.id = w.id
         left join (select channel_id, count(*) as n from articles where $1 group by channel_id) a
                on a.channel_id = c.id
         left join (select parent_id, count(*) as n from channels group by parent_id) k
                on k.parent_id = c.id
         order by w.path",
    )
    .bind(counts)
    .fetch_all(conn)
    .await
}
