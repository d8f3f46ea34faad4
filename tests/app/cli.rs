//! The `newsdesk` binary as an operator runs it: no DATABASE_URL, so it
//! starts, uses and stops its own PostgreSQL cluster.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `newsdesk`; if the test fails half-way, dropping it stops the
/// process (and so its PostgreSQL), so nothing is left running.
pub(crate) struct Running(Option<Child>);

impl Running {
    fn pid(&self) -> Pid {
        Pid::from_raw(self.0.as_ref().expect("running").id() as i32)
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
            for _ in 0..100 {
                if child.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

pub(crate) fn start_newsdesk(data_dir: &Path, port: u16, log: &Path) -> Running {
    let child = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .env_remove("DATABASE_URL")
        .env_remove("NEWSDESK_SECRET_KEY")
        .env("NEWSDESK_DATA_DIR", data_dir)
        .env("NEWSDESK_BIND", format!("127.0.0.1:{port}"))
        .env("NEWSDESK_LOG_FORMAT", "json")
        .stdout(std::fs::File::create(log).unwrap())
        .stderr(std::fs::File::create(log.with_extension("err")).unwrap())
        .spawn()
        .unwrap();
    Running(Some(child))
}

pub(crate) async fn wait_until_healthy(port: u16) {
    for _ in 0..300 {
        if let Ok(response) = reqwest::get(format!("http://127.0.0.1:{port}/healthz")).await
            && response.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("newsdesk did not become healthy within a minute");
}

pub(crate) fn stop(mut running: Running) {
    let mut child = running.0.take().expect("running");
    // A second SIGTERM during a shutdown already under way changes nothing.
    let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
    let status = child.wait().unwrap();
    assert!(status.success(), "clean exit after SIGTERM: {status}");
}

#[tokio::test]
async fn serve_runs_its_own_postgres_seeds_the_demo_and_stops_it_on_sigterm() {
    let folder = tempfile::tempdir().unwrap();
    std::fs::set_permissions(folder.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data_dir = folder.path().join("var");
    let pid_file = data_dir.join("postgres/data/postmaster.pid");
    let log = folder.path().join("first.log");
    let port = free_port();

    let child = start_newsdesk(&data_dir, port, &log);
    wait_until_healthy(port).await;
    assert!(
        pid_file.exists(),
        "the private cluster runs under the data folder"
    );
    let home = reqwest::get(format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("山东电网全力保障冬季电力供应"),
        "demo stories on the home page"
    );

    // Graceful shutdown: a request still being served when SIGTERM arrives
    // (held up here by a table lock) gets its answer before the exit.
    let options = private_database(&data_dir);
    let mut locker = <sqlx::PgConnection as sqlx::Connection>::connect_with(&options)
        .await
        .unwrap();
    let mut lock = sqlx::Connection::begin(&mut locker).await.unwrap();
    sqlx::query("lock table structure_version in access exclusive mode")
        .execute(&mut *lock)
        .await
        .unwrap();
    // (A search not asked before, so not in the page cache.)
    let in_flight = tokio::spawn(reqwest::get(format!(
        "http://127.0.0.1:{port}/search?q=%E4%BF%9D%E4%BE%9B"
    )));
    tokio::time::sleep(Duration::from_millis(500)).await;
    kill(child.pid(), Signal::SIGTERM).unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(
        !in_flight.is_finished(),
        "the request was waiting when the signal came"
    );
    lock.rollback().await.unwrap();
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request is answered");
    assert_eq!(response.status(), 200);
    drop(locker);
    stop(child);

    assert!(!pid_file.exists(), "PostgreSQL stopped with Newsdesk");
    let printed = std::fs::read_to_string(&log).unwrap();
    assert!(printed.contains("Demo logins"), "{printed}");
    assert!(printed.contains("tongxunyuan1"));
    let key_mode = std::fs::metadata(data_dir.join("secret_key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(key_mode & 0o777, 0o600);
    let socket_config =
        std::fs::read_to_string(data_dir.join("postgres/postgres.log")).unwrap_or_default();
    assert!(
        !socket_config.contains("listening on IPv4"),
        "no TCP port taken"
    );

    // A second start reuses the cluster and its data, and seeds nothing again.
    let log = folder.path().join("second.log");
    let child = start_newsdesk(&data_dir, port, &log);
    wait_until_healthy(port).await;
    let home = reqwest::get(format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(home.matches("class=\"story\"").count(), 6);
    stop(child);
    assert!(
        !std::fs::read_to_string(&log)
            .unwrap()
            .contains("Demo logins")
    );
    assert!(!pid_file.exists());
}

/// A data folder the `postgres` user can reach, in a temporary folder.
pub(crate) fn data_folder() -> (tempfile::TempDir, std::path::PathBuf) {
    let folder = tempfile::tempdir().unwrap();
    std::fs::set_permissions(folder.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data_dir = folder.path().join("var");
    (folder, data_dir)
}

/// `newsdesk ARGS` on `data_dir` with `input` on its standard input.
pub(crate) fn run_command(data_dir: &Path, args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(args)
        .env_remove("DATABASE_URL")
        .env("NEWSDESK_DATA_DIR", data_dir)
        .env("NEWSDESK_DEMO", "false")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// Newsdesk's database in the private cluster under `data_dir`.
pub(crate) fn private_database(data_dir: &Path) -> sqlx::postgres::PgConnectOptions {
    sqlx::postgres::PgConnectOptions::new()
        .socket(data_dir.join("postgres/run"))
        .username(newsdesk::db::cluster::SUPERUSER)
        .database(newsdesk::db::cluster::DATABASE)
}

async fn healthz(port: u16) -> Option<u16> {
    reqwest::get(format!("http://127.0.0.1:{port}/healthz"))
        .await
        .ok()
        .map(|response| response.status().as_u16())
}

fn postmaster_running(data_dir: &Path) -> bool {
    data_dir.join("postgres/data/postmaster.pid").exists()
}

#[tokio::test]
async fn commands_and_a_second_server_never_stop_the_database_a_server_uses() {
    let (folder, data_dir) = data_folder();
    let port = free_port();
    let site = start_newsdesk(&data_dir, port, &folder.path().join("site.log"));
    wait_until_healthy(port).await;

    // An operator creates an account while the site serves.
    let created = run_command(
        &data_dir,
        &["create-user", "--username", "yunwei", "--role", "admin"],
        "a long enough password 42\n",
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    assert_eq!(
        healthz(port).await,
        Some(200),
        "the site still has its database"
    );
    let migrated = run_command(&data_dir, &["migrate"], "");
    assert!(migrated.status.success());
    assert_eq!(healthz(port).await, Some(200));

    // A second server on the same folder cannot take the port, and leaves.
    let second = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .env_remove("DATABASE_URL")
        .env("NEWSDESK_DATA_DIR", &data_dir)
        .env("NEWSDESK_BIND", format!("127.0.0.1:{port}"))
        .output()
        .unwrap();
    assert!(!second.status.success(), "the port is taken");
    assert!(String::from_utf8_lossy(&second.stderr).contains("cannot listen"));
    for _ in 0..5 {
        assert_eq!(
            healthz(port).await,
            Some(200),
            "the first server still serves"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (status, _) = {
        let response = reqwest::get(format!("http://127.0.0.1:{port}/admin/login"))
            .await
            .unwrap();
        (response.status().as_u16(), ())
    };
    assert_eq!(status, 200);

    // The last Newsdesk process out stops the cluster it ran on.
    stop(site);
    assert!(
        !postmaster_running(&data_dir),
        "stopped with the last server"
    );
    let leases = std::fs::read_dir(data_dir.join("postgres/leases"))
        .unwrap()
        .count();
    assert_eq!(leases, 0, "no lease left behind");

    // A command alone starts the cluster for itself and stops it again.
    let alone = run_command(&data_dir, &["migrate"], "");
    assert!(alone.status.success());
    assert!(!postmaster_running(&data_dir));
}

#[tokio::test]
async fn a_rolling_restart_on_one_data_folder_loses_no_request() {
    let (folder, data_dir) = data_folder();
    let (old_port, new_port) = (free_port(), free_port());
    let old = start_newsdesk(&data_dir, old_port, &folder.path().join("old.log"));
    wait_until_healthy(old_port).await;

    // Readers keep asking, as through a load balancer that sends each
    // request to a server that accepts it.
    let running = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let load = {
        let running = running.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let (mut answered, mut failed) = (0u32, Vec::new());
            let mut n = 0u32;
            while running.load(std::sync::atomic::Ordering::SeqCst) {
                n += 1;
                let path = format!("/search?q=%E7%94%B5%E7%BD%91{n}");
                let mut outcome = None;
                for port in [old_port, new_port] {
                    match client
                        .get(format!("http://127.0.0.1:{port}{path}"))
                        .send()
                        .await
                    {
                        Ok(response) => {
                            outcome = Some(response.status().as_u16());
                            break;
                        }
                        // No response header came back (refused, or a kept
                        // connection the stopping server closed): the balancer
                        // tries the next server with this GET, as nginx does by
                        // default (proxy_next_upstream error).
                        Err(error) => {
                            if port == new_port {
                                failed.push(format!("{port}: {error}"));
                            }
                            continue;
                        }
                    }
                }
                match outcome {
                    Some(200) => answered += 1,
                    Some(status) => failed.push(format!("{path}: {status}")),
                    None => failed.push(format!("{path}: no server accepted")),
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            (answered, failed)
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let new = start_newsdesk(&data_dir, new_port, &folder.path().join("new.log"));
    wait_until_healthy(new_port).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    stop(old);
    assert!(
        postmaster_running(&data_dir),
        "the new server keeps the database"
    );
    for _ in 0..10 {
        assert_eq!(healthz(new_port).await, Some(200));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    running.store(false, std::sync::atomic::Ordering::SeqCst);
    let (answered, failed) = load.await.unwrap();
    assert!(failed.is_empty(), "failed requests: {failed:?}");
    assert!(answered > 20, "{answered} requests answered");
    stop(new);
    assert!(!postmaster_running(&data_dir));
}

#[tokio::test]
async fn a_killed_server_leaves_a_cluster_the_next_one_takes_over_and_stops() {
    let (folder, data_dir) = data_folder();
    let port = free_port();
    let first = start_newsdesk(&data_dir, port, &folder.path().join("first.log"));
    wait_until_healthy(port).await;
    let mut first = first;
    let mut child = first.0.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        postmaster_running(&data_dir),
        "PostgreSQL outlives a SIGKILL"
    );

    // A command uses the cluster it finds running and leaves it running.
    let created = run_command(
        &data_dir,
        &["create-user", "--username", "huifu", "--role", "editor"],
        "a long enough password 42\n",
    );
    assert!(created.status.success());
    assert!(
        postmaster_running(&data_dir),
        "a command stops only what it started"
    );
    let leases = std::fs::read_dir(data_dir.join("postgres/leases"))
        .unwrap()
        .count();
    assert_eq!(
        leases, 0,
        "the dead server's lease was cleared by the command"
    );
    // The next server takes it over and, the last one out, stops it.
    let second = start_newsdesk(&data_dir, port, &folder.path().join("second.log"));
    wait_until_healthy(port).await;
    stop(second);
    assert!(!postmaster_running(&data_dir));
}

#[tokio::test]
async fn generate_fills_a_new_database_that_the_site_serves() {
    let app = crate::helpers::spawn_app().await;
    let output = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(["generate", "--articles", "1000", "--comments", "500"])
        .env("DATABASE_URL", app.database.url())
        .env("NEWSDESK_DATA_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let counts: (i64, i64, i64, i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from articles where status = 'published'),
                (select count(*) from units), (select count(*) from channels),
                (select count(*) from users),
                (select count(*) from articles a where a.status = 'published'
                   and (select count(*) from review_events e where e.article_id = a.id) >= 4),
                (select count(*) from articles where status = 'published'
                   and length(body_text) between 1500 and 4800)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(counts.0, 1000);
    assert!((450..=600).contains(&counts.1), "{} units", counts.1);
    assert_eq!((counts.2, counts.3), (40, 2000));
    assert_eq!(counts.4, 1000, "every story has its review history");
    let waiting: i64 = sqlx::query_scalar(
        "select count(*) from articles where status in ('submitted', 'in_review')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(waiting, 5, "one story in 200 more waits for review");
    // A waiting story's history ends where it waits, and a story at the
    // chief editor's stage is known to be passed by its editor.
    let (wrong_history, wrong_passers): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where (select e.to_status from review_events e
                                        where e.article_id = a.id order by e.id desc limit 1)
                                       is distinct from a.status),
                count(*) filter (where cardinality(a.passed_by) <> a.review_stage
                                    or a.passed_by <> review_round_passers(a.id))
         from articles a where a.status in ('submitted', 'in_review')",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((wrong_history, wrong_passers), (0, 0));
    let highest: i64 =
        sqlx::query_scalar("select max(number) from articles where status = 'published'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(highest, 1000, "published stories are numbered 1 to N");
    assert_eq!(counts.5, 1000, "1,500 to 4,000 characters");
    let (approved, counted): (i64, i64) = sqlx::query_as(
        "select (select count(*) from comments where status = 'approved'),
                (select coalesce(sum(comment_count), 0) from articles)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(approved, counted, "comment counts match the comments");

    // The vectors computed in bulk are the ones the app computes.
    type Story = (
        newsdesk::ids::ArticleId,
        String,
        String,
        String,
        String,
        String,
        String,
    );
    let (id, title, summary, body, byline, correspondents, vector): Story = sqlx::query_as(
        "select id, title, summary, body_text, author_byline, correspondents,
                search_vector::text from articles limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let mut conn = app.pool.acquire().await.unwrap();
    let story = newsdesk::search::Indexed {
        title: &title,
        summary: &summary,
        body_text: &body,
        byline: &byline,
        correspondents: &correspondents,
    };
    newsdesk::search::index(&mut conn, id, &story)
        .await
        .unwrap();
    let indexed: String =
        sqlx::query_scalar("select search_vector::text from articles where id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
    assert_eq!(vector, indexed);
    let index: bool = sqlx::query_scalar(
        "select exists (select 1 from pg_indexes where indexname = 'articles_search')",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert!(index, "indexes are built again after the load");

    // The load bypassed the triggers, so the statistics days were built
    // from scratch at its end: they hold every first submission.
    let (submitted, submitters, stale): (i64, i64, i64) = sqlx::query_as(
        "select (select coalesce(sum(submitted), 0) from stats_days),
                (select count(distinct article_id) from review_events where action = 'submit'),
                (select count(*) from generate_series(
                     (select (min(at) at time zone 'Asia/Shanghai')::date from review_events),
                     (now() at time zone 'Asia/Shanghai')::date, interval '1 day') d
                 where not exists (select 1 from stats_built_days b where b.day = d::date))",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert!(submitters >= 1000);
    assert_eq!(submitted, submitters, "one first submission per story");
    assert_eq!(stale, 0, "every day is built");

    let (status, html) = app.page("/search?q=电网").await;
    assert_eq!(status, 200);
    assert_eq!(
        crate::helpers::texts(&html, ".search-results .story-title a").len(),
        20
    );
    assert_eq!(app.page("/channels/yaowen").await.0, 200);

    let again = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(["generate", "--articles", "10"])
        .env("DATABASE_URL", app.database.url())
        .env("NEWSDESK_DATA_DIR", std::env::temp_dir())
        .output()
        .unwrap();
    assert!(!again.status.success(), "a used database is refused");
}

#[test]
fn the_benchmark_script_is_valid_shell() {
    let root = env!("CARGO_MANIFEST_DIR");
    for script in [
        "bench/run.sh",
        "bench/soak.sh",
        "bench/cluster.sh",
        "fuzz/run.sh",
        "deploy/postgres/replica.sh",
        "deploy/postgres/primary-init.sh",
    ] {
        let status = Command::new("bash")
            .args(["-n", &format!("{root}/{script}")])
            .status()
            .unwrap();
        assert!(status.success(), "{script}");
    }
    let compiled = Command::new("python3")
        .args([
            "-c",
            "import ast, sys; ast.parse(open(sys.argv[1]).read())",
            &format!("{root}/bench/soak.py"),
        ])
        .status()
        .unwrap();
    assert!(compiled.success(), "bench/soak.py");
    for script in ["report", "plain", "articles", "captchas", "comments"] {
        assert!(
            Path::new(&format!("{root}/bench/{script}.lua")).is_file(),
            "{script}.lua"
        );
    }
}

#[tokio::test]
async fn a_production_start_is_empty_and_prints_nothing_secret() {
    // The image and the compose file start without demo content.
    let root = env!("CARGO_MANIFEST_DIR");
    let dockerfile = std::fs::read_to_string(format!("{root}/Dockerfile")).unwrap();
    assert!(
        dockerfile.contains("NEWSDESK_DEMO=false"),
        "the image seeds no demo"
    );
    let compose = std::fs::read_to_string(format!("{root}/docker-compose.yml")).unwrap();
    assert!(compose.contains("NEWSDESK_DEMO: \"false\""));
    assert!(
        !compose.contains(":-newsdesk}"),
        "no default database password"
    );

    let (folder, data_dir) = data_folder();
    let port = free_port();
    let log = folder.path().join("production.log");
    let child = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .env_remove("DATABASE_URL")
        .env("NEWSDESK_DATA_DIR", &data_dir)
        .env("NEWSDESK_BIND", format!("127.0.0.1:{port}"))
        .env("NEWSDESK_DEMO", "false")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(std::fs::File::create(log.with_extension("err")).unwrap())
        .spawn()
        .unwrap();
    let site = Running(Some(child));
    wait_until_healthy(port).await;
    let home = reqwest::get(format!("http://127.0.0.1:{port}/"))
        .await
        .unwrap();
    assert_eq!(home.status(), 200, "an empty site still has a home page");
    let options = private_database(&data_dir);
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect_with(&options)
        .await
        .unwrap();
    let users: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(users, 0, "no demo accounts");
    drop(conn);
    stop(site);
    let printed = std::fs::read_to_string(&log).unwrap()
        + &std::fs::read_to_string(log.with_extension("err")).unwrap();
    for secret in ["Demo logins", "password", "密码"] {
        assert!(!printed.contains(secret), "printed {secret:?}: {printed}");
    }
}

#[tokio::test]
async fn a_server_killed_mid_save_leaves_nothing_half_written_and_comes_back() {
    let (folder, data_dir) = data_folder();
    let port = free_port();
    let site = start_newsdesk(&data_dir, port, &folder.path().join("first.log"));
    wait_until_healthy(port).await;
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let created = run_command(
        &data_dir,
        &["create-user", "--username", "kill_test", "--role", "editor"],
        "a long enough password 42\n",
    );
    assert!(created.status.success());
    let token = |html: String| {
        let html = scraper::Html::parse_document(&html);
        crate::helpers::attrs(&html, "input[name=csrf_token]", "value")[0].clone()
    };
    let login_page = client
        .get(format!("{base}/admin/login"))
        .send()
        .await
        .unwrap();
    let csrf = token(login_page.text().await.unwrap());
    let login = client
        .post(format!("{base}/admin/login"))
        .form(&[
            ("username", "kill_test"),
            ("password", "a long enough password 42"),
            ("csrf_token", &csrf),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), 303);
    let csrf = token(
        client
            .get(format!("{base}/admin/articles/new"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap(),
    );
    let options = private_database(&data_dir);
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect_with(&options)
        .await
        .unwrap();
    let (channel, unit): (uuid::Uuid, uuid::Uuid) = sqlx::query_as(
        "select (select id from channels where active order by sort_order limit 1),
                (select id from units where parent_id is null)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    let save = |title: &'static str| {
        let (client, base, csrf) = (client.clone(), base.clone(), csrf.clone());
        let (channel, unit) = (channel.to_string(), unit.to_string());
        async move {
            client
                .post(format!("{base}/admin/articles/new"))
                .form(&[
                    ("title", title),
                    ("body", "<p>正文</p>"),
                    ("channel_id", channel.as_str()),
                    ("unit_id", unit.as_str()),
                    ("action", "save"),
                    ("csrf_token", csrf.as_str()),
                ])
                .send()
                .await
        }
    };
    assert_eq!(save("杀掉之前保存的稿件").await.unwrap().status(), 303);

    // The next save stops half-way: its story row is written, its revision
    // waits for a lock. Then the server is killed.
    let mut locker = <sqlx::PgConnection as sqlx::Connection>::connect_with(&options)
        .await
        .unwrap();
    let mut lock = sqlx::Connection::begin(&mut locker).await.unwrap();
    sqlx::query("lock table article_revisions in access exclusive mode")
        .execute(&mut *lock)
        .await
        .unwrap();
    let in_flight = tokio::spawn(save("杀掉时正在保存的稿件"));
    let mut waited = 0;
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and query like 'insert into article_revisions%'",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        waited += 1;
        assert!(waited < 100, "the save never reached the lock");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut site = site;
    let mut child = site.0.take().unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        in_flight.await.unwrap().is_err(),
        "the killed request got no answer"
    );
    lock.rollback().await.unwrap();
    drop(locker);

    let titles: Vec<String> =
        sqlx::query_scalar("select title from articles where title like '杀掉%' order by title")
            .fetch_all(&mut conn)
            .await
            .unwrap();
    assert_eq!(titles, ["杀掉之前保存的稿件"], "the acknowledged save only");
    let bare: i64 = sqlx::query_scalar(
        "select count(*) from articles a where not exists
             (select 1 from article_revisions r where r.article_id = a.id)",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap();
    assert_eq!(bare, 0, "no story without its revision");
    drop(conn);

    // Restarted, it serves and saves again; the login survived the kill.
    let again = start_newsdesk(&data_dir, port, &folder.path().join("second.log"));
    wait_until_healthy(port).await;
    assert_eq!(save("重启之后保存的稿件").await.unwrap().status(), 303);
    stop(again);
    assert!(!postmaster_running(&data_dir));
}
