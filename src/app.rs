//! The application: shared state, the one route table, and the HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, DefaultHeaders, from_fn};
use actix_web::{App, HttpServer, web};
use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use anyhow::Context;
use sqlx::PgPool;
use tracing_actix_web::TracingLogger;

use crate::articles;
use crate::articles::views::ViewCounter;
use crate::config::Config;
use crate::db::replicas::Replicas;
use crate::error::AppError;
use crate::secret::SecretKey;
use crate::state::AppState;
use crate::web::cache::{self, PageCache};
use crate::web::client::TrustedProxies;
use crate::web::telemetry::MetricsToken;
use crate::web::{assets, csrf, edge, head, health, reads, telemetry, variant};
use crate::{
    audit, auth, captcha, channels, comments, desk, media, notifications, readers, search,
    settings, stats, topics, units, users, webhooks,
};

/// Largest url-encoded form body (an article with a long body fits).
const FORM_LIMIT: usize = 256 * 1024;

/// A bound, not yet running, Newsdesk server.
pub struct Application {
    port: u16,
    server: Server,
    pool: PgPool,
    views: web::Data<ViewCounter>,
}

impl Application {
    /// Binds the listener (port 0 picks a free port, as tests do) and builds
    /// the server. Migrations are the caller's business.
    pub fn build(config: &Config, pool: PgPool, secret: SecretKey) -> anyhow::Result<Self> {
        let replicas = config
            .replica_urls
            .iter()
            .map(|url| {
                url.parse::<sqlx::postgres::PgConnectOptions>()
                    .context("NEWSDESK_REPLICA_URLS holds a URL that is not a PostgreSQL URL")
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Self::build_with_replicas(config, pool, replicas, secret)
    }

    /// As `build`, public pages read from `replicas` (streaming standbys of
    /// the pool's database) when they have replayed what they must show.
    pub fn build_with_replicas(
        config: &Config,
        pool: PgPool,
        replicas: Vec<sqlx::postgres::PgConnectOptions>,
        secret: SecretKey,
    ) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(config.bind)
            .with_context(|| format!("cannot listen on {}", config.bind))?;
        let port = listener.local_addr()?.port();
        let metrics = metrics()?;
        let replicas = (!replicas.is_empty()).then(|| {
            Replicas::new(
                replicas,
                Duration::from_secs_f64(config.replica_max_lag.clamp(0.1, 3600.0)),
            )
        });
        if let Some(replicas) = &replicas {
            register_replica_metrics(&metrics, replicas.clone())?;
            tokio::spawn(replicas.clone().watch(pool.clone()));
        }
        let engine: crate::search::engine::Shared = if config.search_index {
            match crate::search::engine::Engine::open(&config.data_dir.join("search")) {
                Ok(engine) => {
                    metrics
                        .registry
                        .register(Box::new(engine.searches.clone()))?;
                    tokio::spawn(engine.clone().run(pool.clone(), Duration::from_millis(100)));
                    Some(engine)
                }
                Err(error) => {
                    tracing::warn!(%error, "no search index: searches read the database");
                    None
                }
            }
        } else {
            None
        };
        let engine = web::Data::new(engine);
        let cache = Arc::new(PageCache::new(config.page_cache_mb * 1024 * 1024));
        tokio::spawn(cache::listen(pool.clone(), cache.clone(), replicas.clone()));
        crate::webhooks::install_tls();
        tokio::spawn(crate::webhooks::run(pool.clone()));
        let views = web::Data::new(ViewCounter::default());
        tokio::spawn(articles::views::run_flusher(
            pool.clone(),
            views.clone().into_inner(),
            Duration::from_secs(config.view_flush_seconds.max(1)),
        ));
        let cache = web::Data::from(cache);
        // Each worker answers requests with connections of its own, opened
        // on its own runtime. A connection's socket answers to the runtime
        // that opened it: taken from a shared pool by another worker, each
        // reply waited until that runtime next looked at its sockets, and
        // the connection was held longer (uncached article pages went from
        // 8,600 to 11,500 a second with separate pools).
        let workers = match config.workers {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            workers => workers,
        };
        let per_worker = config.db_max_connections.div_ceil(workers as u32).max(2);
        let statement_timeout = format!("{}s", config.db_statement_timeout.max(1));
        let connect = std::sync::Arc::new(
            (*pool.connect_options())
                .clone()
                .options([("statement_timeout", statement_timeout.as_str())]),
        );
        let stopped_pool = pool.clone();
        let plumbing = (
            web::Data::new(secret.clone()),
            web::Data::new(TrustedProxies(config.trusted_proxies.clone())),
            web::Data::new(MetricsToken(
                config
                    .metrics_token
                    .clone()
                    .filter(|token| !token.trim().is_empty()),
            )),
        );
        let state = web::Data::new(AppState {
            secret,
            trusted_proxies: config.trusted_proxies.clone(),
            media_dir: config.data_dir.join("media"),
            test_captcha: test_captcha(config)?,
        });
        let counter = views.clone();
        let slots: web::Data<dyn cache::SlotValues> = web::Data::from(Arc::new(PageSlots {
            secret: plumbing.0.get_ref().clone(),
            views: views.clone(),
        })
            as Arc<dyn cache::SlotValues>);
        let trees = web::Data::new(crate::site::TreeCache::default());
        let conversions: web::Data<dyn variant::ConversionSource> =
            web::Data::from(Arc::new(SiteConversions) as Arc<dyn variant::ConversionSource>);
        let rankings = web::Data::new(articles::home::Rankings::default());
        let replicas = replicas.map(web::Data::from);
        let origins = crate::api::Origins::parse(&config.api_origins)?;
        let limiter = web::Data::from(crate::api::Limiter::new(config.api_rate_limit));
        let replica_connect: Vec<sqlx::postgres::PgConnectOptions> = replicas
            .iter()
            .flat_map(|replicas| replicas.options().cloned().collect::<Vec<_>>())
            .map(|options| options.options([("statement_timeout", statement_timeout.as_str())]))
            .collect();
        let primary_cookies = web::Data::new(reads::PrimaryCookies(vec![auth::session::COOKIE]));
        let server = HttpServer::new(move || {
            let pool = web::Data::new(crate::db::pool((*connect).clone(), per_worker));
            let replica_pools = web::Data::new(reads::ReplicaPools(
                replica_connect
                    .iter()
                    .map(|options| crate::db::pool(options.clone(), per_worker))
                    .collect(),
            ));
            let mut app = App::new();
            if let Some(replicas) = &replicas {
                app = app
                    .app_data(replicas.clone())
                    .app_data(replica_pools)
                    .app_data(primary_cookies.clone());
            }
            app.wrap(from_fn(articles::legacy::redirect))
                .wrap(from_fn(reads::remember_writes))
                .wrap(from_fn(variant::variants))
                .wrap(from_fn(cache::serve))
                .wrap(from_fn(csrf::protect))
                .wrap(from_fn(crate::backend::error_pages))
                .wrap(from_fn(telemetry::request_id_header))
                .wrap(metrics.clone())
                .wrap(from_fn(telemetry::metrics_access))
                .wrap(Compress::default())
                .wrap(from_fn(edge::screen))
                .wrap(security_headers())
                .wrap(from_fn(head::as_get))
                .wrap(TracingLogger::<telemetry::RequestSpan>::new())
                .app_data(pool)
                .app_data(state.clone())
                .app_data(plumbing.0.clone())
                .app_data(plumbing.1.clone())
                .app_data(plumbing.2.clone())
                .app_data(cache.clone())
                .app_data(counter.clone())
                .app_data(slots.clone())
                .app_data(conversions.clone())
                .app_data(trees.clone())
                .app_data(rankings.clone())
                .app_data(engine.clone())
                .app_data(
                    web::QueryConfig::default().error_handler(|_, _| AppError::NotFound.into()),
                )
                .app_data(
                    web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()),
                )
                .app_data(
                    web::FormConfig::default()
                        .limit(FORM_LIMIT)
                        .error_handler(|_, _| AppError::BadRequest.into()),
                )
                .app_data(limiter.clone())
                .configure(|cfg| crate::api::routes(cfg, &origins))
                .configure(routes)
                .default_service(web::to(not_found))
        })
        .workers(workers)
        .listen(listener)?
        .shutdown_timeout(config.shutdown_timeout);
        Ok(Application {
            port,
            server: server.run(),
            pool: stopped_pool,
            views,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until Ctrl-C or SIGTERM, then lets in-flight requests finish
    /// and writes the view counts still in memory.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        if let Err(error) = self.views.flush(&self.pool).await {
            tracing::warn!(%error, "could not write the last view counts");
        }
        served
    }
}

/// The per-request slots of public pages whose values belong to slices: a
/// fresh captcha, the signed-in reader, the view count.
struct PageSlots {
    secret: SecretKey,
    views: web::Data<ViewCounter>,
}

impl cache::SlotValues for PageSlots {
    fn captcha(&self) -> String {
        captcha::issue(self.secret.as_bytes())
    }

