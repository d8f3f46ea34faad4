//! The private PostgreSQL cluster: when no DATABASE_URL is given, Newsdesk
//! keeps a cluster of its own under the data folder, reachable only through a
//! Unix socket inside that folder. PostgreSQL refuses to run as root, so when
//! Newsdesk is root the cluster belongs to, and runs as, the `postgres` user.

use std::ffi::OsStr;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, bail};
use nix::unistd::{Gid, Uid, User};
use sqlx::postgres::PgConnectOptions;

/// The superuser created by initdb; the socket only admits the cluster's owner.
pub const SUPERUSER: &str = "newsdesk";
/// The database Newsdesk keeps its data in.
pub const DATABASE: &str = "newsdesk";
/// Longest path a Unix socket may have on Linux, less the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;

/// Where initdb and pg_ctl live.
#[derive(Debug, Clone)]
pub struct PgBinaries {
    initdb: PathBuf,
    pg_ctl: PathBuf,
    pg_basebackup: PathBuf,
    /// Whether the pg_stat_statements module is installed beside them.
    stat_statements: bool,
}

impl PgBinaries {
    /// Looks in `hint`, then on PATH, then under /usr/lib/postgresql/*/bin
    /// (newest version first).
    pub fn find(hint: Option<&Path>) -> anyhow::Result<Self> {
        let mut dirs: Vec<PathBuf> = hint.map(Path::to_path_buf).into_iter().collect();
        if let Some(path) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&path));
        }
        dirs.extend(debian_bin_dirs());
        Self::find_in(dirs)
    }

    /// The first of `dirs` that holds both programs.
    pub fn find_in(dirs: impl IntoIterator<Item = PathBuf>) -> anyhow::Result<Self> {
        dirs.into_iter()
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
            .map(|dir| PgBinaries {
                initdb: dir.join("initdb"),
                pg_ctl: dir.join("pg_ctl"),
                // Beside pg_ctl, or beside the program a link named pg_ctl
                // leads to (/usr/local/bin/pg_ctl → a Debian folder).
                pg_basebackup: [dir.join("pg_ctl")]
                    .iter()
                    .filter_map(|pg_ctl| std::fs::canonicalize(pg_ctl).ok())
                    .map(|real| real.with_file_name("pg_basebackup"))
                    .chain([dir.join("pg_basebackup")])
                    .find(|program| program.is_file())
                    .unwrap_or_else(|| dir.join("pg_basebackup")),
                stat_statements: std::fs::canonicalize(dir.join("pg_ctl")).is_ok_and(|real| {
                    real.with_file_name("../lib/pg_stat_statements.so")
                        .is_file()
                }),
            })
            .context(
                "PostgreSQL server programs (initdb, pg_ctl) not found: install PostgreSQL \
                 (Debian: apt-get install postgresql) or set DATABASE_URL",
            )
    }
}

/// A PostgreSQL client program (`pg_dump`, `pg_restore`): in `hint`, on the
/// PATH, or in Debian's folders, newest version first (a dump must be made by
/// a pg_dump at least as new as the server).
pub fn find_program(hint: Option<&Path>, name: &str) -> anyhow::Result<PathBuf> {
    let mut dirs: Vec<PathBuf> = hint.map(Path::to_path_buf).into_iter().collect();
    dirs.extend(debian_bin_dirs());
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    dirs.into_iter()
        .map(|dir| dir.join(name))
        .find(|program| program.is_file())
        .with_context(|| {
            format!("{name} not found: install PostgreSQL's client programs (Debian: apt-get install postgresql-client)")
        })
}

fn debian_bin_dirs() -> Vec<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort_by_key(|(version, _)| std::cmp::Reverse(*version));
    versions.into_iter().map(|(_, dir)| dir).collect()
}

/// A PostgreSQL cluster owned by this Newsdesk installation.
#[derive(Debug)]
pub struct PrivateCluster {
    bins: PgBinaries,
    root: PathBuf,
    /// For a streaming standby: the primary's socket folder, which its
    /// base backup is taken from and which it follows.
    primary: Option<PathBuf>,
    /// The unprivileged account the cluster runs as when Newsdesk is root.
    run_as: Option<User>,
    /// Whether the primary copies every finished WAL segment into
    /// `wal-archive/`, for point-in-time recovery.
    archive_wal: bool,
}

