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
    split_subtree(nodes, id).1
}

/// `id` and the nodes below it, still depth-first.
pub fn only_subtree<T: TreeNode>(nodes: Vec<T>, id: Uuid) -> Vec<T> {
    split_subtree(nodes, id).0
}

/// (`id` and the nodes below it, the others), each in the order given.
fn split_subtree<T: TreeNode>(nodes: Vec<T>, id: Uuid) -> (Vec<T>, Vec<T>) {
    let mut inside = Vec::new();
    let mut outside = Vec::with_capacity(nodes.len());
    let mut inside_below: Option<i32> = None;
    for node in nodes {
        if let Some(depth) = inside_below {
            if node.depth() > depth {
                inside.push(node);
                continue;
            }
            inside_below = None;
        }
        if node.node_id() == id {
            inside_below = Some(node.depth());
            inside.push(node);
            continue;
        }
        outside.push(node);
    }
    (inside, outside)
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
        let nodes: Vec<Node> = ids
            .iter()
            .zip(depths)
            .map(|(id, depth)| Node(*id, depth))
            .collect();
        let inside: Vec<Uuid> = only_subtree(nodes, ids[1])
            .into_iter()
            .map(|n| n.0)
            .collect();
        assert_eq!(inside, ids[1..4]);
    }
}
