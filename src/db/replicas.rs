//! Streaming replicas that public pages are read from, and what makes a
//! read from one safe.
//!
//! Positions are WAL positions (LSNs) as bytes from the start of the WAL.
//! A watcher asks the primary for its position and each replica for the
//! position it has replayed, ten times a second. A replica is healthy when
//! it answers and has replayed what the primary had written no longer than
//! the allowed lag ago; it is left out at the first poll it fails and taken
//! back at the first it passes.
//!
//! A read may go to a replica only once the replica has replayed two
//! positions: the instance's floor, the primary's position as of the last
//! change this instance heard announced or made itself (so that a page
//! rendered again after a change, and kept, shows it), and the position of
//! the visitor's own last write (read-your-writes, carried in a cookie by the
//! web layer). The replayed positions the watcher saw only ever grow, so a
//! replica it saw past a position really is past it.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{ConnectOptions, PgConnection, PgPool};

/// How often the watcher polls.
const POLL: Duration = Duration::from_millis(100);
/// How long a replica may take to answer a poll.
const ANSWER: Duration = Duration::from_secs(1);

/// The primary's WAL position now, as a number.
pub const PRIMARY_POSITION: &str = "select (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint";

/// The replicas of this instance, and how far each has come.
pub struct Replicas {
    members: Vec<Member>,
    floor: AtomicU64,
    max_lag: Duration,
    next: AtomicUsize,
}

struct Member {
    /// How the replica is named in metrics and logs: its host and port.
    name: String,
    options: PgConnectOptions,
    replayed: AtomicU64,
    healthy: AtomicBool,
    /// The lag last measured, in microseconds (u64::MAX: unknown).
    lag_micros: AtomicU64,
}

/// One replica's state, for metrics and the health page.
#[derive(Debug, Clone)]
pub struct ReplicaState {
    pub name: String,
    pub healthy: bool,
    /// Seconds behind the primary; `None` while it cannot be reached.
    pub lag_seconds: Option<f64>,
}

impl Replicas {
    pub fn new(options: Vec<PgConnectOptions>, max_lag: Duration) -> Arc<Replicas> {
        let members = options
            .into_iter()
            .map(|options| Member {
                name: describe(&options),
                options,
                replayed: AtomicU64::new(0),
                healthy: AtomicBool::new(false),
                lag_micros: AtomicU64::new(u64::MAX),
            })
            .collect();
        Arc::new(Replicas {
            members,
            floor: AtomicU64::new(0),
            max_lag,
            next: AtomicUsize::new(0),
        })
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Each replica's connection options, in order (for opening pools).
    pub fn options(&self) -> impl Iterator<Item = &PgConnectOptions> {
        self.members.iter().map(|member| &member.options)
    }

    /// What every read from a replica must have replayed.
    pub fn floor(&self) -> u64 {
        self.floor.load(Ordering::Acquire)
    }

    /// Raises the floor to `position` (never lowers it).
    pub fn raise_floor(&self, position: u64) {
        self.floor.fetch_max(position, Ordering::AcqRel);
    }

    /// A healthy replica (by index) that has replayed both the floor and
    /// `seen`, taking turns among those that have; `None`: read from the
    /// primary.
    pub fn pick(&self, seen: u64) -> Option<usize> {
        let needed = seen.max(self.floor());
        let count = self.members.len();
        if count == 0 {
            return None;
        }
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..count).map(|i| (start + i) % count).find(|&i| {
            let member = &self.members[i];
            member.healthy.load(Ordering::Acquire)
                && member.replayed.load(Ordering::Acquire) >= needed
        })
    }

    /// Leaves replica `index` out at once, after a read from it failed as
    /// if it were away: requests stop going to it now, not at the next
    /// look; the watcher takes it back when it answers again.
    pub fn leave_out(&self, index: usize) {
        if let Some(member) = self.members.get(index)
            && member.healthy.swap(false, Ordering::AcqRel)
        {
            tracing::warn!(replica = %member.name, "a read from the replica failed; left out");
        }
    }

    pub fn states(&self) -> Vec<ReplicaState> {
        self.members
            .iter()
            .map(|member| {
                let lag = member.lag_micros.load(Ordering::Acquire);
                ReplicaState {
                    name: member.name.clone(),
                    healthy: member.healthy.load(Ordering::Acquire),
                    lag_seconds: (lag != u64::MAX).then(|| lag as f64 / 1e6),
                }
            })
            .collect()
    }

