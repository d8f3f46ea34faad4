//! Faults, as production meets them: PostgreSQL stopped and started under
//! concurrent writes, a database too slow to answer, every connection
//! taken. Whatever the site acknowledged is kept, nothing is half-written,
//! the visitor reads 503 (never 500) while the database is away, and the
//! site is healthy again soon after it returns.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use newsdesk::app::Application;
use newsdesk::config::Config;
use newsdesk::db::cluster::{PgBinaries, PrivateCluster};
use newsdesk::secret::SecretKey;
use sqlx::{Connection, PgConnection};

use crate::helpers::{TestApp, attrs, location, spawn_app_with};

/// A PostgreSQL cluster of the test's own, which it may stop and start.
struct OwnCluster {
    cluster: PrivateCluster,
    _folder: tempfile::TempDir,
}

impl OwnCluster {
    async fn start() -> OwnCluster {
        use std::os::unix::fs::PermissionsExt;
        let folder = tempfile::tempdir().unwrap();
        std::fs::set_permissions(folder.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let root = folder.path().join("pg");
        let cluster = tokio::task::spawn_blocking(move || {
            let cluster = PrivateCluster::new(&root, PgBinaries::find(None).unwrap()).unwrap();
            cluster.start().unwrap();
            cluster
        })
        .await
        .unwrap();
        newsdesk::db::create_database_if_missing(cluster.connect_options("postgres"), "newsdesk")
            .await
            .unwrap();
        let mut conn = PgConnection::connect_with(&cluster.connect_options("newsdesk"))
            .await
            .unwrap();
        newsdesk::db::MIGRATOR.run(&mut conn).await.unwrap();
        crate::helpers::as_tests_log_in(&mut conn).await;
        conn.close().await.unwrap();
        OwnCluster {
            cluster,
            _folder: folder,
        }
    }

    fn stop(&self) {
        self.cluster.stop().unwrap();
    }

    fn start_again(&self) {
        self.cluster.start().unwrap();
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        let _ = self.cluster.stop();
    }
}

/// The app on the test's own cluster, with the test captcha.
async fn app_on(cluster: &OwnCluster) -> TestApp {
    let database =
        crate::helpers::TestDatabase::external(cluster.cluster.connect_options("newsdesk"));
    let mut config = Config::defaults();
    let data_dir = Arc::new(tempfile::tempdir().unwrap());
    config.data_dir = data_dir.path().to_path_buf();
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.workers = 2;
    config.shutdown_timeout = 1;
    config.test_captcha = Some("TESTME".into());
    let secret = SecretKey::generate();
    let pool = newsdesk::db::pool(database.options.clone(), 10);
    let app = Application::build(&config, pool, secret.clone()).unwrap();
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap(),
        pool: sqlx::postgres::PgPoolOptions::new()
            .max_connections(2)
            .connect_lazy_with(database.options.clone()),
        database: Arc::new(database),
        secret,
        data_dir,
    }
}

