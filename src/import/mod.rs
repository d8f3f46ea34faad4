//! Importing a newsroom's archive from the CMS it leaves: channels (their
//! tree kept), stories with their publication time, state, body (through
//! the sanitiser), tags, credits and photos, comments with their state and
//! threading, and the old addresses kept as 301 redirects.
//!
//! Each reader (`wordpress`) turns its source into the records below and
//! hands them to a [`Sink`], which writes them through the newsroom's own
//! code (the story store, the media library), so an imported story is
//! searchable, counted in the statistics and shown like any other.
//! What each record became is kept in `import_map` (migration 0053):
//! a second run changes nothing, an interrupted one takes up where it
//! stopped. With `dry_run` nothing is written and the report says what
//! would be.

pub mod legacy;
pub mod wordpress;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::articles::SanitizedHtml;
use crate::articles::form::{ArticleInput, Credit};
use crate::articles::legacy::key_of_url;
use crate::ids::{ChannelId, UnitId, UserId};

/// Stories written in one transaction.
const BATCH: usize = 200;

/// A channel (category) of the old site.
#[derive(Debug, Clone)]
pub struct Channel {
    pub external_id: String,
    pub name: String,
    /// The slug to use when it is valid here (`a-z`, digits, `-`).
    pub slug: String,
    pub parent: Option<String>,
    /// Old addresses of its list page.
    pub old_urls: Vec<String>,
}

/// A story of the old site.
#[derive(Debug, Clone)]
pub struct Story {
    pub external_id: String,
    pub title: String,
    pub summary: String,
    /// The body as the old site stored it (HTML, shortcodes already read).
    pub body_html: String,
    /// The external id of its channel.
    pub channel: Option<String>,
    pub byline: String,
    pub source: String,
    pub tags: Vec<String>,
    /// Published at this time; `None` for drafts and pending ones.
    pub published_at: Option<DateTime<Utc>>,
    pub created_at: Option<DateTime<Utc>>,
    /// Readings counted by the old site.
    pub views: i64,
    pub old_urls: Vec<String>,
    /// Photos the body shows, by the address in the body, with the file
    /// found for it (rewritten to the media library's address).
    pub photos: Vec<(String, PathBuf)>,
    /// The old site's login of its writer, when it has a staff account
    /// here (see [`Sink::staff_account`]).
    pub writer: Option<String>,
}

/// A comment of the old site.
#[derive(Debug, Clone)]
pub struct Comment {
    pub external_id: String,
    pub story: String,
    pub parent: Option<String>,
    pub author_name: String,
    pub body: String,
    pub created_at: DateTime<Utc>,
    /// approved, pending, spam or deleted.
    pub status: &'static str,
}

/// How many of a kind were imported, were there already, or were left out.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub imported: u64,
    pub present: u64,
    pub skipped: u64,
}

/// What an import did (or, dry, would do).
#[derive(Debug, Default)]
pub struct Report {
    pub counts: BTreeMap<&'static str, Counts>,
    /// Why records were left out or changed, with how often.
    pub notes: BTreeMap<String, u64>,
    pub redirects: u64,
}

impl Report {
    fn count(&mut self, kind: &'static str) -> &mut Counts {
        self.counts.entry(kind).or_default()
    }

    fn note(&mut self, note: impl Into<String>) {
        *self.notes.entry(note.into()).or_default() += 1;
    }

    /// The report as the terminal shows it.
    pub fn said(&self, dry_run: bool) -> String {
        let mut out = String::new();
        let (new, there) = if dry_run {
            ("将导入", "已存在")
        } else {
            ("导入", "已存在（未改动）")
        };
        for (kind, counts) in &self.counts {
            let name = match *kind {
                "channel" => "栏目",
                "account" => "作者账号",
                "story" => "稿件",
                "comment" => "评论",
                "media" => "图片",
                other => other,
            };
            out.push_str(&format!(
                "{name}：{new} {}，{there} {}，跳过 {}\n",
                counts.imported, counts.present, counts.skipped
            ));
        }
        out.push_str(&format!("旧网址跳转：{}\n", self.redirects));
        for (note, times) in &self.notes {
            out.push_str(&format!("  {note}：{times} 次\n"));
        }
        out
    }
}

