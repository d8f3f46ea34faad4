//! What every public page's layout shows: the site's name, the channel
//! navigation, the footer's copyright notice, and the stylesheet's URL.

use sqlx::PgConnection;

use crate::channels::{self, NavChannel};
use crate::settings::{self, SiteSettings};
use crate::web::assets;

pub struct PublicLayout {
    pub settings: SiteSettings,
    pub nav: Vec<NavChannel>,
    /// Slug of the top-level channel the page belongs to, highlighted in the nav.
    pub active_channel: Option<String>,
    pub page_title: String,
    pub description: String,
}

impl PublicLayout {
    /// Loads the layout data with two small queries.
    pub async fn load(conn: &mut PgConnection) -> sqlx::Result<Self> {
        let settings = settings::db::load(conn).await?;
        let nav = channels::db::navigation(conn).await?;
        Ok(PublicLayout {
            settings,
            nav,
            active_channel: None,
            page_title: String::new(),
            description: String::new(),
        })
    }

    /// Sets the `<title>` prefix and the meta description.
    pub fn titled(mut self, title: impl Into<String>, description: impl Into<String>) -> Self {
        self.page_title = title.into();
        self.description = description.into();
        self
    }

    pub fn in_channel(mut self, top_level_slug: Option<String>) -> Self {
        self.active_channel = top_level_slug;
        self
    }

    pub fn css(&self) -> String {
        assets::asset_url("css/site.css")
    }

    pub fn is_active(&self, slug: &str) -> bool {
        self.active_channel.as_deref() == Some(slug)
    }
}
