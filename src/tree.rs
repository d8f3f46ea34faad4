//! Helpers for the trees kept in tree order (units, channels): subtrees,
//! where a node may move, and the `<option>`s of a tree picker.

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
pub async fn is_self_or_descendant<I: Into<Uuid>>(
    conn: &mut PgConnection,
    tree: Tree,
    id: I,
    candidate: I,
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
    .bind(id.into())
    .bind(candidate.into())
    .fetch_one(conn)
    .await
}

/// A row of a tree listed depth-first, with its depth.
pub trait TreeNode {
    /// The id type of the tree's rows (`UnitId`, `ChannelId`).
    type Id: Copy + Eq + std::hash::Hash;
    fn node_id(&self) -> Self::Id;
    fn depth(&self) -> i32;
}

/// Where `id` and the nodes below it lie in `nodes` (depth-first): they
/// follow it in one run. Empty when `id` is not there.
pub fn subtree_range<T: TreeNode>(nodes: &[T], id: T::Id) -> std::ops::Range<usize> {
    let Some(start) = nodes.iter().position(|node| node.node_id() == id) else {
        return 0..0;
    };
    let depth = nodes[start].depth();
    let length = nodes[start + 1..]
        .iter()
        .take_while(|node| node.depth() > depth)
        .count();
    start..start + 1 + length
}

/// `id` and the nodes below it, still depth-first.
pub fn subtree<T: TreeNode>(nodes: &[T], id: T::Id) -> &[T] {
    &nodes[subtree_range(nodes, id)]
}

/// One node of a picker, its label escaped.
pub fn option(id: impl std::fmt::Display, label: &str) -> String {
    format!(
        "<option value=\"{id}\">{}</option>",
        crate::web::variant::escape(label)
    )
}

/// A picker's `<option>`s with the one whose id is `selected` selected.
pub fn options(fragments: &[String], selected: &str) -> String {
    let selected = selected.parse::<Uuid>().ok().map(|id| {
        (
            format!("<option value=\"{id}\">"),
            format!("<option value=\"{id}\" selected>"),
        )
    });
    let mut html = String::with_capacity(fragments.iter().map(String::len).sum::<usize>() + 9);
    for fragment in fragments {
        match &selected {
            Some((plain, chosen)) if fragment.starts_with(plain.as_str()) => {
                html.push_str(chosen);
                html.push_str(&fragment[plain.len()..]);
            }
            _ => html.push_str(fragment),
        }
    }
    html
}

/// The nodes that are neither `id` nor below it: where `id` may move to.
pub fn without_subtree<T: TreeNode>(mut nodes: Vec<T>, id: T::Id) -> Vec<T> {
    let range = subtree_range(&nodes, id);
    nodes.drain(range);
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Node(Uuid, i32);
    impl TreeNode for Node {
        type Id = Uuid;
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
        let below: Vec<Uuid> = subtree(&nodes, ids[1]).iter().map(|n| n.0).collect();
        assert_eq!(below, ids[1..4]);
        let leaf: Vec<Uuid> = subtree(&nodes, ids[4]).iter().map(|n| n.0).collect();
        assert_eq!(leaf, [ids[4]]);
        assert!(subtree(&nodes, Uuid::new_v4()).is_empty());
    }

    #[test]
    fn options_escape_their_labels_and_select_the_one_asked_for() {
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let fragments = [option(a, "甲<公司>"), option(b, "　乙&所")];
        assert_eq!(
            options(&fragments, &b.to_string()),
            format!(
                "<option value=\"{a}\">甲&lt;公司&gt;</option>\
                 <option value=\"{b}\" selected>　乙&amp;所</option>"
            )
        );
        assert!(!options(&fragments, "").contains("selected"));
        assert!(!options(&fragments, "not-an-id").contains("selected"));
    }
}
