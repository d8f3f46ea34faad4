//! The search index each node keeps on disk (tantivy), so that a search
//! costs a lookup in posting lists rather than a database scan of every
//! match. PostgreSQL stays the truth: the index is built from
//! `search_index` (its words are the stored search vectors, cut once by
//! jieba when the story was saved, so the index finds exactly what the
//! database's own search finds) and follows `search_feed` (migration 0050).
//!
//! A search uses the index only when the index has applied every change the
//! search's own snapshot of the database can see; else it is answered from
//! the database as before (`page`). So a story published a moment ago is
//! never missing from a search, and a node whose index is behind, being
//! built or broken still answers.
//!
//! Nodes sharing one data folder share one index: the process that holds
//! the index's writer lock keeps it, the others read it and take the lock
//! over when that process stops.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use tantivy::collector::{Collector, TopDocs};
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery, TermSetQuery};
use tantivy::schema::{
    FAST, Field, INDEXED, IndexRecordOption, STRING, Schema, TextFieldIndexing, TextOptions,
};
use tantivy::{DocAddress, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use super::Count;
use crate::ids::{ArticleId, ChannelId, UnitId};

/// The index's fields.
#[derive(Clone, Copy)]
struct Fields {
    id: Field,
    number: Field,
    /// Publication time in microseconds: with the number, the order of
    /// newest-first pages and their keyset, as in the database.
    published: Field,
    channel: Field,
    unit: Field,
    /// Every word of the story (title, summary, body, names): what a search
    /// matches and counts, one posting list per word.
    all: Field,
    /// The title's words again, which weigh more in a ranking.
    title: Field,
    /// The day (UTC) of publication: the short posting lists in which a
    /// frequent word's newest matches are found, and a count's sample.
    day: Field,
}

fn schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let words = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("whitespace")
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    let fields = Fields {
        id: builder.add_text_field("id", STRING),
        number: builder.add_u64_field("number", FAST | INDEXED),
        published: builder.add_i64_field("published", FAST | INDEXED),
        channel: builder.add_text_field("channel", STRING),
        unit: builder.add_text_field("unit", STRING),
        all: builder.add_text_field("all", words.clone()),
        title: builder.add_text_field("title", words),
        day: builder.add_i64_field("day", INDEXED),
    };
    (builder.build(), fields)
}

/// A moment as the index keeps it.
fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// The day a moment falls in, counted from 1970-01-01 (UTC).
fn day_of(micros: i64) -> i64 {
    micros.div_euclid(86_400_000_000)
}

/// The index, with whether this process keeps it.
pub struct Engine {
    folder: PathBuf,
    index: Index,
    reader: IndexReader,
    fields: Fields,
    writer: std::sync::Mutex<Option<IndexWriter<TantivyDocument>>>,
    /// Every change of a transaction below this xid is applied (-1: the
    /// index is not built yet).
    checkpoint: AtomicI64,
    /// `newsdesk_searches_total{by="index"|"database"}`: how searches were
    /// answered.
    pub searches: prometheus::IntCounterVec,
}

/// The handle handlers get: none when the index could not be opened.
pub type Shared = Option<Arc<Engine>>;

/// What the payload of each commit says: the checkpoint reached.
fn payload(checkpoint: i64) -> String {
    format!("{{\"checkpoint\":{checkpoint}}}")
}

fn checkpoint_of(payload: Option<&str>) -> i64 {
    payload
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
        .and_then(|value| value["checkpoint"].as_i64())
        .unwrap_or(-1)
}

impl Engine {
    /// Opens (or creates) the index in `folder`; an index of another
    /// schema, or one that cannot be read, is set aside and made anew.
    pub fn open(folder: &Path) -> anyhow::Result<Arc<Engine>> {
        std::fs::create_dir_all(folder)?;
        let (schema, fields) = schema();
        let index = match open_or_create(folder, schema.clone()) {
            Ok(index) => index,
            Err(error) => {
                tracing::warn!(%error, folder = %folder.display(), "search index unreadable: building it again");
                std::fs::remove_dir_all(folder)?;
                std::fs::create_dir_all(folder)?;
                open_or_create(folder, schema)?
            }
        };
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let engine = Arc::new(Engine {
            folder: folder.to_owned(),
            index,
            reader,
            fields,
            writer: std::sync::Mutex::new(None),
            checkpoint: AtomicI64::new(-1),
            searches: prometheus::IntCounterVec::new(
                prometheus::Opts::new(
                    "newsdesk_searches_total",
                    "Searches, by whether the search index or the database answered",
                ),
                &["by"],
            )?,
        });
        engine.refresh()?;
        Ok(engine)
    }

    /// Reads the index as last committed, by this process or another.
    fn refresh(&self) -> anyhow::Result<()> {
        // The checkpoint first, then the segments: what is searched is at
        // least as new as the checkpoint says.
        let checkpoint = checkpoint_of(self.index.load_metas()?.payload.as_deref());
        self.reader.reload()?;
        self.checkpoint.store(checkpoint, Ordering::SeqCst);
        Ok(())
    }

