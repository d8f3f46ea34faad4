//! Hearing the database announce changes: each instance drops its pages at
//! every announcement, and at every gap in listening.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::PgListener;

use super::{CHANNEL, PageCache};

/// Listens for announced changes until the pool closes. Any gap in
/// listening drops every page, since announcements may have been missed.
pub async fn listen(pool: PgPool, cache: Arc<PageCache>) {
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
        cache.invalidate();
        cache.listening.store(true, Ordering::Release);
        loop {
            match listener.try_recv().await {
                Ok(Some(_)) => cache.invalidate(),
                // Reconnected at once: announcements may have been lost.
                Ok(None) => cache.invalidate(),
                Err(_) => break,
            }
        }
        cache.listening.store(false, Ordering::Release);
        cache.invalidate();
    }
}

async fn subscribe(pool: &PgPool) -> sqlx::Result<PgListener> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    Ok(listener)
}
