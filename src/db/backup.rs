//! Backups an operator can trust: `newsdesk backup DIR` writes one archive
//! (a tar file) while the site serves, and `newsdesk restore ARCHIVE` fills
//! an empty database and data folder from it.
//!
//! The archive holds the database as `pg_dump` writes it in its custom
//! format (one snapshot, so consistent however busy the site is), the media
//! folder, the installation's secret key (so sessions and signed links stay
//! valid), and `manifest.json`: the schema version, when it was made, and the
//! size and SHA-256 of every other file. The database is dumped before the
//! media are copied, so every photo the dump names is in the archive.
//!
//! A restore checks everything before it writes anything: the manifest's
//! checksums, that the archive's schema is not newer than this program's,
//! that the database and the media folder are empty. The database is
//! restored in one transaction, the media folder renamed into place after
//! it; a failure leaves both as they were.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

use super::cluster::{ClusterUser, PrivateCluster, find_program};

const FORMAT: &str = "newsdesk-backup/1";
const MANIFEST: &str = "manifest.json";
const DUMP: &str = "database.dump";
const SECRET: &str = "secret_key";
const BASE: &str = "base.tar";

#[derive(Debug, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub newsdesk_version: String,
    /// The newest migration applied to the database when it was dumped.
    pub schema_version: i64,
    pub stories: i64,
    /// With the private cluster's WAL archive: the first WAL segment that a
    /// recovery from the archive's base backup (`base.tar`) needs.
    #[serde(default)]
    pub base_backup: Option<String>,
    /// Every file of the archive but the manifest: name → size and digest.
    pub files: BTreeMap<String, FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub bytes: u64,
    pub sha256: String,
}

/// Where the database is, as PostgreSQL's programs take it, and where
/// those programs are.
pub struct Target<'a> {
    pub dbname: String,
    pub pool: &'a PgPool,
    pub programs: Option<&'a Path>,
    /// The private cluster, when the database is in it: its base backup
    /// goes into the archive too when it archives WAL.
    pub cluster: Option<&'a PrivateCluster>,
}

/// Writes an archive of the database and `data_dir`'s media into `out_dir`;
/// returns its path and manifest.
pub async fn backup(
    target: &Target<'_>,
    data_dir: &Path,
    out_dir: &Path,
) -> anyhow::Result<(PathBuf, Manifest)> {
    std::fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    let created_at = chrono::Utc::now();
    let name = format!("newsdesk-{}.tar", created_at.format("%Y%m%dT%H%M%SZ"));
    let final_path = out_dir.join(&name);
    if final_path.exists() {
        bail!("{} exists already", final_path.display());
    }
    let schema_version = schema_version(target.pool).await?;
    let stories: i64 = sqlx::query_scalar("select count(*) from articles")
        .fetch_one(target.pool)
        .await?;

    let dump = out_dir.join(format!(".{name}.dump"));
    let partial = out_dir.join(format!(".{name}.partial"));
    let manifest = Manifest {
        format: FORMAT.to_owned(),
        created_at,
        newsdesk_version: env!("CARGO_PKG_VERSION").to_owned(),
        schema_version,
        stories,
        base_backup: None,
        files: BTreeMap::new(),
    };
    let base_dir = out_dir.join(format!(".{name}.base"));
    let cluster = target.cluster.filter(|cluster| cluster.archives_wal());
    let outcome = async {
        let pg_dump = find_program(target.programs, "pg_dump")?;
        run(tokio::process::Command::new(pg_dump)
            .arg("--format=custom")
            .arg("--no-owner")
            .arg("--no-privileges")
            .arg("--file")
            .arg(&dump)
            .arg("--dbname")
            .arg(&target.dbname))
        .await
        .context("pg_dump failed")?;
        let mut manifest = manifest;
        let base = match cluster {
            Some(cluster) => {
                std::fs::create_dir_all(&base_dir)?;
                manifest.base_backup = Some(cluster.base_backup(&base_dir)?);
                Some(base_dir.join(BASE))
            }
            None => None,
        };
        let (dump, writing, data_dir) = (dump.clone(), partial.clone(), data_dir.to_owned());
        let manifest = tokio::task::spawn_blocking(move || {
            write_archive(&writing, &dump, base.as_deref(), &data_dir, manifest)
        })
        .await??;
        std::fs::rename(&partial, &final_path)?;
        anyhow::Ok(manifest)
    }
    .await;
    let _ = std::fs::remove_file(&dump);
    let _ = std::fs::remove_dir_all(&base_dir);
    match outcome {
        Ok(manifest) => {
            if let (Some(cluster), Some(start)) = (cluster, &manifest.base_backup) {
                cluster.trim_wal_archive(start)?;
            }
            Ok((final_path, manifest))
        }
        Err(error) => {
            let _ = std::fs::remove_file(&partial);
            Err(error)
        }
    }
}

