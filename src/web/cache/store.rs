//! The pages this instance keeps: a byte budget, least recently used first
//! out, a generation that moves at every announced change, and the renders
//! other requests wait for.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use lru::LruCache;
use tokio::sync::Notify;

use super::slots::Page;
use super::{TTL, hash_of};

pub(super) struct Entry {
    pub(super) page: Page,
    pub(super) generation: u64,
    pub(super) stored: Instant,
}

pub(super) struct Pages {
    pub(super) entries: LruCache<String, Entry>,
    pub(super) bytes: usize,
}

/// Rendered pages of this instance.
pub struct PageCache {
    pub(super) budget: usize,
    pub(super) generation: AtomicU64,
    pub(super) listening: AtomicBool,
    pub(super) pages: Mutex<Pages>,
    /// Pages being rendered: requests for the same page wait for the one
    /// rendering it instead of all rendering it at once.
    pub(super) in_flight: Mutex<HashMap<String, Arc<Notify>>>,
    /// Hashes of the pages asked for once since the set was last emptied.
    /// A page is kept from its second request on (or when others waited
    /// for its first render): readers going through the archive one story
    /// each would otherwise push the pages many read out of the cache.
    pub(super) seen: Mutex<HashSet<u64>>,
}

/// How many pages asked for once are remembered; the set is emptied when
/// full.
pub(super) const SEEN: usize = 100_000;

/// A render others may be waiting for; they are woken when it is dropped.
pub(super) struct Flight<'a> {
    pub(super) cache: &'a PageCache,
    pub(super) key: String,
    pub(super) done: Arc<Notify>,
}

impl Drop for Flight<'_> {
    fn drop(&mut self) {
        self.cache
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.key);
        self.done.notify_waiters();
    }
}

/// How long a request waits for another's render before rendering itself.
pub(super) const WAIT_FOR_RENDER: Duration = Duration::from_secs(5);

impl PageCache {
    /// A cache holding up to `budget` bytes of pages (0 turns caching off).
    pub fn new(budget: usize) -> Self {
        PageCache {
            budget,
            generation: AtomicU64::new(0),
            listening: AtomicBool::new(false),
            pages: Mutex::new(Pages {
                entries: LruCache::unbounded(),
                bytes: 0,
            }),
            in_flight: Mutex::new(HashMap::new()),
            seen: Mutex::new(HashSet::new()),
        }
    }

    /// Becomes the render of `key`, or waits (a while) for the one under
    /// way and returns its page.
    pub(super) async fn render_or_wait(&self, key: &str) -> Result<Flight<'_>, Option<Page>> {
        let waiting = match self.try_render(key) {
            Ok(flight) => return Ok(flight),
            Err(waiting) => waiting,
        };
        // Others want this page too: keep it once rendered.
        self.admit(key);
        let notified = waiting.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if let Some(page) = self.get(key) {
            return Err(Some(page));
        }
        let _ = tokio::time::timeout(WAIT_FOR_RENDER, notified).await;
        Err(self.get(key))
    }

    pub(super) fn enabled(&self) -> bool {
        self.budget > 0 && self.listening.load(Ordering::Acquire)
    }

    /// Drops every page: they belong to an older generation.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        let mut pages = self.pages.lock().unwrap_or_else(PoisonError::into_inner);
        pages.entries.clear();
        pages.bytes = 0;
    }

    pub(super) fn get(&self, key: &str) -> Option<Page> {
        self.lookup(key)
            .filter(|(_, fresh)| *fresh)
            .map(|(page, _)| page)
    }

    /// A page of the current generation, and whether it is younger than
    /// the TTL (an older one may still be served while it is rendered
    /// again: nothing it shows has changed, only its lists may have moved).
    pub(super) fn lookup(&self, key: &str) -> Option<(Page, bool)> {
        if !self.enabled() {
            return None;
        }
        let generation = self.generation.load(Ordering::Acquire);
        let mut pages = self.pages.lock().unwrap_or_else(PoisonError::into_inner);
        let entry = pages.entries.get(key)?;
        (entry.generation == generation).then(|| (entry.page.clone(), entry.stored.elapsed() < TTL))
    }

    /// Becomes the render of `key`, or returns the signal of the render
    /// under way.
    pub(super) fn try_render(&self, key: &str) -> Result<Flight<'_>, Arc<Notify>> {
        let mut flights = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(done) = flights.get(key) {
            return Err(done.clone());
        }
        let done = Arc::new(Notify::new());
        flights.insert(key.to_owned(), done.clone());
        Ok(Flight {
            cache: self,
            key: key.to_owned(),
            done,
        })
    }

    /// Whether `key` was asked for before; remembers it either way.
    pub(super) fn admit(&self, key: &str) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.len() >= SEEN {
            seen.clear();
        }
        !seen.insert(hash_of(key.as_bytes()))
    }

    pub(super) fn put(&self, key: String, page: Page, generation: u64) {
        if !self.enabled() || page.body.len() > self.budget / 4 {
            return;
        }
        let mut pages = self.pages.lock().unwrap_or_else(PoisonError::into_inner);
        pages.bytes += page.body.len();
        let entry = Entry {
            page,
            generation,
            stored: Instant::now(),
        };
        if let Some((_, old)) = pages.entries.push(key, entry) {
            pages.bytes -= old.page.body.len();
        }
        while pages.bytes > self.budget {
            match pages.entries.pop_lru() {
                Some((_, old)) => pages.bytes -= old.page.body.len(),
                None => break,
            }
        }
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.pages
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entries
            .len()
    }
}