    /// Takes the writer lock when no other process holds it.
    fn try_write(&self) -> bool {
        let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        if writer.is_some() {
            return true;
        }
        match self.index.writer_with_num_threads(1, 64 * 1024 * 1024) {
            Ok(taken) => {
                *writer = Some(taken);
                true
            }
            Err(tantivy::TantivyError::LockFailure(..)) => false,
            Err(error) => {
                tracing::warn!(%error, "search index writer");
                false
            }
        }
    }

    /// Whether the index has applied every change `conn`'s snapshot sees.
    pub async fn is_current(&self, conn: &mut PgConnection) -> sqlx::Result<bool> {
        let checkpoint = self.checkpoint.load(Ordering::SeqCst);
        if checkpoint < 0 {
            return Ok(false);
        }
        let behind: bool = sqlx::query_scalar(
            "select exists (select 1 from search_feed where xid >= $1::bigint::text::xid8)
                 or coalesce((select xid >= $1::bigint::text::xid8 from search_feed_trimmed), false)",
        )
        .bind(checkpoint)
        .fetch_one(conn)
        .await?;
        Ok(!behind)
    }

    /// Keeps the index: built when it has never been, then each change of
    /// the feed applied, every `pause`; a process that cannot take the
    /// writer reads what the one that can commits.
    pub async fn run(self: Arc<Engine>, pool: PgPool, pause: Duration) {
        let mut last_trim = std::time::Instant::now() - Duration::from_secs(3600);
        loop {
            let outcome = async {
                if !self.try_write() {
                    let engine = self.clone();
                    return tokio::task::spawn_blocking(move || engine.refresh()).await?;
                }
                let checkpoint = self.checkpoint.load(Ordering::SeqCst);
                if checkpoint < 0 {
                    self.clone().build(&pool).await?;
                } else {
                    self.clone().apply(&pool, checkpoint).await?;
                }
                if last_trim.elapsed() > Duration::from_secs(3600) {
                    trim(&pool).await?;
                    last_trim = std::time::Instant::now();
                }
                anyhow::Ok(())
            }
            .await;
            if let Err(error) = outcome {
                tracing::warn!(%error, "search index not kept up to date");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// Builds the index anew from `search_index`, as one snapshot: the
    /// changes that snapshot may have missed are applied after.
    async fn build(self: Arc<Engine>, pool: &PgPool) -> anyhow::Result<()> {
        let started = std::time::Instant::now();
        let mut tx = pool.begin().await?;
        sqlx::query("set transaction isolation level repeatable read read only")
            .execute(&mut *tx)
            .await?;
        let checkpoint: i64 =
            sqlx::query_scalar("select pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
                .fetch_one(&mut *tx)
                .await?;
        {
            let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(writer) = writer.as_ref() {
                writer.delete_all_documents()?;
            }
        }
        let mut rows = sqlx::query_as::<_, Row>(ROW_SQL_ALL).fetch(&mut *tx);
        let mut batch = Vec::with_capacity(1000);
        let mut added = 0usize;
        use futures_util::TryStreamExt;
        while let Some(row) = rows.try_next().await? {
            batch.push(row);
            if batch.len() == 1000 {
                added += batch.len();
                self.add(std::mem::take(&mut batch))?;
            }
        }
        added += batch.len();
        self.add(batch)?;
        drop(rows);
        tx.commit().await?;
        self.clone().commit(checkpoint).await?;
        tracing::info!(
            stories = added,
            seconds = started.elapsed().as_secs_f64(),
            "search index built"
        );
        Ok(())
    }

    /// Applies the changes of the transactions that finished since
    /// `checkpoint`.
    async fn apply(self: Arc<Engine>, pool: &PgPool, checkpoint: i64) -> anyhow::Result<()> {
        let mut tx = pool.begin().await?;
        let (horizon, trimmed): (i64, Option<i64>) = sqlx::query_as(
            "select pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
                    (select xid::text::bigint from search_feed_trimmed)",
        )
        .fetch_one(&mut *tx)
        .await?;
        if trimmed.is_some_and(|trimmed| checkpoint <= trimmed) {
            drop(tx);
            return self.build(pool).await;
        }
        if horizon <= checkpoint {
            return Ok(());
        }
        let changed: Vec<ArticleId> = sqlx::query_scalar(
            "select distinct article_id from search_feed
             where xid >= $1::bigint::text::xid8 and xid < $2::bigint::text::xid8",
        )
        .bind(checkpoint)
        .bind(horizon)
        .fetch_all(&mut *tx)
        .await?;
        if changed.is_empty() {
            drop(tx);
            // Nothing to write: the checkpoint moves without a commit of
            // the index (the next commit records it).
            self.checkpoint.store(horizon, Ordering::SeqCst);
            return Ok(());
        }
        let rows = sqlx::query_as::<_, Row>(ROW_SQL_SOME)
            .bind(&changed)
            .fetch_all(&mut *tx)
            .await?;
        tx.commit().await?;
        {
            let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
            let writer = writer
                .as_ref()
                .ok_or_else(|| anyhow::anyhow!("no writer"))?;
            for id in &changed {
                writer.delete_term(Term::from_field_text(self.fields.id, &id.to_string()));
            }
        }
        self.add(rows)?;
        self.commit(horizon).await
    }

    fn add(&self, rows: Vec<Row>) -> anyhow::Result<()> {
        let writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
        let writer = writer
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no writer"))?;
        for row in rows {
            writer.add_document(self.document(&row))?;
        }
        Ok(())
    }

    async fn commit(self: Arc<Engine>, checkpoint: i64) -> anyhow::Result<()> {
        tokio::task::spawn_blocking(move || {
            {
                let mut writer = self.writer.lock().unwrap_or_else(|e| e.into_inner());
                let writer = writer
                    .as_mut()
                    .ok_or_else(|| anyhow::anyhow!("no writer"))?;
                let mut prepared = writer.prepare_commit()?;
                prepared.set_payload(&payload(checkpoint));
                prepared.commit()?;
            }
            self.reader.reload()?;
            self.checkpoint.store(checkpoint, Ordering::SeqCst);
            anyhow::Ok(())
        })
        .await?
    }

    fn document(&self, row: &Row) -> TantivyDocument {
        let f = self.fields;
        let mut doc = TantivyDocument::default();
        doc.add_text(f.id, row.article_id.to_string());
        doc.add_u64(f.number, row.number.max(0) as u64);
        doc.add_i64(f.published, micros(row.published_at));
        doc.add_i64(f.day, day_of(micros(row.published_at)));
        doc.add_text(f.channel, row.channel_id.to_string());
        doc.add_text(f.unit, row.unit_id.to_string());
        let [title, body, names] = weighted_words(&row.vector);
        doc.add_text(f.all, [title.as_str(), &body, &names].join(" "));
        doc.add_text(f.title, title);
        doc
    }

    /// One page of a search: the stories' numbers in order (one more than
    /// `limit` when another page follows) and how many match in all.
    ///
    /// Matching and counting read one posting list per word and compute no
    /// score; a ranking scores only the newest `RANKED` matches. A search
    /// expected to match many stories finds its newest matches among the
    /// last days' stories and estimates its count from a sample of days
    /// (`Plan`), so a frequent word costs about what a rare one does.
    pub fn search(&self, search: &Search<'_>) -> anyhow::Result<(Vec<i64>, Count)> {
        self.search_with(search, Plan::DEFAULT)
    }

    fn search_with(&self, search: &Search<'_>, plan: Plan) -> anyhow::Result<(Vec<i64>, Count)> {
        let f = self.fields;
        let term = |field: Field, word: &str| -> Box<dyn Query> {
            Box::new(TermQuery::new(
                Term::from_field_text(field, word),
                IndexRecordOption::WithFreqs,
            ))
        };
        // Each word (in the title, the body or the names), or the run typed whole.
        let matching = |word: &dyn Fn(&str) -> Box<dyn Query>| -> Box<dyn Query> {
            let all: Box<dyn Query> = match search.words {
                [one] => word(one),
                words => Box::new(BooleanQuery::new(
                    words.iter().map(|w| (Occur::Must, word(w))).collect(),
                )),
            };
            match search.whole {
                Some(run) => Box::new(BooleanQuery::new(vec![
                    (Occur::Should, all),
                    (Occur::Should, word(run)),
                ])),
                None => all,
            }
        };
        // The channels and units, with the matching words or the ranking.
        let mut filters: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(channels) = search.channels {
            let terms = channels
                .iter()
                .map(|id| Term::from_field_text(f.channel, &id.to_string()));
            filters.push((Occur::Must, Box::new(TermSetQuery::new(terms))));
        }
        if let Some(units) = search.units {
            let terms = units
                .iter()
                .map(|id| Term::from_field_text(f.unit, &id.to_string()));
            filters.push((Occur::Must, Box::new(TermSetQuery::new(terms))));
        }
        let with_filters = |words: Box<dyn Query>| -> Vec<(Occur, Box<dyn Query>)> {
            std::iter::once((Occur::Must, words))
                .chain(filters.iter().map(|(occur, q)| (*occur, q.box_clone())))
                .collect()
        };
        // What is counted: every match in the dates, whichever page is
        // shown. The dates and the keyset are kept by the collectors, which
        // read each match's publication time anyway (`Window`); a range of a
        // few weeks also bounds what is read to its days' stories.
        let counted = BooleanQuery::new(with_filters(matching(&|w| term(f.all, w))));
        let window = Window::of(search);
        let searcher = self.reader.searcher();
        let wanted = if search.relevance {
            RANKED
        } else {
            search.offset + search.limit
        };
        let Some(days) = Days::of(&searcher, search)? else {
            return Ok((Vec::new(), Count::Exact(0)));
        };
        let dated = (search.from.is_some() || search.to.is_some()) && days.range() <= NARROW_DAYS;
        let query = if dated {
            BooleanQuery::new(vec![
                (Occur::Must, Box::new(counted.clone())),
                (Occur::Must, self.days(days.oldest, days.newest)),
            ])
        } else {
            counted.clone()
        };
        let expected = self.expected(&searcher, search, &days)?;
        let walked = match expected >= plan.walk_from {
            true => self.walk(&searcher, &counted, window, wanted, expected, &days)?,
            false => None,
        };
        let was_walked = walked.is_some();
        let newest = match walked {
            Some(walked) => walked,
            None => newest(&searcher, &query, wanted, window)?,
        };
        let simple = search.words.len() == 1
            && search.whole.is_none()
            && search.channels.is_none()
            && search.units.is_none()
            && search.from.is_none()
            && search.to.is_none();
        let count = if simple {
            Count::Exact(counted.count(&searcher)? as i64)
        } else if expected < plan.estimate_from {
            Count::Exact(window.count(&searcher, &query)? as i64)
        } else {
            self.sampled(&searcher, &counted, window, expected, &days, plan)?
        };
        let numbers: Vec<u64> = if search.relevance && newest.len() > 1 {
            // Ranked among the newest matches, as the database ranks: the
            // title's words weigh more.
            // The candidates are the matches from the oldest of them on: a
            // walk found them in the last days' stories, and reads those
            // days' again.
            let floor = newest[newest.len() - 1].0;
            let mut clauses = with_filters(matching(&|w| {
                Box::new(BooleanQuery::new(vec![
                    (Occur::Should, term(f.all, w)),
                    (
                        Occur::Should,
                        Box::new(BoostQuery::new(term(f.title, w), 2.0)),
                    ),
                ]))
            }));
            if was_walked {
                clauses.push((Occur::Must, self.days(day_of(floor.at), days.newest_shown)));
            } else if dated {
                clauses.push((Occur::Must, self.days(days.oldest, days.newest)));
            }
            let scored = BooleanQuery::new(clauses);
            let mut ranked = searcher.search(&scored, &scored_newest(RANKED, window, floor))?;
            ranked.retain(|(key, _)| key.at != OUTSIDE.at);
            ranked.sort_by(|(a, _), (b, _)| {
                b.score
                    .total_cmp(&a.score)
                    .then(b.at.cmp(&a.at))
                    .then(b.number.cmp(&a.number))
            });
            ranked.into_iter().map(|(key, _)| key.number).collect()
        } else {
            newest.into_iter().map(|(key, _)| key.number).collect()
        };
        let numbers = numbers
            .into_iter()
            .skip(search.offset)
            .take(search.limit)
            .map(|number| number as i64)
            .collect();
        Ok((numbers, count))
    }

    /// How many stories a search is expected to match, from the posting
    /// lists' lengths alone: its rarest word's (or the run's), times the
    /// share of stories its channels, units and dates hold.
    fn expected(
        &self,
        searcher: &tantivy::Searcher,
        search: &Search<'_>,
        days: &Days,
    ) -> anyhow::Result<f64> {
        let f = self.fields;
        let stories = searcher.num_docs() as f64;
        let freq = |term: Term| searcher.doc_freq(&term).map(|n| n as f64);
        let mut words = f64::MAX;
        for word in search.words {
            words = words.min(freq(Term::from_field_text(f.all, word))?);
        }
        if search.words.is_empty() {
            words = 0.0;
        }
        if let Some(run) = search.whole {
            words += freq(Term::from_field_text(f.all, run))?;
        }
        let mut share = days.share();
        for (field, ids) in [
            (
                f.channel,
                search
                    .channels
                    .map(|c| c.iter().map(|id| id.to_string()).collect::<Vec<_>>()),
            ),
            (
                f.unit,
                search
                    .units
                    .map(|u| u.iter().map(|id| id.to_string()).collect()),
            ),
        ] {
            if let Some(ids) = ids {
                let mut held = 0.0;
                for id in &ids {
                    held += freq(Term::from_field_text(field, id))?;
                }
                share *= (held / stories.max(1.0)).min(1.0);
            }
        }
        Ok(words.min(stories) * share)
    }

    /// The `wanted` newest matches of `query`, read from the stories of
    /// the last days of its range, the span widened fourfold until it holds
    /// them; `None` when three spans did not (the matches are fewer than
    /// expected: reading them all is then the cheaper way).
    fn walk(
        &self,
        searcher: &tantivy::Searcher,
        query: &BooleanQuery,
        window: Window,
        wanted: usize,
        expected: f64,
        days: &Days,
    ) -> anyhow::Result<Option<Vec<(Newest, DocAddress)>>> {
        let per_day = expected / days.range() as f64;
        // Twice the days that should hold the matches wanted.
        let mut span =
            ((2.0 * wanted as f64 / per_day.max(f64::MIN_POSITIVE)).ceil() as i64).max(1);
        let mut found: Vec<(Newest, DocAddress)> = Vec::new();
        let mut last = days.newest_shown;
        for _ in 0..3 {
            let first = (last - span + 1).max(days.oldest);
            let in_span = BooleanQuery::new(vec![
                (Occur::Must, Box::new(query.clone())),
                (Occur::Must, self.days(first, last)),
            ]);
            found.extend(newest(searcher, &in_span, wanted - found.len(), window)?);
            if found.len() >= wanted || first <= days.oldest {
                return Ok(Some(found));
            }
            last = first - 1;
            span *= 4;
        }
        Ok(None)
    }

    /// The count of `counted` estimated from its matches on the last days
    /// of its range (as many days as should hold `plan.sample` matches),
    /// scaled by the stories of the whole range; counted after all when the
    /// sample holds too few to scale.
    fn sampled(
        &self,
        searcher: &tantivy::Searcher,
        counted: &BooleanQuery,
        window: Window,
        expected: f64,
        days: &Days,
        plan: Plan,
    ) -> anyhow::Result<Count> {
        let stories = searcher.num_docs() as f64 * days.share();
        let wanted = plan.sample * stories / expected.max(1.0);
        let mut held = 0.0;
        let mut first = days.newest + 1;
        while first > days.oldest && held < wanted {
            first -= 1;
            held += searcher.doc_freq(&Term::from_field_i64(self.fields.day, first))? as f64;
        }
        let sample = BooleanQuery::new(vec![
            (Occur::Must, Box::new(counted.clone())),
            (Occur::Must, self.days(first, days.newest)),
        ]);
        let in_sample = window.count(searcher, &sample)? as i64;
        if first <= days.oldest {
            return Ok(Count::Exact(in_sample));
        }
        if (in_sample as f64) < plan.sample / 10.0 {
            return Ok(Count::Exact(window.count(searcher, counted)? as i64));
        }
        let estimate = in_sample as f64 * stories / held.max(1.0);
        Ok(Count::About(
            crate::search::rounded(estimate).max(in_sample),
        ))
    }

    /// The stories published on the days `first` to `last`: a few days'
    /// posting lists read side by side, more gathered in a set of the
    /// index's size.
    fn days(&self, first: i64, last: i64) -> Box<dyn Query> {
        let term = |day| Term::from_field_i64(self.fields.day, day);
        if last - first < 32 {
            Box::new(BooleanQuery::union(
                (first..=last)
                    .map(|day| -> Box<dyn Query> {
                        Box::new(TermQuery::new(term(day), IndexRecordOption::Basic))
                    })
                    .collect(),
            ))
        } else {
            Box::new(TermSetQuery::new((first..=last).map(term)))
        }
    }

    /// Where the index lives.
    pub fn folder(&self) -> &Path {
        &self.folder
    }
}

fn open_or_create(folder: &Path, schema: Schema) -> anyhow::Result<Index> {
    let directory = tantivy::directory::MmapDirectory::open(folder)?;
    Ok(Index::open_or_create(directory, schema)?)
}

/// The `limit` newest matches of `query` in `window`, as the database
/// orders them: by (published, number), read from the fast fields; no
/// score computed.
fn newest(
    searcher: &tantivy::Searcher,
    query: &dyn Query,
    limit: usize,
    window: Window,
) -> tantivy::Result<Vec<(Newest, DocAddress)>> {
    let collector =
        TopDocs::with_limit(limit.max(1)).custom_score(move |segment: &tantivy::SegmentReader| {
            let key = keys(segment);
            move |doc: tantivy::DocId| {
                let key = key(doc, 0.0);
                // Outside the window: below every match in it, then dropped.
                if window.admits(key) { key } else { OUTSIDE }
            }
        });
    let mut found = searcher.search(query, &collector)?;
    found.retain(|(key, _)| key.at != OUTSIDE.at);
    Ok(found)
}

/// The key of a match outside a search's window.
const OUTSIDE: Newest = Newest {
    at: i64::MIN,
    number: 0,
    score: 0.0,
};

/// The dates of a search and the keyset of its page, in the index's
/// microseconds: kept by the collectors rather than by range queries,
/// which would read every story's publication time in the index.
#[derive(Clone, Copy)]
struct Window {
    /// Published at or after.
    from: i64,
    /// Published before.
    to: i64,
    /// Newest first: below this (published, number).
    before: Option<(i64, u64)>,
}

impl Window {
    fn of(search: &Search<'_>) -> Window {
        Window {
            from: search.from.map_or(i64::MIN + 1, micros),
            to: search.to.map_or(i64::MAX, micros),
            before: search
                .before
                .map(|(at, number)| (micros(at), number.max(0) as u64)),
        }
    }

    fn admits(&self, key: Newest) -> bool {
        key.at >= self.from
            && key.at < self.to
            && self
                .before
                .is_none_or(|before| (key.at, key.number) < before)
    }

    /// How many matches of `query` are in the dates: counted by the
    /// query alone without dates.
    fn count(&self, searcher: &tantivy::Searcher, query: &dyn Query) -> tantivy::Result<usize> {
        let (from, to) = (self.from, self.to);
        if from == i64::MIN + 1 && to == i64::MAX {
            return query.count(searcher);
        }
        searcher.search(
            query,
            &tantivy::collector::FilterCollector::new(
                "published".to_owned(),
                move |at: i64| at >= from && at < to,
                tantivy::collector::Count,
            ),
        )
    }
}

/// The `limit` newest matches in `window` from `floor` on, each with its
/// score.
fn scored_newest(
    limit: usize,
    window: Window,
    floor: Newest,
) -> impl Collector<Fruit = Vec<(Newest, DocAddress)>> {
    TopDocs::with_limit(limit.max(1)).tweak_score(move |segment: &tantivy::SegmentReader| {
        let key = keys(segment);
        move |doc: tantivy::DocId, score: tantivy::Score| {
            let key = key(doc, score);
            if window.admits(key) && (key.at, key.number) >= (floor.at, floor.number) {
                key
            } else {
                OUTSIDE
            }
        }
    })
}

/// A segment's reader of each document's (published, number).
fn keys(
    segment: &tantivy::SegmentReader,
) -> impl Fn(tantivy::DocId, tantivy::Score) -> Newest + use<> {
    let fast = segment.fast_fields();
    let published = fast.i64("published").ok();
    let number = fast.u64("number").ok();
    move |doc, score| Newest {
        at: published
            .as_ref()
            .and_then(|c| c.first(doc))
            .unwrap_or(i64::MIN),
        number: number.as_ref().and_then(|c| c.first(doc)).unwrap_or(0),
        score,
    }
}

/// Where a search changes how it reads the index.
#[derive(Clone, Copy)]
struct Plan {
    /// Matches expected from which the newest are looked for day by day.
    walk_from: f64,
    /// Matches expected from which the count is estimated from a sample.
    estimate_from: f64,
    /// Matches a count's sample is sized to hold.
    sample: f64,
}

impl Plan {
    /// Reading every match costs about a tenth of a microsecond each: up to
    /// ten thousand it is cheaper than a walk's few queries, and a count of
    /// fifty thousand costs a few milliseconds.
    const DEFAULT: Plan = Plan {
        walk_from: 10_000.0,
        estimate_from: 50_000.0,
        sample: 2_000.0,
    };
}

/// The days a search reads, as days of publication (`day_of`).
struct Days {
    /// The index's first and last days.
    first: i64,
    last: i64,
    /// The search's range within them.
    oldest: i64,
    newest: i64,
    /// The last day a page's stories can be on (the keyset's day).
    newest_shown: i64,
}

impl Days {
    /// The days of `search` in the index; `None` when none of its range
    /// holds a story.
    fn of(searcher: &tantivy::Searcher, search: &Search<'_>) -> anyhow::Result<Option<Days>> {
        let mut span: Option<(i64, i64)> = None;
        for segment in searcher.segment_readers() {
            if segment.num_docs() == 0 {
                continue;
            }
            let column = segment.fast_fields().i64("published")?;
            let (first, last) = (day_of(column.min_value()), day_of(column.max_value()));
            span = Some(span.map_or((first, last), |(a, b)| (a.min(first), b.max(last))));
        }
        let Some((first, last)) = span else {
            return Ok(None);
        };
        let oldest = search
            .from
            .map_or(first, |at| day_of(micros(at)).max(first));
        let newest = search
            .to
            .map_or(last, |at| day_of(micros(at) - 1).min(last));
        if newest < oldest {
            return Ok(None);
        }
        let newest_shown = search
            .before
            .map_or(newest, |(at, _)| day_of(micros(at)).min(newest));
        Ok(Some(Days {
            first,
            last,
            oldest,
            newest,
            newest_shown,
        }))
    }

    /// How many days the search's range spans.
    fn range(&self) -> i64 {
        self.newest - self.oldest + 1
    }

    /// The share of the index's days the search's range spans.
    fn share(&self) -> f64 {
        self.range() as f64 / (self.last - self.first + 1) as f64
    }
}

/// A date range of at most this many days reads only its days' stories.
const NARROW_DAYS: i64 = 62;

/// Relevance ranks at most this many matches, the newest ones.
pub const RANKED: usize = 300;

/// A match's place newest first, with its score kept for ranking.
#[derive(Clone, Copy)]
struct Newest {
    at: i64,
    number: u64,
    score: tantivy::Score,
}

impl PartialEq for Newest {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.number) == (other.at, other.number)
    }
}

impl PartialOrd for Newest {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some((self.at, self.number).cmp(&(other.at, other.number)))
    }
}

/// A search as the index answers it.
#[derive(Clone, Copy)]
pub struct Search<'a> {
    /// Each must occur (in the title, the body or the names)...
    pub words: &'a [String],
    /// ...or this one run of letters, the query typed whole.
    pub whole: Option<&'a str>,
    pub channels: Option<&'a [ChannelId]>,
    pub units: Option<&'a [UnitId]>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Newest first: after this story (its publication time and number),
    /// the last of the page before.
    pub before: Option<(DateTime<Utc>, i64)>,
    pub relevance: bool,
    pub offset: usize,
    pub limit: usize,
}

