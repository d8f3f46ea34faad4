//! The test harness: one PostgreSQL server per test run (a private cluster
//! in a temporary folder, started through Newsdesk's own launcher, or the
//! server of DATABASE_URL when set), one freshly migrated database per test
//! cloned from a template, and the real app on a random port. With the
//! private cluster, a streaming standby follows it and the app reads its
//! public pages from the standby; commits wait until the standby has
//! applied them (`synchronous_commit = remote_apply`), so a test that
//! writes and then reads a page sees its write whichever server answers.

use std::path::PathBuf;
use std::str::FromStr;
use std::sync::OnceLock;

use newsdesk::app::Application;
use newsdesk::config::Config;
use newsdesk::db::cluster::{PgBinaries, PrivateCluster};
use newsdesk::db::{self, quote_identifier};
use newsdesk::secret::SecretKey;
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

/// Where the test databases live.
pub enum TestServer {
    Private {
        cluster: PrivateCluster,
        standby: PrivateCluster,
        folder: PathBuf,
    },
    External {
        options: PgConnectOptions,
    },
}

static SERVER: OnceLock<TestServer> = OnceLock::new();
static TEMPLATE: OnceLock<String> = OnceLock::new();

impl TestServer {
    /// Connection options for one database on the server.
    pub fn options(&self, database: &str) -> PgConnectOptions {
        match self {
            TestServer::Private { cluster, .. } => cluster.connect_options(database),
            TestServer::External { options } => options.clone().database(database),
        }
    }

    /// A URL of the streaming standby's copy of one database, when there is
    /// a standby.
    pub fn replica_url(&self, database: &str) -> Option<String> {
        match self {
            TestServer::Private { standby, .. } => Some(format!(
                "postgres://{}@localhost/{database}?host={}",
                newsdesk::db::cluster::SUPERUSER,
                standby.socket_dir().display()
            )),
            TestServer::External { .. } => None,
        }
    }

    /// A second standby that commits do not wait for, started at first
    /// use, for the tests that pause, stop and start it (one at a time:
    /// hold the guard).
    pub async fn lagging_standby(
        &self,
    ) -> Option<(
        &'static PrivateCluster,
        tokio::sync::MutexGuard<'static, ()>,
    )> {
        static LAGGING: OnceLock<PrivateCluster> = OnceLock::new();
        static TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let TestServer::Private { cluster, .. } = self else {
            return None;
        };
        let turn = TURN.lock().await;
        let standby = LAGGING.get_or_init(|| {
            let mut standbys = cluster
                .start_standbys(2)
                .expect("cannot start the second standby");
            standbys.pop().unwrap()
        });
        standby.start().expect("cannot start the second standby");
        Some((standby, turn))
    }

    /// Where a proxy reaches the server.
    pub fn upstream(&self) -> Upstream {
        match self {
            TestServer::Private { cluster, .. } => {
                Upstream::Unix(cluster.socket_dir().join(".s.PGSQL.5432"))
            }
            TestServer::External { options } => {
                Upstream::Tcp(format!("{}:{}", options.get_host(), options.get_port()))
            }
        }
    }
}

pub enum Upstream {
    Unix(PathBuf),
    Tcp(String),
}

pub fn server() -> &'static TestServer {
    SERVER.get_or_init(|| {
        if let Ok(url) = std::env::var("DATABASE_URL") {
            let options =
                PgConnectOptions::from_str(&url).expect("DATABASE_URL is not a PostgreSQL URL");
            return TestServer::External { options };
        }
        start_private_cluster()
    })
}

fn start_private_cluster() -> TestServer {
    use std::os::unix::fs::PermissionsExt;
    // Kept (not auto-deleted): removed at exit, after the cluster has stopped.
    let folder = tempfile::Builder::new()
        .prefix("newsdesk-test-")
        .tempdir()
        .expect("cannot create a temporary folder")
        .keep();
    // The postgres user must be able to reach the cluster inside.
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755)).unwrap();
    let bins = PgBinaries::find(None).expect("PostgreSQL binaries");
    let cluster =
        PrivateCluster::new(&folder.join("pg"), bins).expect("cannot prepare the test cluster");
    watch_for_abnormal_exit(&cluster, &folder);
    cluster.start().expect("cannot start the test cluster");
    let standby = cluster
        .start_standbys(1)
        .expect("cannot start the test cluster's standby")
        .remove(0);
    // SAFETY: registering a plain extern "C" function with atexit has no
    // preconditions; it runs once when the test process exits.
    unsafe { libc::atexit(stop_private_cluster) };
    let admin = cluster.connect_options("postgres");
    block_on(move || async move {
        let mut conn = PgConnection::connect_with(&admin).await.unwrap();
        for setting in [
            "alter system set synchronous_standby_names = 'standby_1'",
            "alter system set synchronous_commit = remote_apply",
            "select pg_reload_conf()",
        ] {
            sqlx::query(setting).execute(&mut conn).await.unwrap();
        }
    });
    TestServer::Private {
        cluster,
        standby,
        folder,
    }
}