/// Where imported things go.
pub struct Options {
    /// The system and site imported from, as `import_map` keeps it.
    pub source: String,
    pub dry_run: bool,
    /// The unit the stories are filed under (default: the root unit).
    pub unit: Option<String>,
    /// The staff account imported stories are written by (default: the
    /// first administrator).
    pub writer: Option<String>,
    /// The media folder (`DATA_DIR/media`).
    pub media_dir: PathBuf,
}

/// Writes imported records, each once.
pub struct Sink {
    pool: PgPool,
    options: Options,
    unit: UnitId,
    writer: (UserId, String),
    /// Channels by external id, once known.
    channels: HashMap<String, ChannelId>,
    /// Stories by external id: (id, number).
    stories: HashMap<String, (Uuid, i64)>,
    comments: HashMap<String, Uuid>,
    pending_comments: Vec<Comment>,
    /// Staff accounts made for the old site's writers, by their login there.
    writers: HashMap<String, UserId>,
    pending: Vec<Story>,
    pub report: Report,
}

/// Imports channels, each parent before its children; one whose parent is
/// not among them (or that stands in a loop) goes to the top.
pub async fn write_channels(sink: &mut Sink, channels: Vec<Channel>) -> anyhow::Result<()> {
    let known: std::collections::HashSet<String> =
        channels.iter().map(|c| c.external_id.clone()).collect();
    let mut written = std::collections::HashSet::new();
    let mut left = channels;
    while !left.is_empty() {
        let before = left.len();
        let mut next = Vec::new();
        for mut channel in left {
            match &channel.parent {
                Some(parent) if !known.contains(parent) => channel.parent = None,
                Some(parent) if !written.contains(parent) => {
                    next.push(channel);
                    continue;
                }
                _ => {}
            }
            sink.channel(&channel).await?;
            written.insert(channel.external_id.clone());
        }
        if next.len() == before {
            for mut channel in next {
                channel.parent = None;
                sink.channel(&channel).await?;
            }
            break;
        }
        left = next;
    }
    Ok(())
}

/// Every image address in `html` (`src="…"`).
fn image_sources(html: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find("<img") {
        rest = &rest[at + 4..];
        let tag_end = rest.find('>').unwrap_or(rest.len());
        let tag = &rest[..tag_end];
        for quote in ['"', '\''] {
            if let Some(start) = tag.find(&format!("src={quote}")) {
                let value = &tag[start + 5..];
                if let Some(end) = value.find(quote) {
                    found.push(value[..end].to_owned());
                }
                break;
            }
        }
    }
    found
}

/// The body without the image at `address`, and without the figure it
/// stood in (its caption describes a photo no longer there).
fn without_image(body: &str, address: &str) -> String {
    let mut out = body.to_owned();
    while let Some(src) = out.find(address) {
        let Some(start) = out[..src].rfind("<img") else {
            break;
        };
        let end = out[src..].find('>').map_or(out.len(), |end| src + end + 1);
        let figure = out[..start]
            .rfind("<figure")
            .filter(|open| !out[*open..start].contains("</figure>"))
            .and_then(|open| {
                let close = out[end..].find("</figure>")? + end + "</figure>".len();
                Some((open, close))
            });
        match figure {
            Some((open, close)) => out.replace_range(open..close, ""),
            None => out.replace_range(start..end, ""),
        }
    }
    out
}

/// The photos of an old body that `resolve` finds a file for; the others
/// are taken out with their figures (the site shows photos of its own
/// library only), each counted under `note`.
fn local_photos(
    body: &mut String,
    resolve: impl Fn(&str) -> Option<PathBuf>,
    note: &str,
    report: &mut Report,
) -> Vec<(String, PathBuf)> {
    let mut photos = Vec::new();
    for address in image_sources(body) {
        match resolve(&address) {
            Some(file) => photos.push((address, file)),
            None => {
                report.note(note);
                *body = without_image(body, &address);
            }
        }
    }
    photos
}

/// Marks the transaction as an import's: it queues no webhooks (the old
/// site's past is not news to the receivers).
async fn importing(conn: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("select set_config('newsdesk.importing', 'on', true)")
        .execute(conn)
        .await
        .map(|_| ())
}

fn valid_slug(slug: &str) -> Option<String> {
    let slug = slug.trim().to_lowercase();
    crate::channels::parse_slug(&slug).ok()
}