    /// Polls the primary and every replica until the primary's pool closes.
    pub async fn watch(self: Arc<Self>, primary: PgPool) {
        // The primary's positions of the last while, newest last: a replica
        // that has replayed the position of time t lags by now - t.
        let mut history: VecDeque<(Instant, u64)> = VecDeque::new();
        let mut connections: Vec<Option<PgConnection>> =
            self.members.iter().map(|_| None).collect();
        let mut ticks = tokio::time::interval(POLL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if primary.is_closed() {
                return;
            }
            let now = Instant::now();
            match sqlx::query_scalar::<_, i64>(PRIMARY_POSITION)
                .fetch_one(&primary)
                .await
            {
                Ok(position) => history.push_back((now, position as u64)),
                // The primary away: the lags cannot be told, the replicas
                // still serve what they have (public pages stay up).
                Err(_) => continue,
            }
            let keep = self.max_lag * 2 + Duration::from_secs(1);
            while history
                .front()
                .is_some_and(|(at, _)| now.duration_since(*at) > keep)
            {
                history.pop_front();
            }
            for (member, connection) in self.members.iter().zip(connections.iter_mut()) {
                let replayed = match replayed(member, connection).await {
                    Ok(replayed) => replayed,
                    Err(error) => {
                        if member.healthy.swap(false, Ordering::AcqRel) {
                            tracing::warn!(replica = %member.name, %error, "replica left out: it does not answer");
                        }
                        member.lag_micros.store(u64::MAX, Ordering::Release);
                        *connection = None;
                        continue;
                    }
                };
                member.replayed.fetch_max(replayed, Ordering::AcqRel);
                // The newest primary position the replica has replayed.
                let caught_up_at = history
                    .iter()
                    .rev()
                    .find(|(_, position)| *position <= replayed)
                    .map(|(at, _)| *at);
                let lag = match caught_up_at {
                    Some(at) => now.duration_since(at),
                    None => keep,
                };
                member
                    .lag_micros
                    .store(lag.as_micros() as u64, Ordering::Release);
                let healthy = lag <= self.max_lag;
                let was = member.healthy.swap(healthy, Ordering::AcqRel);
                if was && !healthy {
                    tracing::warn!(replica = %member.name, lag = lag.as_secs_f64(), "replica left out: it lags");
                } else if !was && healthy {
                    tracing::info!(replica = %member.name, "replica serving reads");
                }
            }
        }
    }
}

/// The position `member` has replayed, over its watcher connection (opened
/// when there is none).
async fn replayed(member: &Member, connection: &mut Option<PgConnection>) -> anyhow::Result<u64> {
    if connection.is_none() {
        let options = member.options.clone().log_statements(log::LevelFilter::Off);
        *connection = Some(tokio::time::timeout(ANSWER, options.connect()).await??);
    }
    let conn = connection.as_mut().expect("connected above");
    let (standby, position): (bool, i64) = tokio::time::timeout(
        ANSWER,
        sqlx::query_as(
            "select pg_is_in_recovery(),
                    (coalesce(pg_last_wal_replay_lsn(), '0/0') - '0/0'::pg_lsn)::bigint",
        )
        .fetch_one(&mut *conn),
    )
    .await??;
    if !standby {
        anyhow::bail!("not a standby (it accepts writes): not read from");
    }
    Ok(position as u64)
}

/// A replica's name: where it is, never its password.
fn describe(options: &PgConnectOptions) -> String {
    let host = options.get_host();
    match options.get_socket() {
        Some(socket) => socket.display().to_string(),
        None => format!("{host}:{}", options.get_port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn two() -> Arc<Replicas> {
        let options = |socket: &str| PgConnectOptions::new().socket(socket);
        Replicas::new(
            vec![options("/run/a"), options("/run/b")],
            Duration::from_secs(5),
        )
    }

    fn set(replicas: &Replicas, index: usize, healthy: bool, replayed: u64) {
        let member = &replicas.members[index];
        member.healthy.store(healthy, Ordering::Release);
        member.replayed.store(replayed, Ordering::Release);
    }

    #[test]
    fn a_read_goes_to_a_healthy_replica_past_the_floor_and_the_visitors_write() {
        let replicas = two();
        assert_eq!(replicas.pick(0), None, "none healthy yet: the primary");
        set(&replicas, 0, true, 100);
        set(&replicas, 1, true, 200);
        let mut seen: Vec<usize> = (0..4).filter_map(|_| replicas.pick(0)).collect();
        seen.sort_unstable();
        assert_eq!(seen, [0, 0, 1, 1], "they take turns");
        // A visitor who wrote at 150 reads only the replica past it.
        assert!((0..4).all(|_| replicas.pick(150) == Some(1)));
        assert_eq!(replicas.pick(201), None);
        // A change heard at 180 holds every read to it.
        replicas.raise_floor(180);
        replicas.raise_floor(120);
        assert_eq!(replicas.floor(), 180, "the floor never goes down");
        assert!((0..4).all(|_| replicas.pick(0) == Some(1)));
        // A replica left out is not read, however far it has come.
        set(&replicas, 1, false, 500);
        assert_eq!(replicas.pick(0), None);
    }

    #[test]
    fn a_replica_whose_read_failed_is_left_out_at_once() {
        let replicas = two();
        set(&replicas, 0, true, 100);
        set(&replicas, 1, true, 100);
        replicas.leave_out(0);
        assert!((0..4).all(|_| replicas.pick(0) == Some(1)));
        assert!(!replicas.states()[0].healthy);
        replicas.leave_out(7);
        assert!(
            (0..4).all(|_| replicas.pick(0) == Some(1)),
            "an unknown index changes nothing"
        );
    }
}
