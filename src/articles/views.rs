//! View counts without a database write per reading: each instance counts
//! readings in memory and adds them to the stories (and to the per-day
//! counts behind the most-read lists) every few seconds, a thousand stories
//! per statement, and once more when it stops. Clients that declare
//! themselves bots are not counted.

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex, PoisonError};
use std::time::Duration;

use chrono::{NaiveDate, Utc};
use sqlx::PgPool;

use crate::settings;

static BOTS: LazyLock<isbot::Bots> = LazyLock::new(isbot::Bots::default);

/// Whether a User-Agent header declares a crawler, a monitor or a preview
/// fetcher rather than a reader.
pub fn is_bot(user_agent: &str) -> bool {
    BOTS.is_bot(user_agent)
}

/// Totals learnt at the last flushes are kept for at most this many stories.
const KNOWN_TOTALS: usize = 50_000;

/// The readings an instance has counted and not yet written.
#[derive(Default)]
pub struct ViewCounter {
    pending: Mutex<HashMap<i64, i64>>,
    /// Totals the database returned at recent flushes, which include the
    /// readings of every instance.
    totals: Mutex<HashMap<i64, i64>>,
}

impl ViewCounter {
    /// Counts one reading of the story numbered `number`.
    pub fn record(&self, number: i64) {
        *self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(number)
            .or_default() += 1;
    }

    /// The best current count of a story whose page was rendered when the
    /// database held `rendered`.
    pub fn estimate(&self, number: i64, rendered: i64) -> i64 {
        let known = self
            .totals
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&number)
            .copied()
            .unwrap_or(0);
        let pending = self
            .pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&number)
            .copied()
            .unwrap_or(0);
        rendered.max(known) + pending
    }

    /// Writes the pending readings, a slice of stories per transaction so
    /// that a burst of readings spread over the archive does not hold a
    /// database process for a second; the slices that fail are kept for
    /// the next attempt. Returns how many readings were written.
    pub async fn flush(&self, pool: &PgPool) -> sqlx::Result<i64> {
        let batch: Vec<(i64, i64)> = {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            let mut batch: Vec<_> = pending.drain().collect();
            batch.sort_unstable();
            batch
        };
        if batch.is_empty() {
            return Ok(0);
        }
        let mut stories = 0;
        let mut written = 0;
        let outcome = async {
            let today = today(pool).await?;
            for slice in batch.chunks(FLUSH_SLICE) {
                let totals = write(pool, slice, today).await?;
                let mut known = self.totals.lock().unwrap_or_else(PoisonError::into_inner);
                if known.len() + totals.len() > KNOWN_TOTALS {
                    known.clear();
                }
                known.extend(totals);
                stories += slice.len();
                written += slice.iter().map(|(_, n)| n).sum::<i64>();
            }
            sqlx::Result::Ok(())
        }
        .await;
        if let Err(error) = outcome {
            let mut pending = self.pending.lock().unwrap_or_else(PoisonError::into_inner);
            for &(number, n) in &batch[stories..] {
                *pending.entry(number).or_default() += n;
            }
            return Err(error);
        }
        Ok(written)
    }
}

/// Stories written per transaction by a flush.
const FLUSH_SLICE: usize = 1_000;

/// Today in the site's time zone, the day readings are counted on.
async fn today(pool: &PgPool) -> sqlx::Result<NaiveDate> {
    let zone = settings::db::load(&mut *pool.acquire().await?)
        .await?
        .time_zone;
    Ok(Utc::now().with_timezone(&zone).date_naive())
}

/// Adds the readings to the stories' totals and to the counts of `today`;
/// returns the new totals.
async fn write(
    pool: &PgPool,
    batch: &[(i64, i64)],
    today: NaiveDate,
) -> sqlx::Result<Vec<(i64, i64)>> {
    let (numbers, counts): (Vec<i64>, Vec<i64>) = batch.iter().copied().unzip();
    // Readings are already held in memory for seconds before they are
    // written: a flush does not wait for the disk either (a crash loses at
    // most a fraction of a second more of them).
    let mut tx = pool
        .begin_with("begin; set local synchronous_commit = off")
        .await?;
    // One statement, taking the totals' rows in id order: instances
    // flushing together wait for each other instead of deadlocking.
    let totals = sqlx::query_as(
        "with batch as (
             select a.id, v.number, v.n
             from unnest($1::bigint[], $2::bigint[]) as v(number, n)
             join articles a on a.number = v.number and a.status = 'published'
         ), counted as (
             insert into article_totals (article_id, views)
             select id, n from batch order by id
             on conflict (article_id) do update set views = article_totals.views + excluded.views
             returning article_id, views
         ), daily as (
             insert into article_views (article_id, day, views)
             select id, $3, n from batch order by id
             on conflict (article_id, day) do update set views = article_views.views + excluded.views
         )
         select b.number, c.views from batch b join counted c on c.article_id = b.id",
    )
    .bind(&numbers)
    .bind(&counts)
    .bind(today)
    .fetch_all(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(totals)
}

/// Flushes the counter every `every` until the process stops.
pub async fn run_flusher(pool: PgPool, counter: std::sync::Arc<ViewCounter>, every: Duration) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if let Err(error) = counter.flush(&pool).await {
            tracing::warn!(%error, "could not write view counts; keeping them for the next try");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crawlers_are_told_from_readers() {
        assert!(is_bot(
            "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)"
        ));
        assert!(is_bot(
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        ));
        assert!(!is_bot(
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0 Mobile Safari/537.36"
        ));
    }

    #[tokio::test]
    async fn readings_are_kept_when_the_database_cannot_take_them() {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .acquire_timeout(Duration::from_millis(500))
            .connect_lazy("postgres://nobody@127.0.0.1:1/none")
            .unwrap();
        let counter = ViewCounter::default();
        counter.record(3);
        counter.record(3);
        assert!(counter.flush(&pool).await.is_err());
        assert_eq!(counter.estimate(3, 10), 12, "kept for the next flush");
    }

    #[test]
    fn estimates_add_pending_readings_to_the_best_known_total() {
        let counter = ViewCounter::default();
        counter.record(7);
        counter.record(7);
        assert_eq!(counter.estimate(7, 40), 42);
        counter.totals.lock().unwrap().insert(7, 50);
        assert_eq!(counter.estimate(7, 40), 52);
        assert_eq!(counter.estimate(8, 3), 3);
    }
}
