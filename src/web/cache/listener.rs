//! Hearing the database announce changes: each instance drops its pages at
//! every announcement, and at every gap in listening.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;

use super::{CHANNEL, PageCache};
use crate::db::replicas::{PRIMARY_POSITION, Replicas};

/// Listens for announced changes until the pool closes. Any gap in
/// listening drops every page, since announcements may have been missed.
/// With replicas, each change first raises the floor to the primary's
/// position once the change is heard (past the change's commit), so that
/// pages rendered again are read from replicas that have replayed it.
pub async fn listen(pool: PgPool, cache: Arc<PageCache>, replicas: Option<Arc<Replicas>>) {
    loop {
        if pool.is_closed() {
            return;
        }
        let mut listener = match subscribe(&pool).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::warn!(%error, "cannot listen for page changes; serving without the page cache");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if !heard(&mut listener, replicas.as_deref()).await {
            tokio::time::sleep(Duration::from_secs(1)).await;
            continue;
        }
        cache.invalidate();
        cache.listening.store(true, Ordering::Release);
        // Ok(None): reconnected at once, announcements may have been lost.
        while listener.try_recv().await.is_ok() {
            if !heard(&mut listener, replicas.as_deref()).await {
                break;
            }
            cache.invalidate();
        }
        cache.listening.store(false, Ordering::Release);
        cache.invalidate();
    }
}

/// Raises the floor to the primary's position; false when the primary
/// cannot say (listening starts again).
async fn heard(listener: &mut PgListener, replicas: Option<&Replicas>) -> bool {
    let Some(replicas) = replicas else {
        return true;
    };
    match sqlx::query_scalar::<_, i64>(PRIMARY_POSITION)
        .fetch_one(&mut *listener)
        .await
    {
        Ok(position) => {
            replicas.raise_floor(position as u64);
            true
        }
        Err(_) => false,
    }
}

async fn subscribe(pool: &PgPool) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