impl PrivateCluster {
    /// Prepares (but does not start) the cluster kept in `root`, creating the
    /// folder and, when running as root, handing it to the `postgres` user.
    pub fn new(root: &Path, bins: PgBinaries) -> anyhow::Result<Self> {
        let root = std::path::absolute(root)
            .with_context(|| format!("cannot resolve {}", root.display()))?;
        let run_as =
            if Uid::effective().is_root() {
                Some(User::from_name("postgres")?.context(
                    "running as root, but there is no `postgres` user to run PostgreSQL as",
                )?)
            } else {
                None
            };
        let cluster = PrivateCluster {
            bins,
            root,
            run_as,
            primary: None,
            archive_wal: false,
        };
        let socket = cluster.socket_dir().join(".s.PGSQL.5432");
        if socket.as_os_str().len() > MAX_SOCKET_PATH {
            bail!(
                "the data folder path is too long for a PostgreSQL socket ({}); choose a shorter NEWSDESK_DATA_DIR",
                socket.display()
            );
        }
        if cluster.root.to_string_lossy().contains('\'') {
            bail!(
                "the data folder path may not contain a single quote: {}",
                cluster.root.display()
            );
        }
        cluster.prepare_folders()?;
        Ok(cluster)
    }

    /// The `n`th streaming standby of this cluster (from 1), kept in
    /// `standby-N` beside the primary's folders and reachable through a
    /// socket of its own: made from a base backup of the primary at its
    /// first start, then following it.
    pub fn standby(&self, n: u32) -> anyhow::Result<PrivateCluster> {
        let standby = PrivateCluster {
            bins: self.bins.clone(),
            root: self.root.join(format!("standby-{n}")),
            run_as: self.run_as.clone(),
            primary: Some(self.socket_dir()),
            archive_wal: false,
        };
        standby.prepare_folders()?;
        Ok(standby)
    }

    /// The standbys made for this cluster so far, in order.
    fn standbys(&self) -> Vec<PrivateCluster> {
        (1..)
            .map_while(|n| {
                let root = self.root.join(format!("standby-{n}"));
                root.is_dir().then(|| PrivateCluster {
                    bins: self.bins.clone(),
                    root,
                    run_as: self.run_as.clone(),
                    primary: Some(self.socket_dir()),
                    archive_wal: false,
                })
            })
            .collect()
    }

    /// Archives every finished WAL segment into [`Self::wal_archive_dir`]
    /// (from the next start of the server), so that a base backup and the
    /// archive bring the database back to any moment since the backup.
    pub fn with_wal_archive(mut self, archive: bool) -> anyhow::Result<Self> {
        self.archive_wal = archive && self.primary.is_none();
        if self.archive_wal {
            self.prepare_folders()?;
        }
        Ok(self)
    }

    pub fn archives_wal(&self) -> bool {
        self.archive_wal
    }

    /// Where finished WAL segments are copied, beside the data folder.
    pub fn wal_archive_dir(&self) -> PathBuf {
        self.root.join("wal-archive")
    }

    /// Where PostgreSQL's programs are.
    pub fn bin_dir(&self) -> Option<&Path> {
        self.bins.pg_ctl.parent()
    }