#[derive(sqlx::FromRow)]
struct Row {
    article_id: ArticleId,
    number: i64,
    published_at: DateTime<Utc>,
    channel_id: ChannelId,
    unit_id: UnitId,
    vector: String,
}

const ROW_SQL_ALL: &str = "select article_id, number, published_at, channel_id, unit_id,
        search_vector::text as vector from search_index";
const ROW_SQL_SOME: &str = "select article_id, number, published_at, channel_id, unit_id,
        search_vector::text as vector from search_index where article_id = any($1)";

/// The words of a stored search vector (`'电网':1A,7B 'word':3`) by the
/// field they weigh in: A the title, B (and unweighted D) the summary and
/// body, C the names; each word once per position, as often as it occurs.
pub fn weighted_words(vector: &str) -> [String; 3] {
    let mut fields = [String::new(), String::new(), String::new()];
    for entry in vector.split_whitespace() {
        let Some(rest) = entry.strip_prefix('\'') else {
            continue;
        };
        let Some((word, positions)) = rest.split_once("':") else {
            // A lexeme stored without positions.
            if let Some(word) = rest.strip_suffix('\'') {
                push(&mut fields[1], word);
            }
            continue;
        };
        for position in positions.split(',') {
            let field = match position.chars().last() {
                Some('A') => 0,
                Some('C') => 2,
                _ => 1,
            };
            push(&mut fields[field], word);
        }
    }
    fields
}

