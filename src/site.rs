//! The copy of the site's structure each instance keeps in memory: both
//! trees, the site's settings, the compiled sensitive-word list and the
//! recommended stories, read again only when `structure_version` moves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use crate::ids::{ChannelId, UnitId};
use sqlx::PgConnection;

use crate::articles::parts::RECOMMENDED;
use crate::articles::parts::TitleLink;
use crate::channels::db::ChannelNode;
use crate::channels::{Crumb, NavChannel};
use crate::comments::words::WordList;
use crate::desk::proof::ProofLists;
use crate::settings::SiteSettings;
use crate::tree::{TreeNode, option, options, subtree_range};
use crate::units::UnitNode;
use crate::web::variant::Conversions;

/// Both trees in tree order (without counts), the site's settings and its
/// compiled sensitive-word list, with the `structure_version` read before
/// them: they are at least as new as the version says.
pub struct Trees {
    pub version: i64,
    pub units: Vec<UnitNode>,
    pub channels: Vec<ChannelNode>,
    unit_positions: HashMap<UnitId, usize>,
    channel_positions: HashMap<ChannelId, usize>,
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
    /// The site's own 简 → 繁 conversions (migration 0040).
    pub conversions: Arc<Conversions>,
    /// The proofreading lists, compiled (migration 0055).
    pub proof: Arc<ProofLists>,
}

/// The lists read with the trees at one version.
pub struct Lists {
    pub words: WordList,
    pub recommended: Vec<TitleLink>,
    pub conversions: Conversions,
    pub proof: ProofLists,
}

impl Trees {
    pub fn new(
        version: i64,
        units: Vec<UnitNode>,
        channels: Vec<ChannelNode>,
        settings: SiteSettings,
        lists: Lists,
    ) -> Self {
        let Lists {
            words,
            recommended,
            conversions,
            proof,
        } = lists;
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
            conversions: Arc::new(conversions),
            proof: Arc::new(proof),
        }
    }

    pub fn unit(&self, id: UnitId) -> Option<&UnitNode> {
        self.unit_positions.get(&id).map(|&at| &self.units[at])
    }

    pub fn channel(&self, id: ChannelId) -> Option<&ChannelNode> {
        self.channel_positions
            .get(&id)
            .map(|&at| &self.channels[at])
    }

    /// The `<option>`s of the units `id` and below (all units when `None`),
    /// with `selected` (an id as the form sent it) selected.
    pub fn unit_options(&self, root: Option<UnitId>, selected: &str) -> String {
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

    /// The active top-level channels in tree order, for the navigation bar.
    pub fn navigation(&self) -> Vec<NavChannel> {
        self.active_under(None)
    }

    /// The active direct children of a channel in tree order, for the
    /// channel page's sub-navigation.
    pub fn children(&self, parent_id: ChannelId) -> Vec<NavChannel> {
        self.active_under(Some(parent_id))
    }

    fn active_under(&self, parent_id: Option<ChannelId>) -> Vec<NavChannel> {
        self.channels
            .iter()
            .filter(|channel| channel.parent_id == parent_id && channel.active)
            .map(|channel| NavChannel {
                name: channel.name.clone(),
                slug: channel.slug.clone(),
            })
            .collect()
    }

    /// The path from the top-level channel down to `channel_id`.
    pub fn breadcrumb(&self, channel_id: ChannelId) -> Vec<Crumb> {
        let mut path = Vec::new();
        let mut next = self.channel(channel_id);
        while let Some(channel) = next.filter(|_| path.len() <= 16) {
            path.push(Crumb {
                name: channel.name.clone(),
                slug: channel.slug.clone(),
            });
            next = channel.parent_id.and_then(|parent| self.channel(parent));
        }
        path.reverse();
        path
    }
}

fn positions<T: TreeNode>(nodes: &[T]) -> HashMap<T::Id, usize> {
    nodes
        .iter()
        .enumerate()
        .map(|(at, node)| (node.node_id(), at))
        .collect()
}

/// The trees as this instance last read them. Each use asks the database
/// for the current version (one row, moved by every change to units,
/// channels, settings, sensitive words, conversions or proofreading lists
/// in the same transaction, see migrations 0022, 0024, 0028, 0040 and 0055) and reads them all again only when it
/// moved; so a copy is never used once a change is committed, whichever
/// instance or command made it.
#[derive(Default)]
pub struct TreeCache {
    held: Mutex<Option<Arc<Trees>>>,
}

impl TreeCache {
    pub async fn current(&self, conn: &mut PgConnection) -> sqlx::Result<Arc<Trees>> {
        let version: i64 = sqlx::query_scalar!("select version from structure_version")
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
            Lists {
                words: crate::comments::words::load(&mut *conn).await?,
                recommended: crate::articles::parts::recommended(
                    &mut *conn,
                    RECOMMENDED as i64 + 1,
                )
                .await?,
                conversions: crate::settings::db::conversions(&mut *conn).await?,
                proof: crate::desk::proof::load(&mut *conn).await?,
            },
        ));
        let mut held = self.held.lock().unwrap_or_else(PoisonError::into_inner);
        if held.as_ref().is_none_or(|old| old.version <= version) {
            *held = Some(trees.clone());
        }
        Ok(trees)
    }
}