extern "C" fn stop_private_cluster() {
    if let Some(TestServer::Private {
        cluster, folder, ..
    }) = SERVER.get()
    {
        let _ = cluster.stop();
        let _ = std::fs::remove_dir_all(folder);
    }
}

/// If the test process dies without running its exit handlers (killed, or
/// aborted), a small watcher stops the cluster and removes its folder.
fn watch_for_abnormal_exit(cluster: &PrivateCluster, folder: &std::path::Path) {
    use std::os::unix::process::CommandExt;
    // The primary and every standby of it.
    let script = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
         for pidfile in '{primary}' '{root}'/standby-*/data/postmaster.pid; do \
           [ -f \"$pidfile\" ] && kill -QUIT $(head -n 1 \"$pidfile\") 2>/dev/null; \
         done; sleep 2; rm -rf '{folder}'",
        pid = std::process::id(),
        primary = cluster.data_dir().join("postmaster.pid").display(),
        root = cluster.data_dir().parent().unwrap().display(),
        folder = folder.display(),
    );
    let _ = std::process::Command::new("sh")
        .args(["-c", &script])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .spawn();
}

/// Runs async setup work on a runtime of its own (tests each have theirs).
fn block_on<T, F, Fut>(work: F) -> T
where
    T: Send + 'static,
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T>,
{
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(work())
    })
    .join()
    .expect("setup thread panicked")
}

/// The migrated template every test database is cloned from.
/// Staff of a test database log in with their password alone, unless a
/// test asks for two factors (tests/app/login.rs checks the product's
/// default: admins and chief editors).
pub async fn as_tests_log_in(conn: &mut PgConnection) {
    sqlx::query("update settings set value = '' where key = 'two_factor_roles'")
        .execute(conn)
        .await
        .unwrap();
}

fn template() -> &'static str {
    TEMPLATE.get_or_init(|| {
        let name = format!("newsdesk_template_{}", std::process::id());
        let admin = server().options("postgres");
        let options = server().options(&name);
        let template = name.clone();
        block_on(move || async move {
            db::create_database_if_missing(admin, &template)
                .await
                .unwrap();
            let mut conn = PgConnection::connect_with(&options).await.unwrap();
            db::MIGRATOR.run(&mut conn).await.unwrap();
            as_tests_log_in(&mut conn).await;
            // For the tests that count a page's queries; absent on servers
            // started without the module.
            let _ = sqlx::raw_sql(
                "create schema monitoring; create extension pg_stat_statements schema monitoring",
            )
            .execute(&mut conn)
            .await;
            conn.close().await.unwrap();
        });
        name
    })
}

/// A fresh database for one test, dropped with the value.
pub struct TestDatabase {
    pub name: String,
    pub options: PgConnectOptions,
    /// Made by the harness on its server, and dropped with the value.
    owned: bool,
}

