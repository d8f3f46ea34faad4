//! Optional e-mail for notifications. Notifications are the outbox: a
//! background task mails those not yet mailed to staff with an address,
//! through the SMTP relay of the settings (off while no relay is set), and
//! marks each one mailed, so a restart or a second instance sends none twice.

use std::time::Duration;

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use sqlx::PgPool;

use crate::settings;

#[derive(sqlx::FromRow)]
struct Pending {
    id: i64,
    email: String,
    message: String,
    note: String,
    link: String,
}

/// Mails pending notifications (those of the last day); returns how many
/// were sent. A relay that fails leaves the rest for the next round.
pub async fn deliver_pending(pool: &PgPool) -> anyhow::Result<usize> {
    let mut conn = pool.acquire().await?;
    let site = settings::db::load(&mut conn).await?;
    drop(conn);
    let mut tx = pool.begin().await?;
    // Staff without an address are never mailed.
    sqlx::query!(
        "update notifications n set emailed_at = now() from users u
         where u.id = n.user_id and n.emailed_at is null and u.email = ''",
    )
    .execute(&mut *tx)
    .await?;
    if site.smtp_host.is_empty() || site.smtp_from.is_empty() {
        tx.commit().await?;
        return Ok(0);
    }
    let from: Mailbox = site.smtp_from.parse()?;
    let pending: Vec<Pending> = sqlx::query_as(
        "select n.id, u.email, n.message, n.note, n.link
         from notifications n join users u on u.id = n.user_id
         where n.emailed_at is null and n.created_at > now() - interval '1 day'
         order by n.id limit 50
         for update of n skip locked",
    )
    .fetch_all(&mut *tx)
    .await?;
    let relay = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&site.smtp_host)
        .port(site.smtp_port as u16)
        .timeout(Some(Duration::from_secs(10)))
        .build();
    let mut sent = 0;
    for item in pending {
        let mut body = format!("{}\n", item.message);
        if !item.note.is_empty() {
            body.push_str(&format!("\n意见：{}\n", item.note));
        }
        body.push_str(&format!(
            "\n{}{}\n\n—— {}\n",
            site.site_url, item.link, site.site_name
        ));
        let email = Message::builder()
            .from(from.clone())
            .to(item.email.parse()?)
            .subject(&item.message)
            .body(body)?;
        if let Err(error) = relay.send(email).await {
            tracing::warn!(%error, "could not mail a notification; will retry");
            break;
        }
        sqlx::query!(
            "update notifications set emailed_at = now() where id = $1",
            item.id
        )
        .execute(&mut *tx)
        .await?;
        sent += 1;
    }
    tx.commit().await?;
    Ok(sent)
}

/// Mails notifications every `every` until the process ends.
pub async fn run_mailer(pool: PgPool, every: Duration) {
    loop {
        if let Err(error) = deliver_pending(&pool).await {
            tracing::warn!(%error, "notification mailer failed");
        }
        tokio::time::sleep(every).await;
    }
}
