//! Webhooks: receivers that admins register are sent the events they want
//! (a story published, updated, corrected or unpublished; a comment
//! approved), signed, retried with backoff, each delivered once however
//! many nodes run.
//!
//! Triggers queue the events in the transaction that made them (migration
//! 0052), so no writer can forget one. Every node runs [`run`]: it takes
//! due deliveries with `FOR UPDATE SKIP LOCKED` (a delivery being sent by
//! one node is skipped by the others), sends them, and records the outcome
//! in the same transaction. A node that dies mid-send leaves the delivery
//! to be sent again; the `X-Newsdesk-Delivery` header lets a receiver
//! recognise it.
//!
//! Each request is a POST of the event's JSON body with
//! `X-Newsdesk-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>"
//! keyed by the receiver's secret>`; a receiver checks the signature and
//! refuses a time more than a few minutes old (a replayed request).

pub mod admin;

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use uuid::Uuid;

/// The channel the queueing triggers notify.
pub const CHANNEL: &str = "newsdesk_webhooks";

/// The events a receiver may want, with their names in the backend.
pub const EVENTS: [(&str, &str); 5] = [
    ("published", "稿件发布"),
    ("updated", "已发布稿件修改"),
    ("corrected", "更正发布"),
    ("unpublished", "稿件撤下"),
    ("comment_approved", "评论通过"),
];

/// The waits after each failed attempt; after the last, the delivery is
/// given up (about a day after the event).
const BACKOFF: [Duration; 8] = [
    Duration::from_secs(30),
    Duration::from_secs(120),
    Duration::from_secs(600),
    Duration::from_secs(1800),
    Duration::from_secs(3600),
    Duration::from_secs(3 * 3600),
    Duration::from_secs(6 * 3600),
    Duration::from_secs(12 * 3600),
];

/// Attempts before a delivery is given up.
pub const MAX_ATTEMPTS: i32 = BACKOFF.len() as i32 + 1;

/// How long a receiver has to answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Deliveries taken at once by a node.
const BATCH: i64 = 20;

/// A registered receiver.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Receiver {
    pub id: Uuid,
    pub url: String,
    pub description: String,
    pub secret: String,
    pub events: Vec<String>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
}

/// A receiver with how its deliveries stand.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReceiverLine {
    #[sqlx(flatten)]
    pub receiver: Receiver,
    pub pending: i64,
    pub failed: i64,
    pub delivered: i64,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: Option<String>,
}

/// A delivery as the receiver's page lists it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeliveryLine {
    pub id: i64,
    pub kind: String,
    pub number: Option<i64>,
    pub title: Option<String>,
    pub created_at: DateTime<Utc>,
    pub attempts: i32,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_status: Option<i32>,
    pub last_error: String,
    pub next_attempt_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub failed_at: Option<DateTime<Utc>>,
}

/// A fresh signing secret: 32 random bytes, hex.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The signature header's value for `body` sent at `timestamp`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!(
        "t={timestamp},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

pub async fn receivers(conn: &mut sqlx::PgConnection) -> sqlx::Result<Vec<ReceiverLine>> {
    sqlx::query_as(
        "select r.id, r.url, r.description, r.secret, r.events, r.active, r.version, r.created_at,
                count(*) filter (where d.id is not null and d.delivered_at is null
                                 and d.failed_at is null) as pending,
                count(*) filter (where d.failed_at is not null) as failed,
                count(*) filter (where d.delivered_at is not null) as delivered,
                last.last_attempt_at, last.last_status, last.last_error
         from webhook_receivers r
         left join webhook_deliveries d on d.receiver_id = r.id
         left join lateral (
             select l.last_attempt_at, l.last_status, l.last_error from webhook_deliveries l
             where l.receiver_id = r.id and l.last_attempt_at is not null
             order by l.last_attempt_at desc limit 1
         ) last on true
         group by r.id, last.last_attempt_at, last.last_status, last.last_error
         order by r.created_at",
    )
    .fetch_all(conn)
    .await
}

