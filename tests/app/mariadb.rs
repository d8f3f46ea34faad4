//! A private MariaDB for the legacy importers' tests, started once per
//! test process like the private PostgreSQL: Debian's `mariadb-server`
//! programs on a free local port, a folder of its own, stopped and removed
//! when the test process ends.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

pub struct MariaDb {
    pub port: u16,
}

static SERVER: OnceLock<MariaDb> = OnceLock::new();

fn program(name: &str) -> PathBuf {
    for folder in ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"] {
        let path = Path::new(folder).join(name);
        if path.is_file() {
            return path;
        }
    }
    panic!("{name} not found: install Debian's mariadb-server");
}

// The server and its watcher outlive the test that starts them; the
// watcher ends both when the process does.
#[allow(clippy::zombie_processes)]
pub fn server() -> &'static MariaDb {
    SERVER.get_or_init(|| {
        use std::os::unix::fs::PermissionsExt;
        use std::os::unix::process::CommandExt;
        let folder = tempfile::Builder::new()
            .prefix("newsdesk-mariadb-")
            .tempdir()
            .unwrap()
            .keep();
        std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
        let data = folder.join("data");
        std::fs::create_dir(&data).unwrap();
        let root = nix::unistd::geteuid().is_root();
        let mut user = Vec::new();
        if root {
            // MariaDB will not run as root: its own user owns the folder.
            let mysql = nix::unistd::User::from_name("mysql")
                .unwrap()
                .expect("the mysql user (mariadb-server makes it)");
            for path in [&folder, &data] {
                nix::unistd::chown(path, Some(mysql.uid), Some(mysql.gid)).unwrap();
            }
            user.push("--user=mysql".to_owned());
        }
        let installed = Command::new(program("mariadb-install-db"))
            .args(&user)
            .arg(format!("--datadir={}", data.display()))
            .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(installed.success(), "mariadb-install-db failed");
        let port = crate::cli::free_port();
        let pid_file = folder.join("mariadb.pid");
        Command::new(program("mariadbd"))
            .args(&user)
            .arg(format!("--datadir={}", data.display()))
            .arg(format!("--socket={}", folder.join("mariadb.sock").display()))
            .arg(format!("--pid-file={}", pid_file.display()))
            .arg(format!("--log-error={}", folder.join("error.log").display()))
            .arg(format!("--port={port}"))
            .args([
                "--bind-address=127.0.0.1",
                "--skip-grant-tables",
                "--character-set-server=utf8mb4",
                "--innodb-buffer-pool-size=64M",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        // When the test process ends, however it ends, the server stops
        // and its folder goes.
        let watcher = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             [ -f '{pid_file}' ] && kill $(cat '{pid_file}') 2>/dev/null; sleep 3; rm -rf '{folder}'",
            pid = std::process::id(),
            pid_file = pid_file.display(),
            folder = folder.display(),
        );
        Command::new("sh")
            .args(["-c", &watcher])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        for _ in 0..300 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return MariaDb { port };
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!(
            "MariaDB did not start: {}",
            std::fs::read_to_string(folder.join("error.log")).unwrap_or_default()
        );
    })
}

impl MariaDb {
    /// A new, empty database of `charset` and its URL.
    pub async fn database(&self, charset: &str) -> (String, sqlx::MySqlPool) {
        use sqlx::Executor;
        let name = format!("old_{}", uuid::Uuid::new_v4().simple());
        let admin = format!("mysql://root@127.0.0.1:{}/mysql", self.port);
        let pool = sqlx::MySqlPool::connect(&admin).await.unwrap();
        pool.execute(format!("create database {name} character set {charset}").as_str())
            .await
            .unwrap();
        let url = format!("mysql://root@127.0.0.1:{}/{name}", self.port);
        let pool = sqlx::mysql::MySqlPoolOptions::new()
            .max_connections(2)
            .connect(&url)
            .await
            .unwrap();
        (url, pool)
    }
}
