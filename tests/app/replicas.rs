//! Public pages read from streaming replicas: which requests go to a
//! replica, read-your-writes, pages kept by the page cache after a change,
//! and replicas left out when they lag or stop and taken back after.

use std::time::{Duration, Instant};

use sqlx::{Connection, PgConnection};

use crate::helpers::{TestApp, execute, server, set_cookie, spawn_app, spawn_app_with, texts};

/// Statements the app has run on `database` of the server at `options`,
/// the statistics' own and the replica watcher's left out.
async fn statements_on(options: sqlx::postgres::PgConnectOptions) -> i64 {
    let mut conn = PgConnection::connect_with(&options).await.unwrap();
    let calls = sqlx::query_scalar(
        "select coalesce(sum(calls), 0)::bigint from monitoring.pg_stat_statements s
         join pg_database d on d.oid = s.dbid
         where d.datname = current_database() and s.query not ilike '%pg_stat_statements%'
           and s.query not ilike '%pg_is_in_recovery%'
           and s.query !~* '^\\s*(set|begin|commit|rollback|listen)\\y'",
    )
    .fetch_one(&mut conn)
    .await
    .expect("the test cluster loads pg_stat_statements");
    conn.close().await.unwrap();
    calls
}

/// The standby's connection options for the app's database.
fn standby_options(app: &TestApp) -> sqlx::postgres::PgConnectOptions {
    server()
        .replica_url(&app.database.name)
        .unwrap()
        .parse()
        .unwrap()
}

/// How many statements one GET of `path` ran on the standby.
async fn read_on_standby(app: &TestApp, path: &str) -> i64 {
    read_on_standby_of(app, &standby_options(app), path).await
}

/// How many statements one GET of `path` ran on the server at `options`.
async fn read_on_standby_of(
    app: &TestApp,
    options: &sqlx::postgres::PgConnectOptions,
    path: &str,
) -> i64 {
    let before = statements_on(options.clone()).await;
    let response = app.get(path).await;
    assert_eq!(response.status(), 200, "{path}");
    statements_on(options.clone()).await - before
}