/// The archive: the dump, the key, the media, and last the manifest of them.
fn write_archive(
    partial: &Path,
    dump: &Path,
    base: Option<&Path>,
    data_dir: &Path,
    mut manifest: Manifest,
) -> anyhow::Result<Manifest> {
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(partial)
        .with_context(|| format!("cannot create {}", partial.display()))?;
    let mut archive = tar::Builder::new(std::io::BufWriter::new(file));
    let mut files = BTreeMap::new();
    let mut add =
        |archive: &mut tar::Builder<_>, name: String, path: &Path| -> anyhow::Result<bool> {
            // Read once: what is archived is what is hashed, even if the file
            // changes meanwhile. A photo deleted since it was listed is skipped.
            let bytes = match std::fs::read(path) {
                Ok(bytes) => bytes,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(false),
                Err(error) => {
                    return Err(error).with_context(|| format!("cannot read {}", path.display()));
                }
            };
            let mut header = tar::Header::new_gnu();
            header.set_size(bytes.len() as u64);
            header.set_mode(0o600);
            header.set_mtime(chrono::Utc::now().timestamp().max(0) as u64);
            archive.append_data(&mut header, &name, bytes.as_slice())?;
            files.insert(name, entry_of(&bytes));
            Ok(true)
        };
    // The dump and the base backup are our own files, which nothing else
    // changes: hashed, then streamed in (they can be many gigabytes).
    let add_large = |archive: &mut tar::Builder<_>, name: &str, path: &Path| {
        let mut hashing = Hashing::new(std::io::sink());
        std::io::copy(&mut std::fs::File::open(path)?, &mut hashing)?;
        archive.append_file(name, &mut std::fs::File::open(path)?)?;
        anyhow::Ok((name.to_owned(), hashing.entry()))
    };
    let mut large = vec![add_large(&mut archive, DUMP, dump)?];
    if let Some(base) = base {
        large.push(add_large(&mut archive, BASE, base)?);
    }
    add(&mut archive, SECRET.to_owned(), &data_dir.join(SECRET))?;
    let media = data_dir.join("media");
    let mut names: Vec<String> = match std::fs::read_dir(&media) {
        Ok(entries) => entries
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_type().is_ok_and(|kind| kind.is_file()))
            .filter_map(|entry| entry.file_name().into_string().ok())
            .filter(|name| is_media_name(name))
            .collect(),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(error) => {
            return Err(error).with_context(|| format!("cannot read {}", media.display()));
        }
    };
    names.sort();
    for name in names {
        add(&mut archive, format!("media/{name}"), &media.join(&name))?;
    }
    files.extend(large);
    manifest.files = files;
    let json = serde_json::to_vec_pretty(&manifest)?;
    let mut header = tar::Header::new_gnu();
    header.set_size(json.len() as u64);
    header.set_mode(0o600);
    header.set_mtime(manifest.created_at.timestamp().max(0) as u64);
    archive.append_data(&mut header, MANIFEST, json.as_slice())?;
    let mut out = archive.into_inner()?;
    out.flush()?;
    out.get_ref().sync_all()?;
    Ok(manifest)
}

/// What `restore` did.
pub struct Restored {
    pub manifest: Manifest,
    pub media_files: usize,
}

