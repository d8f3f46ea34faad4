//! Brute-force protection for the staff and reader login forms, kept in
//! PostgreSQL so that the limits hold across instances. Each attempt is
//! counted under three keys:
//!
//! - the (account, client) pair: a few free failures, then growing delays,
//!   then a quarter-hour lock — of that client only;
//! - the client (IPv6 clients by their /64, which one host usually holds
//!   whole): the same with higher limits, as offices share addresses;
//! - the account, from anywhere: never locked, since anyone on the internet
//!   can send wrong passwords for `admin`; past a threshold the form asks
//!   for a captcha until a success or a quiet quarter of an hour.
//!
//! A success clears the pair and the account; admins can clear a lock.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// Failures are forgotten after this long without another one.
const WINDOW_MINUTES: i64 = 15;

/// Longest username worth looking up: longer ones are refused before any
/// work (no account can have one).
pub const MAX_USERNAME_CHARS: usize = 64;

/// Account-wide failures after which a captcha is asked for.
pub const CAPTCHA_AFTER: i32 = 5;

/// How a kind of key is throttled.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures allowed before any delay.
    pub free: i32,
    /// Failures after which the key is locked for `lockout_minutes`.
    pub lockout_after: i32,
    pub lockout_minutes: i64,
}

/// Per (account, client): a few typos are fine, ten failures lock it.
pub const PAIR: Policy = Policy {
    free: 3,
    lockout_after: 10,
    lockout_minutes: 15,
};

/// Per client address: offices share addresses, so the limit is higher.
pub const ADDRESS: Policy = Policy {
    free: 10,
    lockout_after: 50,
    lockout_minutes: 15,
};

impl Policy {
    /// Seconds the key stays locked after its `failures`-th failure:
    /// none while free, then 2, 4, 8 … seconds (at most 5 minutes), and the
    /// full lockout from the threshold on.
    pub fn lock_seconds(&self, failures: i32) -> i64 {
        if failures >= self.lockout_after {
            self.lockout_minutes * 60
        } else if failures > self.free {
            let exponent = (failures - self.free).min(9) as u32;
            (1i64 << exponent).min(300)
        } else {
            0
        }
    }
}

/// The address a client is counted under: IPv4 as it is, IPv6 by its /64.
pub fn client_network(ip: &str) -> String {
    match ip.parse::<IpAddr>().map(|ip| ip.to_canonical()) {
        Ok(IpAddr::V6(v6)) => {
            let segments = v6.segments();
            format!(
                "{:x}:{:x}:{:x}:{:x}::/64",
                segments[0], segments[1], segments[2], segments[3]
            )
        }
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_owned(),
    }
}

/// The key of a staff account's account-wide count (clearing it clears
/// the account's pairs too).
pub fn account_key(username: &str) -> String {
    format!("account:{}", username.trim().to_lowercase())
}

/// One login attempt's keys. `kind` keeps staff (`account`) and reader
/// (`reader`) names apart.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub account: String,
    pub pair: String,
    pub address: String,
}

impl Attempt {
    pub fn new(kind: &str, username: &str, ip: &str) -> Attempt {
        let name = username.trim().to_lowercase();
        let network = client_network(ip);
        Attempt {
            account: format!("{kind}:{name}"),
            pair: format!("{kind}:{name}|{network}"),
            address: format!("address:{network}"),
        }
    }

    fn locking_keys(&self) -> [&str; 2] {
        [&self.pair, &self.address]
    }
}

/// What the login form may do with an attempt before checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gate {
    Open,
    /// The account has had many failures lately: a captcha first.
    CaptchaRequired,
    /// This client is locked out (for this account, or altogether).
    Locked {
        until: DateTime<Utc>,
        /// The first refusal of this lock (the one the audit log records).
        first: bool,
    },
}