/// Waits until the app's watcher has seen the replica healthy.
async fn until_healthy(app: &TestApp, healthy: bool, within: Duration) -> String {
    let deadline = Instant::now() + within;
    loop {
        let metrics = app.get("/metrics").await.text().await.unwrap();
        let flag = if healthy { "} 1" } else { "} 0" };
        if metrics
            .lines()
            .any(|line| line.starts_with("newsdesk_replica_healthy{") && line.ends_with(flag))
        {
            return metrics;
        }
        assert!(
            Instant::now() < deadline,
            "the replica is not {} within {within:?}:\n{}",
            if healthy { "healthy" } else { "left out" },
            metrics
                .lines()
                .filter(|line| line.starts_with("newsdesk_replica"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The replica's lag as /metrics says it.
fn lag_of(metrics: &str) -> f64 {
    metrics
        .lines()
        .find(|line| line.starts_with("newsdesk_replica_lag_seconds{"))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .expect("a lag gauge")
}

#[tokio::test]
async fn strangers_read_the_standby_and_writers_staff_and_forms_the_primary() {
    if server().replica_url("postgres").is_none() {
        return;
    }
    let app = spawn_app_with(|config| config.page_cache_mb = 0).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    until_healthy(&app, true, Duration::from_secs(10)).await;
    // Until the watcher has seen the standby replay the demo content, the
    // primary answers.
    let deadline = Instant::now() + Duration::from_secs(5);
    while read_on_standby(&app, "/").await == 0 {
        assert!(Instant::now() < deadline, "the standby is never read");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for path in ["/", "/search?q=电网", "/feed.xml"] {
        assert!(
            read_on_standby(&app, path).await > 0,
            "{path} is read from the standby"
        );
    }

    // A browser whose last write the standby cannot have replayed yet
    // reads the primary: its position, signed with the site key, is far
    // past anything written.
    let primary: i64 = sqlx::query_scalar("select (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let ahead = primary as u64 + (1 << 40);
    let signed = |position: u64, key: &[u8]| {
        let mac = newsdesk::secret::keyed_hash(key, "replica position", &position.to_be_bytes());
        format!("{position:x}.{}", hex::encode(&mac[..12]))
    };
    let writer = |value: String| {
        let client = reqwest::Client::builder()
            .default_headers(
                [(
                    reqwest::header::COOKIE,
                    format!("nd_seen={value}").parse().unwrap(),
                )]
                .into_iter()
                .collect(),
            )
            .build()
            .unwrap();
        TestApp {
            client,
            ..app.other_client()
        }
    };
    let just_wrote = writer(signed(ahead, app.secret.as_bytes()));
    assert_eq!(
        read_on_standby(&just_wrote, "/").await,
        0,
        "read from the primary"
    );
    // A position signed with another key, or not signed, is not believed:
    // nobody sends the site's reads to the primary by forging one.
    let forged = writer(signed(ahead, b"another key"));
    assert!(read_on_standby(&forged, "/").await > 0);
    let unsigned = writer(format!("{ahead:x}"));
    assert!(read_on_standby(&unsigned, "/").await > 0);

    // Staff read the primary, even on public pages.
    let staff = app.other_client();
    staff.login_as("replica-editor", "editor").await;
    assert_eq!(
        read_on_standby(&staff, "/").await,
        0,
        "staff read the primary"
    );

    // A form sent (a reader's comment) comes back with the position of the
    // write, past what the primary had before it.
    let number: i64 = sqlx::query_scalar(
        "select number from articles where status = 'published' order by number limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let reader = app.other_client();
    reader.get(&format!("/articles/{number}")).await;
    let response = reader
        .post(
            &format!("/articles/{number}/comments"),
            &[
                ("body", "从备库读到的页面也看得到我的评论"),
                ("author_name", "读者"),
                ("captcha_answer", "x"),
            ],
        )
        .await;
    let cookie = set_cookie(&response, "nd_seen");
    let value = cookie
        .trim_start_matches("nd_seen=")
        .split(';')
        .next()
        .unwrap();
    let position = u64::from_str_radix(value.split('.').next().unwrap(), 16).unwrap();
    assert!(position >= primary as u64, "{cookie}");
    assert_eq!(
        value,
        signed(position, app.secret.as_bytes()),
        "signed with the site key"
    );
}

#[tokio::test]
async fn a_page_rendered_again_after_a_change_is_never_the_lagging_replicas() {
    let Some((standby, _turn)) = server().lagging_standby().await else {
        return;
    };
    let url = |name: &str| {
        format!(
            "postgres://newsdesk@localhost/{name}?host={}",
            standby.socket_dir().display()
        )
    };
    // Two instances reading from the lagging standby; a lag of a minute is
    // allowed, so it stays in use while its replay is paused.
    let app = spawn_app().await;
    let replica = url(&app.database.name);
    let other = app.second_instance_with(|config| {
        config.replica_urls = vec![replica.clone()];
        config.replica_max_lag = 60.0;
    });
    let first = app.second_instance_with(|config| {
        config.replica_urls = vec![replica.clone()];
        config.replica_max_lag = 60.0;
    });
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let number: i64 = sqlx::query_scalar(
        "select number from articles where status = 'published' order by number limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let path = format!("/articles/{number}");
    until_healthy(&first, true, Duration::from_secs(20)).await;
    until_healthy(&other, true, Duration::from_secs(20)).await;
    // Both instances keep the page.
    for instance in [&first, &other] {
        for _ in 0..3 {
            assert_eq!(instance.get(&path).await.status(), 200);
        }
    }
    let mut standby_conn = PgConnection::connect_with(&standby.connect_options(&app.database.name))
        .await
        .unwrap();
    sqlx::query("select pg_wal_replay_pause()")
        .execute(&mut standby_conn)
        .await
        .unwrap();
    // A change acknowledged by the primary, made by neither instance.
    execute!(
        app,
        "update articles set title = '主库上改过的标题' where number = $1",
        number
    );
    // Each instance hears of it and renders the page again: from the
    // primary, as the paused standby has not replayed the change. Once an
    // instance shows the new title it never shows the old one again.
    for instance in [&first, &other] {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let (_, html) = instance.page(&path).await;
            if texts(&html, "h1").join("") == "主库上改过的标题" {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the old page is still served: {:?}",
                texts(&html, "h1")
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        for _ in 0..20 {
            let (_, html) = instance.page(&path).await;
            assert_eq!(texts(&html, "h1").join(""), "主库上改过的标题");
        }
    }
    sqlx::query("select pg_wal_replay_resume()")
        .execute(&mut standby_conn)
        .await
        .unwrap();
    standby_conn.close().await.unwrap();
}

#[tokio::test]
async fn a_replica_that_lags_or_stops_is_left_out_and_taken_back() {
    let Some((standby, _turn)) = server().lagging_standby().await else {
        return;
    };
    let replica = |name: &str| {
        format!(
            "postgres://newsdesk@localhost/{name}?host={}",
            standby.socket_dir().display()
        )
    };
    let app = spawn_app().await;
    let url = replica(&app.database.name);
    let app = app.second_instance_with(|config| {
        config.replica_urls = vec![url.clone()];
        config.replica_max_lag = 1.0;
        config.page_cache_mb = 0;
    });
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let metrics = until_healthy(&app, true, Duration::from_secs(20)).await;
    assert!(lag_of(&metrics) < 1.0, "{}", lag_of(&metrics));

    // Replay paused while the primary writes on: left out once it is a
    // second behind, and pages are read from the primary meanwhile.
    let options = standby.connect_options(&app.database.name);
    let mut standby_conn = PgConnection::connect_with(&options).await.unwrap();
    sqlx::query("select pg_wal_replay_pause()")
        .execute(&mut standby_conn)
        .await
        .unwrap();
    let paused = Instant::now();
    execute!(
        app,
        "update articles set title = title || '。' where number = (select min(number) from articles)"
    );
    let metrics = until_healthy(&app, false, Duration::from_secs(4)).await;
    assert!(paused.elapsed() >= Duration::from_millis(900));
    assert!(lag_of(&metrics) >= 1.0, "{}", lag_of(&metrics));
    assert_eq!(
        read_on_standby_of(&app, &options, "/").await,
        0,
        "read from the primary"
    );
    // Caught up: taken back within two seconds.
    sqlx::query("select pg_wal_replay_resume()")
        .execute(&mut standby_conn)
        .await
        .unwrap();
    standby_conn.close().await.unwrap();
    let resumed = Instant::now();
    let metrics = until_healthy(&app, true, Duration::from_secs(2)).await;
    assert!(resumed.elapsed() < Duration::from_secs(2));
    assert!(lag_of(&metrics) < 1.0);

    // Stopped: left out within two seconds, every page still served.
    standby.stop().unwrap();
    let stopped = Instant::now();
    until_healthy(&app, false, Duration::from_secs(2)).await;
    assert!(stopped.elapsed() < Duration::from_secs(2));
    for path in ["/", "/search?q=电网", "/feed.xml"] {
        assert_eq!(app.get(path).await.status(), 200, "{path}");
    }
    // Started again: taken back.
    standby.start().unwrap();
    until_healthy(&app, true, Duration::from_secs(10)).await;
    assert!(read_on_standby_of(&app, &options, "/").await > 0);
}
