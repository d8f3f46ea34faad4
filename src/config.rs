//! Command line and environment configuration: one clap struct, every field
//! documented and defaulted. Each flag `--some-name` has the environment
//! variable `NEWSDESK_SOME_NAME` (or the conventional `DATABASE_URL`).

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "newsdesk",
    version,
    about = "Newsdesk: the newsroom CMS of a corporate news network"
)]
pub struct Cli {
    #[command(flatten)]
    pub config: Config,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the site (the default when no subcommand is given).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Fill an empty database with demo units, channels, users and stories.
    SeedDemo,
    /// Fill a new database with a newsroom at scale (for benchmarks): about
    /// 500 units, 40 channels, 2,000 staff and the stories and comments asked for.
    Generate {
        /// Published stories to write.
        #[arg(long)]
        articles: u64,
        /// Reader comments to add.
        #[arg(long, default_value_t = 0)]
        comments: u64,
    },
    /// Write one archive of the database, the photos and the secret key
    /// into DIR (newsdesk-YYYYMMDDTHHMMSSZ.tar) while the site serves.
    Backup {
        /// Folder to write the archive into.
        dir: std::path::PathBuf,
    },
    /// Fill an empty database and data folder from an archive of `backup`.
    Restore {
        /// The archive (a .tar written by `newsdesk backup`).
        archive: std::path::PathBuf,
        /// Point-in-time recovery: bring the database back as it was at this
        /// moment (RFC 3339 with its offset, e.g. 2026-12-03T10:04:00+08:00),
        /// from the archive's base backup and the WAL archived since. Needs
        /// the private cluster of a new data folder, and --wal.
        #[arg(long, requires = "wal")]
        to: Option<String>,
        /// The WAL archive of the site being recovered
        /// (its DATA_DIR/postgres/wal-archive).
        #[arg(long, requires = "to")]
        wal: Option<std::path::PathBuf>,
    },
    /// Check or trim the audit log.
    Audit {
        #[command(subcommand)]
        action: AuditCommand,
    },
    /// Import a newsroom's archive from the CMS it leaves.
    Import {
        #[command(subcommand)]
        from: ImportCommand,
    },
    /// Turn 三员分立 on or off (off only here, never on a web page).
    Duties {
        #[command(subcommand)]
        action: DutiesCommand,
    },
    /// Create a staff account; the password is read from standard input.
    CreateUser {
        /// Login name (2 to 32 letters, digits, `_`, `.` or `-`).
        #[arg(long)]
        username: String,
        /// admin, system_admin, security_admin, audit_admin, chief_editor,
        /// editor or correspondent.
        #[arg(long)]
        role: String,
        /// Name of the unit the user belongs to (default: the root unit).
        #[arg(long)]
        unit: Option<String>,
        /// Name shown in the backend and in bylines (default: the username).
        #[arg(long)]
        display_name: Option<String>,
    },
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum AuditCommand {
    /// Recompute the audit log's chain and report the first record that
    /// was changed, removed or slipped in (exit status 1 when one was).
    Verify,
    /// Remove the records older than --keep-days (at least 180), oldest
    /// first; the purge is recorded.
    Purge {
        #[arg(long, default_value_t = 180)]
        keep_days: i64,
    },
}

/// What every import takes.
#[derive(Debug, Clone, clap::Args)]
pub struct ImportOptions {
    /// Report what would be imported and skipped, and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The unit the stories are filed under (default: the root unit).
    #[arg(long)]
    pub unit: Option<String>,
    /// The staff account the stories are written by (default: the first
    /// administrator).
    #[arg(long)]
    pub writer: Option<String>,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum ImportCommand {
    /// A WordPress export (WXR, Tools → Export), read as a stream.
    Wordpress {
        /// The export file.
        export: std::path::PathBuf,
        /// The old site's wp-content/uploads folder: photos the posts show
        /// are taken into the media library.
        #[arg(long)]
        uploads: Option<std::path::PathBuf>,
        /// The old site's time zone, for times written without their GMT
        /// value.
        #[arg(long, default_value = "Asia/Shanghai")]
        time_zone: String,
        /// Make a correspondent's account (in --unit, with a password an
        /// admin sets before first use) for each author of the export, so
        /// that their drafts stay theirs.
        #[arg(long)]
        staff_accounts: bool,
        #[command(flatten)]
        options: ImportOptions,
    },
    /// A DedeCMS (织梦) site, from its MySQL/MariaDB database.
    Dedecms {
        #[command(flatten)]
        database: LegacyDatabase,
        /// The tables' prefix.
        #[arg(long, default_value = "dede_")]
        prefix: String,
        #[command(flatten)]
        options: ImportOptions,
    },
    /// A PHPCMS v9 site, from its MySQL/MariaDB database.
    Phpcms {
        #[command(flatten)]
        database: LegacyDatabase,
        /// The tables' prefix (`v9_` or `phpcms_` as installed).
        #[arg(long, default_value = "v9_")]
        prefix: String,
        #[command(flatten)]
        options: ImportOptions,
    },
}

/// Where a DedeCMS or PHPCMS site kept its data.
#[derive(Debug, Clone, clap::Args)]
pub struct LegacyDatabase {
    /// The old site's database (`mysql://user:password@host:3306/name`).
    #[arg(long, env = "NEWSDESK_IMPORT_MYSQL_URL", hide_env_values = true)]
    pub mysql_url: String,
    /// The old site's web root (holding `uploads/`): photos the stories
    /// show are taken into the media library.
    #[arg(long)]
    pub site_root: Option<std::path::PathBuf>,
    /// The old site's time zone, for the days in its addresses.
    #[arg(long, default_value = "Asia/Shanghai")]
    pub time_zone: String,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum DutiesCommand {
    /// Split administration among the system, security and audit admins
    /// (each needs an active account first); the admin's sessions end.
    Separate,
    /// Give administration back to the single admin.
    Single,
}

#[derive(Debug, Clone, Parser)]
pub struct Config {
    /// Address and port the web server listens on.
    #[arg(
        long,
        env = "NEWSDESK_BIND",
        default_value = "127.0.0.1:8080",
        global = true
    )]
    pub bind: SocketAddr,

