//! Helpers for the trees kept in tree order (units, channels).

use sqlx::PgConnection;
use uuid::Uuid;

/// The tables that hold a tree through `parent_id`.
#[derive(Debug, Clone, Copy)]
pub enum Tree {
    Units,
    Channels,
}

impl Tree {
    fn table(self) -> &'static str {
        match self {
            Tree::Units => "units",
            Tree::Channels => "channels",
        }
    }
}

/// Whether `candidate` is `id` itself or lies below it in `tree` (moving
/// `id` under it would make a cycle).
pub async fn is_self_or_descendant(
    conn: &mut PgConnection,
    tree: Tree,
    id: Uuid,
    candidate: Uuid,
) -> sqlx::Result<bool> {
    let table = tree.table();
    sqlx::query_scalar(&format!(
        "with recursive below as (
             select id from {table} where id = $1
             union all
             select t.id from {table} t join below b on t.parent_id = b.id
         )
         select exists (select 1 from below where id = $2)"
    ))
    .bind(id)
    .bind(candidate)
    .fetch_one(conn)
    .await
}

/// A row of a tree listed depth-first, with its depth.
pub trait TreeNode {
    fn node_id(&self) -> Uuid;
    fn depth(&self) -> i32;
}

/// The nodes that are neither `id` nor below it: where `id` may move to.
pub fn without_subtree<T: TreeNode>(nodes: Vec<T>, id: Uuid) -> Vec<T> {
    let mut kept = Vec::with_capacity(nodes.len());
    let mut skipping_below: Option<i32> = None;
    for node in nodes {
        if let Some(depth) = skipping_below {
            if node.depth() > depth {
                continue;
            }
            skipping_below = None;
        }
        if node.node_id() == id {
            skipping_below = Some(node.depth());
            continue;
        }
        kept.push(node);
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Node(Uuid, i32);
    impl TreeNode for Node {
        fn node_id(&self) -> Uuid {
            self.0
        }
        fn depth(&self) -> i32 {
            self.1
        }
    }

    #[test]
    fn a_subtree_is_left_out_and_its_siblings_kept() {
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        // root, a, a/child, a/child/grandchild, b
        let depths = [0, 1, 2, 3, 1];
        let nodes = ids
            .iter()
            .zip(depths)
            .map(|(id, depth)| Node(*id, depth))
            .collect();
        let kept: Vec<Uuid> = without_subtree(nodes, ids[1])
            .into_iter()
            .map(|n| n.0)
            .collect();
        assert_eq!(kept, [ids[0], ids[4]]);
    }
}
