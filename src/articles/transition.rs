//! Applying workflow outcomes to the database, and the scheduler that
//! publishes scheduled stories exactly once however many instances run.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::store::{self, ArticleRecord, Event};
use crate::auth::Staff;
use crate::ids::{ArticleId, UserId};
use crate::workflow::{Outcome, Status};

/// Writes `outcome` of `action` to the article and its history. The caller
/// holds the article's row lock and commits.
pub async fn apply(
    conn: &mut PgConnection,
    record: &ArticleRecord,
    staff: &Staff,
    action: &str,
    outcome: &Outcome,
    note: &str,
) -> sqlx::Result<()> {
    let passed = action == "pass";
    sqlx::query!(
        "update articles set status = $2, review_stage = $3,
                published_at = case when $2 in ('published', 'scheduled') then $4
                                    when $2 = 'unpublished' then published_at else null end,
                responsible_editors = case
                    when $5 = 'submit' then ''
                    when $6 and position($7 in responsible_editors) = 0
                        then concat_ws(' ', nullif(responsible_editors, ''), $7)
                    else responsible_editors end,
                passed_by = case
                    when $2 not in ('submitted', 'in_review') or $5 = 'submit' then '{}'
                    when $6 then array_append(passed_by, $8)
                    else passed_by end,
                schedule_missed = false
         where id = $1",
        record.id as ArticleId,
        outcome.status.as_str(),
        outcome.stage as i16,
        outcome.publish_at,
        action,
        passed,
        &staff.display_name,
        staff.id as UserId,
    )
    .execute(&mut *conn)
    .await?;
    let event = Event {
        actor_id: Some(staff.id),
        actor_name: &staff.display_name,
        action,
        from_status: record.status.as_str(),
        to_status: outcome.status.as_str(),
        stage: matches!(action, "pass" | "return" | "reject").then_some(record.review_stage),
        note,
    };
    store::record_event(conn, record.id, &event).await?;
    crate::notifications::story_moved(conn, record, outcome.status, outcome.stage, note).await
}

/// Publishes every scheduled story whose time has come. Each row is claimed
/// by one UPDATE, so two instances running this together publish each story
/// once. Stories whose time passed before `missed_before` (the server was
/// down) are flagged for the chief editors. Returns the number published.
pub async fn publish_due(
    pool: &PgPool,
    missed_before: Option<DateTime<Utc>>,
) -> sqlx::Result<usize> {
    let mut tx = pool.begin().await?;
    let published: Vec<(ArticleId, bool)> = sqlx::query_as(
        "update articles set status = 'published',
                schedule_missed = ($1::timestamptz is not null and published_at < $1)
         where status = 'scheduled' and published_at <= now()
         returning id, schedule_missed",
    )
    .bind(missed_before)
    .fetch_all(&mut *tx)
    .await?;
    for (id, missed) in &published {
        let note = if *missed {
            "定时发布时间已过（服务器当时未运行），已在启动时补发"
        } else {
            ""
        };
        let event = Event {
            actor_id: None,
            actor_name: "定时发布",
            action: "publish_due",
            from_status: Status::Scheduled.as_str(),
            to_status: Status::Published.as_str(),
            stage: None,
            note,
        };
        store::record_event(&mut tx, *id, &event).await?;
        if let Some(record) = store::record(&mut tx, *id).await? {
            crate::notifications::story_moved(&mut tx, &record, Status::Published, 0, "").await?;
        }
        if *missed {
            tracing::warn!(article = %id, "published a schedule missed while the server was down");
        }
    }
    tx.commit().await?;
    Ok(published.len())
}

/// Runs the scheduler: once at start-up (flagging missed schedules), then
/// every `every` until the process ends.
pub async fn run_scheduler(pool: PgPool, every: std::time::Duration) {
    let started = Utc::now() - chrono::Duration::minutes(1);
    let mut first = true;
    loop {
        let missed_before = first.then_some(started);
        match publish_due(&pool, missed_before).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "published scheduled stories"),
            Err(error) => tracing::warn!(%error, "scheduler could not reach the database"),
        }
        first = false;
        tokio::time::sleep(every).await;
    }
}