    /// PostgreSQL connection URL. When unset, Newsdesk runs a private cluster
    /// under the data folder.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,

    /// Folder for the private PostgreSQL cluster, the generated secret key and uploads.
    #[arg(
        long,
        env = "NEWSDESK_DATA_DIR",
        default_value = "./var",
        global = true
    )]
    pub data_dir: PathBuf,

    /// Secret key (at least 32 characters) for signing; generated once and kept
    /// in the data folder when unset.
    #[arg(
        long,
        env = "NEWSDESK_SECRET_KEY",
        hide_env_values = true,
        global = true
    )]
    pub secret_key: Option<String>,

    /// Folder holding initdb and pg_ctl; searched before PATH and
    /// /usr/lib/postgresql/*/bin.
    #[arg(long, env = "NEWSDESK_PG_BIN_DIR", global = true)]
    pub pg_bin_dir: Option<PathBuf>,

    /// Streaming replicas that public pages are read from, comma-separated
    /// PostgreSQL URLs. Staff pages, every form sent, and the pages of a
    /// visitor who has just written are read from the primary (DATABASE_URL
    /// or the private cluster); so is everything while no replica is healthy.
    #[arg(
        long,
        env = "NEWSDESK_REPLICA_URLS",
        value_delimiter = ',',
        hide_env_values = true,
        global = true
    )]
    pub replica_urls: Vec<String>,

    /// With the private cluster: copy every finished WAL segment into
    /// DATA_DIR/postgres/wal-archive, so that `newsdesk restore --to TIME`
    /// can bring the database back to any moment since a backup.
    #[arg(
        long,
        env = "NEWSDESK_WAL_ARCHIVE",
        default_value_t = true,
        action = clap::ArgAction::Set,
        global = true
    )]
    pub wal_archive: bool,

    /// With the private cluster: how many streaming standbys to run beside
    /// it (made with pg_basebackup at their first start) and read public
    /// pages from, as NEWSDESK_REPLICA_URLS would.
    #[arg(long, env = "NEWSDESK_REPLICAS", default_value_t = 0, global = true)]
    pub replicas: u32,

    /// Seconds a replica may fall behind the primary before it is left out
    /// (it is taken back once it catches up).
    #[arg(
        long,
        env = "NEWSDESK_REPLICA_MAX_LAG",
        default_value_t = 5.0,
        global = true
    )]
    pub replica_max_lag: f64,

    /// Largest number of database connections a Newsdesk process answers
    /// requests with, shared out among its workers (at least two each);
    /// background work (view counts, statistics, mail) has as many again.
    #[arg(
        long,
        env = "NEWSDESK_DB_MAX_CONNECTIONS",
        default_value_t = 10,
        global = true
    )]
    pub db_max_connections: u32,

    /// Seconds a statement run for a request may take before PostgreSQL
    /// cancels it and the visitor gets a 503 (a locked table or an
    /// overloaded database must not hold requests for ever); background
    /// work is not limited.
    #[arg(
        long,
        env = "NEWSDESK_DB_STATEMENT_TIMEOUT",
        default_value_t = 10,
        global = true
    )]
    pub db_statement_timeout: u64,

    /// HTTP worker threads (0 means one per CPU core).
    #[arg(long, env = "NEWSDESK_WORKERS", default_value_t = 0, global = true)]
    pub workers: usize,

    /// Seconds to let in-flight requests finish after Ctrl-C or SIGTERM.
    #[arg(
        long,
        env = "NEWSDESK_SHUTDOWN_TIMEOUT",
        default_value_t = 30,
        global = true
    )]
    pub shutdown_timeout: u64,

    /// Memory for rendered public pages, in MiB (0 turns the page cache off).
    #[arg(
        long,
        env = "NEWSDESK_PAGE_CACHE_MB",
        default_value_t = 64,
        global = true
    )]
    pub page_cache_mb: usize,

    /// Keep a search index in DATA_DIR/search (shared by the nodes on one
    /// folder) and answer searches from it whenever it is current.
    #[arg(long, env = "NEWSDESK_SEARCH_INDEX", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub search_index: bool,

    /// Seconds between writes of the view counts counted in memory.
    #[arg(
        long,
        env = "NEWSDESK_VIEW_FLUSH_SECONDS",
        default_value_t = 5,
        global = true
    )]
    pub view_flush_seconds: u64,

    /// For automated tests only: makes this value the answer to every
    /// captcha. Refused unless the server listens on a loopback address.
    #[arg(
        long,
        env = "NEWSDESK_TEST_CAPTCHA",
        hide_env_values = true,
        global = true
    )]
    pub test_captcha: Option<String>,

    /// Log filter in tracing's env-filter syntax, e.g. `info,sqlx=warn`.
    #[arg(
        long,
        env = "NEWSDESK_LOG",
        default_value = "info,sqlx=warn",
        global = true
    )]
    pub log: String,

    /// Log format: human-readable text or one JSON object per line.
    #[arg(long, env = "NEWSDESK_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Addresses or networks (CIDR) of the reverse proxies in front of
    /// Newsdesk, comma-separated. Only from these are X-Forwarded-For (the
    /// client's address) and X-Forwarded-Proto (https) believed; the same
    /// headers from anyone else are ignored.
    #[arg(
        long,
        env = "NEWSDESK_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = parse_network,
        global = true
    )]
    pub trusted_proxies: Vec<ipnet::IpNet>,

    /// A bearer token that lets a scraper on another machine read /metrics
    /// (without it, only clients on this machine may).
    #[arg(
        long,
        env = "NEWSDESK_METRICS_TOKEN",
        global = true,
        hide_env_values = true
    )]
    pub metrics_token: Option<String>,

    /// Origins whose pages may read the public API (`/api/v1`) from the
    /// browser (CORS), comma-separated (`https://app.example.com`); `*`
    /// lets every origin, none lets no other origin.
    #[arg(
        long,
        env = "NEWSDESK_API_ORIGINS",
        value_delimiter = ',',
        default_value = "*",
        global = true
    )]
    pub api_origins: Vec<String>,

    /// Requests a minute one client (one address; IPv6 by its /64) may
    /// make to the public API on each node; `0` means no limit.
    #[arg(
        long,
        env = "NEWSDESK_API_RATE_LIMIT",
        default_value_t = 600,
        global = true
    )]
    pub api_rate_limit: u32,

    /// Seed demo content on the first start, when the database has no users.
    #[arg(long, env = "NEWSDESK_DEMO", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub demo: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// `10.0.0.0/8`, `2001:db8::/32`, or a single address (`127.0.0.1`).
fn parse_network(text: &str) -> Result<ipnet::IpNet, String> {
    let text = text.trim();
    text.parse::<ipnet::IpNet>()
        .or_else(|_| text.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("not an address or a network (CIDR): {text}"))
}

impl Config {
    /// Configuration from the environment and the defaults, ignoring the
    /// process's command line (for tests and tools embedding the app).
    pub fn defaults() -> Self {
        Config::parse_from(["newsdesk"])
    }
}