impl TestDatabase {
    pub async fn create() -> TestDatabase {
        let template = template();
        let name = format!("test_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect_with(&server().options("postgres"))
            .await
            .unwrap();
        sqlx::query(&format!(
            "create database {} template {}",
            quote_identifier(&name),
            quote_identifier(template)
        ))
        .execute(&mut admin)
        .await
        .unwrap();
        admin.close().await.unwrap();
        TestDatabase {
            options: server().options(&name),
            name,
            owned: true,
        }
    }

    /// A new database with nothing in it, not even the schema.
    pub async fn empty() -> TestDatabase {
        let name = format!("test_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect_with(&server().options("postgres"))
            .await
            .unwrap();
        sqlx::query(&format!(
            "create database {} template template0 encoding 'UTF8' locale 'C.UTF-8'",
            quote_identifier(&name)
        ))
        .execute(&mut admin)
        .await
        .unwrap();
        admin.close().await.unwrap();
        TestDatabase {
            options: server().options(&name),
            name,
            owned: true,
        }
    }

    /// A database on a server of the test's own, left as it is at the end.
    pub fn external(options: PgConnectOptions) -> TestDatabase {
        TestDatabase {
            name: options.get_database().unwrap_or_default().to_owned(),
            options,
            owned: false,
        }
    }

    /// A URL for the database, for running the `newsdesk` binary against it.
    pub fn url(&self) -> String {
        match server() {
            TestServer::Private { cluster, .. } => format!(
                "postgres://{}@localhost/{}?host={}",
                newsdesk::db::cluster::SUPERUSER,
                self.name,
                cluster.socket_dir().display()
            ),
            TestServer::External { .. } => {
                let url = std::env::var("DATABASE_URL").unwrap();
                let base = url.split('?').next().unwrap();
                let base = base.rsplit_once('/').map_or(base, |(server, _)| server);
                format!("{base}/{}", self.name)
            }
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if !self.owned {
            return;
        }
        let name = self.name.clone();
        block_on(move || async move {
            if let Ok(mut admin) = PgConnection::connect_with(&server().options("postgres")).await {
                let _ = sqlx::query(&format!(
                    "drop database if exists {} with (force)",
                    quote_identifier(&name)
                ))
                .execute(&mut admin)
                .await;
            }
        });
    }
}

/// The real app on a random port, with its own database and a client that
/// keeps cookies and does not follow redirects.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub pool: PgPool,
    /// Shared by the app's clients; dropped with the last one.
    pub database: std::sync::Arc<TestDatabase>,
    /// The installation's key, shared by every instance of it.
    pub secret: SecretKey,
    /// The data folder (uploaded photos), shared by every instance.
    pub data_dir: std::sync::Arc<tempfile::TempDir>,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The app with some of its configuration changed; its public pages read
/// from the standby when there is one.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let database = TestDatabase::create().await;
    let options = database.options.clone();
    let replica = server().replica_url(&database.name);
    spawn_configured(database, options, |config| {
        config.replica_urls = replica.into_iter().collect();
        configure(config)
    })
    .await
}

/// Starts the app on `database`, connecting through `options` (which may
/// lead through a proxy).
pub async fn spawn_app_on(database: TestDatabase, options: PgConnectOptions) -> TestApp {
    spawn_configured(database, options, |_| {}).await
}

async fn spawn_configured(
    database: TestDatabase,
    options: PgConnectOptions,
    configure: impl FnOnce(&mut Config),
) -> TestApp {
    let secret = SecretKey::generate();
    let data_dir = std::sync::Arc::new(tempfile::tempdir().expect("a data folder"));
    let mut config = instance_config(data_dir.path());
    configure(&mut config);
    let address = start_instance(options, secret.clone(), &config);
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let pool = PgPool::connect_with(database.options.clone())
        .await
        .unwrap();
    TestApp {
        address,
        client,
        pool,
        database: std::sync::Arc::new(database),
        secret,
        data_dir,
    }
}

/// The configuration of a test instance: any free port, one worker.
fn instance_config(data_dir: &std::path::Path) -> Config {
    let mut config = Config::defaults();
    config.data_dir = data_dir.to_path_buf();
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.workers = 1;
    config.shutdown_timeout = 1;
    config
}

/// Starts one more instance of the app on `options` and returns its address.
fn start_instance(options: PgConnectOptions, secret: SecretKey, config: &Config) -> String {
    let pool = db::pool(options, 5);
    let app = Application::build(config, pool, secret).expect("cannot build the app");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    address
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request failed")
    }

    /// GETs a page and returns its status and parsed HTML.
    pub async fn page(&self, path: &str) -> (u16, scraper::Html) {
        let response = self.get(path).await;
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        (status, scraper::Html::parse_document(&body))
    }
}

/// The text of every element matching `selector`.
pub fn texts(html: &scraper::Html, selector: &str) -> Vec<String> {
    let selector = scraper::Selector::parse(selector).unwrap();
    html.select(&selector)
        .map(|element| element.text().collect::<String>().trim().to_string())
        .collect()
}

/// The value of `attribute` on every element matching `selector`.
pub fn attrs(html: &scraper::Html, selector: &str, attribute: &str) -> Vec<String> {
    let selector = scraper::Selector::parse(selector).unwrap();
    html.select(&selector)
        .filter_map(|element| element.value().attr(attribute).map(str::to_string))
        .collect()
}

/// The id (as text) of the one row `sql` finds for `key`.
pub async fn id_of(app: &TestApp, sql: &str, key: &str) -> String {
    let id: uuid::Uuid = sqlx::query_scalar(sql)
        .bind(key)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    id.to_string()
}

/// A form's fields, in order.
pub type Fields<'a> = &'a [(&'a str, &'a str)];

impl TestApp {
    /// Creates a staff account with a known password and returns it.
    pub async fn create_staff(&self, username: &str, role: &str) -> String {
        let password = format!("{username}-Tq7-lamp-horse");
        let hash = newsdesk::auth::password::hash(&password).unwrap();
        sqlx::query(
            "insert into users (username, display_name, role, unit_id, password_hash)
             values ($1, $2, $3, (select id from units where parent_id is null), $4)",
        )
        .bind(username)
        .bind(format!("{username}的姓名"))
        .bind(role)
        .bind(hash)
        .execute(&self.pool)
        .await
        .unwrap();
        password
    }