    /// Takes a base backup of the running cluster into `dir` (`base.tar`,
    /// with the WAL that makes it consistent); returns the name of the
    /// first WAL segment a recovery from it needs.
    pub fn base_backup(&self, dir: &Path) -> anyhow::Result<String> {
        let output = Command::new(&self.bins.pg_basebackup)
            .arg("-h")
            .arg(self.socket_dir())
            .args(["-U", SUPERUSER, "-D"])
            .arg(dir)
            .args(["-F", "t", "-X", "fetch", "-c", "fast", "--no-manifest"])
            .output()
            .context("cannot run pg_basebackup")?;
        check(output, "pg_basebackup")?;
        let mut archive = tar::Archive::new(std::fs::File::open(dir.join("base.tar"))?);
        for entry in archive.entries()? {
            let mut entry = entry?;
            if entry.path()?.as_os_str() == "backup_label" {
                let mut label = String::new();
                std::io::Read::read_to_string(&mut entry, &mut label)?;
                // START WAL LOCATION: 0/2000028 (file 000000010000000000000002)
                return label
                    .lines()
                    .find_map(|line| line.strip_prefix("START WAL LOCATION:"))
                    .and_then(|rest| rest.split("(file ").nth(1))
                    .map(|file| file.trim_end_matches(')').trim().to_owned())
                    .context("the base backup's label names no WAL segment");
            }
        }
        bail!("the base backup has no backup_label")
    }

    /// Removes archived WAL older than the base backup before the one that
    /// starts at `start`: the archive then holds what a recovery from either
    /// of the last two backups needs, and no more.
    pub fn trim_wal_archive(&self, start: &str) -> anyhow::Result<()> {
        let record = self.root.join("wal-archive.backups");
        let previous = std::fs::read_to_string(&record)
            .ok()
            .and_then(|text| text.lines().last().map(str::to_owned));
        std::fs::write(&record, format!("{start}\n"))?;
        let Some(previous) = previous else {
            return Ok(());
        };
        let cleanup = self.bins.pg_ctl.with_file_name("pg_archivecleanup");
        let output = self
            .command(&cleanup)
            .arg(self.wal_archive_dir())
            .arg(&previous)
            .output()
            .context("cannot run pg_archivecleanup")?;
        check(output, "pg_archivecleanup")
    }