/// At most `max` characters of `text`.
fn cut(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

impl Sink {
    pub async fn new(pool: PgPool, options: Options) -> anyhow::Result<Self> {
        let mut conn = pool.acquire().await?;
        let unit: Option<Uuid> = match &options.unit {
            Some(name) => sqlx::query_scalar::<_, Uuid>("select id from units where name = $1")
                .bind(name)
                .fetch_optional(&mut *conn)
                .await?
                .ok_or_else(|| anyhow::anyhow!("没有名为“{name}”的单位"))?
                .into(),
            None => {
                sqlx::query_scalar(
                    "select id from units where parent_id is null order by created_at limit 1",
                )
                .fetch_optional(&mut *conn)
                .await?
            }
        };
        let unit = unit.ok_or_else(|| anyhow::anyhow!("站点还没有单位，请先创建根单位"))?;
        let writer: Option<(Uuid, String)> = match &options.writer {
            Some(username) => sqlx::query_as::<_, (Uuid, String)>(
                "select id, display_name from users where username = $1 and active",
            )
            .bind(username)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| anyhow::anyhow!("没有启用的账号“{username}”"))?
            .into(),
            None => {
                sqlx::query_as(
                    "select id, display_name from users where role in ('admin', 'system_admin')
                     and active order by created_at limit 1",
                )
                .fetch_optional(&mut *conn)
                .await?
            }
        };
        let (writer, writer_name) = writer.ok_or_else(|| {
            anyhow::anyhow!("站点还没有管理员账号，请先用 newsdesk create-user 创建")
        })?;
        drop(conn);
        Ok(Sink {
            pool,
            options,
            unit: UnitId(unit),
            writer: (UserId(writer), writer_name),
            channels: HashMap::new(),
            stories: HashMap::new(),
            comments: HashMap::new(),
            pending_comments: Vec::new(),
            writers: HashMap::new(),
            pending: Vec::new(),
            report: Report::default(),
        })
    }

    async fn mapped(
        conn: &mut PgConnection,
        source: &str,
        kind: &str,
        external_id: &str,
    ) -> sqlx::Result<Option<Uuid>> {
        sqlx::query_scalar(
            "select local_id from import_map where source = $1 and kind = $2 and external_id = $3",
        )
        .bind(source)
        .bind(kind)
        .bind(external_id)
        .fetch_optional(conn)
        .await
    }

    async fn map(
        conn: &mut PgConnection,
        source: &str,
        kind: &str,
        external_id: &str,
        local: Uuid,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "insert into import_map (source, kind, external_id, local_id) values ($1, $2, $3, $4)
             on conflict do nothing",
        )
        .bind(source)
        .bind(kind)
        .bind(external_id)
        .bind(local)
        .execute(conn)
        .await
        .map(|_| ())
    }

    async fn keep_redirects(
        &mut self,
        conn: &mut PgConnection,
        urls: &[String],
        to: &str,
    ) -> sqlx::Result<()> {
        for url in urls {
            let Some(key) = key_of_url(url) else {
                continue;
            };
            if key == "/" || key.starts_with("/admin") || key.starts_with("/api/") {
                continue;
            }
            let kept = sqlx::query(
                "insert into legacy_redirects (from_key, to_path, source) values ($1, $2, $3)
                 on conflict (from_key) do nothing",
            )
            .bind(&key)
            .bind(to)
            .bind(&self.options.source)
            .execute(&mut *conn)
            .await?;
            self.report.redirects += kept.rows_affected();
        }
        Ok(())
    }

    /// Imports a channel (its parent first: callers give parents before
    /// children). A channel of the same slug that exists here takes it in.
    pub async fn channel(&mut self, channel: &Channel) -> anyhow::Result<()> {
        let source = self.options.source.clone();
        let mut conn = self.pool.acquire().await?;
        if let Some(id) = Self::mapped(&mut conn, &source, "channel", &channel.external_id).await? {
            self.channels
                .insert(channel.external_id.clone(), ChannelId(id));
            self.report.count("channel").present += 1;
            return Ok(());
        }
        let name = cut(channel.name.trim(), 30);
        if name.is_empty() {
            self.report.count("channel").skipped += 1;
            self.report.note("栏目没有名称，未导入");
            return Ok(());
        }
        let slug =
            valid_slug(&channel.slug).unwrap_or_else(|| format!("import-{}", channel.external_id));
        let slug = valid_slug(&slug)
            .unwrap_or_else(|| format!("import-{:x}", xxhash_rust::xxh3::xxh3_64(slug.as_bytes())));
        let parent = channel
            .parent
            .as_ref()
            .and_then(|parent| self.channels.get(parent).copied());
        self.report.count("channel").imported += 1;
        if self.options.dry_run {
            self.channels
                .insert(channel.external_id.clone(), ChannelId(Uuid::nil()));
            return Ok(());
        }
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let existing: Option<Uuid> = sqlx::query_scalar("select id from channels where slug = $1")
            .bind(&slug)
            .fetch_optional(&mut *tx)
            .await?;
        let id = match existing {
            Some(id) => id,
            None => {
                sqlx::query_scalar(
                    "insert into channels (name, slug, parent_id, sort_order)
                     values ($1, $2, $3, (select count(*) from channels)) returning id",
                )
                .bind(&name)
                .bind(&slug)
                .bind(parent)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        Self::map(&mut tx, &source, "channel", &channel.external_id, id).await?;
        self.keep_redirects(&mut tx, &channel.old_urls, &format!("/channels/{slug}"))
            .await?;
        tx.commit().await?;
        self.channels
            .insert(channel.external_id.clone(), ChannelId(id));
        Ok(())
    }

    /// The channel stories without one go to: 未分类, made when needed.
    async fn fallback_channel(&mut self) -> anyhow::Result<ChannelId> {
        let fallback = Channel {
            external_id: "(none)".into(),
            name: "未分类".into(),
            slug: "weifenlei".into(),
            parent: None,
            old_urls: Vec::new(),
        };
        if let Some(id) = self.channels.get(&fallback.external_id) {
            return Ok(*id);
        }
        self.channel(&fallback).await?;
        Ok(self.channels[&fallback.external_id])
    }

    /// A correspondent's account of the import's unit for a writer of the
    /// old site, so that their drafts stay theirs and their bylines lead to
    /// them: made once (an account of that username is taken as it is),
    /// with a password nobody knows and must change — an admin sets one
    /// on 用户管理 before the writer logs in.
    pub async fn staff_account(&mut self, login: &str, display_name: &str) -> anyhow::Result<()> {
        let username: String = login
            .trim()
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
            .take(32)
            .collect();
        let (Ok(username), Ok(name)) = (
            crate::users::parse_username(&username),
            crate::users::parse_display_name(display_name.trim()),
        ) else {
            self.report.note("作者的登录名或姓名不能用作账号，未建账号");
            return Ok(());
        };
        let mut conn = self.pool.acquire().await?;
        let existing: Option<Uuid> = sqlx::query_scalar("select id from users where username = $1")
            .bind(&username)
            .fetch_optional(&mut *conn)
            .await?;
        if let Some(id) = existing {
            self.writers.insert(login.to_owned(), UserId(id));
            self.report.count("account").present += 1;
            return Ok(());
        }
        self.report.count("account").imported += 1;
        if self.options.dry_run {
            return Ok(());
        }
        let secret: String = {
            use rand::Rng;
            rand::rng()
                .sample_iter(rand::distr::Alphanumeric)
                .take(40)
                .map(char::from)
                .collect()
        };
        let hash =
            tokio::task::spawn_blocking(move || crate::auth::password::hash(&secret)).await??;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        let id = crate::users::db::insert(
            &mut tx,
            &crate::users::db::NewUser {
                username: &username,
                display_name: &name,
                role: "correspondent",
                unit_id: self.unit,
                password_hash: &hash,
                must_change_password: true,
                email: "",
            },
        )
        .await?;
        crate::audit::record(
            &mut tx,
            &crate::audit::Actor::anonymous("command line", String::new()),
            "user.create",
            &username,
            &format!("角色：通讯员（导入自 {}）", self.options.source),
        )
        .await?;
        tx.commit().await?;
        self.writers.insert(login.to_owned(), id);
        Ok(())
    }

    /// Queues a story; written with the others of its batch.
    pub async fn story(&mut self, story: Story) -> anyhow::Result<()> {
        self.pending.push(story);
        if self.pending.len() >= BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    /// Photos the story shows, imported into the media library once each;
    /// the body's addresses rewritten to them.
    async fn photos(&mut self, conn: &mut PgConnection, story: &Story) -> anyhow::Result<String> {
        let mut body = story.body_html.clone();
        let source = self.options.source.clone();
        for (address, file) in &story.photos {
            let external = file.to_string_lossy().into_owned();
            let known = Self::mapped(conn, &source, "media", &external).await?;
            let id_and_url = match known {
                Some(id) => {
                    let row: Option<(String, String)> =
                        sqlx::query_as("select derived_ext, original_ext from media where id = $1")
                            .bind(id)
                            .fetch_optional(&mut *conn)
                            .await?;
                    self.report.count("media").present += 1;
                    row.map(|(derived, original)| {
                        crate::media::url(id, crate::media::Size::Display, &derived, &original)
                    })
                }
                None => {
                    let bytes = match tokio::fs::read(file).await {
                        Ok(bytes) => bytes,
                        Err(_) => {
                            self.report.count("media").skipped += 1;
                            self.report.note("图片文件读不出，正文中去掉");
                            continue;
                        }
                    };
                    let processed =
                        tokio::task::spawn_blocking(move || crate::media::process(&bytes)).await?;
                    let processed = match processed {
                        Ok(processed) => processed,
                        Err(_) => {
                            self.report.count("media").skipped += 1;
                            self.report.note("不是支持的图片格式，正文中去掉");
                            continue;
                        }
                    };
                    self.report.count("media").imported += 1;
                    if self.options.dry_run {
                        continue;
                    }
                    let id = Uuid::new_v4();
                    crate::media::files::save(&self.options.media_dir, id, &processed).await?;
                    let name = file
                        .file_name()
                        .map(|name| name.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    sqlx::query(
                        "insert into media (id, uploaded_by, unit_id, mime, original_ext, derived_ext,
                                            original_name, width, height, bytes)
                         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    )
                    .bind(id)
                    .bind(self.writer.0)
                    .bind(self.unit)
                    .bind(processed.mime)
                    .bind(processed.original_ext)
                    .bind(processed.derived_ext)
                    .bind(cut(&name, 200))
                    .bind(processed.width as i32)
                    .bind(processed.height as i32)
                    .bind(processed.original.len() as i32)
                    .execute(&mut *conn)
                    .await?;
                    Self::map(conn, &source, "media", &external, id).await?;
                    Some(crate::media::url(
                        id,
                        crate::media::Size::Display,
                        processed.derived_ext,
                        processed.original_ext,
                    ))
                }
            };
            if let Some(url) = id_and_url {
                body = body.replace(address.as_str(), &url);
            }
        }
        Ok(body)
    }

    async fn write_story(
        &mut self,
        conn: &mut PgConnection,
        story: Story,
        known: Option<Uuid>,
    ) -> anyhow::Result<()> {
        let source = self.options.source.clone();
        if let Some(id) = known {
            let number: Option<i64> =
                sqlx::query_scalar("select number from articles where id = $1")
                    .bind(id)
                    .fetch_optional(&mut *conn)
                    .await?;
            if let Some(number) = number {
                self.stories.insert(story.external_id.clone(), (id, number));
            }
            self.report.count("story").present += 1;
            return Ok(());
        }
        let mut title = story.title.trim().to_owned();
        if title.is_empty() {
            self.report.count("story").skipped += 1;
            self.report.note("稿件没有标题，未导入");
            return Ok(());
        }
        if title.chars().count() > 80 {
            title = cut(&title, 80);
            self.report.note("标题超过 80 字，已截断");
        }
        let channel = match story
            .channel
            .as_ref()
            .and_then(|channel| self.channels.get(channel).copied())
        {
            Some(channel) => channel,
            None => {
                self.report.note("稿件没有栏目，归入“未分类”");
                self.fallback_channel().await?
            }
        };
        let body = self.photos(conn, &story).await?;
        self.report.count("story").imported += 1;
        if self.options.dry_run {
            self.stories
                .insert(story.external_id.clone(), (Uuid::nil(), 0));
            return Ok(());
        }
        let body = SanitizedHtml::clean(&body);
        let body_text = body.plain_text();
        let summary = match story.summary.trim() {
            "" => cut(&body_text.replace('\n', " "), 120),
            given => cut(given, 300),
        };
        let byline = cut(story.byline.trim(), 100);
        let credits = crate::articles::form::parse_credits(&byline, "").unwrap_or_else(|_| {
            vec![Credit {
                role: "作者".into(),
                name: cut(&byline, 40),
            }]
        });
        let credits: Vec<Credit> = credits
            .into_iter()
            .filter(|credit| !credit.name.trim().is_empty())
            .collect();
        let mut tags: Vec<String> = Vec::new();
        for tag in &story.tags {
            let tag = cut(tag.trim(), 20);
            if !tag.is_empty() && !tags.contains(&tag) {
                tags.push(tag);
            }
        }
        let input = ArticleInput {
            title,
            kicker: String::new(),
            subtitle: String::new(),
            summary,
            body,
            body_text,
            channel_id: channel,
            unit_id: self.unit,
            author_byline: byline,
            correspondents: String::new(),
            source: cut(story.source.trim(), 50),
            tags,
            credits,
            cover_media_id: None,
        };
        sqlx::query("savepoint story").execute(&mut *conn).await?;
        let written: anyhow::Result<(Uuid, i64)> = async {
            let writer = story
                .writer
                .as_ref()
                .and_then(|login| self.writers.get(login))
                .copied()
                .unwrap_or(self.writer.0);
            let id = crate::articles::store::insert(&mut *conn, &input, writer).await?;
            let number: i64 = sqlx::query_scalar(
                "update articles set status = $2, published_at = $3,
                        created_at = coalesce($4, created_at)
                 where id = $1 returning number",
            )
            .bind(id)
            .bind(if story.published_at.is_some() {
                "published"
            } else {
                "draft"
            })
            .bind(story.published_at)
            .bind(story.created_at.or(story.published_at))
            .fetch_one(&mut *conn)
            .await?;
            if let Some(at) = story.published_at {
                sqlx::query(
                    "insert into review_events (article_id, actor_id, actor_name, action,
                                                from_status, to_status, note, at)
                     values ($1, $2, $3, 'import', 'draft', 'published', $4, $5)",
                )
                .bind(id)
                .bind(self.writer.0)
                .bind(&self.writer.1)
                .bind(format!("导入自 {source}"))
                .bind(at)
                .execute(&mut *conn)
                .await?;
            }
            if story.views > 0 {
                sqlx::query(
                    "insert into article_totals (article_id, views) values ($1, $2)
                     on conflict (article_id) do update set views = excluded.views",
                )
                .bind(id)
                .bind(story.views)
                .execute(&mut *conn)
                .await?;
            }
            Self::map(&mut *conn, &source, "story", &story.external_id, id.0).await?;
            Ok((id.0, number))
        }
        .await;
        match written {
            Ok((id, number)) => {
                sqlx::query("release savepoint story")
                    .execute(&mut *conn)
                    .await?;
                // Drafts have no page to lead to.
                if story.published_at.is_some() {
                    self.keep_redirects(conn, &story.old_urls, &format!("/articles/{number}"))
                        .await?;
                }
                self.stories.insert(story.external_id, (id, number));
            }
            Err(error) => {
                sqlx::query("rollback to savepoint story")
                    .execute(&mut *conn)
                    .await?;
                let count = self.report.count("story");
                count.imported -= 1;
                count.skipped += 1;
                self.report.note(format!("稿件写入失败：{error}"));
            }
        }
        Ok(())
    }

    /// Writes the queued stories, then the queued comments, in one
    /// transaction.
    pub async fn flush(&mut self) -> anyhow::Result<()> {
        if self.pending.is_empty() && self.pending_comments.is_empty() {
            return Ok(());
        }
        let stories = std::mem::take(&mut self.pending);
        let comments = std::mem::take(&mut self.pending_comments);
        let mut conn = self.pool.acquire().await?;
        let mut tx = sqlx::Connection::begin(&mut *conn).await?;
        importing(&mut tx).await?;
        // What the batch holds that an earlier run wrote, in one read each.
        let known = |kind: &'static str, ids: Vec<String>| {
            sqlx::query_as::<_, (String, Uuid)>(
                "select external_id, local_id from import_map
                 where source = $1 and kind = $2 and external_id = any($3)",
            )
            .bind(self.options.source.clone())
            .bind(kind)
            .bind(ids)
        };
        let known_stories: HashMap<String, Uuid> = known(
            "story",
            stories.iter().map(|s| s.external_id.clone()).collect(),
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        let known_comments: HashMap<String, Uuid> = known(
            "comment",
            comments.iter().map(|c| c.external_id.clone()).collect(),
        )
        .fetch_all(&mut *tx)
        .await?
        .into_iter()
        .collect();
        for story in stories {
            // Earlier in this run (a post twice in one export) counts too.
            let known = known_stories
                .get(&story.external_id)
                .copied()
                .or_else(|| self.stories.get(&story.external_id).map(|(id, _)| *id));
            self.write_story(&mut tx, story, known).await?;
        }
        for comment in &comments {
            let known = known_comments.contains_key(&comment.external_id)
                || self.comments.contains_key(&comment.external_id);
            self.write_comment(&mut tx, comment, known).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Queues a comment (after its story and parent); written with the
    /// stories and comments of its batch.
    pub async fn comment(&mut self, comment: Comment) -> anyhow::Result<()> {
        self.pending_comments.push(comment);
        if self.pending_comments.len() >= BATCH {
            self.flush().await?;
        }
        Ok(())
    }

    async fn write_comment(
        &mut self,
        conn: &mut PgConnection,
        comment: &Comment,
        known: bool,
    ) -> anyhow::Result<()> {
        let source = self.options.source.clone();
        if known {
            self.report.count("comment").present += 1;
            return Ok(());
        }
        let Some(&(story, _)) = self.stories.get(&comment.story) else {
            self.report.count("comment").skipped += 1;
            self.report.note("评论所属的稿件未导入，评论跳过");
            return Ok(());
        };
        if matches!(comment.status, "spam" | "deleted") {
            self.report.count("comment").skipped += 1;
            self.report.note("垃圾评论和已删除的评论不导入");
            return Ok(());
        }
        let body = cut(comment.body.trim(), 1000);
        if body.is_empty() {
            self.report.count("comment").skipped += 1;
            self.report.note("评论内容为空，未导入");
            return Ok(());
        }
        // One level of replies here: a reply to a reply answers its thread.
        let parent = match &comment.parent {
            Some(parent) => match self.comments.get(parent) {
                Some(id) => Some(*id),
                None => {
                    self.report.note("回复的评论未导入，作为评论导入");
                    None
                }
            },
            None => None,
        };
        self.report.count("comment").imported += 1;
        if self.options.dry_run {
            self.comments
                .insert(comment.external_id.clone(), Uuid::nil());
            return Ok(());
        }
        let name = match cut(comment.author_name.trim(), 40) {
            name if name.is_empty() => crate::comments::ANONYMOUS_NAME.to_owned(),
            name => name,
        };
        let parent = match parent {
            Some(parent) => {
                sqlx::query_scalar("select coalesce(parent_id, id) from comments where id = $1")
                    .bind(parent)
                    .fetch_optional(&mut *conn)
                    .await?
            }
            None => None::<Uuid>,
        };
        let body_hash = crate::comments::body_hash(&body);
        let id: Uuid = sqlx::query_scalar(
            "insert into comments (article_id, parent_id, author_name, anonymous, body, status,
                                   client_hash, body_hash, created_at, moderated_at, moderated_by)
             values ($1, $2, $3, false, $4, $5, $6, $7, $8,
                     case when $5 <> 'pending' then $8 end, case when $5 <> 'pending' then $9::uuid end)
             returning id",
        )
        .bind(story)
        .bind(parent)
        .bind(&name)
        .bind(&body)
        .bind(comment.status)
        .bind(&b"imported"[..])
        .bind(body_hash)
        .bind(comment.created_at)
        .bind(self.writer.0)
        .fetch_one(&mut *conn)
        .await?;
        Self::map(conn, &source, "comment", &comment.external_id, id).await?;
        self.comments.insert(comment.external_id.clone(), id);
        Ok(())
    }

    /// Ends the import: writes what is queued, then builds what the
    /// stories' pages and the statistics read, and returns the report.
    pub async fn finish(mut self) -> anyhow::Result<Report> {
        self.flush().await?;
        if !self.options.dry_run {
            let zone = crate::settings::db::load(&mut *self.pool.acquire().await?)
                .await?
                .time_zone;
            let mut conn = self.pool.acquire().await?;
            crate::stats::days::refresh_all(&mut conn, zone.name()).await?;
        }
        Ok(self.report)
    }

    /// Stories written or found so far.
    pub fn stories_done(&self) -> usize {
        self.stories.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_not_exported_leave_with_their_figures() {
        assert_eq!(
            without_image(
                r#"<p>前</p><figure><img src="https://x/a.jpg" /><figcaption>说明</figcaption></figure><p>中<img src="https://x/a.jpg">后</p>"#,
                "https://x/a.jpg"
            ),
            "<p>前</p><p>中后</p>"
        );
    }
}
