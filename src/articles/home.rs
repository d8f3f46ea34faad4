//! The home page: the headline block (头条), the recommended slot, the
//! latest stories of each top-level channel, the newest stories and the
//! most-read lists (点击排行) of today, this week and this month.

use crate::web::reads::ReadPool;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::NaiveDate;
use sqlx::{PgConnection, PgPool};

use super::db::{self, BlockItem};
use super::public::StoryLink;
use super::{article_url, channel_url};
use crate::channels::NavChannel;
use crate::error::AppError;
use crate::ids::ArticleId;
use crate::layout::PublicLayout;
use crate::media::{self, Size};
use crate::settings::SiteSettings;
use crate::web::page;

const LATEST: i64 = 12;
const PER_CHANNEL: i64 = 6;
/// Stories in each most-read list.
const RANKED: usize = 10;
/// How long rankings are shown before they are computed again.
const RANKINGS_TTL: Duration = Duration::from_secs(60);

/// The most-read rankings (点击排行) of this instance. Ranking a month of
/// readings takes over a second once readers have spread over a large
/// archive (1.4 s after 1.5 million story-days at a million stories), and
/// the home page is rendered again after every publication. So rankings are
/// kept for a minute and computed again in the background while the old
/// ones are shown; the stories themselves are read with each render, so a
/// withdrawn story leaves the lists at once.
#[derive(Default)]
pub struct Rankings {
    state: Mutex<RankingsState>,
}

#[derive(Default)]
struct RankingsState {
    ranked: Option<Ranked>,
    refreshing: bool,
}

/// For today, the last 7 and the last 30 days: (story id, readings), most
/// read first.
type Periods = Arc<[Vec<(ArticleId, i64)>; 3]>;

struct Ranked {
    at: Instant,
    day: NaiveDate,
    periods: Periods,
}

impl Rankings {
    /// The rankings of `today`: computed now only when there are none for
    /// the day yet.
    async fn of(
        self: Arc<Self>,
        pool: &PgPool,
        conn: &mut PgConnection,
        today: NaiveDate,
    ) -> sqlx::Result<Periods> {
        match self.kept(today) {
            Some((periods, refresh)) => {
                if refresh {
                    let pool = pool.clone();
                    tokio::spawn(async move {
                        let ranked = match pool.acquire().await {
                            Ok(mut conn) => db::most_read(&mut conn, today, RANKED as i64).await,
                            Err(error) => Err(error),
                        };
                        if let Err(error) = &ranked {
                            tracing::warn!(%error, "could not rank the most-read stories");
                        }
                        self.keep(today, ranked.ok());
                    });
                }
                Ok(periods)
            }
            None => {
                let ranked = db::most_read(conn, today, RANKED as i64).await?;
                Ok(self.keep(today, Some(ranked)))
            }
        }
    }

    /// The kept rankings of `today`, if any, and whether this caller is
    /// to compute them again (they are past their time and nobody else is).
    fn kept(&self, today: NaiveDate) -> Option<(Periods, bool)> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let state = &mut *state;
        let ranked = state.ranked.as_ref().filter(|ranked| ranked.day == today)?;
        let refresh = ranked.at.elapsed() >= RANKINGS_TTL && !state.refreshing;
        state.refreshing |= refresh;
        Some((ranked.periods.clone(), refresh))
    }

    /// Keeps `ranked` (when computed) as the rankings of `today`.
    fn keep(&self, today: NaiveDate, ranked: Option<[Vec<(ArticleId, i64)>; 3]>) -> Periods {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.refreshing = false;
        match ranked {
            Some(periods) => {
                let periods = Arc::new(periods);
                state.ranked = Some(Ranked {
                    at: Instant::now(),
                    day: today,
                    periods: periods.clone(),
                });
                periods
            }
            None => state
                .ranked
                .as_ref()
                .map(|ranked| ranked.periods.clone())
                .unwrap_or_default(),
        }
    }
}

/// A story in a home page block, ready to show.
/// Slides of the 焦点图, from the newest 头条 stories read for covers.
const FOCUS: usize = 5;
const FOCUS_READ: i64 = 20;
/// Stories in 图片新闻.
const PHOTOS: usize = 4;

pub struct Teaser {
    pub url: String,
    pub title: String,
    pub summary: String,
    pub date: String,
    pub views: i64,
    pub cover: Option<String>,
}

impl Teaser {
    fn new(item: &BlockItem, settings: &SiteSettings, size: Size) -> Self {
        let cover = match (
            item.cover_id,
            &item.cover_original_ext,
            &item.cover_derived_ext,
        ) {
            (Some(id), Some(original), Some(derived)) => {
                Some(media::url(id, size, derived, original))
            }
            _ => None,
        };
        Teaser {
            url: article_url(item.number),
            title: item.title.clone(),
            summary: item.summary.clone(),
            date: settings.format_date(item.published_at),
            views: item.view_count,
            cover,
        }
    }
}

pub struct ChannelBlock {
    pub name: String,
    pub url: String,
    pub stories: Vec<Teaser>,
}

pub struct Ranking {
    pub label: &'static str,
    pub stories: Vec<Teaser>,
}