    /// Makes this cluster's (empty) data folder from a base backup, to be
    /// recovered at its next start: WAL replayed from `wal` up to `to` (a
    /// time PostgreSQL reads, with its offset), then promoted.
    pub fn prepare_recovery(&self, base_tar: &Path, wal: &Path, to: &str) -> anyhow::Result<()> {
        let data = self.data_dir();
        if std::fs::read_dir(&data).is_ok_and(|mut entries| entries.next().is_some()) {
            bail!(
                "{} is not empty: recover into a new data folder",
                data.display()
            );
        }
        for path in [wal, base_tar] {
            if path.to_string_lossy().contains('\'') {
                bail!(
                    "the path may not contain a single quote: {}",
                    path.display()
                );
            }
        }
        std::fs::create_dir_all(&data)?;
        let outcome = (|| {
            tar::Archive::new(std::fs::File::open(base_tar)?).unpack(&data)?;
            std::fs::write(data.join("recovery.signal"), "")?;
            let mut conf = std::fs::OpenOptions::new()
                .append(true)
                .open(data.join("postgresql.auto.conf"))?;
            std::io::Write::write_all(
                &mut conf,
                format!(
                    "restore_command = 'cp {}/%f %p'\nrecovery_target_time = '{to}'\n\
                     recovery_target_action = 'promote'\n",
                    wal.display()
                )
                .as_bytes(),
            )?;
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o700))?;
            if let Some(user) = &self.run_as {
                chown_all(&data, user.uid, user.gid)?;
            }
            anyhow::Ok(())
        })();
        if outcome.is_err() {
            let _ = std::fs::remove_dir_all(&data);
        }
        outcome
    }

    /// Forgets a data folder that could not be recovered, so that another
    /// attempt starts from nothing.
    pub fn discard_data(&self) {
        let _ = std::fs::remove_dir_all(self.data_dir());
    }

    /// The last lines of PostgreSQL's log, for an error message.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(self.root.join("postgres.log")).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(5)..].join("\n")
    }

    /// The cluster's data folder (PGDATA).
    pub fn data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// The folder holding the Unix socket (also the `host` for libpq).
    pub fn socket_dir(&self) -> PathBuf {
        self.root.join("run")
    }

    fn prepare_folders(&self) -> anyhow::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let mut dirs = vec![self.root.clone(), self.socket_dir()];
        if self.archive_wal {
            dirs.push(self.wal_archive_dir());
        }
        for dir in dirs {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
            if let Some(user) = &self.run_as {
                chown(&dir, user.uid, user.gid)?;
            }
        }
        if let Some(user) = &self.run_as {
            let reachable = self.command("test").args(["-w"]).arg(&self.root).status()?;
            if !reachable.success() {
                bail!(
                    "the `{}` user cannot reach {}: give it search permission on the parent folders \
                     or choose another NEWSDESK_DATA_DIR",
                    user.name,
                    self.root.display()
                );
            }
        }
        Ok(())
    }

    /// A command run as the cluster's owner, in a process group of its own so
    /// that a Ctrl-C in the terminal reaches Newsdesk only, which then drains
    /// its requests before it stops the database.
    fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut command = match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", &user.name, "--"]).arg(program);
                command
            }
            None => Command::new(program),
        };
        command.current_dir(&self.root).process_group(0);
        command
    }

    fn is_initialised(&self) -> bool {
        self.data_dir().join("PG_VERSION").is_file()
    }

    /// Whether a postmaster is running on this cluster's data folder.
    pub fn is_running(&self) -> bool {
        self.is_initialised()
            && self
                .command(&self.bins.pg_ctl)
                .arg("status")
                .arg("-D")
                .arg(self.data_dir())
                .output()
                .is_ok_and(|output| output.status.success())
    }

    /// Runs initdb once, then starts the server and waits until it accepts
    /// connections. A server already running (for another process, or left
    /// by a killed one) is used as it is. Returns whether it started one.
    #[tracing::instrument(skip(self), fields(root = %self.root.display()))]
    pub fn start(&self) -> anyhow::Result<bool> {
        if !self.is_initialised()
            && let Some(primary) = &self.primary
        {
            tracing::info!("making a streaming standby of the private PostgreSQL cluster");
            // -R writes primary_conninfo and standby.signal.
            let output = self
                .command(&self.bins.pg_basebackup)
                .arg("-h")
                .arg(primary)
                .args(["-U", SUPERUSER, "-D"])
                .arg(self.data_dir())
                .args(["-R", "-X", "stream", "-c", "fast"])
                .output()
                .context("cannot run pg_basebackup")?;
            if let Err(error) = check(output, "pg_basebackup") {
                let _ = std::fs::remove_dir_all(self.data_dir());
                return Err(error);
            }
        }
        if !self.is_initialised() {
            tracing::info!("creating the private PostgreSQL cluster");
            let output = self
                .command(&self.bins.initdb)
                .arg("-D")
                .arg(self.data_dir())
                .args([
                    "-U",
                    SUPERUSER,
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                    "-A",
                    "trust",
                    "--no-instructions",
                ])
                .output()
                .context("cannot run initdb")?;
            check(output, "initdb")?;
        }
        if self.is_running() {
            tracing::info!("the private PostgreSQL cluster is already running: using it");
            return Ok(false);
        }
        // Readings of many different stories (view counts, kept page
        // parts) touch many pages between checkpoints: with the default 1 GB
        // of WAL, busy sites checkpointed every half minute and wrote each
        // touched page again in full. More room keeps checkpoints to their
        // timer.
        let mut options = format!(
            "-c listen_addresses='' -c unix_socket_directories='{}' -c unix_socket_permissions=0700 \
             -c max_wal_size=4GB -c wal_keep_size=256MB",
            self.socket_dir().display()
        );
        // Every finished segment is copied to the archive (never over one
        // there already), and a segment is finished at least every minute
        // of writing, so a recovery can reach a minute ago.
        if self.archive_wal {
            let archive = self.wal_archive_dir();
            options.push_str(&format!(
                " -c archive_mode=on -c archive_timeout=60 \
                 -c archive_command='test ! -f {0}/%f && cp %p {0}/%f'",
                archive.display()
            ));
        }
        // Statement statistics, for finding slow or repeated queries
        // (`create extension pg_stat_statements` in a database to read them).
        if self.bins.stat_statements {
            options.push_str(" -c shared_preload_libraries=pg_stat_statements");
        }
        // A standby is known to the primary by this name (its replication
        // connection's application_name): `standby_1` …, for
        // synchronous_standby_names.
        if self.primary.is_some()
            && let Some(name) = self.root.file_name().and_then(OsStr::to_str)
        {
            options.push_str(&format!(" -c cluster_name={}", name.replace('-', "_")));
        }
        let output = self
            .command(&self.bins.pg_ctl)
            .arg("start")
            .arg("-D")
            .arg(self.data_dir())
            .arg("-l")
            .arg(self.root.join("postgres.log"))
            .args(["-w", "-t", "60", "-o"])
            .arg(options)
            .output()
            .context("cannot run pg_ctl")?;
        check(output, "pg_ctl start").with_context(|| {
            format!(
                "see {} for PostgreSQL's own log",
                self.root.join("postgres.log").display()
            )
        })?;
        tracing::info!(socket = %self.socket_dir().display(), "private PostgreSQL cluster started");
        Ok(true)
    }

    /// Stops the server (fast mode: sessions are ended, data is flushed).
    pub fn stop(&self) -> anyhow::Result<()> {
        for standby in self.standbys() {
            standby.stop()?;
        }
        if !self.is_running() {
            return Ok(());
        }
        let output = self
            .command(&self.bins.pg_ctl)
            .arg("stop")
            .arg("-D")
            .arg(self.data_dir())
            .args(["-m", "fast", "-w", "-t", "60"])
            .output()
            .context("cannot run pg_ctl")?;
        check(output, "pg_ctl stop")?;
        tracing::info!("private PostgreSQL cluster stopped");
        Ok(())
    }

    /// Registers this process as one of the cluster's users, starting the
    /// cluster unless it runs already (for another Newsdesk process, or left
    /// running by one that was killed).
    ///
    /// Every Newsdesk process that works on the cluster (a server, a CLI
    /// command) holds a lease: a file under `leases/` that it keeps locked
    /// while it lives. The kernel drops the lock when the process ends, even
    /// when it is killed, so a lease nobody holds locked is a dead process's
    /// and is cleared away. Starting and stopping happen under one control
    /// lock, so a process arriving while another leaves waits for it and
    /// then starts the cluster again if it was stopped.
    pub fn attach(&self, user: ClusterUser) -> anyhow::Result<Lease> {
        let _control = self.control()?;
        let mut lease = Lease::take(&self.leases_dir(), user)?;
        lease.started = self.start()?;
        Ok(lease)
    }

    /// Starts the first `count` standbys unless they run already (making
    /// them at their first start), under the control lock as starting the
    /// primary is. They stop with the primary.
    pub fn start_standbys(&self, count: u32) -> anyhow::Result<Vec<PrivateCluster>> {
        let _control = self.control()?;
        (1..=count)
            .map(|n| {
                let standby = self.standby(n)?;
                standby.start()?;
                Ok(standby)
            })
            .collect()
    }

    /// Gives up this process's lease. The cluster stops when no other
    /// Newsdesk process holds one and this process is a server (the last
    /// server out stops it) or a command that started the cluster itself:
    /// a command never stops a cluster it found running, which may serve a
    /// process that holds no lease (an older Newsdesk during an upgrade).
    /// Returns whether it stopped the cluster.
    pub fn detach(&self, lease: Lease) -> anyhow::Result<bool> {
        let _control = self.control()?;
        let (user, started) = (lease.user, lease.started);
        lease.release();
        let others = self.live_leases()?;
        if others > 0 {
            tracing::info!(
                others,
                "other Newsdesk processes use the private PostgreSQL cluster: leaving it running"
            );
            return Ok(false);
        }
        if user == ClusterUser::Command && !started {
            tracing::info!(
                "the private PostgreSQL cluster was running before this command: leaving it running"
            );
            return Ok(false);
        }
        self.stop()?;
        Ok(true)
    }

    /// How many Newsdesk processes hold a lease now; dead ones' leases are
    /// removed on the way.
    pub fn live_leases(&self) -> anyhow::Result<usize> {
        let dir = self.leases_dir();
        let mut live = 0;
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?
        {
            let path = entry?.path();
            let Ok(file) = std::fs::File::open(&path) else {
                continue;
            };
            match file.try_lock() {
                Ok(()) => {
                    let _ = std::fs::remove_file(&path);
                }
                Err(std::fs::TryLockError::WouldBlock) => live += 1,
                Err(std::fs::TryLockError::Error(error)) => {
                    return Err(error).with_context(|| format!("cannot check {}", path.display()));
                }
            }
        }
        Ok(live)
    }

    fn leases_dir(&self) -> PathBuf {
        self.root.join("leases")
    }

    /// The lock that makes starting and stopping one step at a time across
    /// processes; held until the returned file is dropped.
    fn control(&self) -> anyhow::Result<std::fs::File> {
        let path = self.root.join("control.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        file.lock()
            .with_context(|| format!("cannot lock {}", path.display()))?;
        Ok(file)
    }

    /// Connection options for `database` over the cluster's socket.
    pub fn connect_options(&self, database: &str) -> PgConnectOptions {
        PgConnectOptions::new()
            .socket(self.socket_dir())
            .username(SUPERUSER)
            .database(database)
    }
}