pub async fn receiver(conn: &mut sqlx::PgConnection, id: Uuid) -> sqlx::Result<Option<Receiver>> {
    sqlx::query_as(
        "select id, url, description, secret, events, active, version, created_at
         from webhook_receivers where id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// The newest deliveries to a receiver.
pub async fn deliveries(
    conn: &mut sqlx::PgConnection,
    receiver: Uuid,
    limit: i64,
) -> sqlx::Result<Vec<DeliveryLine>> {
    sqlx::query_as(
        "select d.id, e.kind, (e.payload #>> '{story,number}')::bigint as number,
                e.payload #>> '{story,title}' as title, e.created_at, d.attempts,
                d.last_attempt_at, d.last_status, d.last_error, d.next_attempt_at,
                d.delivered_at, d.failed_at
         from webhook_deliveries d join webhook_events e on e.id = d.event_id
         where d.receiver_id = $1 order by d.id desc limit $2",
    )
    .bind(receiver)
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// A delivery taken to be sent.
#[derive(sqlx::FromRow)]
struct Due {
    id: i64,
    attempts: i32,
    kind: String,
    body: String,
    url: String,
    secret: String,
}

/// What a receiver made of one attempt.
struct Outcome {
    status: Option<u16>,
    error: String,
}

impl Outcome {
    fn delivered(&self) -> bool {
        self.status
            .is_some_and(|status| (200..300).contains(&status))
    }
}

/// Sets rustls's cryptography for the process (every HTTP client's TLS),
/// once; later calls change nothing. ring builds with a C compiler alone
/// (aws-lc-rs, rustls's preferred provider, needs CMake); it lacks only
/// the post-quantum key exchange.
pub fn install_tls() {
    #[allow(deprecated)]
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The HTTP client of the deliveries: no redirects followed (a receiver
/// is the URL registered, nothing it points to), a bounded wait.
pub fn client() -> reqwest::Client {
    install_tls();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .user_agent(concat!("Newsdesk-Webhooks/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("the webhook client builds")
}

async fn send(client: &reqwest::Client, due: &Due) -> Outcome {
    let timestamp = Utc::now().timestamp();
    let sent = client
        .post(&due.url)
        .header("Content-Type", "application/json")
        .header("X-Newsdesk-Event", &due.kind)
        .header("X-Newsdesk-Delivery", due.id.to_string())
        .header(
            "X-Newsdesk-Signature",
            signature(&due.secret, timestamp, due.body.as_bytes()),
        )
        .body(due.body.clone())
        .send()
        .await;
    match sent {
        Ok(response) => {
            let status = response.status();
            Outcome {
                status: Some(status.as_u16()),
                error: if status.is_success() {
                    String::new()
                } else {
                    format!("接收方返回 {status}")
                },
            }
        }
        Err(error) => Outcome {
            status: None,
            error: if error.is_timeout() {
                format!("接收方 {} 秒内没有应答", TIMEOUT.as_secs())
            } else if error.is_connect() {
                "无法连接接收方".to_owned()
            } else {
                format!("发送失败：{error}")
            }
            .chars()
            .take(300)
            .collect(),
        },
    }
}

/// Sends the deliveries due now, a batch at a time, each by one node;
/// returns how many were attempted.
pub async fn deliver_due(pool: &PgPool, client: &reqwest::Client) -> sqlx::Result<usize> {
    let mut tx = pool.begin().await?;
    let due: Vec<Due> = sqlx::query_as(
        "select d.id, d.attempts, e.kind, e.payload::text as body, r.url, r.secret
         from webhook_deliveries d
         join webhook_events e on e.id = d.event_id
         join webhook_receivers r on r.id = d.receiver_id
         where d.delivered_at is null and d.failed_at is null and d.next_attempt_at <= now()
           and r.active
         order by d.next_attempt_at, d.id
         limit $1
         for update of d skip locked",
    )
    .bind(BATCH)
    .fetch_all(&mut *tx)
    .await?;
    let outcomes = futures_util::future::join_all(due.iter().map(|due| send(client, due))).await;
    for (due, outcome) in due.iter().zip(&outcomes) {
        let attempts = due.attempts + 1;
        let wait = BACKOFF
            .get(due.attempts.max(0) as usize)
            .map(|wait| wait.as_secs_f64());
        sqlx::query(
            "update webhook_deliveries set
                 attempts = $2, last_attempt_at = now(), last_status = $3, last_error = $4,
                 delivered_at = case when $5 then now() end,
                 failed_at = case when not $5 and ($6::float8 is null or $2 >= $7) then now() end,
                 next_attempt_at = case when $6::float8 is null then next_attempt_at
                                        else now() + make_interval(secs => $6) end
             where id = $1",
        )
        .bind(due.id)
        .bind(attempts)
        .bind(outcome.status.map(i32::from))
        .bind(&outcome.error)
        .bind(outcome.delivered())
        .bind(wait)
        .bind(MAX_ATTEMPTS)
        .execute(&mut *tx)
        .await?;
        if !outcome.delivered() {
            tracing::warn!(delivery = due.id, url = %due.url, error = %outcome.error, "webhook not delivered");
        }
    }
    tx.commit().await?;
    Ok(due.len())
}

/// Delivers for ever: at once when an event is queued (the triggers
/// notify), and every second for retries that fall due.
pub async fn run(pool: PgPool) {
    let client = client();
    let mut listener = None;
    loop {
        if listener.is_none() {
            listener = match sqlx::postgres::PgListener::connect_with(&pool).await {
                Ok(mut connected) => match connected.listen(CHANNEL).await {
                    Ok(()) => Some(connected),
                    Err(_) => None,
                },
                Err(_) => None,
            };
        }
        let sent = match deliver_due(&pool, &client).await {
            Ok(sent) => sent,
            Err(error) => {
                tracing::warn!(%error, "could not deliver webhooks");
                0
            }
        };
        if sent as i64 >= BATCH {
            continue;
        }
        match listener.as_mut() {
            Some(connected) => {
                let heard = tokio::time::timeout(Duration::from_secs(1), connected.recv()).await;
                if let Ok(Err(_)) = heard {
                    listener = None;
                }
            }
            None => tokio::time::sleep(Duration::from_secs(1)).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_covers_the_time_and_the_body() {
        let one = signature("secret", 1_700_000_000, b"{\"event\":\"published\"}");
        assert!(one.starts_with("t=1700000000,v1="));
        assert_eq!(one.len(), "t=1700000000,v1=".len() + 64);
        assert_ne!(
            one,
            signature("secret", 1_700_000_001, b"{\"event\":\"published\"}")
        );
        assert_ne!(
            one,
            signature("secret", 1_700_000_000, b"{\"event\":\"unpublished\"}")
        );
        assert_ne!(
            one,
            signature("other", 1_700_000_000, b"{\"event\":\"published\"}")
        );
        assert_eq!(new_secret().len(), 64);
        assert_ne!(new_secret(), new_secret());
    }
}