#[derive(Template)]
#[template(path = "public/home.html")]
struct HomePage {
    layout: PublicLayout,
    /// 焦点图: the newest 头条 stories that have a cover photo.
    focus: Vec<Teaser>,
    /// 图片新闻: the newest stories with photos not in 焦点图.
    photos: Vec<Teaser>,
    headline: Option<Teaser>,
    more_headlines: Vec<Teaser>,
    recommended: Vec<Teaser>,
    latest: Vec<StoryLink>,
    channels: Vec<ChannelBlock>,
    rankings: Vec<Ranking>,
    topics: Vec<crate::topics::Topic>,
}

pub async fn home(
    pool: ReadPool,
    trees: web::Data<crate::site::TreeCache>,
    rankings: web::Data<Rankings>,
) -> Result<HttpResponse, AppError> {
    let mut conn = pool.acquire().await?;
    let layout = PublicLayout::load(&mut conn, &trees).await?.at_home();
    let settings = &layout.settings;
    let focus: Vec<Teaser> = db::flagged(&mut conn, true, FOCUS_READ)
        .await?
        .iter()
        .filter(|item| item.cover_id.is_some())
        .take(FOCUS)
        .map(|item| Teaser::new(item, settings, Size::Display))
        .collect();
    let photos = db::with_photos(&mut conn, PHOTOS as i64 + FOCUS as i64)
        .await?
        .iter()
        .map(|item| Teaser::new(item, settings, Size::Thumb))
        .filter(|teaser| focus.iter().all(|shown| shown.url != teaser.url))
        .take(PHOTOS)
        .collect();
    let mut headlines = db::flagged(&mut conn, true, 4).await?.into_iter();
    let headline = headlines
        .next()
        .map(|item| Teaser::new(&item, settings, Size::Display));
    let more_headlines = headlines
        .map(|item| Teaser::new(&item, settings, Size::Thumb))
        .collect();
    let recommended = db::flagged(&mut conn, false, 6)
        .await?
        .iter()
        .map(|item| Teaser::new(item, settings, Size::Thumb))
        .collect();
    let latest = db::latest_published(&mut conn, LATEST)
        .await?
        .into_iter()
        .map(|item| StoryLink::new(item, settings))
        .collect();
    let by_channel = db::latest_by_top_channel(&mut conn, PER_CHANNEL).await?;
    let channels = layout
        .nav
        .iter()
        .map(|NavChannel { name, slug }| ChannelBlock {
            name: name.clone(),
            url: channel_url(slug),
            stories: by_channel
                .iter()
                .filter(|item| item.top_slug.as_deref() == Some(slug.as_str()))
                .map(|item| Teaser::new(item, settings, Size::Thumb))
                .collect(),
        })
        .filter(|block| !block.stories.is_empty())
        .collect();
    let today = chrono::Utc::now()
        .with_timezone(&settings.time_zone)
        .date_naive();
    let ranked = rankings.into_inner().of(&pool, &mut conn, today).await?;
    let periods = db::ranked_items(&mut conn, &ranked, RANKED).await?;
    let rankings = [("今日", 0), ("本周", 1), ("本月", 2)]
        .into_iter()
        .map(|(label, period)| Ranking {
            label,
            stories: periods[period]
                .iter()
                .map(|item| Teaser::new(item, settings, Size::Thumb))
                .collect(),
        })
        .collect();
    let topics = crate::topics::list(&mut conn, true)
        .await?
        .into_iter()
        .take(6)
        .collect();
    let description = format!("{}：新闻、企业风采与基层动态", settings.site_name);
    page(&HomePage {
        layout: layout.titled("首页", description),
        focus,
        photos,
        headline,
        more_headlines,
        recommended,
        latest,
        channels,
        rankings,
        topics,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, n).unwrap()
    }

    fn ranked(views: i64) -> [Vec<(ArticleId, i64)>; 3] {
        [vec![(ArticleId::default(), views)], Vec::new(), Vec::new()]
    }

    #[test]
    fn rankings_are_computed_again_once_past_their_time_and_kept_if_that_fails() {
        let rankings = Rankings::default();
        assert!(rankings.kept(day(24)).is_none(), "none yet");
        rankings.keep(day(24), Some(ranked(5)));
        let (periods, refresh) = rankings.kept(day(24)).unwrap();
        assert_eq!(periods[0], [(ArticleId::default(), 5)]);
        assert!(!refresh, "fresh rankings are shown as they are");
        assert!(rankings.kept(day(25)).is_none(), "a new day is ranked anew");

        // Past their time: one caller computes them again, the others keep
        // showing them meanwhile.
        rankings.state.lock().unwrap().ranked.as_mut().unwrap().at -= RANKINGS_TTL;
        assert!(rankings.kept(day(24)).unwrap().1);
        assert!(!rankings.kept(day(24)).unwrap().1);

        // That computation failed: the old rankings stay, and the next
        // caller tries again.
        assert_eq!(rankings.keep(day(24), None)[0], [(ArticleId::default(), 5)]);
        assert!(rankings.kept(day(24)).unwrap().1);
        rankings.keep(day(24), Some(ranked(9)));
        let (periods, refresh) = rankings.kept(day(24)).unwrap();
        assert_eq!((periods[0][0].1, refresh), (9, false));
    }
}
