//! The `newsdesk` command: serve the site (default), migrate, seed demo content.

use std::process::ExitCode;

use clap::Parser;
use newsdesk::app::Application;
use newsdesk::config::{AuditCommand, Cli, Command, Config, DutiesCommand, ImportCommand};
use newsdesk::db::cluster::ClusterUser;
use newsdesk::db::{self, Database};
use newsdesk::secret::SecretKey;
use newsdesk::seed;
use newsdesk::web::telemetry;

#[actix_web::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(&cli.config.log, cli.config.log_format);
    let outcome = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(&cli.config).await,
        Command::Migrate => migrate(&cli.config).await,
        Command::SeedDemo => seed_demo(&cli.config).await,
        Command::Generate { articles, comments } => generate(&cli.config, articles, comments).await,
        Command::Backup { dir } => backup(&cli.config, &dir).await,
        Command::Restore { archive, to, wal } => match (to, wal) {
            (Some(to), Some(wal)) => recover(&cli.config, &archive, &to, &wal).await,
            _ => restore(&cli.config, &archive).await,
        },
        Command::Audit { action } => audit(&cli.config, action).await,
        Command::Duties { action } => duties(&cli.config, action).await,
        Command::Import { from } => import(&cli.config, from).await,
        Command::CreateUser {
            username,
            role,
            unit,
            display_name,
        } => {
            create_user(
                &cli.config,
                &username,
                &role,
                unit.as_deref(),
                display_name.as_deref(),
            )
            .await
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("newsdesk: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the database (starting the private cluster when needed), applies
/// pending migrations, runs `work`, then closes the pool and the cluster.
async fn with_database<F, Fut>(config: &Config, user: ClusterUser, work: F) -> anyhow::Result<()>
where
    F: FnOnce(sqlx::PgPool) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    with_database_and_replicas(config, user, |pool, _| work(pool)).await
}

/// As `with_database`, `work` also gets the replicas to read from.
async fn with_database_and_replicas<F, Fut>(
    config: &Config,
    user: ClusterUser,
    work: F,
) -> anyhow::Result<()>
where
    F: FnOnce(sqlx::PgPool, Vec<sqlx::postgres::PgConnectOptions>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let database = Database::open(config, user).await?;
    let pool = db::pool(database.options.clone(), config.db_max_connections);
    let outcome = async {
        db::migrate(&pool).await?;
        work(pool.clone(), database.replicas.clone()).await
    }
    .await;
    pool.close().await;
    database.close()?;
    outcome
}

async fn serve(config: &Config) -> anyhow::Result<()> {
    let secret = SecretKey::load(config.secret_key.as_deref(), &config.data_dir)?;
    if let Err(error) = newsdesk::web::assets::write_to(&config.data_dir) {
        tracing::warn!(%error, "could not write the static files for a reverse proxy");
    }
    with_database_and_replicas(config, ClusterUser::Server, |pool, replicas| async move {
        if config.demo && seed::is_empty(&pool).await? {
            let logins = seed::seed_demo(&pool).await?;
            print_logins(&logins);
        }
        let indexed = newsdesk::search::backfill(&pool).await?;
        if indexed > 0 {
            tracing::info!(indexed, "indexed stories for search");
        }
        let (parts_pool, key) = (pool.clone(), secret.clone());
        tokio::spawn(async move {
            match newsdesk::articles::parts::keep_missing_parts(&parts_pool, key.as_bytes()).await {
                Ok(0) => {}
                Ok(kept) => tracing::info!(kept, "computed page parts for stories without them"),
                Err(error) => {
                    tracing::warn!(%error, "could not compute page parts in the background")
                }
            }
        });
        tokio::spawn(newsdesk::articles::transition::run_scheduler(
            pool.clone(),
            std::time::Duration::from_secs(15),
        ));
        tokio::spawn(newsdesk::stats::days::run_builder(
            pool.clone(),
            std::time::Duration::from_secs(600),
        ));
        tokio::spawn(newsdesk::auth::throttle::run_sweeper(
            pool.clone(),
            std::time::Duration::from_secs(300),
        ));
        tokio::spawn(newsdesk::users::db::run_dormant_sweeper(
            pool.clone(),
            std::time::Duration::from_secs(3600),
        ));
        tokio::spawn(newsdesk::notifications::mail::run_mailer(
            pool.clone(),
            std::time::Duration::from_secs(30),
        ));
        if !replicas.is_empty() {
            tracing::info!(
                replicas = replicas.len(),
                "public pages read from streaming replicas"
            );
        }
        let app = Application::build_with_replicas(config, pool, replicas, secret)?;
        tracing::info!(
            "Newsdesk is serving http://{}:{}/",
            config.bind.ip(),
            app.port()
        );
        app.run_until_stopped().await?;
        tracing::info!("stopped serving");
        Ok(())
    })
    .await
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    with_database(config, ClusterUser::Command, |_| async {
        tracing::info!("migrations are up to date");
        Ok(())
    })
    .await
}

async fn seed_demo(config: &Config) -> anyhow::Result<()> {
    with_database(config, ClusterUser::Command, |pool| async move {
        let logins = seed::seed_demo(&pool).await?;
        print_logins(&logins);
        Ok(())
    })
    .await
}

async fn generate(config: &Config, articles: u64, comments: u64) -> anyhow::Result<()> {
    with_database(config, ClusterUser::Command, |pool| async move {
        let bar = indicatif::ProgressBar::new(articles).with_style(
            indicatif::ProgressStyle::with_template(
                "{elapsed_precise} [{wide_bar}] {pos}/{len} 篇 ({per_sec}, 剩余 {eta})",
            )?,
        );
        let summary =
            newsdesk::generate::generate(&pool, articles, comments, |done| bar.set_position(done))
                .await?;
        bar.finish();
        println!(
            "Generated {} units, {} channels, {} staff, {} stories and {} comments in {:.0} s.",
            summary.units,
            summary.channels,
            summary.users,
            summary.articles,
            summary.comments,
            summary.seconds
        );
        Ok(())
    })
    .await
}

async fn create_user(
    config: &Config,
    username: &str,
    role: &str,
    unit: Option<&str>,
    display_name: Option<&str>,
) -> anyhow::Result<()> {
    let mut password = String::new();
    std::io::stdin().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']);
    with_database(config, ClusterUser::Command, |pool| async move {
        newsdesk::users::cli::create_user(&pool, username, role, unit, display_name, password)
            .await?;
        println!("Created {role} {username}.");
        Ok(())
    })
    .await
}

/// Opens the database as it is (no migration: a backup or a restore never
/// changes the schema) and runs `work` on it.
async fn with_database_as_is<T>(
    config: &Config,
    work: impl AsyncFnOnce(&db::backup::Target<'_>) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let database = Database::open(config, ClusterUser::Command).await?;
    let pool = db::pool(database.options.clone(), 2);
    let target = db::backup::Target {
        dbname: database.libpq_target(),
        pool: &pool,
        programs: config.pg_bin_dir.as_deref(),
        cluster: database.private_cluster(),
    };
    let outcome = work(&target).await;
    pool.close().await;
    database.close()?;
    outcome
}

async fn backup(config: &Config, dir: &std::path::Path) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let (path, manifest) = with_database_as_is(config, async |target| {
        db::backup::backup(target, &config.data_dir, dir).await
    })
    .await?;
    let bytes = std::fs::metadata(&path)?.len();
    println!(
        "Backed up {} stories and {} files (schema {}{}) to {} ({:.1} MB) in {:.1} s.",
        manifest.stories,
        manifest.files.len(),
        manifest.schema_version,
        if manifest.base_backup.is_some() {
            ", with a base backup for point-in-time recovery"
        } else {
            ""
        },
        path.display(),
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

async fn restore(config: &Config, archive: &std::path::Path) -> anyhow::Result<()> {
    let restored = with_database_as_is(config, async |target| {
        db::backup::restore(target, &config.data_dir, archive).await
    })
    .await?;
    print_restored(&restored, "");
    Ok(())
}

async fn recover(
    config: &Config,
    archive: &std::path::Path,
    to: &str,
    wal: &std::path::Path,
) -> anyhow::Result<()> {
    if config.database_url.is_some() {
        anyhow::bail!(
            "point-in-time recovery works on the private cluster; with DATABASE_URL, recover your server with its own base backups and restore_command"
        );
    }
    let to = chrono::DateTime::parse_from_rfc3339(to).map_err(|_| {
        anyhow::anyhow!("--to takes a time with its offset, e.g. 2026-12-03T10:04:00+08:00")
    })?;
    let bins = db::cluster::PgBinaries::find(config.pg_bin_dir.as_deref())?;
    let cluster = db::cluster::PrivateCluster::new(&config.data_dir.join("postgres"), bins)?
        .with_wal_archive(config.wal_archive)?;
    let restored = db::backup::recover(cluster, &config.data_dir, archive, to, wal).await?;
    print_restored(&restored, &format!(", recovered to {}", to.to_rfc3339()));
    Ok(())
}

fn print_restored(restored: &db::backup::Restored, how: &str) {
    println!(
        "Restored {} stories and {} photos' files from the backup of {} (schema {}){how}. Start the site with `newsdesk serve`.",
        restored.manifest.stories,
        restored.media_files,
        restored.manifest.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        restored.manifest.schema_version
    );
}

async fn audit(config: &Config, action: AuditCommand) -> anyhow::Result<()> {
    with_database(config, ClusterUser::Command, |pool| async move {
        match action {
            AuditCommand::Verify => {
                let report = newsdesk::audit::verify(&pool).await?;
                match report.problem {
                    None => {
                        println!(
                            "The audit log is whole: {} records, every link checked.",
                            report.records
                        );
                        Ok(())
                    }
                    Some(problem) => anyhow::bail!(
                        "the audit log was tampered with: {problem} ({} records checked before it)",
                        report.records
                    ),
                }
            }
            AuditCommand::Purge { keep_days } => {
                let actor =
                    newsdesk::audit::Actor::anonymous("newsdesk audit purge", "命令行".into());
                let removed = newsdesk::audit::purge(&pool, keep_days, &actor).await?;
                println!(
                    "Removed {removed} audit records older than {} days.",
                    keep_days.max(newsdesk::audit::MIN_KEEP_DAYS)
                );
                Ok(())
            }
        }
    })
    .await
}

fn time_zone(name: &str) -> anyhow::Result<chrono_tz::Tz> {
    name.parse()
        .map_err(|_| anyhow::anyhow!("不认识的时区：{name}（例如 Asia/Shanghai）"))
}

async fn import(config: &Config, from: ImportCommand) -> anyhow::Result<()> {
    use anyhow::Context;
    use newsdesk::import::{Options, Sink, legacy, wordpress};
    let options = match &from {
        ImportCommand::Wordpress { options, .. }
        | ImportCommand::Dedecms { options, .. }
        | ImportCommand::Phpcms { options, .. } => options.clone(),
    };
    let dry_run = options.dry_run;
    let media_dir = config.data_dir.join("media");
    let key = SecretKey::load(config.secret_key.as_deref(), &config.data_dir)?;
    let source = match &from {
        ImportCommand::Wordpress { .. } => "wordpress",
        ImportCommand::Dedecms { .. } => "dedecms",
        ImportCommand::Phpcms { .. } => "phpcms",
    };
    // The old database is reached before anything is written here.
    let old = match &from {
        ImportCommand::Dedecms {
            database, prefix, ..
        }
        | ImportCommand::Phpcms {
            database, prefix, ..
        } => {
            if !legacy::valid_prefix(prefix) {
                anyhow::bail!("表前缀只能含字母、数字和下划线：{prefix}");
            }
            let options: sqlx::mysql::MySqlConnectOptions = database
                .mysql_url
                .parse()
                .context("--mysql-url 不是 MySQL 地址（mysql://用户:密码@主机:3306/库名）")?;
            let pool = sqlx::mysql::MySqlPoolOptions::new()
                .max_connections(2)
                .connect_with(options.charset("utf8mb4"))
                .await
                .context("连不上旧站的数据库")?;
            Some(pool)
        }
        ImportCommand::Wordpress { .. } => None,
    };
    with_database(config, ClusterUser::Command, |pool| async move {
        let parts_pool = pool.clone();
        let mut sink = Sink::new(
            pool,
            Options {
                source: source.into(),
                dry_run,
                unit: options.unit,
                writer: options.writer,
                media_dir,
            },
        )
        .await?;
        let started = std::time::Instant::now();
        let bar = indicatif::ProgressBar::new(0);
        let rate = |done: u64| {
            let seconds = started.elapsed().as_secs_f64().max(0.001);
            format!("每秒 {:.0} 篇", done as f64 / seconds)
        };
        match from {
            ImportCommand::Wordpress {
                export,
                uploads,
                time_zone: zone,
                staff_accounts,
                ..
            } => {
                let file = std::fs::File::open(&export)
                    .with_context(|| format!("打不开导出文件 {}", export.display()))?;
                bar.set_length(file.metadata()?.len());
                bar.set_style(indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{wide_bar}] {bytes}/{total_bytes} {msg}（剩余 {eta}）",
                )?);
                let read = wordpress::Read {
                    uploads: uploads.as_deref(),
                    staff_accounts,
                    zone: time_zone(&zone)?,
                };
                wordpress::import(
                    std::io::BufReader::new(file),
                    &mut sink,
                    &read,
                    |bytes, stories| {
                        bar.set_position(bytes);
                        bar.set_message(format!("{stories} 篇，{}", rate(stories as u64)));
                    },
                )
                .await?;
            }
            ImportCommand::Dedecms {
                database, prefix, ..
            }
            | ImportCommand::Phpcms {
                database, prefix, ..
            } => {
                let mysql = old.expect("connected above");
                bar.set_style(indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{wide_bar}] {pos}/{len} 篇 {msg}（剩余 {eta}）",
                )?);
                let legacy = legacy::Legacy {
                    prefix: &prefix,
                    site_root: database.site_root.as_deref(),
                    zone: time_zone(&database.time_zone)?,
                };
                let progress = |done: u64, total: u64| {
                    bar.set_length(total);
                    bar.set_position(done);
                    bar.set_message(rate(done));
                };
                if source == "dedecms" {
                    legacy::dedecms(&mysql, &mut sink, &legacy, progress).await?;
                } else {
                    legacy::phpcms(&mysql, &mut sink, &legacy, progress).await?;
                }
            }
        }
        let report = sink.finish().await?;
        bar.finish_and_clear();
        if dry_run {
            println!("试运行，未写入任何内容。");
        } else {
            // What the stories' pages show around them (相关阅读, 上一篇 /
            // 下一篇), kept now rather than at each first reading.
            let kept =
                newsdesk::articles::parts::keep_missing_parts(&parts_pool, key.as_bytes()).await?;
            println!("页面部件（相关阅读、上一篇 / 下一篇）：生成 {kept} 篇。");
        }
        print!("{}", report.said(dry_run));
        let stories = report
            .counts
            .get("story")
            .map_or(0, |counts| counts.imported + counts.present);
        let seconds = started.elapsed().as_secs_f64();
        println!(
            "用时 {seconds:.1} 秒，{stories} 篇稿件，平均每秒 {:.0} 篇。",
            stories as f64 / seconds.max(0.001)
        );
        Ok(())
    })
    .await
}