/// Where `attempt` stands; a refusal while locked is counted on the way.
pub async fn gate(conn: &mut PgConnection, attempt: &Attempt) -> sqlx::Result<Gate> {
    let locked: Option<(DateTime<Utc>, i32)> = sqlx::query_as(
        "update login_throttle set refused = refused + 1
         where key = any($1) and locked_until > now()
         returning locked_until, refused",
    )
    .bind(attempt.locking_keys())
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .max_by_key(|(until, _)| *until);
    if let Some((until, refused)) = locked {
        return Ok(Gate::Locked {
            until,
            first: refused == 1,
        });
    }
    let failures: Option<i32> = sqlx::query_scalar!(
        "select failures from login_throttle
         where key = $1 and last_failure_at > now() - make_interval(mins => $2)",
        &attempt.account,
        WINDOW_MINUTES as i32,
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(if failures.unwrap_or(0) >= CAPTCHA_AFTER {
        Gate::CaptchaRequired
    } else {
        Gate::Open
    })
}

/// Counts one failure under the attempt's three keys.
pub async fn record_failure(conn: &mut PgConnection, attempt: &Attempt) -> sqlx::Result<()> {
    count(&mut *conn, &attempt.pair, Some(PAIR)).await?;
    count(&mut *conn, &attempt.address, Some(ADDRESS)).await?;
    count(&mut *conn, &attempt.account, None).await
}

/// Forgets the failures of the attempt's account and pair after a success.
pub async fn record_success(conn: &mut PgConnection, attempt: &Attempt) -> sqlx::Result<()> {
    sqlx::query("delete from login_throttle where key = any($1)")
        .bind([&attempt.account, &attempt.pair])
        .execute(conn)
        .await?;
    Ok(())
}

/// Counts one failure against `key`, and locks it as `policy` says.
async fn count(conn: &mut PgConnection, key: &str, policy: Option<Policy>) -> sqlx::Result<()> {
    let failures: i32 = sqlx::query_scalar!(
        "insert into login_throttle (key, failures, last_failure_at) values ($1, 1, now())
         on conflict (key) do update set
             failures = case when login_throttle.last_failure_at < now() - make_interval(mins => $2)
                             then 1 else login_throttle.failures + 1 end,
             refused = case when login_throttle.locked_until > now() then login_throttle.refused else 0 end,
             last_failure_at = now()
         returning failures", key, WINDOW_MINUTES as i32,)
    .fetch_one(&mut *conn)
    .await?;
    let seconds = policy.map_or(0, |policy| policy.lock_seconds(failures));
    if seconds > 0 {
        sqlx::query(
            "update login_throttle set locked_until = now() + make_interval(secs => $2), refused = 0
             where key = $1",
        )
        .bind(key)
        .bind(seconds as f64)
        .execute(conn)
        .await?;
    }
    Ok(())
}

/// Forgets the failures of `key` (by an admin); clearing an account also
/// clears its pairs.
pub async fn clear(conn: &mut PgConnection, key: &str) -> sqlx::Result<bool> {
    let result = sqlx::query("delete from login_throttle where key = $1 or key like $2")
        .bind(key)
        .bind(format!("{}|%", key.replace(['%', '_', '|'], "")))
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
}

/// A key whose lock ended with attempts refused during it.
#[derive(Debug, sqlx::FromRow)]
pub struct RefusedDuringLock {
    pub key: String,
    pub refused: i32,
}

/// Removes rows nobody needs any more (no lock, no failure within the
/// window) and returns the locks that ended having refused more than the
/// one attempt already in the audit log, for one summary line each.
pub async fn sweep(conn: &mut PgConnection) -> sqlx::Result<Vec<RefusedDuringLock>> {
    sqlx::query_as(
        "delete from login_throttle
         where coalesce(locked_until, '-infinity') < now()
           and last_failure_at < now() - make_interval(mins => $1)
         returning key, refused",
    )
    .bind(WINDOW_MINUTES as i32)
    .fetch_all(conn)
    .await
    .map(|rows: Vec<RefusedDuringLock>| rows.into_iter().filter(|row| row.refused > 1).collect())
}

/// Sweeps the table now and then, writing one audit line per ended lock
/// that refused more attempts than its first.
pub async fn run_sweeper(pool: sqlx::PgPool, every: std::time::Duration) {
    loop {
        tokio::time::sleep(every).await;
        let swept = async {
            let mut tx = pool.begin().await?;
            for ended in sweep(&mut tx).await? {
                let actor = crate::audit::Actor::anonymous("", String::new());
                let detail = format!("锁定期间共拒绝 {} 次登录尝试", ended.refused);
                crate::audit::record(&mut tx, &actor, "login.locked.summary", &ended.key, &detail)
                    .await?;
            }
            tx.commit().await
        };
        if let Err(error) = swept.await {
            tracing::warn!(%error, "could not sweep the login throttle");
        }
    }
}

/// A locked key as the admin page lists it.
#[derive(Debug, sqlx::FromRow)]
pub struct Lock {
    pub key: String,
    pub failures: i32,
    pub locked_until: DateTime<Utc>,
}

pub async fn current_locks(conn: &mut PgConnection) -> sqlx::Result<Vec<Lock>> {
    sqlx::query_as(
        "select key, failures, locked_until from login_throttle
         where locked_until > now() order by locked_until desc limit 200",
    )
    .fetch_all(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_lock_out() {
        let delays: Vec<i64> = (1..=11).map(|n| PAIR.lock_seconds(n)).collect();
        assert_eq!(delays, [0, 0, 0, 2, 4, 8, 16, 32, 64, 900, 900]);
        assert_eq!(ADDRESS.lock_seconds(10), 0);
        assert_eq!(ADDRESS.lock_seconds(20), 300, "capped at five minutes");
        assert_eq!(ADDRESS.lock_seconds(50), 900);
    }

    #[test]
    fn keys_ignore_case_and_spaces_and_ipv6_clients_count_by_their_64() {
        let attempt = Attempt::new("account", " Admin ", "2001:db8:1:2:aaaa::1");
        assert_eq!(attempt.account, "account:admin");
        assert_eq!(attempt.pair, "account:admin|2001:db8:1:2::/64");
        assert_eq!(attempt.address, "address:2001:db8:1:2::/64");
        let neighbour = Attempt::new("account", "admin", "2001:db8:1:2:ffff:1:2:3");
        assert_eq!(attempt.address, neighbour.address);
        assert_eq!(
            Attempt::new("account", "admin", "::ffff:192.0.2.7").address,
            "address:192.0.2.7"
        );
    }
}
