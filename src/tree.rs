//! Helpers for the trees kept in tree order (units, channels), and the
//! copy of both trees, with the site's settings and its compiled
//! sensitive-word list, each instance keeps in memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use sqlx::PgConnection;
use uuid::Uuid;

use crate::articles::db::TitleLink;
use crate::articles::public::RECOMMENDED;
use crate::channels::db::ChannelNode;
use crate::comments::words::WordList;
use crate::settings::SiteSettings;
use crate::units::UnitNode;

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

/// Where `id` and the nodes below it lie in `nodes` (depth-first): they
/// follow it in one run. Empty when `id` is not there.
fn subtree_range<T: TreeNode>(nodes: &[T], id: Uuid) -> std::ops::Range<usize> {
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
pub fn subtree<T: TreeNode>(nodes: &[T], id: Uuid) -> &[T] {
    &nodes[subtree_range(nodes, id)]
}

/// Both trees in tree order (without counts), the site's settings and its
/// compiled sensitive-word list, with the `structure_version` read before
/// them: they are at least as new as the version says.
pub struct Trees {
    pub version: i64,
    pub units: Vec<UnitNode>,
    pub channels: Vec<ChannelNode>,
    unit_positions: HashMap<Uuid, usize>,
    channel_positions: HashMap<Uuid, usize>,
    /// Each node as an `<option>` of a picker, indented by depth: written
    /// once per version, since a picker of 500 units is most of a page.
    unit_options: Vec<String>,
    channel_options: Vec<String>,
    /// The site's settings, which move the same version (migration 0024).
    pub settings: SiteSettings,
    /// The sensitive-word list, compiled (migration 0028).
    pub words: WordList,
    /// The newest recommended stories, one more than a page lists so that
    /// a recommended story's own page still lists enough (migration 0034).
    pub recommended: Vec<TitleLink>,
}

impl Trees {
    pub fn new(
        version: i64,
        units: Vec<UnitNode>,
        channels: Vec<ChannelNode>,
        settings: SiteSettings,
        words: WordList,
        recommended: Vec<TitleLink>,
    ) -> Self {
        Trees {
            unit_positions: positions(&units),
            channel_positions: positions(&channels),
            unit_options: units
                .iter()
                .map(|unit| option(unit.id, &unit.indented()))
                .collect(),
            channel_options: channels
                .iter()
                .map(|channel| option(channel.id, &channel.indented()))
                .collect(),
            version,
            units,
            channels,
            settings,
            words,
            recommended,
        }
    }

    pub fn unit(&self, id: Uuid) -> Option<&UnitNode> {
        self.unit_positions.get(&id).map(|&at| &self.units[at])
    }

    pub fn channel(&self, id: Uuid) -> Option<&ChannelNode> {
        self.channel_positions
            .get(&id)
            .map(|&at| &self.channels[at])
    }

    /// The `<option>`s of the units `id` and below (all units when `None`),
    /// with `selected` (an id as the form sent it) selected.
    pub fn unit_options(&self, root: Option<Uuid>, selected: &str) -> String {
        let range = match root {
            Some(root) => subtree_range(&self.units, root),
            None => 0..self.units.len(),
        };
        options(&self.unit_options[range], selected)
    }

    /// The `<option>`s of every channel, with `selected` selected.
    pub fn channel_options(&self, selected: &str) -> String {
        options(&self.channel_options, selected)
    }
}

fn option(id: Uuid, label: &str) -> String {
    format!(
        "<option value=\"{id}\">{}</option>",
        crate::web::variant::escape(label)
    )
}

fn options(fragments: &[String], selected: &str) -> String {
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

fn positions<T: TreeNode>(nodes: &[T]) -> HashMap<Uuid, usize> {
    nodes
        .iter()
        .enumerate()
        .map(|(at, node)| (node.node_id(), at))
        .collect()
}

/// The trees as this instance last read them. Each use asks the database
/// for the current version (one row, moved by every change to units,
/// channels, settings or sensitive words in the same transaction, see
/// migrations 0022, 0024 and 0028) and reads them all again only when it
/// moved; so a copy is never used once a change is committed, whichever
/// instance or command made it.
#[derive(Default)]
pub struct TreeCache {
    held: Mutex<Option<Arc<Trees>>>,
}

impl TreeCache {
    pub async fn current(&self, conn: &mut PgConnection) -> sqlx::Result<Arc<Trees>> {
        let version: i64 = sqlx::query_scalar("select version from structure_version")
            .fetch_one(&mut *conn)
            .await?;
        self.at(conn, version).await
    }

    /// The trees as of `version`, which the caller has just read from
    /// `structure_version` (in the same snapshot, or before).
    pub async fn at(&self, conn: &mut PgConnection, version: i64) -> sqlx::Result<Arc<Trees>> {
        let held = self
            .held
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if let Some(trees) = held.filter(|trees| trees.version == version) {
            return Ok(trees);
        }
        // Read after the version: a change committed in between makes the
        // next use read the trees again, never keeps an old copy.
        let trees = Arc::new(Trees::new(
            version,
            crate::units::db::tree(&mut *conn, false).await?,
            crate::channels::db::tree(&mut *conn, false).await?,
            crate::settings::db::load(&mut *conn).await?,
            crate::comments::words::load(&mut *conn).await?,
            crate::articles::db::recommended(&mut *conn, RECOMMENDED as i64 + 1).await?,
        ));
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if held.as_ref().is_none_or(|old| old.version <= version) {
            *held = Some(trees.clone());
        }
        Ok(trees)
    }
}

/// The nodes that are neither `id` nor below it: where `id` may move to.
pub fn without_subtree<T: TreeNode>(mut nodes: Vec<T>, id: Uuid) -> Vec<T> {
    let range = subtree_range(&nodes, id);
    nodes.drain(range);
    nodes
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