    fn reader<'a>(
        &'a self,
        req: &'a actix_web::HttpRequest,
    ) -> futures_util::future::LocalBoxFuture<'a, Option<cache::SignedIn>> {
        Box::pin(async move {
            let cookie = crate::web::cookies::read(req, readers::COOKIE)?;
            let pool = req.app_data::<web::Data<PgPool>>()?;
            let mut conn = pool.acquire().await.ok()?;
            let reader = readers::lookup(&mut conn, &cookie).await.ok()??;
            let trusted = readers::in_good_standing(&mut conn, reader.id)
                .await
                .unwrap_or(false);
            Some(cache::SignedIn {
                name: reader.username,
                trusted,
            })
        })
    }

    fn views(&self, number: i64, rendered: i64) -> i64 {
        self.views.estimate(number, rendered)
    }

    fn count_view(&self, req: &actix_web::HttpRequest, number: i64) {
        let bot = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(articles::views::is_bot);
        if !bot {
            self.views.record(number);
        }
    }
}

/// The site's 简 → 繁 conversions, from the instance's copy of the site.
struct SiteConversions;

impl variant::ConversionSource for SiteConversions {
    fn current<'a>(
        &'a self,
        req: &'a actix_web::HttpRequest,
    ) -> futures_util::future::LocalBoxFuture<'a, Arc<variant::Conversions>> {
        Box::pin(async move {
            let found = async {
                let trees = req.app_data::<web::Data<crate::site::TreeCache>>()?;
                let pool = req.app_data::<web::Data<PgPool>>()?;
                let mut conn = pool.acquire().await.ok()?;
                let site = trees.current(&mut conn).await.ok()?;
                Some(site.conversions.clone())
            };
            found.await.unwrap_or_default()
        })
    }
}

