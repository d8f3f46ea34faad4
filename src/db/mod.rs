//! Database access: the connection pool, embedded migrations, and where the
//! database comes from (DATABASE_URL or the private cluster).

pub mod backup;
pub mod cluster;
pub mod replicas;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, PgPool};

use crate::config::Config;
use cluster::{ClusterUser, Lease, PgBinaries, PrivateCluster};

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies pending migrations; applying them again changes nothing.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("database migration failed")
}

/// A pool that gives up quickly when the database is away (so requests get a
/// 503 rather than hang) and replaces broken connections when it is back.
///
/// The pool tests each connection as it is given back. One that has then sat
/// idle for over a second is tested again before use (the database may have
/// gone away meanwhile); one in steady use is not, which saved a round trip
/// on every request (5-10% of a busy page's throughput).
pub fn pool(options: PgConnectOptions, max_connections: u32) -> PgPool {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .min_connections(0)
        .acquire_timeout(Duration::from_secs(3))
        .idle_timeout(Duration::from_secs(300))
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for > Duration::from_secs(1) {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_lazy_with(
            options.log_slow_statements(log::LevelFilter::Warn, Duration::from_millis(500)),
        )
}

/// The database this process works on, and the private cluster behind it
/// when there is one. Closing or dropping it gives up this process's use of
/// that cluster, which stops only when no other Newsdesk process uses it.
pub struct Database {
    pub options: PgConnectOptions,
    /// The streaming replicas to read public pages from: those of
    /// NEWSDESK_REPLICA_URLS, or the private cluster's standbys.
    pub replicas: Vec<PgConnectOptions>,
    /// DATABASE_URL as given, for PostgreSQL's own programs.
    url: Option<String>,
    cluster: Option<(PrivateCluster, Lease)>,
}

impl Database {
    /// Uses DATABASE_URL when set; otherwise starts the private cluster under
    /// the data folder and makes sure Newsdesk's database exists in it.
    pub async fn open(config: &Config, user: ClusterUser) -> anyhow::Result<Self> {
        let mut replicas = config
            .replica_urls
            .iter()
            .filter(|url| !url.trim().is_empty())
            .map(|url| {
                PgConnectOptions::from_str(url.trim())
                    .context("NEWSDESK_REPLICA_URLS holds a URL that is not a PostgreSQL URL")
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        if let Some(url) = &config.database_url {
            let options = PgConnectOptions::from_str(url)
                .context("DATABASE_URL is not a valid PostgreSQL URL")?;
            return Ok(Database {
                options,
                replicas,
                url: Some(url.clone()),
                cluster: None,
            });
        }
        let bins = PgBinaries::find(config.pg_bin_dir.as_deref())?;
        let root = config.data_dir.join("postgres");
        let standbys = if user == ClusterUser::Server {
            config.replicas
        } else {
            0
        };
        let wal_archive = config.wal_archive;
        let (cluster, lease, standbys) = tokio::task::spawn_blocking(move || {
            let cluster = PrivateCluster::new(&root, bins)?.with_wal_archive(wal_archive)?;
            let lease = cluster.attach(user)?;
            let started = cluster
                .start_standbys(standbys)?
                .iter()
                .map(|standby| standby.connect_options(cluster::DATABASE))
                .collect::<Vec<_>>();
            anyhow::Ok((cluster, lease, started))
        })
        .await??;
        replicas.extend(standbys);
        let admin = cluster.connect_options("postgres");
        let database = Database {
            options: cluster.connect_options(cluster::DATABASE),
            replicas,
            url: None,
            cluster: Some((cluster, lease)),
        };
        create_database_if_missing(admin, cluster::DATABASE).await?;
        Ok(database)
    }

    /// The private cluster behind the database, when there is one.
    pub fn private_cluster(&self) -> Option<&PrivateCluster> {
        self.cluster.as_ref().map(|(cluster, _)| cluster)
    }

    /// The database as `pg_dump` and `pg_restore` take it (`--dbname`): the
    /// URL of DATABASE_URL, or a connection string for the private cluster.
    pub fn libpq_target(&self) -> String {
        if let Some(url) = &self.url {
            return url.clone();
        }
        let quote = |value: &str| format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"));
        let host = match self.options.get_socket() {
            Some(socket) => socket.display().to_string(),
            None => self.options.get_host().to_owned(),
        };
        format!(
            "host={} port={} user={} dbname={}",
            quote(&host),
            self.options.get_port(),
            quote(self.options.get_username()),
            quote(self.options.get_database().unwrap_or(cluster::DATABASE)),
        )
    }

    /// Gives up this process's use of the private cluster, stopping it when
    /// no other Newsdesk process uses it.
    pub fn close(mut self) -> anyhow::Result<()> {
        match self.cluster.take() {
            Some((cluster, lease)) => cluster.detach(lease).map(|_| ()),
            None => Ok(()),
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        if let Some((cluster, lease)) = self.cluster.take()
            && let Err(error) = cluster.detach(lease)
        {
            tracing::error!(%error, "could not leave the private PostgreSQL cluster");
        }
    }
}

/// Creates `name` (UTF-8, C.UTF-8 collation so that text search sees CJK)
/// unless it exists.
pub async fn create_database_if_missing(admin: PgConnectOptions, name: &str) -> anyhow::Result<()> {
    let mut conn = PgConnection::connect_with(&admin).await?;
    let exists: bool =
        sqlx::query_scalar("select exists (select 1 from pg_database where datname = $1)")
            .bind(name)
            .fetch_one(&mut conn)
            .await?;
    if !exists {
        let statement = format!(
            "create database {} template template0 encoding 'UTF8' locale 'C.UTF-8'",
            quote_identifier(name)
        );
        sqlx::query(&statement).execute(&mut conn).await?;
    }
    conn.close().await?;
    Ok(())
}

/// Quotes an SQL identifier (database names cannot be bound as parameters).
pub fn quote_identifier(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