/// Fills the empty database of `target` and `data_dir`'s empty media folder
/// from `archive`.
pub async fn restore(
    target: &Target<'_>,
    data_dir: &Path,
    archive: &Path,
) -> anyhow::Result<Restored> {
    let media = data_dir.join("media");
    if std::fs::read_dir(&media).is_ok_and(|mut entries| entries.next().is_some()) {
        bail!(
            "{} is not empty: restore fills a new data folder, it never mixes two sites' photos",
            media.display()
        );
    }
    let tables: i64 = sqlx::query_scalar(
        "select count(*) from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = 'public' and c.relkind in ('r', 'p')",
    )
    .fetch_one(target.pool)
    .await?;
    if tables > 0 {
        bail!("the database is not empty ({tables} tables): restore into a new, empty database");
    }
    std::fs::create_dir_all(data_dir)?;
    let staging = data_dir.join(format!(".restore-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    let outcome = restore_from(target, data_dir, archive, &staging).await;
    let _ = std::fs::remove_dir_all(&staging);
    outcome
}

async fn restore_from(
    target: &Target<'_>,
    data_dir: &Path,
    archive: &Path,
    staging: &Path,
) -> anyhow::Result<Restored> {
    let manifest = {
        let (archive, staging) = (archive.to_owned(), staging.to_owned());
        tokio::task::spawn_blocking(move || unpack_checked(&archive, &staging)).await??
    };
    let newest = super::MIGRATOR.iter().map(|m| m.version).max().unwrap_or(0);
    if manifest.schema_version > newest {
        bail!(
            "the archive comes from a newer Newsdesk (schema {}, this one knows {newest}): restore it with that version",
            manifest.schema_version
        );
    }
    let pg_restore = find_program(target.programs, "pg_restore")?;
    run(tokio::process::Command::new(pg_restore)
        .arg("--exit-on-error")
        .arg("--single-transaction")
        .arg("--no-owner")
        .arg("--no-privileges")
        .arg("--dbname")
        .arg(&target.dbname)
        .arg(staging.join(DUMP)))
    .await
    .context("pg_restore failed; the database is as it was")?;
    let media_files = place_files(staging, data_dir)?;
    Ok(Restored {
        manifest,
        media_files,
    })
}

/// Moves the staged photos and key into the data folder; returns how many
/// media files there are.
fn place_files(staging: &Path, data_dir: &Path) -> anyhow::Result<usize> {
    let media = data_dir.join("media");
    let staged_media = staging.join("media");
    std::fs::create_dir_all(&staged_media)?;
    let media_files = std::fs::read_dir(&staged_media)?.count();
    if media.is_dir() {
        std::fs::remove_dir(&media)?;
    }
    std::fs::rename(&staged_media, &media)?;
    let secret = data_dir.join(SECRET);
    if staging.join(SECRET).is_file() && !secret.exists() {
        std::fs::rename(staging.join(SECRET), &secret)?;
    }
    Ok(media_files)
}

/// Point-in-time recovery into a new data folder with its own private
/// cluster: the archive's base backup, then the WAL archived since, replayed
/// up to `to`. Everything written after `to` is left out. The photos are the
/// archive's.
pub async fn recover(
    cluster: PrivateCluster,
    data_dir: &Path,
    archive: &Path,
    to: chrono::DateTime<chrono::FixedOffset>,
    wal: &Path,
) -> anyhow::Result<Restored> {
    let media = data_dir.join("media");
    if std::fs::read_dir(&media).is_ok_and(|mut entries| entries.next().is_some()) {
        bail!(
            "{} is not empty: recover into a new data folder",
            media.display()
        );
    }
    let has_wal = std::fs::read_dir(wal)
        .with_context(|| format!("cannot read the WAL archive {}", wal.display()))?
        .next()
        .is_some();
    if !has_wal {
        bail!("the WAL archive {} is empty", wal.display());
    }
    let staging = data_dir.join(format!(".restore-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&staging);
    std::fs::create_dir_all(&staging)?;
    let outcome = recover_from(&cluster, data_dir, archive, to, wal, &staging).await;
    let _ = std::fs::remove_dir_all(&staging);
    outcome
}

async fn recover_from(
    cluster: &PrivateCluster,
    data_dir: &Path,
    archive: &Path,
    to: chrono::DateTime<chrono::FixedOffset>,
    wal: &Path,
    staging: &Path,
) -> anyhow::Result<Restored> {
    let manifest = {
        let (archive, staging) = (archive.to_owned(), staging.to_owned());
        tokio::task::spawn_blocking(move || unpack_checked(&archive, &staging)).await??
    };
    if manifest.base_backup.is_none() {
        bail!(
            "this archive has no base backup (it was made with DATABASE_URL or without the WAL archive): restore it without --to"
        );
    }
    if to < manifest.created_at {
        bail!(
            "the archive was made at {}: recover to a later time, or from an older archive",
            manifest.created_at.format("%Y-%m-%d %H:%M:%S UTC")
        );
    }
    let wal = std::path::absolute(wal)?;
    cluster.prepare_recovery(&staging.join(BASE), &wal, &to.to_rfc3339())?;
    let lease = cluster.attach(ClusterUser::Command).map_err(|error| {
        let log = cluster.log_tail();
        cluster.discard_data();
        error.context(format!(
            "PostgreSQL could not recover the base backup: {log}"
        ))
    })?;
    let outcome = async {
        let mut conn = None;
        // Replaying up to the target, then promoting: the database takes
        // writes again once it is no longer in recovery.
        for _ in 0..6000 {
            if let Ok(mut c) = <sqlx::PgConnection as sqlx::Connection>::connect_with(
                &cluster.connect_options(super::cluster::DATABASE),
            )
            .await
                && let Ok(false) = sqlx::query_scalar::<_, bool>("select pg_is_in_recovery()")
                    .fetch_one(&mut c)
                    .await
            {
                conn = Some(c);
                break;
            }
            if !cluster.is_running() {
                bail!(
                    "PostgreSQL stopped while recovering: {}",
                    cluster.log_tail()
                );
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let mut conn = conn.context("recovery did not finish within ten minutes")?;
        for setting in [
            "restore_command",
            "recovery_target_time",
            "recovery_target_action",
        ] {
            sqlx::query(&format!("alter system reset {setting}"))
                .execute(&mut conn)
                .await?;
        }
        sqlx::query("select pg_reload_conf()")
            .execute(&mut conn)
            .await?;
        sqlx::Connection::close(conn).await?;
        place_files(staging, data_dir)
    }
    .await;
    cluster.detach(lease)?;
    if outcome.is_err() {
        cluster.discard_data();
    }
    Ok(Restored {
        manifest,
        media_files: outcome?,
    })
}

/// Unpacks the archive into `staging` and checks every file against the
/// manifest: nothing missing, nothing extra, nothing changed.
fn unpack_checked(archive: &Path, staging: &Path) -> anyhow::Result<Manifest> {
    let file = std::fs::File::open(archive)
        .with_context(|| format!("cannot open {}", archive.display()))?;
    std::fs::create_dir_all(staging.join("media"))?;
    let mut found: BTreeMap<String, FileEntry> = BTreeMap::new();
    let mut manifest: Option<Manifest> = None;
    let mut reader = tar::Archive::new(std::io::BufReader::new(file));
    for entry in reader
        .entries()
        .context("not a Newsdesk backup (not a tar file)")?
    {
        let mut entry = entry.context("the archive is damaged")?;
        let name = entry.path()?.to_string_lossy().into_owned();
        let allowed = name == MANIFEST
            || name == DUMP
            || name == BASE
            || name == SECRET
            || name.strip_prefix("media/").is_some_and(is_media_name);
        if !allowed || entry.header().entry_type() != tar::EntryType::Regular {
            bail!("the archive holds {name:?}, which no Newsdesk backup has");
        }
        if name == MANIFEST {
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .context("the archive is damaged")?;
            manifest = Some(serde_json::from_slice(&bytes).context("the manifest is damaged")?);
            continue;
        }
        let out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(staging.join(&name))?;
        let mut hashing = Hashing::new(std::io::BufWriter::new(out));
        std::io::copy(&mut entry, &mut hashing).context("the archive is damaged")?;
        hashing.inner.flush()?;
        found.insert(name, hashing.entry());
    }
    let manifest =
        manifest.context("the archive has no manifest: not a Newsdesk backup, or cut short")?;
    if manifest.format != FORMAT {
        bail!("unknown backup format {:?}", manifest.format);
    }
    for (name, expected) in &manifest.files {
        match found.get(name) {
            None => bail!("{name} is missing from the archive"),
            Some(actual) if actual != expected => {
                bail!("{name} does not match its checksum: the archive was changed or damaged")
            }
            Some(_) => {}
        }
    }
    if let Some(extra) = found
        .keys()
        .find(|name| !manifest.files.contains_key(*name))
    {
        bail!("{extra} is in the archive but not in its manifest");
    }
    if !found.contains_key(DUMP) {
        bail!("the archive holds no database");
    }
    Ok(manifest)
}

/// Names the media library makes: a file name, no folders, nothing hidden.
fn is_media_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.len() <= 100
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
}

/// A writer that hashes and counts what goes through it.
struct Hashing<W> {
    inner: W,
    digest: Sha256,
    bytes: u64,
}

impl<W: Write> Hashing<W> {
    fn new(inner: W) -> Self {
        Hashing {
            inner,
            digest: Sha256::new(),
            bytes: 0,
        }
    }

    fn entry(&self) -> FileEntry {
        FileEntry {
            bytes: self.bytes,
            sha256: hex::encode(self.digest.clone().finalize()),
        }
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf)?;
        self.digest.update(&buf[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

fn entry_of(bytes: &[u8]) -> FileEntry {
    FileEntry {
        bytes: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(bytes)),
    }
}

async fn schema_version(pool: &PgPool) -> anyhow::Result<i64> {
    sqlx::query_scalar("select coalesce(max(version), 0) from _sqlx_migrations where success")
        .fetch_one(pool)
        .await
        .context("the database has no Newsdesk schema")
}

async fn run(command: &mut tokio::process::Command) -> anyhow::Result<()> {
    let output = command
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .context("cannot start the program")?;
    if !output.status.success() {
        bail!("{}", String::from_utf8_lossy(&output.stderr).trim());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_media_names_are_taken() {
        assert!(is_media_name(
            "0b6f0d9e-8f7c-4a57-9d3a-1c2b3d4e5f60-thumb.jpg"
        ));
        for bad in ["", ".hidden", "../secret_key", "a/b.jpg", "名字.jpg"] {
            assert!(!is_media_name(bad), "{bad:?}");
        }
    }
}
