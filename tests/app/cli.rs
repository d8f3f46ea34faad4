//! The `newsdesk` binary as an operator runs it: no DATABASE_URL, so it
//! starts, uses and stops its own PostgreSQL cluster.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_newsdesk(data_dir: &Path, port: u16, log: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .env_remove("DATABASE_URL")
        .env_remove("NEWSDESK_SECRET_KEY")
        .env("NEWSDESK_DATA_DIR", data_dir)
        .env("NEWSDESK_BIND", format!("127.0.0.1:{port}"))
        .env("NEWSDESK_LOG_FORMAT", "json")
        .stdout(std::fs::File::create(log).unwrap())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap()
}

async fn wait_until_healthy(port: u16) {
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

fn stop(mut child: Child) {
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