/// Polls /healthz until it answers 200; returns how long that took.
async fn healthy_after(app: &TestApp) -> Duration {
    let started = Instant::now();
    for _ in 0..300 {
        if let Ok(response) = app.client.get(app.url("/healthz")).send().await
            && response.status() == 200
        {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("not healthy within 15 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_stopped_under_concurrent_saves_and_comments_loses_nothing_acknowledged() {
    let cluster = OwnCluster::start().await;
    let app = app_on(&cluster).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let (channel, unit, number): (uuid::Uuid, uuid::Uuid, i64) = sqlx::query_as(
        "select channel_id, unit_id, number from articles where status = 'published' order by number limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query("update channels set comment_moderation = 'post'")
        .execute(&app.pool)
        .await
        .unwrap();
    let running = Arc::new(AtomicBool::new(true));
    let mut workers = Vec::new();
    for writer in 0..4 {
        let client = app.other_client();
        client
            .login_as(&format!("writer{writer}"), "chief_editor")
            .await;
        let running = running.clone();
        let (channel, unit) = (channel.to_string(), unit.to_string());
        workers.push(tokio::spawn(async move {
            let mut acknowledged: Vec<String> = Vec::new();
            let mut statuses: Vec<u16> = Vec::new();
            let token = client.csrf().await;
            let mut n = 0;
            while running.load(Ordering::SeqCst) {
                n += 1;
                let title = format!("故障测试{writer}-{n}");
                let saved = client
                    .client
                    .post(client.url("/admin/articles/new"))
                    .form(&[
                        ("title", title.as_str()),
                        ("body", "<p>正文</p>"),
                        ("channel_id", &channel),
                        ("unit_id", &unit),
                        ("tags", "故障、测试"),
                        ("action", "save"),
                        ("csrf_token", &token),
                    ])
                    .send()
                    .await;
                if let Ok(response) = saved {
                    statuses.push(response.status().as_u16());
                    if response.status() == 303 && location(&response).contains("done=saved") {
                        acknowledged.push(title.clone());
                    }
                }
                // A comment from a reader beside each save.
                let comment = format!("评论{writer}-{n}");
                let posted = client
                    .client
                    .post(client.url(&format!("/articles/{number}/comments")))
                    .form(&[
                        ("body", comment.as_str()),
                        ("anonymous", "on"),
                        (
                            "captcha_id",
                            &newsdesk::captcha::issue(client.secret.as_bytes()),
                        ),
                        ("captcha_answer", "TESTME"),
                        ("csrf_token", &token),
                    ])
                    .send()
                    .await;
                if let Ok(response) = posted {
                    statuses.push(response.status().as_u16());
                    if response.status() == 303 && location(&response).contains("comment=posted") {
                        acknowledged.push(comment);
                    }
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            (acknowledged, statuses)
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Fast shutdown: every session gets "terminating connection due to
    // administrator command" (57P01), mid-statement for some.
    let stopper = &cluster;
    tokio::task::block_in_place(|| stopper.stop());
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let away = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(away.status(), 503);
    let page = app
        .client
        .get(app.url("/channels/yaowen?nocache=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 503, "pages say the service is unavailable");
    tokio::task::block_in_place(|| stopper.start_again());
    let recovery = healthy_after(&app).await;
    assert!(
        recovery < Duration::from_secs(5),
        "healthy after {recovery:?}"
    );
    tokio::time::sleep(Duration::from_millis(1000)).await;
    running.store(false, Ordering::SeqCst);

    let mut acknowledged = Vec::new();
    let mut statuses = Vec::new();
    for worker in workers {
        let (acked, seen) = worker.await.unwrap();
        acknowledged.extend(acked);
        statuses.extend(seen);
    }
    assert!(!statuses.contains(&500), "a 500 among {statuses:?}");
    assert!(statuses.contains(&503), "the fault was seen: {statuses:?}");
    // 429: the comment rate limit of one address, which every writer shares.
    assert!(
        statuses.iter().all(|s| matches!(s, 303 | 429 | 503)),
        "{statuses:?}"
    );
    assert!(
        acknowledged.len() > 8,
        "{} writes acknowledged",
        acknowledged.len()
    );

    // Every acknowledged write is there, whole: a story with its first
    // revision, its creation event and its tags; a comment counted.
    let mut conn = app.pool.acquire().await.unwrap();
    for written in &acknowledged {
        let found: i64 = if written.starts_with("故障测试") {
            sqlx::query_scalar(
                "select count(*) from articles a
                 where a.title = $1
                   and exists (select 1 from article_revisions r where r.article_id = a.id and r.version = 1)
                   and exists (select 1 from review_events e where e.article_id = a.id and e.action = 'create')
                   and (select count(*) from article_tags t where t.article_id = a.id) = 2",
            )
        } else {
            sqlx::query_scalar("select count(*) from comments where body = $1")
        }
        .bind(written)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert_eq!(found, 1, "{written} was acknowledged");
    }
    let half: i64 = sqlx::query_scalar(
        "select count(*) from articles a where a.title like '故障测试%'
           and (not exists (select 1 from article_revisions r where r.article_id = a.id)
                or not exists (select 1 from review_events e where e.article_id = a.id))",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(half, 0, "nothing half-written");
    let (counted, stored): (i64, i64) = sqlx::query_as(
        "select (select comment_count from articles where number = $1)::bigint,
                (select count(*) from comments c join articles a on a.id = c.article_id
                 where a.number = $1 and c.status = 'approved')",
    )
    .bind(number)
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert_eq!(
        counted, stored,
        "the story's comment count matches its comments"
    );
}

#[tokio::test]
async fn a_slow_database_gets_a_bounded_wait_then_503_and_every_connection_taken_too() {
    // The primary held up (a replica replays the lock only when it is
    // written out): read from it alone.
    let app = spawn_app_with(|config| {
        config.replica_urls.clear();
        config.db_statement_timeout = 2;
        config.page_cache_mb = 0;
        config.db_max_connections = 2;
    })
    .await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    assert_eq!(app.get("/").await.status(), 200);
    // Someone holds a lock every page needs, as a long migration or a
    // stuck transaction would.
    let mut locker = PgConnection::connect_with(&app.database.options)
        .await
        .unwrap();
    let mut lock = locker.begin().await.unwrap();
    sqlx::query("lock table structure_version in access exclusive mode")
        .execute(&mut *lock)
        .await
        .unwrap();
    let started = Instant::now();
    let mut waiting = Vec::new();
    for n in 0..8 {
        let request = app
            .client
            .get(app.url(&format!("/search?q=%E7%94%B5%E7%BD%91{n}")))
            .timeout(Duration::from_secs(30))
            .send();
        waiting.push(tokio::spawn(request));
    }
    let mut statuses = Vec::new();
    for request in waiting {
        let response = request.await.unwrap().expect("answered, not hung");
        statuses.push(response.status().as_u16());
        let body = response.text().await.unwrap();
        assert!(body.contains("服务暂时不可用"), "{body}");
    }
    assert_eq!(
        statuses, [503; 8],
        "the statement timeout or the pool's wait"
    );
    assert!(started.elapsed() < Duration::from_secs(30));
    lock.rollback().await.unwrap();
    assert_eq!(
        app.get("/").await.status(),
        200,
        "fine once the lock is gone"
    );
    let (status, html) = app.page("/search?q=%E7%94%B5%E7%BD%91").await;
    assert_eq!(status, 200);
    assert!(!attrs(&html, "form[action='/search']", "action").is_empty());
}