/// The route table.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(articles::home::home))
        .route("/channels/{slug}", web::get().to(articles::public::channel))
        .route(
            "/articles/{number}",
            web::get().to(articles::public::article),
        )
        .route(
            "/articles/{number}/comments",
            web::post().to(comments::post::post),
        )
        .route(
            "/articles/{number}/qr.svg",
            web::get().to(articles::public::share_code),
        )
        .route("/agreement", web::get().to(articles::public::legal))
        .route("/elder", web::get().to(crate::web::elder::toggle))
        .route("/privacy", web::get().to(articles::public::legal))
        .route("/captcha/new", web::get().to(captcha::fresh))
        .route("/captcha/{name}", web::get().to(captcha::serve_image))
        .route(
            "/comments/{id}/report",
            web::post().to(comments::post::report),
        )
        .route(
            "/comments/{id}/delete",
            web::post().to(comments::post::delete_own),
        )
        .route("/register", web::get().to(readers::page::register_form))
        .route("/register", web::post().to(readers::page::register))
        .route("/login", web::get().to(readers::page::login_form))
        .route("/login", web::post().to(readers::page::login))
        .route("/logout", web::post().to(readers::page::logout))
        .route("/account", web::get().to(readers::page::account))
        .route("/admin/stats", web::get().to(stats::index))
        .route("/admin/stats/quotas", web::get().to(stats::quotas::form))
        .route("/admin/stats/quotas", web::post().to(stats::quotas::save))
        .route("/admin/stats.{format}", web::get().to(stats::download))
        .route("/admin/comments", web::get().to(comments::admin::queue))
        .route("/admin/comments", web::post().to(comments::admin::moderate))
        .route(
            "/admin/sensitive-words",
            web::get().to(comments::admin::words),
        )
        .route(
            "/admin/proofreading",
            web::get().to(desk::proof_admin::list),
        )
        .route(
            "/admin/proofreading",
            web::post().to(desk::proof_admin::change),
        )
        .route("/admin/grades", web::get().to(desk::grades_admin::list))
        .route("/admin/grades", web::post().to(desk::grades_admin::change))
        .route(
            "/admin/sensitive-words",
            web::post().to(comments::admin::change_words),
        )
        .route("/feed.xml", web::get().to(articles::feeds::feed))
        .route("/sitemap.xml", web::get().to(articles::feeds::sitemap))
        .route("/robots.txt", web::get().to(articles::feeds::robots))
        .route("/topics/{slug}", web::get().to(topics::show))
        .route("/search", web::get().to(search::page::search))
        .route("/admin/topics", web::get().to(topics::admin::index))
        .route("/admin/topics", web::post().to(topics::admin::create))
        .route("/admin/topics/{id}", web::get().to(topics::admin::edit))
        .route("/admin/topics/{id}", web::post().to(topics::admin::update))
        .route(
            "/admin/topics/{id}/stories",
            web::post().to(topics::admin::add_story),
        )
        .route(
            "/admin/topics/{id}/stories/{article}",
            web::post().to(topics::admin::arrange),
        )
        .route("/tags/{name}", web::get().to(articles::public::tag))
        .route("/units/{id}", web::get().to(articles::public::unit))
        .route("/authors/{id}", web::get().to(articles::public::author))
        .route("/healthz", web::get().to(health::healthz))
        .route("/favicon.ico", web::get().to(assets::favicon))
        .route("/media/{name}", web::get().to(media::admin::serve))
        .route("/admin/media", web::get().to(media::admin::library))
        .route("/admin/media", web::post().to(media::admin::upload))
        .route("/admin/media/{id}", web::post().to(media::admin::update))
        .route("/admin", web::get().to(stats::dashboard::dashboard))
        .route("/admin/login", web::get().to(auth::login::login_form))
        .route("/admin/login", web::post().to(auth::login::login))
        .route(
            "/admin/login/2fa",
            web::get().to(auth::login::second_factor_form),
        )
        .route(
            "/admin/login/2fa",
            web::post().to(auth::login::second_factor),
        )
        .route("/admin/logout", web::post().to(auth::login::logout))
        .route("/admin/audit", web::get().to(audit::admin::list))
        .route("/admin/webhooks", web::get().to(webhooks::admin::index))
        .route("/admin/webhooks", web::post().to(webhooks::admin::create))
        .route("/admin/webhooks/{id}", web::get().to(webhooks::admin::edit))
        .route(
            "/admin/webhooks/{id}",
            web::post().to(webhooks::admin::update),
        )
        .route(
            "/admin/webhooks/{id}/secret",
            web::post().to(webhooks::admin::rotate_secret),
        )
        .route(
            "/admin/webhooks/{id}/delete",
            web::post().to(webhooks::admin::delete),
        )
        .route(
            "/admin/webhooks/{id}/deliveries/{delivery}/retry",
            web::post().to(webhooks::admin::retry),
        )
        .route("/admin/audit/export", web::get().to(audit::admin::export))
        .route("/admin/account", web::get().to(users::account::profile))
        .route(
            "/admin/account/sessions",
            web::get().to(users::account::sessions),
        )
        .route(
            "/admin/account/2fa",
            web::get().to(users::account::two_factor),
        )
        .route(
            "/admin/account/2fa/enable",
            web::post().to(users::account::enable_two_factor),
        )
        .route(
            "/admin/account/2fa/{action}",
            web::post().to(users::account::manage_two_factor),
        )
        .route(
            "/admin/account/sessions/end-others",
            web::post().to(users::account::end_other_sessions),
        )
        .route(
            "/admin/account/sessions/{id}/end",
            web::post().to(users::account::end_session),
        )
        .route(
            "/admin/account",
            web::post().to(users::account::update_profile),
        )
        .route(
            "/admin/account/password",
            web::get().to(users::account::password_form),
        )
        .route(
            "/admin/account/password",
            web::post().to(users::account::change_password),
        )
        .route("/admin/users", web::get().to(users::admin::list))
        .route("/admin/users/new", web::get().to(users::admin::new_form))
        .route("/admin/users/new", web::post().to(users::admin::create))
        .route("/admin/users/locks", web::get().to(users::locks::locks))
        .route(
            "/admin/users/locks/clear",
            web::post().to(users::locks::clear_lock),
        )
        .route("/admin/users/{id}/edit", web::get().to(users::admin::edit))
        .route(
            "/admin/users/{id}/edit",
            web::post().to(users::admin::update),
        )
        .route(
            "/admin/users/{id}/reset-password",
            web::post().to(users::admin::reset_password),
        )
        .route(
            "/admin/users/{id}/{action}",
            web::post().to(users::admin::set_active),
        )
        .route("/admin/articles", web::get().to(articles::queue::list))
        .route("/admin/articles/all", web::get().to(articles::all::list))
        .route("/admin/articles/bulk", web::post().to(articles::all::bulk))
        .route(
            "/admin/articles/new",
            web::get().to(articles::admin::new_form),
        )
        .route(
            "/admin/articles/new",
            web::post().to(articles::admin::create),
        )
        .route("/admin/articles/{id}", web::get().to(articles::show::show))
        .route(
            "/admin/articles/{id}/edit",
            web::get().to(articles::admin::edit),
        )
        .route(
            "/admin/articles/{id}/edit",
            web::post().to(articles::admin::update),
        )
        .route(
            "/admin/articles/{id}/submit",
            web::post().to(articles::admin::submit),
        )
        .route(
            "/admin/articles/{id}/review",
            web::post().to(articles::review::review),
        )
        .route(
            "/admin/articles/{id}/sheet",
            web::get().to(articles::show::sheet),
        )
        .route(
            "/admin/articles/{id}/proofread",
            web::post().to(articles::review::proofread),
        )
        .route(
            "/admin/articles/{id}/unpublish",
            web::post().to(articles::review::unpublish),
        )
        .route(
            "/admin/articles/{id}/placement",
            web::post().to(articles::review::placement),
        )
        .route(
            "/admin/articles/{id}/revisions/{version}",
            web::get().to(articles::show::revision),
        )
        .route(
            "/admin/articles/{id}/revisions/{version}/restore",
            web::post().to(articles::admin::restore),
        )
        .route(
            "/admin/articles/{id}/diff",
            web::get().to(articles::diff::compare),
        )
        .route(
            "/admin/articles/{id}/correction",
            web::post().to(articles::review::review_correction),
        )
        .route("/admin/authors", web::get().to(articles::admin::authors))
        .route(
            "/admin/notifications",
            web::get().to(notifications::page::list),
        )
        .route(
            "/admin/notifications/read",
            web::post().to(notifications::page::read_all),
        )
        .route(
            "/admin/notifications/{id}",
            web::get().to(notifications::page::open),
        )
        .route("/admin/units", web::get().to(units::admin::list))
        .route("/admin/units", web::post().to(units::admin::create))
        .route("/admin/units/{id}/edit", web::get().to(units::admin::edit))
        .route(
            "/admin/units/{id}/edit",
            web::post().to(units::admin::update),
        )
        .route(
            "/admin/units/{id}/{action}",
            web::post().to(units::admin::change),
        )
        .route("/admin/channels", web::get().to(channels::admin::list))
        .route("/admin/channels", web::post().to(channels::admin::create))
        .route(
            "/admin/channels/{id}/edit",
            web::get().to(channels::admin::edit),
        )
        .route(
            "/admin/channels/{id}/edit",
            web::post().to(channels::admin::update),
        )
        .route(
            "/admin/channels/{id}/{action}",
            web::post().to(channels::admin::change),
        )
        .route("/admin/settings", web::get().to(settings::admin::edit))
        .route("/admin/settings", web::post().to(settings::admin::update))
        .route("/admin/security", web::get().to(settings::security::edit))
        .route(
            "/admin/security",
            web::post().to(settings::security::update),
        )
        .route(
            "/admin/settings/conversions",
            web::get().to(settings::admin::conversions),
        )
        .route(
            "/admin/settings/conversions",
            web::post().to(settings::admin::change_conversions),
        )
        .route("/static/{version}/{path:.*}", web::get().to(assets::serve));
}