/// One Newsdesk process's use of the private cluster (see
/// [`PrivateCluster::attach`]). The file's lock is the claim; its name only
/// keeps leases apart.
#[derive(Debug)]
pub struct Lease {
    file: std::fs::File,
    path: PathBuf,
    user: ClusterUser,
    /// Whether this process started the cluster.
    started: bool,
}

/// What kind of Newsdesk process uses the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClusterUser {
    /// `serve`: stops the cluster when it is the last one out.
    Server,
    /// A command (migrate, create-user …): stops only a cluster it started.
    Command,
}

impl Lease {
    fn take(dir: &Path, user: ClusterUser) -> anyhow::Result<Lease> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let path = dir.join(format!(
            "{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let file = std::fs::OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        // Opened close-on-exec (as Rust opens every file), so the PostgreSQL
        // server this process may start does not inherit the lock.
        file.lock()
            .with_context(|| format!("cannot lock {}", path.display()))?;
        Ok(Lease {
            file,
            path,
            user,
            started: false,
        })
    }

    fn release(self) {
        let _ = std::fs::remove_file(&self.path);
        let _ = self.file.unlock();
    }
}

fn chown(path: &Path, uid: Uid, gid: Gid) -> anyhow::Result<()> {
    std::os::unix::fs::chown(path, Some(uid.as_raw()), Some(gid.as_raw()))
        .with_context(|| format!("cannot hand {} to the postgres user", path.display()))
}

fn chown_all(path: &Path, uid: Uid, gid: Gid) -> anyhow::Result<()> {
    chown(path, uid, gid)?;
    if path.is_dir() && !path.is_symlink() {
        for entry in std::fs::read_dir(path)? {
            chown_all(&entry?.path(), uid, gid)?;
        }
    }
    Ok(())
}

fn check(output: Output, what: &str) -> anyhow::Result<()> {
    if output.status.success() {
        return Ok(());
    }
    bail!(
        "{what} failed ({}): {}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr).trim(),
        String::from_utf8_lossy(&output.stdout).trim()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_binaries_give_one_clear_line() {
        let empty = tempfile::tempdir().unwrap();
        let error = PgBinaries::find_in([empty.path().to_path_buf()])
            .unwrap_err()
            .to_string();
        assert!(error.contains("apt-get install postgresql"), "{error}");
        assert!(!error.contains('\n'));
    }

    #[test]
    fn binaries_are_found_in_a_folder_holding_both() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("initdb"), "").unwrap();
        assert!(PgBinaries::find_in([dir.path().to_path_buf()]).is_err());
        std::fs::write(dir.path().join("pg_ctl"), "").unwrap();
        let found = PgBinaries::find_in([dir.path().to_path_buf()]).unwrap();
        assert_eq!(found.pg_ctl, dir.path().join("pg_ctl"));
    }
}
