//! Brute-force protection for the login form. Failures are counted per
//! account and per client address in PostgreSQL, so the limits hold across
//! instances. After a few free attempts each failure locks the key for a
//! growing delay; past a threshold, for a quarter of an hour. A success
//! clears the account's count; admins can clear a lock by hand.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// Failures are forgotten after this long without another one.
const WINDOW_MINUTES: i64 = 15;

/// How a kind of key is throttled.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Failures allowed before any delay.
    pub free: i32,
    /// Failures after which the key is locked for `lockout_minutes`.
    pub lockout_after: i32,
    pub lockout_minutes: i64,
}

/// Per account: a few typos are fine, ten failures lock it.
pub const ACCOUNT: Policy = Policy {
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

pub fn account_key(username: &str) -> String {
    format!("account:{}", username.trim().to_lowercase())
}

pub fn address_key(ip: &str) -> String {
    format!("address:{ip}")
}

/// The latest moment until which any of `keys` is locked, if one is.
pub async fn locked_until(
    conn: &mut PgConnection,
    keys: &[String],
) -> sqlx::Result<Option<DateTime<Utc>>> {
    sqlx::query_scalar(
        "select max(locked_until) from login_throttle
         where key = any($1) and locked_until > now()",
    )
    .bind(keys)
    .fetch_one(conn)
    .await
}

/// Counts one failure against `key` and locks it as `policy` says.
pub async fn record_failure(
    conn: &mut PgConnection,
    key: &str,
    policy: Policy,
) -> sqlx::Result<()> {
    let failures: i32 = sqlx::query_scalar(
        "insert into login_throttle (key, failures, last_failure_at) values ($1, 1, now())
         on conflict (key) do update set
             failures = case when login_throttle.last_failure_at < now() - make_interval(mins => $2)
                             then 1 else login_throttle.failures + 1 end,
             last_failure_at = now()
         returning failures",
    )
    .bind(key)
    .bind(WINDOW_MINUTES as i32)
    .fetch_one(&mut *conn)
    .await?;
    let seconds = policy.lock_seconds(failures);
    if seconds > 0 {
        sqlx::query("update login_throttle set locked_until = now() + make_interval(secs => $2) where key = $1")
            .bind(key)
            .bind(seconds as f64)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Forgets the failures of `key` (after a success, or by an admin).
pub async fn clear(conn: &mut PgConnection, key: &str) -> sqlx::Result<bool> {
    let result = sqlx::query("delete from login_throttle where key = $1")
        .bind(key)
        .execute(conn)
        .await?;
    Ok(result.rows_affected() > 0)
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
        let delays: Vec<i64> = (1..=11).map(|n| ACCOUNT.lock_seconds(n)).collect();
        assert_eq!(delays, [0, 0, 0, 2, 4, 8, 16, 32, 64, 900, 900]);
        assert_eq!(ADDRESS.lock_seconds(10), 0);
        assert_eq!(ADDRESS.lock_seconds(20), 300, "capped at five minutes");
        assert_eq!(ADDRESS.lock_seconds(50), 900);
    }

    #[test]
    fn account_keys_ignore_case_and_spaces() {
        assert_eq!(account_key(" Admin "), "account:admin");
    }
}