/// NEWSDESK_TEST_CAPTCHA, accepted only on a loopback address.
fn test_captcha(config: &Config) -> anyhow::Result<Option<String>> {
    let Some(answer) = config.test_captcha.clone().filter(|a| !a.trim().is_empty()) else {
        return Ok(None);
    };
    if !config.bind.ip().is_loopback() {
        anyhow::bail!(
            "NEWSDESK_TEST_CAPTCHA is for automated tests only and needs a loopback address, \
             but the server would listen on {}",
            config.bind
        );
    }
    tracing::warn!("NEWSDESK_TEST_CAPTCHA is set: every captcha accepts the test answer");
    Ok(Some(answer.trim().to_owned()))
}

async fn not_found() -> Result<actix_web::HttpResponse, AppError> {
    Err(AppError::NotFound)
}

/// Request counts and latency histograms by route pattern and status,
/// served at /metrics in Prometheus' text format.
fn metrics() -> anyhow::Result<PrometheusMetrics> {
    PrometheusMetricsBuilder::new("newsdesk")
        .endpoint(telemetry::METRICS_PATH)
        .mask_unmatched_patterns("UNKNOWN")
        .build()
        .map_err(|error| anyhow::anyhow!("cannot set up metrics: {error}"))
}

/// `newsdesk_replica_lag_seconds` and `newsdesk_replica_healthy` for each
/// replica, read from the watcher's state at each scrape.
fn register_replica_metrics(
    metrics: &PrometheusMetrics,
    replicas: Arc<Replicas>,
) -> anyhow::Result<()> {
    use prometheus::core::{Collector, Desc};
    use prometheus::proto::MetricFamily;
    use prometheus::{GaugeVec, Opts};

    struct ReplicaCollector {
        replicas: Arc<Replicas>,
        lag: GaugeVec,
        healthy: GaugeVec,
    }
    impl Collector for ReplicaCollector {
        fn desc(&self) -> Vec<&Desc> {
            self.lag
                .desc()
                .into_iter()
                .chain(self.healthy.desc())
                .collect()
        }
        fn collect(&self) -> Vec<MetricFamily> {
            self.lag.reset();
            self.healthy.reset();
            for state in self.replicas.states() {
                self.lag
                    .with_label_values(&[state.name.as_str()])
                    // Unreachable: as far behind as can be told.
                    .set(state.lag_seconds.unwrap_or(f64::INFINITY));
                self.healthy
                    .with_label_values(&[state.name.as_str()])
                    .set(if state.healthy { 1.0 } else { 0.0 });
            }
            self.lag
                .collect()
                .into_iter()
                .chain(self.healthy.collect())
                .collect()
        }
    }
    let collector = ReplicaCollector {
        replicas,
        lag: GaugeVec::new(
            Opts::new(
                "newsdesk_replica_lag_seconds",
                "How far each replica is behind the primary",
            ),
            &["replica"],
        )?,
        healthy: GaugeVec::new(
            Opts::new(
                "newsdesk_replica_healthy",
                "Whether public pages are read from each replica",
            ),
            &["replica"],
        )?,
    };
    metrics.registry.register(Box::new(collector))?;
    Ok(())
}

fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "strict-origin-when-cross-origin"))
        .add(("X-Frame-Options", "DENY"))
        .add((
            "Content-Security-Policy",
            "default-src 'self'; object-src 'none'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; \
             frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
        ))
}