    /// Makes sure the database has a root unit (tests without the demo).
    pub async fn ensure_root_unit(&self) {
        sqlx::query(
            "insert into units (name) select '总部' where not exists (select 1 from units)",
        )
        .execute(&self.pool)
        .await
        .unwrap();
    }

    /// The CSRF token of this client, read from a form the way a browser would.
    pub async fn csrf(&self) -> String {
        for path in ["/admin/account", "/admin/login"] {
            let (status, html) = self.page(path).await;
            if status == 200
                && let Some(token) = attrs(&html, "input[name=csrf_token]", "value")
                    .into_iter()
                    .next()
            {
                return token;
            }
        }
        panic!("no page with a CSRF token");
    }

    /// POSTs a form with this client's CSRF token added.
    pub async fn post(&self, path: &str, fields: Fields<'_>) -> reqwest::Response {
        let token = self.csrf().await;
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("csrf_token", &token));
        self.client
            .post(self.url(path))
            .form(&form)
            .send()
            .await
            .expect("request failed")
    }

    /// POSTs a form and returns its status and parsed HTML.
    pub async fn post_page(&self, path: &str, fields: Fields<'_>) -> (u16, scraper::Html) {
        let response = self.post(path, fields).await;
        let status = response.status().as_u16();
        (
            status,
            scraper::Html::parse_document(&response.text().await.unwrap()),
        )
    }

    pub async fn login(&self, username: &str, password: &str) -> reqwest::Response {
        self.post(
            "/admin/login",
            &[("username", username), ("password", password)],
        )
        .await
    }

    /// Creates a staff account of `role` and logs this client in as it.
    pub async fn login_as(&self, username: &str, role: &str) {
        self.ensure_root_unit().await;
        let password = self.create_staff(username, role).await;
        let response = self.login(username, &password).await;
        assert_eq!(response.status().as_u16(), 303, "login as {username}");
    }

    /// A second client (another browser) on the same app.
    pub fn other_client(&self) -> TestApp {
        TestApp {
            address: self.address.clone(),
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            pool: self.pool.clone(),
            database: self.database.clone(),
            secret: self.secret.clone(),
            data_dir: self.data_dir.clone(),
        }
    }

    /// Another handle on this very client (same cookies), to send requests
    /// from one browser concurrently.
    pub fn other_client_sharing_cookies(&self) -> TestApp {
        TestApp {
            address: self.address.clone(),
            client: self.client.clone(),
            pool: self.pool.clone(),
            database: self.database.clone(),
            secret: self.secret.clone(),
            data_dir: self.data_dir.clone(),
        }
    }

    /// The same client talking to a second instance of the app, on the same
    /// database and secret key (as behind a load balancer).
    pub fn second_instance(&self) -> TestApp {
        self.second_instance_with(|_| {})
    }

    /// The same client talking to a second instance with some of its
    /// configuration changed.
    pub fn second_instance_with(&self, configure: impl FnOnce(&mut Config)) -> TestApp {
        let mut config = instance_config(self.data_dir.path());
        configure(&mut config);
        TestApp {
            address: start_instance(self.database.options.clone(), self.secret.clone(), &config),
            client: self.client.clone(),
            pool: self.pool.clone(),
            database: self.database.clone(),
            secret: self.secret.clone(),
            data_dir: self.data_dir.clone(),
        }
    }
}

pub fn location(response: &reqwest::Response) -> String {
    response.headers()["location"].to_str().unwrap().to_string()
}

/// The `Set-Cookie` header a response sends for cookie `name`.
pub fn set_cookie(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap().to_string())
        .find(|value| value.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie set"))
}

/// Runs a statement on the test's database with its arguments bound in
/// order ($1, $2, ...); the test fails if the statement does.
macro_rules! execute {
    ($app:expr, $sql:expr $(, $argument:expr)* $(,)?) => {
        sqlx::query($sql)$(.bind($argument))*.execute(&$app.pool).await.unwrap()
    };
}
pub(crate) use execute;
