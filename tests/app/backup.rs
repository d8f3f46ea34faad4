//! `newsdesk backup` and `newsdesk restore` as an operator runs them: a
//! backup taken while the site serves, changes made after it, a restore into
//! a new database and data folder that gives back exactly what was backed
//! up, and the restores a careless operator or a damaged file would attempt.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sqlx::PgPool;

use crate::helpers::{TestApp, TestDatabase, spawn_app, spawn_app_on, texts};
use crate::media::{jpeg_with_gps, upload};

fn newsdesk(args: &[&str], database: &TestDatabase, data_dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .args(args)
        .env("DATABASE_URL", database.url())
        .env("NEWSDESK_DATA_DIR", data_dir)
        .env("NEWSDESK_LOG", "warn")
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Every table's rows and every sequence's position, as text.
async fn fingerprint(pool: &PgPool) -> BTreeMap<String, String> {
    let tables: Vec<String> = sqlx::query_scalar(
        "select c.relname::text from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relkind in ('r', 'p') order by 1",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut print = BTreeMap::new();
    for table in tables {
        let rows: String = sqlx::query_scalar(&format!(
            "select count(*) || ' ' || md5(coalesce(string_agg(t::text, E'\\n' order by t::text), ''))
             from \"{table}\" t"
        ))
        .fetch_one(pool)
        .await
        .unwrap();
        print.insert(table, rows);
    }
    let sequences: Vec<(String, Option<i64>)> = sqlx::query_as(
        "select sequencename::text, last_value from pg_sequences where schemaname = 'public'",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    for (name, value) in sequences {
        print.insert(format!("sequence {name}"), format!("{value:?}"));
    }
    print
}

fn media_files(data_dir: &Path) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(data_dir.join("media"))
        .map(|entries| {
            entries
                .map(|entry| {
                    let entry = entry.unwrap();
                    (
                        entry.file_name().into_string().unwrap(),
                        std::fs::read(entry.path()).unwrap(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn the_archive(dir: &Path) -> PathBuf {
    let archives: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(
        archives.len(),
        1,
        "one archive, no partial files: {archives:?}"
    );
    assert!(archives[0].extension().is_some_and(|ext| ext == "tar"));
    archives[0].clone()
}

/// `newsdesk backup DIR` of the app's site; the archive it wrote.
fn back_up(app: &TestApp, dir: &Path) -> PathBuf {
    let output = newsdesk(
        &["backup", dir.to_str().unwrap()],
        &app.database,
        app.data_dir.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    the_archive(dir)
}

async fn a_living_site() -> TestApp {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    app.login_as("photographer", "correspondent").await;
    for size in [1200, 900] {
        let response = upload(&app, "巡检.jpg", jpeg_with_gps(size, 600)).await;
        assert_eq!(response.status().as_u16(), 200);
    }
    assert!(
        media_files(app.data_dir.path()).len() >= 6,
        "originals and their sizes"
    );
    app
}

#[tokio::test]
async fn a_restore_gives_back_exactly_what_was_backed_up_and_the_site_starts_on_it() {
    let app = a_living_site().await;
    std::fs::write(app.data_dir.path().join("secret_key"), "k".repeat(64)).unwrap();
    let before = fingerprint(&app.pool).await;
    let photos = media_files(app.data_dir.path());
    let backups = tempfile::tempdir().unwrap();

    let archive = back_up(&app, backups.path());
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&archive).unwrap().permissions().mode() & 0o077,
        0,
        "the archive holds password hashes and the key: its owner's only"
    );

    // After the backup: a story renamed, another deleted, a photo's file lost.
    let (number, title): (i64, String) = sqlx::query_as(
        "select number, title from articles where status = 'published' order by number limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    sqlx::query("update articles set title = '改过的标题' where number = $1")
        .bind(number)
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("delete from articles where number = (select max(number) from articles)")
        .execute(&app.pool)
        .await
        .unwrap();
    let lost = photos.keys().next().unwrap();
    std::fs::remove_file(app.data_dir.path().join("media").join(lost)).unwrap();
    assert_ne!(fingerprint(&app.pool).await, before);

    // A new machine: an empty database, an empty data folder.
    let database = TestDatabase::empty().await;
    let data_dir = tempfile::tempdir().unwrap();
    let output = newsdesk(
        &["restore", archive.to_str().unwrap()],
        &database,
        data_dir.path(),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let restored = PgPool::connect_with(database.options.clone())
        .await
        .unwrap();
    assert_eq!(
        fingerprint(&restored).await,
        before,
        "every row, every sequence"
    );
    assert_eq!(
        media_files(data_dir.path()),
        photos,
        "every photo, to the byte"
    );
    assert_eq!(
        std::fs::read(data_dir.path().join("secret_key")).unwrap(),
        std::fs::read(app.data_dir.path().join("secret_key")).unwrap(),
        "the key comes along: sessions and signed links stay valid"
    );
    restored.close().await;

    // The site starts on it and shows the story as it was.
    let options = database.options.clone();
    let site = spawn_app_on(database, options).await;
    let (status, page) = site.page(&format!("/articles/{number}")).await;
    assert_eq!(status, 200);
    assert_eq!(texts(&page, "h1.title"), [title]);

    // Restoring again over the restored site is refused, and changes nothing.
    let before_again = fingerprint(&site.pool).await;
    let output = newsdesk(
        &["restore", archive.to_str().unwrap()],
        &site.database,
        tempfile::tempdir().unwrap().path(),
    );
    assert!(!output.status.success());
    assert!(stderr(&output).contains("not empty"), "{}", stderr(&output));
    assert_eq!(fingerprint(&site.pool).await, before_again);
}

#[tokio::test]
async fn a_damaged_or_foreign_archive_and_a_used_data_folder_are_refused_before_anything_is_written()
 {
    let app = a_living_site().await;
    let backups = tempfile::tempdir().unwrap();
    let archive = back_up(&app, backups.path());
    let bytes = std::fs::read(&archive).unwrap();

    let nothing_written = |database: &TestDatabase, data_dir: &Path| {
        let (database, data_dir) = (database.options.clone(), data_dir.to_owned());
        async move {
            let pool = PgPool::connect_with(database).await.unwrap();
            let tables: i64 =
                sqlx::query_scalar("select count(*) from pg_tables where schemaname = 'public'")
                    .fetch_one(&pool)
                    .await
                    .unwrap();
            pool.close().await;
            assert_eq!(tables, 0, "the database is left empty");
            assert!(media_files(&data_dir).is_empty(), "no photo written");
        }
    };

    // One byte changed in a photo's data: its checksum no longer matches.
    let mut reader = tar::Archive::new(bytes.as_slice());
    let data = reader
        .entries()
        .unwrap()
        .map(|entry| entry.unwrap())
        .find(|entry| entry.path().unwrap().starts_with("media"))
        .expect("a photo in the archive")
        .raw_file_position() as usize;
    let mut damaged = bytes.clone();
    damaged[data + 100] ^= 0xff;
    let damaged_path = backups.path().join("damaged.tar");
    std::fs::write(&damaged_path, &damaged).unwrap();

    // Cut short: the manifest at the end is gone.
    let cut_path = backups.path().join("cut.tar");
    std::fs::write(&cut_path, &bytes[..bytes.len() / 2]).unwrap();

    // Not a backup at all.
    let foreign_path = backups.path().join("foreign.tar");
    std::fs::write(&foreign_path, b"<?xml version=\"1.0\"?><rss/>").unwrap();

    for (path, expected) in [
        (&damaged_path, "checksum"),
        (&cut_path, ""),
        (&foreign_path, ""),
    ] {
        let database = TestDatabase::empty().await;
        let data_dir = tempfile::tempdir().unwrap();
        let output = newsdesk(
            &["restore", path.to_str().unwrap()],
            &database,
            data_dir.path(),
        );
        assert!(!output.status.success(), "{} was restored", path.display());
        assert!(stderr(&output).contains(expected), "{}", stderr(&output));
        nothing_written(&database, data_dir.path()).await;
    }

    // A data folder that already has photos: two sites are never mixed.
    let database = TestDatabase::empty().await;
    let data_dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(data_dir.path().join("media")).unwrap();
    std::fs::write(data_dir.path().join("media/other-site.jpg"), b"x").unwrap();
    let output = newsdesk(
        &["restore", archive.to_str().unwrap()],
        &database,
        data_dir.path(),
    );
    assert!(!output.status.success());
    assert!(stderr(&output).contains("not empty"), "{}", stderr(&output));
    let pool = PgPool::connect_with(database.options.clone())
        .await
        .unwrap();
    let tables: i64 =
        sqlx::query_scalar("select count(*) from pg_tables where schemaname = 'public'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(tables, 0);
}

fn run_ok(data_dir: &Path, args: &[&str]) -> String {
    let output = crate::cli::run_command(data_dir, args, "");
    assert!(output.status.success(), "{args:?}: {}", stderr(&output));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

async fn title_of(pool: &PgPool, number: i64) -> Option<String> {
    sqlx::query_scalar("select title from articles where number = $1")
        .bind(number)
        .fetch_optional(pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn the_private_cluster_recovers_to_a_moment_before_an_accident() {
    use crate::cli::{data_folder, free_port, private_database, start_newsdesk, stop};
    let (folder, site) = data_folder();
    let backups = folder.path().join("backups");

    // A site with the demo newsroom, backed up while it serves.
    let port = free_port();
    let server = start_newsdesk(&site, port, &folder.path().join("site.log"));
    crate::cli::wait_until_healthy(port).await;
    let said = run_ok(&site, &["backup", backups.to_str().unwrap()]);
    assert!(said.contains("point-in-time recovery"), "{said}");
    let archive = the_archive(&backups);

    // After the backup: a correction everyone wants to keep, then, a
    // moment later, the accident: a story deleted, another defaced.
    let pool = PgPool::connect_with(private_database(&site)).await.unwrap();
    let numbers: Vec<i64> = sqlx::query_scalar(
        "select number from articles where status = 'published' order by number limit 2",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let (kept, deleted) = (numbers[0], numbers[1]);
    sqlx::query("update articles set title = '更正后的标题' where number = $1")
        .bind(kept)
        .execute(&pool)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let moment: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("select now()")
        .fetch_one(&pool)
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    sqlx::query("delete from articles where number = $1")
        .bind(deleted)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("update articles set title = '被误改的标题' where number = $1")
        .bind(kept)
        .execute(&pool)
        .await
        .unwrap();
    // What a minute's archive_timeout does: the segment holding the
    // accident is finished and archived.
    let segment: String = sqlx::query_scalar("select pg_walfile_name(pg_switch_wal())")
        .fetch_one(&pool)
        .await
        .unwrap();
    for _ in 0..100 {
        let archived: Option<String> =
            sqlx::query_scalar("select last_archived_wal from pg_stat_archiver")
                .fetch_one(&pool)
                .await
                .unwrap();
        if archived.is_some_and(|archived| archived >= segment) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    pool.close().await;
    stop(server);

    let wal = site.join("postgres/wal-archive");
    let recovered = folder.path().join("recovered");
    let to = moment.with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).unwrap());

    // A time before the archive was made, or one without its offset, is
    // refused, and leaves no database behind.
    for bad in ["2020-01-01T00:00:00+08:00", "2026-12-03 10:04"] {
        let output = crate::cli::run_command(
            &recovered,
            &[
                "restore",
                archive.to_str().unwrap(),
                "--to",
                bad,
                "--wal",
                wal.to_str().unwrap(),
            ],
            "",
        );
        assert!(!output.status.success(), "{bad} was taken");
        let message = stderr(&output);
        assert!(
            message.contains("later time") || message.contains("offset"),
            "{message}"
        );
        assert!(!recovered.join("postgres/data/PG_VERSION").exists());
    }

    let said = run_ok(
        &recovered,
        &[
            "restore",
            archive.to_str().unwrap(),
            "--to",
            &to.to_rfc3339(),
            "--wal",
            wal.to_str().unwrap(),
        ],
    );
    assert!(said.contains("recovered to"), "{said}");

    // The site starts on it: the correction is there, the accident is not,
    // and the database takes writes again.
    let port = free_port();
    let server = start_newsdesk(&recovered, port, &folder.path().join("recovered.log"));
    crate::cli::wait_until_healthy(port).await;
    let pool = PgPool::connect_with(private_database(&recovered))
        .await
        .unwrap();
    assert_eq!(title_of(&pool, kept).await.as_deref(), Some("更正后的标题"));
    assert!(
        title_of(&pool, deleted).await.is_some(),
        "the deleted story is back"
    );
    let in_recovery: bool = sqlx::query_scalar("select pg_is_in_recovery()")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(!in_recovery, "promoted: a primary again");
    let page = reqwest::get(format!("http://127.0.0.1:{port}/articles/{kept}"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("更正后的标题"));
    pool.close().await;
    stop(server);
}