async fn duties(config: &Config, action: DutiesCommand) -> anyhow::Result<()> {
    use newsdesk::auth::duties;
    with_database(config, ClusterUser::Command, |pool| async move {
        let actor = newsdesk::audit::Actor::anonymous("newsdesk duties", "命令行".into());
        let mut tx = pool.begin().await?;
        match action {
            DutiesCommand::Separate => {
                if let Err(missing) = duties::separate(&mut tx, &actor).await? {
                    let roles: Vec<&str> = missing.iter().map(|role| role.as_str()).collect();
                    anyhow::bail!(
                        "each of the three needs an active account first: create one with `newsdesk create-user --role {}`",
                        roles.join("` / `--role ")
                    );
                }
                tx.commit().await?;
                println!(
                    "三员分立 is on: the system, security and audit admins each hold one duty; the admin account no longer opens the backend."
                );
            }
            DutiesCommand::Single => {
                duties::single(&mut tx, &actor).await?;
                tx.commit().await?;
                println!("三员分立 is off: the admin account administers the site alone again.");
            }
        }
        Ok(())
    })
    .await
}

fn print_logins(logins: &[seed::DemoLogin]) {
    println!("Demo content added. Demo logins (shown only this once):");
    for login in logins {
        println!(
            "  {:<14} {:<14} {}",
            login.role, login.username, login.password
        );
    }
}
