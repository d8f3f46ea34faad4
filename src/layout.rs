//! The shell of every page, built from the slices it shows. Public pages:
//! the site's name, the channel navigation, the footer's copyright notice.
//! Backend pages: the signed-in staff member, the navigation their role may
//! use, the CSRF token.

use sqlx::PgConnection;

use crate::auth::{Permission, Staff};
use crate::channels::NavChannel;
use crate::settings::{self, SiteSettings};
use crate::web::assets;
use crate::web::csrf::CsrfToken;

pub struct PublicLayout {
    pub settings: SiteSettings,
    pub nav: Vec<NavChannel>,
    /// Slug of the top-level channel the page belongs to, highlighted in the nav.
    pub active_channel: Option<String>,
    /// The home page itself: only there is 首页 highlighted.
    pub home: bool,
    pub page_title: String,
    pub description: String,
}

/// The footer's filing lines (主办单位, ICP 备案号, 公安机关备案号), on every
/// public page and on the site's error pages.
#[derive(askama::Template)]
#[template(path = "_partials/filing.html")]
pub struct Filing<'a> {
    pub settings: &'a SiteSettings,
    pub emblem: String,
}

impl Filing<'_> {
    pub fn html(settings: &SiteSettings) -> String {
        use askama::Template;
        Filing {
            settings,
            emblem: assets::asset_url("img/police-filing.svg"),
        }
        .render()
        .unwrap_or_default()
    }
}

impl PublicLayout {
    /// The footer's filing lines.
    pub fn filing(&self) -> String {
        Filing::html(&self.settings)
    }

    /// Loads the layout data: one small query for the structure's version.
    pub async fn load(
        conn: &mut PgConnection,
        tree_cache: &crate::site::TreeCache,
    ) -> sqlx::Result<Self> {
        let trees = tree_cache.current(conn).await?;
        Ok(PublicLayout::with_trees(&trees))
    }

    /// The layout with the settings and navigation from the instance's copy
    /// of the trees.
    pub fn with_trees(trees: &crate::site::Trees) -> Self {
        PublicLayout::new(trees.settings.clone(), trees.navigation())
    }

    fn new(settings: SiteSettings, nav: Vec<NavChannel>) -> Self {
        PublicLayout {
            settings,
            nav,
            active_channel: None,
            home: false,
            page_title: String::new(),
            description: String::new(),
        }
    }

    /// Sets the `<title>` prefix and the meta description.
    pub fn titled(mut self, title: impl Into<String>, description: impl Into<String>) -> Self {
        self.page_title = title.into();
        self.description = description.into();
        self
    }

    /// The layout of the home page.
    pub fn at_home(mut self) -> Self {
        self.home = true;
        self
    }

    pub fn in_channel(mut self, top_level_slug: Option<String>) -> Self {
        self.active_channel = top_level_slug;
        self
    }

    pub fn css(&self) -> String {
        assets::asset_url("css/site.css")
    }

    /// The versioned URL of a static file.
    pub fn asset(&self, path: &str) -> String {
        assets::asset_url(path)
    }

    pub fn is_active(&self, slug: &str) -> bool {
        self.active_channel.as_deref() == Some(slug)
    }
}

/// One entry of the backend's side navigation.
pub struct AdminNavItem {
    pub label: &'static str,
    pub href: &'static str,
    pub active: bool,
}

/// The backend's side navigation, filtered by what the role may use.
const ADMIN_NAV: &[(&str, &str, Permission)] = &[
    ("工作台", "/admin", Permission::UseBackend),
    ("稿件", "/admin/articles", Permission::ReadArticles),
    ("全部稿件", "/admin/articles/all", Permission::ReadArticles),
    ("图片库", "/admin/media", Permission::WriteArticles),
    ("专题", "/admin/topics", Permission::PublishArticles),
    ("评论审核", "/admin/comments", Permission::ModerateComments),
    ("校对词库", "/admin/proofreading", Permission::ManageDesk),
    ("稿件评级", "/admin/grades", Permission::ManageDesk),
    ("稿件统计", "/admin/stats", Permission::ViewStatistics),
    ("用户管理", "/admin/users", Permission::ManageUsers),
    ("登录锁定", "/admin/users/locks", Permission::ManageSecurity),
    ("单位管理", "/admin/units", Permission::ManageUnits),
    ("栏目管理", "/admin/channels", Permission::ManageChannels),
    ("站点设置", "/admin/settings", Permission::ManageSettings),
    ("安全策略", "/admin/security", Permission::ManageSecurity),
    (
        "敏感词",
        "/admin/sensitive-words",
        Permission::ManageSecurity,
    ),
    (
        "繁体转换",
        "/admin/settings/conversions",
        Permission::ManageSettings,
    ),
    (
        "Webhook 推送",
        "/admin/webhooks",
        Permission::ManageSettings,
    ),
    ("审计日志", "/admin/audit", Permission::ReadAuditLog),
    ("通知", "/admin/notifications", Permission::UseBackend),
    ("个人设置", "/admin/account", Permission::UseBackend),
];

/// The navigation entry a backend address belongs to: the longest entry
/// its path starts with.
pub fn nav_entry_of(path: &str) -> &'static str {
    ADMIN_NAV
        .iter()
        .map(|(_, href, _)| *href)
        .filter(|href| {
            path == *href
                || path
                    .strip_prefix(href)
                    .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?'))
        })
        .max_by_key(|href| href.len())
        .unwrap_or("/admin")
}

/// What every backend page's layout shows.
pub struct AdminLayout {
    pub settings: SiteSettings,
    pub page_title: String,
    /// The signed-in staff member's name and role, when there is one.
    pub staff_name: Option<String>,
    pub role_label: &'static str,
    pub nav: Vec<AdminNavItem>,
    pub csrf_token: String,
    /// Unread notifications, counted in the header.
    pub unread: i64,
}

impl AdminLayout {
    /// Layout for a signed-in staff member's page; `active` is the nav entry
    /// the page belongs to.
    pub async fn load(
        conn: &mut PgConnection,
        staff: &Staff,
        csrf: &CsrfToken,
        title: &str,
        active: &str,
    ) -> sqlx::Result<Self> {
        let settings = settings::db::load(conn).await?;
        let nav = if staff.must_change_password {
            Vec::new()
        } else {
            ADMIN_NAV
                .iter()
                .filter(|(_, _, permission)| staff.can(*permission))
                .map(|&(label, href, _)| AdminNavItem {
                    label,
                    href,
                    active: href == active,
                })
                .collect()
        };
        Ok(AdminLayout {
            unread: staff.unread_notifications,
            settings,
            page_title: title.to_owned(),
            staff_name: Some(staff.display_name.clone()),
            role_label: staff.role.label(),
            nav,
            csrf_token: csrf.0.clone(),
        })
    }

    /// Layout for the pages before login.
    pub async fn anonymous(
        conn: &mut PgConnection,
        csrf: &CsrfToken,
        title: &str,
    ) -> sqlx::Result<Self> {
        Ok(AdminLayout {
            settings: settings::db::load(conn).await?,
            page_title: title.to_owned(),
            staff_name: None,
            role_label: "",
            nav: Vec::new(),
            csrf_token: csrf.0.clone(),
            unread: 0,
        })
    }

    pub fn css(&self) -> String {
        assets::asset_url("css/site.css")
    }

    /// The versioned URL of a static file.
    pub fn asset(&self, path: &str) -> String {
        assets::asset_url(path)
    }
}
