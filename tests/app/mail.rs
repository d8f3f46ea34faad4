//! Notification e-mail through a local SMTP sink.

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

use crate::helpers::spawn_app;

/// A minimal SMTP server that accepts every message and keeps its envelope
/// recipients and raw data.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<(Vec<String>, String)>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let store = store.clone();
            tokio::spawn(async move {
                let (read, mut write) = stream.into_split();
                let mut lines = BufReader::new(read).lines();
                write.write_all(b"220 sink ESMTP\r\n").await.unwrap();
                let (mut recipients, mut data, mut in_data) = (Vec::new(), String::new(), false);
                while let Ok(Some(line)) = lines.next_line().await {
                    if in_data {
                        if line == "." {
                            in_data = false;
                            store
                                .lock()
                                .unwrap()
                                .push((std::mem::take(&mut recipients), std::mem::take(&mut data)));
                            write.write_all(b"250 queued\r\n").await.unwrap();
                        } else {
                            data.push_str(&line);
                            data.push('\n');
                        }
                        continue;
                    }
                    let upper = line.to_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250 sink\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        recipients.push(line[8..].trim().to_string());
                        b"250 ok\r\n"
                    } else if upper.starts_with("DATA") {
                        in_data = true;
                        b"354 go on\r\n"
                    } else if upper.starts_with("QUIT") {
                        write.write_all(b"221 bye\r\n").await.unwrap();
                        break;
                    } else {
                        b"250 ok\r\n"
                    };
                    write.write_all(reply).await.unwrap();
                }
            });
        }
    });
    (port, received)
}

#[tokio::test]
async fn notifications_are_mailed_once_to_staff_with_an_address() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (port, received) = smtp_sink().await;
    for (key, value) in [
        ("smtp_host", "127.0.0.1".to_string()),
        ("smtp_port", port.to_string()),
        ("smtp_from", "新闻网 <news@example.com>".to_string()),
        ("site_url", "https://news.example.com".to_string()),
    ] {
        sqlx::query("update settings set value = $2 where key = $1")
            .bind(key)
            .bind(value)
            .execute(&app.pool)
            .await
            .unwrap();
    }
    sqlx::query("update users set email = 'bianji@example.com' where username = 'bianji'")
        .execute(&app.pool)
        .await
        .unwrap();
    app.login_as("writer", "correspondent").await;
    let channel: uuid::Uuid = sqlx::query_scalar("select id from channels where slug = 'keji'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let unit: uuid::Uuid = sqlx::query_scalar("select id from units where parent_id is null")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let response = app
        .post(
            "/admin/articles/new",
            &[
                ("title", "变电站投运"),
                ("channel_id", &channel.to_string()),
                ("unit_id", &unit.to_string()),
                ("action", "submit"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);

    let sent = newsdesk::notifications::mail::deliver_pending(&app.pool)
        .await
        .unwrap();
    assert_eq!(sent, 1, "only the editor with an address is mailed");
    {
        let mails = received.lock().unwrap();
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].0, ["<bianji@example.com>"]);
        assert!(mails[0].1.contains("Subject:"), "{}", mails[0].1);
    }
    assert_eq!(
        newsdesk::notifications::mail::deliver_pending(&app.pool)
            .await
            .unwrap(),
        0,
        "never twice"
    );
    let unmailed: i64 =
        sqlx::query_scalar("select count(*) from notifications where emailed_at is null")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(unmailed, 0, "staff without an address are marked too");
}

#[tokio::test]
async fn without_a_relay_nothing_is_mailed() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    sqlx::query("update users set email = 'bianji@example.com' where username = 'bianji'")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query(
        "insert into notifications (user_id, message, link)
         select id, '测试', '/admin' from users where username = 'bianji'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        newsdesk::notifications::mail::deliver_pending(&app.pool)
            .await
            .unwrap(),
        0
    );
    let waiting: i64 =
        sqlx::query_scalar("select count(*) from notifications where emailed_at is null")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(waiting, 1, "kept for when e-mail is switched on");
}