fn push(text: &mut String, word: &str) {
    if !text.is_empty() {
        text.push(' ');
    }
    text.push_str(word);
}

/// Removes the feed's rows older than a week, remembering the newest
/// transaction removed (an index older than that is built again).
pub async fn trim(pool: &PgPool) -> sqlx::Result<u64> {
    let mut tx = pool.begin().await?;
    let newest: Option<String> = sqlx::query_scalar(
        "with gone as (delete from search_feed where at < now() - interval '7 days' returning xid)
         select max(xid::text::bigint)::text from gone",
    )
    .fetch_one(&mut *tx)
    .await?;
    let mut removed = 0;
    if let Some(newest) = newest {
        sqlx::query(
            "insert into search_feed_trimmed (xid) values ($1::xid8)
             on conflict (only_row) do update set xid = greatest(search_feed_trimmed.xid, excluded.xid)",
        )
        .bind(&newest)
        .execute(&mut *tx)
        .await?;
        removed = 1;
    }
    tx.commit().await?;
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_vector_gives_each_field_its_words() {
        let [title, body, names] = weighted_words("'电网':1A,5B,6B '李明':9C 'x':3 '建设':2A");
        assert_eq!(title, "电网 建设");
        assert_eq!(body, "电网 电网 x");
        assert_eq!(names, "李明");
    }

    /// A story of the test archive, as the oracle sees it.
    struct Story {
        number: i64,
        at: DateTime<Utc>,
        channel: ChannelId,
        unit: UnitId,
        words: Vec<&'static str>,
    }

    /// How many in a thousand stories hold each word.
    const WORDS: &[(&str, u64)] = &[
        ("电网", 500),
        ("检修", 200),
        ("光伏", 50),
        ("特高压", 10),
        ("无人机", 2),
    ];

    /// An index of 24,000 stories over 400 days (with a few stories
    /// published again, so that segments hold deleted documents), and the
    /// stories as they stand.
    async fn archive(folder: &Path) -> (Arc<Engine>, Vec<Story>) {
        let engine = Engine::open(folder).unwrap();
        assert!(engine.try_write());
        let channels: Vec<ChannelId> = (0..5).map(|_| ChannelId::new()).collect();
        let units: Vec<UnitId> = (0..3).map(|_| UnitId::new()).collect();
        let start = DateTime::parse_from_rfc3339("2025-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut seed = 7u64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            seed >> 33
        };
        let mut stories = Vec::new();
        let mut rows = Vec::new();
        let mut ids = Vec::new();
        for number in 1..=24_000i64 {
            // Several stories share some moments, as the keyset allows.
            let at = start + chrono::Duration::seconds((number / 2) * 2880);
            let words: Vec<&str> = WORDS
                .iter()
                .filter(|(_, share)| next() % 1000 < *share)
                .map(|(word, _)| *word)
                .collect();
            let story = Story {
                number,
                at,
                channel: channels[(next() % 5) as usize],
                unit: units[(next() % 3) as usize],
                words,
            };
            let vector = std::iter::once("'新闻':1A".to_owned())
                .chain(
                    story
                        .words
                        .iter()
                        .enumerate()
                        .map(|(i, w)| format!("'{w}':{}B", i + 2)),
                )
                .collect::<Vec<_>>()
                .join(" ");
            let id = ArticleId::new();
            ids.push(id);
            rows.push(Row {
                article_id: id,
                number,
                published_at: at,
                channel_id: story.channel,
                unit_id: story.unit,
                vector,
            });
            stories.push(story);
            if rows.len() == 4_000 {
                engine.add(std::mem::take(&mut rows)).unwrap();
                engine.clone().commit(number).await.unwrap();
            }
        }
        // Every hundredth story's words changed: the old document deleted
        // and the story indexed again, as a change from the feed is.
        let changed: Vec<usize> = (0..stories.len()).step_by(100).collect();
        for &i in &changed {
            let writer = engine.writer.lock().unwrap();
            writer
                .as_ref()
                .unwrap()
                .delete_term(Term::from_field_text(engine.fields.id, &ids[i].to_string()));
            drop(writer);
            let story = &mut stories[i];
            story.words = vec!["电网", "无人机"];
            rows.push(Row {
                article_id: ids[i],
                number: story.number,
                published_at: story.at,
                channel_id: story.channel,
                unit_id: story.unit,
                vector: "'电网':2B '无人机':3B".to_owned(),
            });
        }
        engine.add(rows).unwrap();
        engine.clone().commit(1_000_000).await.unwrap();
        (engine, stories)
    }

    /// The numbers of the stories `search` should find, newest first.
    fn oracle(stories: &[Story], search: &Search<'_>) -> Vec<i64> {
        let mut found: Vec<&Story> = stories
            .iter()
            .filter(|s| {
                let words = search.words.iter().all(|w| s.words.contains(&w.as_str()));
                let run = search.whole.is_some_and(|run| s.words.contains(&run));
                (words || run)
                    && search.channels.is_none_or(|c| c.contains(&s.channel))
                    && search.units.is_none_or(|u| u.contains(&s.unit))
                    && search.from.is_none_or(|from| s.at >= from)
                    && search.to.is_none_or(|to| s.at < to)
            })
            .collect();
        found.sort_by_key(|s| std::cmp::Reverse((s.at, s.number)));
        found.into_iter().map(|s| s.number).collect()
    }

    /// Searches of every kind, frequent and rare, each walked page by page
    /// newest first and ranked, under the plan in use and under one that
    /// walks days and estimates counts at this small scale: every way
    /// finds exactly the stories the oracle finds, and a count is exact or,
    /// estimated, near the truth.
    #[tokio::test]
    async fn each_way_of_reading_finds_every_match_newest_first() {
        let folder = tempfile::tempdir().unwrap();
        let (engine, stories) = archive(folder.path()).await;
        let small = Plan {
            walk_from: 100.0,
            estimate_from: 1_000.0,
            sample: 300.0,
        };
        let day = |d: &str| {
            Some(
                DateTime::parse_from_rfc3339(&format!("{d}T00:00:00Z"))
                    .unwrap()
                    .with_timezone(&Utc),
            )
        };
        let some_channels = [stories[0].channel, stories[1].channel];
        let one_unit = [stories[2].unit];
        let word = |w: &str| vec![w.to_owned()];
        let mut estimated = 0;
        let mut walked_far = false;
        for (words, whole, channels, units, from, to) in [
            (word("电网"), None, None, None, None, None),
            (word("检修"), None, None, None, None, None),
            (word("光伏"), None, None, None, None, None),
            (word("无人机"), None, None, None, None, None),
            (
                vec!["电网".to_owned(), "检修".to_owned()],
                None,
                None,
                None,
                None,
                None,
            ),
            (
                vec!["电网".to_owned(), "特高压".to_owned()],
                None,
                None,
                None,
                None,
                None,
            ),
            (
                vec!["检修".to_owned(), "光伏".to_owned()],
                Some("电网"),
                None,
                None,
                None,
                None,
            ),
            (
                word("电网"),
                None,
                Some(&some_channels[..]),
                None,
                None,
                None,
            ),
            (word("检修"), None, None, Some(&one_unit[..]), None, None),
            (
                word("电网"),
                None,
                None,
                None,
                day("2025-03-01"),
                day("2025-06-01"),
            ),
            (
                word("电网"),
                None,
                Some(&some_channels[..]),
                None,
                None,
                day("2025-09-10"),
            ),
            (word("电网"), None, None, None, day("2026-12-01"), None),
            (
                word("检修"),
                None,
                None,
                None,
                day("2025-04-10"),
                day("2025-04-25"),
            ),
            (
                word("电网"),
                None,
                Some(&some_channels[..]),
                None,
                day("2025-07-01"),
                day("2025-08-20"),
            ),
        ] {
            let base = Search {
                words: &words,
                whole,
                channels,
                units,
                from,
                to,
                before: None,
                relevance: false,
                offset: 0,
                limit: 21,
            };
            let expected = oracle(&stories, &base);
            let what = format!("{words:?} {whole:?} {channels:?} {units:?} {from:?} {to:?}");
            for plan in [Plan::DEFAULT, small] {
                // Newest first, by the keyset, for up to forty pages.
                let mut shown: Vec<i64> = Vec::new();
                let mut before = None;
                let mut first_count = None;
                for _ in 0..40 {
                    let search = Search { before, ..base };
                    let (numbers, count) = engine.search_with(&search, plan).unwrap();
                    first_count.get_or_insert(count);
                    let page: Vec<i64> = numbers.iter().take(20).copied().collect();
                    shown.extend(&page);
                    if numbers.len() <= 20 {
                        break;
                    }
                    let last = stories[*page.last().unwrap() as usize - 1].at;
                    before = Some((last, *page.last().unwrap()));
                }
                let far = expected.len().min(800);
                assert_eq!(&shown[..shown.len().min(far)], &expected[..far], "{what}");
                walked_far |= far == 800;
                match first_count.unwrap() {
                    Count::Exact(n) => assert_eq!(n, expected.len() as i64, "{what}"),
                    Count::About(n) => {
                        estimated += 1;
                        let truth = expected.len() as f64;
                        assert!(
                            (truth * 0.8..=truth * 1.25).contains(&(n as f64)),
                            "{what}: about {n} for {truth}"
                        );
                    }
                }
                // By relevance: the newest RANKED matches, each once.
                let mut ranked = Vec::new();
                for page in 0..(RANKED / 20) {
                    let search = Search {
                        relevance: true,
                        offset: page * 20,
                        ..base
                    };
                    let (numbers, _) = engine.search_with(&search, plan).unwrap();
                    ranked.extend(numbers.into_iter().take(20));
                }
                ranked.sort_unstable();
                let mut newest: Vec<i64> = expected.iter().take(RANKED).copied().collect();
                newest.sort_unstable();
                assert_eq!(ranked, newest, "{what}: ranked");
            }
        }
        assert!(estimated >= 3, "the small plan estimates frequent counts");
        assert!(walked_far, "a frequent word walks many pages");
    }
}
