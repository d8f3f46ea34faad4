//! Reading a WordPress eXtended RSS export (WXR 1.2, as Tools → Export
//! writes it), streamed: an export of hundreds of megabytes is read an
//! element at a time, each post handed to the sink as soon as it ends.
//!
//! Categories become channels (their tree kept), posts stories (publish →
//! published at its GMT time; draft, pending, future and private → drafts),
//! `[caption]` shortcodes photos with captions, paragraphs written as blank
//! lines paragraphs, images found under `--uploads` photos of the media
//! library, comments comments (approved, pending, spam, trash) with their
//! threads, and permalinks, `?p=` links and category pages redirects.

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use quick_xml::events::Event;

use super::{Channel, Comment, Sink, Story};

/// What is being read inside an `<item>`.
#[derive(Default)]
struct Item {
    title: String,
    link: String,
    creator: String,
    guid: String,
    content: String,
    excerpt: String,
    post_id: String,
    post_date: String,
    post_date_gmt: String,
    status: String,
    post_type: String,
    category: Option<String>,
    tags: Vec<String>,
    views: i64,
    meta_key: String,
    comments: Vec<Comment>,
    comment: RawComment,
}

#[derive(Default)]
struct RawComment {
    id: String,
    author: String,
    date: String,
    date_gmt: String,
    content: String,
    approved: String,
    kind: String,
    parent: String,
}

#[derive(Default)]
struct RawCategory {
    term_id: String,
    nicename: String,
    parent: String,
    name: String,
}

/// The site-wide facts read before the posts.
#[derive(Default)]
struct Site {
    base: String,
    authors: HashMap<String, String>,
    author_login: String,
    author_name: String,
    categories: Vec<RawCategory>,
    category: RawCategory,
    categories_written: bool,
    /// Category nicenames by term id… and term ids by nicename.
    by_nicename: HashMap<String, String>,
}

/// A time as WXR writes it (`2024-01-31 08:00:00`), in UTC.
fn gmt(text: &str) -> Option<DateTime<Utc>> {
    let parsed = NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S").ok()?;
    (parsed.and_utc().timestamp() > 0).then(|| parsed.and_utc())
}

/// A local time of the old site, read in `zone`.
fn local(text: &str, zone: chrono_tz::Tz) -> Option<DateTime<Utc>> {
    let parsed = NaiveDateTime::parse_from_str(text.trim(), "%Y-%m-%d %H:%M:%S").ok()?;
    zone.from_local_datetime(&parsed)
        .earliest()
        .map(|at| at.with_timezone(&Utc))
}

/// A name as WordPress stores terms (`党建 &amp; 工会`), as text.
fn decode_entities(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#039;", "'")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// `[caption …]<img …> text[/caption]` → a figure with its caption.
pub fn captions(content: &str) -> String {
    let mut out = String::with_capacity(content.len());
    let mut rest = content;
    while let Some(start) = rest.find("[caption") {
        let Some(open_end) = rest[start..].find(']') else {
            break;
        };
        let inner_start = start + open_end + 1;
        let Some(close) = rest[inner_start..].find("[/caption]") else {
            break;
        };
        out.push_str(&rest[..start]);
        let inner = rest[inner_start..inner_start + close].trim();
        // The photo (an <img>, perhaps in a link), then the caption text.
        let split = match (inner.rfind("</a>"), inner.find("<img")) {
            (Some(link_end), _) => Some(link_end + 4),
            (None, Some(img)) => inner[img..].find('>').map(|end| img + end + 1),
            (None, None) => None,
        };
        match split {
            Some(at) => {
                let (photo, caption) = inner.split_at(at);
                out.push_str("<figure>");
                out.push_str(photo.trim());
                let caption = caption.trim();
                if !caption.is_empty() {
                    out.push_str("<figcaption>");
                    out.push_str(caption);
                    out.push_str("</figcaption>");
                }
                out.push_str("</figure>");
            }
            None => out.push_str(inner),
        }
        rest = &rest[inner_start + close + "[/caption]".len()..];
    }
    out.push_str(rest);
    out
}

/// Paragraphs as WordPress writes them before showing (`wpautop`): text
/// between blank lines is a paragraph, a single line break a `<br>`;
/// blocks already in markup stay as they are.
pub fn paragraphs(content: &str) -> String {
    const BLOCKS: [&str; 14] = [
        "<p",
        "<figure",
        "<h1",
        "<h2",
        "<h3",
        "<h4",
        "<h5",
        "<h6",
        "<ul",
        "<ol",
        "<blockquote",
        "<div",
        "<table",
        "<!--",
    ];
    let content = content.replace("\r\n", "\n");
    let mut out = String::with_capacity(content.len() + 64);
    for chunk in content.split("\n\n") {
        let chunk = chunk.trim();
        if chunk.is_empty() {
            continue;
        }
        if BLOCKS.iter().any(|block| chunk.starts_with(block)) {
            out.push_str(chunk);
        } else {
            out.push_str("<p>");
            out.push_str(&chunk.replace('\n', "<br>"));
            out.push_str("</p>");
        }
    }
    out
}

/// The file under the uploads folder an address points to: the path after
/// `wp-content/uploads/`, or the full size when the body shows a resized
/// copy (`photo-300x200.jpg`) that was not exported.
fn upload_file(uploads: &Path, address: &str) -> Option<PathBuf> {
    let relative = address.split("/wp-content/uploads/").nth(1)?;
    let relative = relative.split(['?', '#']).next()?;
    let relative = percent_encoding::percent_decode_str(relative).decode_utf8_lossy();
    if relative
        .split('/')
        .any(|part| part == ".." || part.is_empty())
    {
        return None;
    }
    let exact = uploads.join(relative.as_ref());
    if exact.is_file() {
        return Some(exact);
    }
    let (stem, ext) = relative.rsplit_once('.')?;
    let (base, size) = stem.rsplit_once('-')?;
    let resized = size
        .split_once('x')
        .is_some_and(|(w, h)| w.parse::<u32>().is_ok() && h.parse::<u32>().is_ok());
    let full = uploads.join(format!("{base}.{ext}"));
    (resized && full.is_file()).then_some(full)
}

/// What the reader needs besides the file.
pub struct Read<'a> {
    pub uploads: Option<&'a Path>,
    /// Make a correspondent's account for each author of the export.
    pub staff_accounts: bool,
    /// The old site's time zone, for posts without a GMT time.
    pub zone: chrono_tz::Tz,
}

/// Reads the export from `input` into `sink`; `progress` is told the
/// bytes read and the stories done as it goes.
pub async fn import(
    input: impl BufRead,
    sink: &mut Sink,
    read: &Read<'_>,
    mut progress: impl FnMut(u64, usize),
) -> anyhow::Result<()> {
    let mut reader = quick_xml::Reader::from_reader(input);
    let mut buf = Vec::new();
    let mut path: Vec<String> = Vec::new();
    let mut text = String::new();
    let mut site = Site::default();
    let mut item: Option<Item> = None;
    let mut attributes: HashMap<String, String> = HashMap::new();
    loop {
        let event = match reader.read_event_into(&mut buf) {
            Ok(event) => event,
            Err(error) => {
                // What was read in full is kept: a second run takes up here.
                sink.flush().await?;
                anyhow::bail!(
                    "导出文件在第 {} 字节处无法解析：{error}",
                    reader.buffer_position()
                );
            }
        };
        match event {
            Event::Start(start) => {
                let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                text.clear();
                if name == "category" {
                    attributes.clear();
                    for attribute in start.attributes().flatten() {
                        attributes.insert(
                            String::from_utf8_lossy(attribute.key.as_ref()).into_owned(),
                            attribute
                                .unescape_value()
                                .map(|value| value.into_owned())
                                .unwrap_or_default(),
                        );
                    }
                }
                if name == "item" {
                    if !site.categories_written {
                        write_categories(&mut site, sink).await?;
                        if read.staff_accounts {
                            let mut authors: Vec<_> = site.authors.iter().collect();
                            authors.sort();
                            for (login, name) in authors {
                                sink.staff_account(login, name).await?;
                            }
                        }
                    }
                    item = Some(Item::default());
                }
                path.push(name);
            }
            Event::Empty(_) => {}
            Event::Text(chunk) => text.push_str(&chunk.xml10_content()?),
            Event::CData(chunk) => text.push_str(&chunk.xml10_content()?),
            Event::GeneralRef(reference) => {
                if reference.is_char_ref() {
                    if let Some(c) = reference.resolve_char_ref()? {
                        text.push(c);
                    }
                } else {
                    let name = reference.decode()?;
                    match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(resolved) => text.push_str(resolved),
                        None => {
                            text.push('&');
                            text.push_str(&name);
                            text.push(';');
                        }
                    }
                }
            }
            Event::End(_) => {
                let name = path.pop().unwrap_or_default();
                let parent = path.last().map(String::as_str).unwrap_or("");
                let value = std::mem::take(&mut text);
                match (&mut item, parent, name.as_str()) {
                    (Some(_), _, "item") => {
                        let done = item.take().expect("inside an item");
                        write_item(done, &site, sink, read).await?;
                        progress(reader.buffer_position(), sink.stories_done());
                    }
                    (Some(item), "wp:comment", field) => {
                        let comment = &mut item.comment;
                        match field {
                            "wp:comment_id" => comment.id = value,
                            "wp:comment_author" => comment.author = value,
                            "wp:comment_date" => comment.date = value,
                            "wp:comment_date_gmt" => comment.date_gmt = value,
                            "wp:comment_content" => comment.content = value,
                            "wp:comment_approved" => comment.approved = value,
                            "wp:comment_type" => comment.kind = value,
                            "wp:comment_parent" => comment.parent = value,
                            _ => {}
                        }
                    }
                    (Some(item), "item", "wp:comment") => {
                        let raw = std::mem::take(&mut item.comment);
                        if let Some(comment) = comment_of(raw, &item.post_id, read.zone) {
                            item.comments.push(comment);
                        }
                    }
                    (Some(item), "wp:postmeta", field) => match field {
                        "wp:meta_key" => item.meta_key = value,
                        "wp:meta_value" => {
                            if matches!(
                                item.meta_key.as_str(),
                                "views" | "post_views_count" | "_views"
                            ) {
                                item.views = value.trim().parse().unwrap_or(0);
                            }
                        }
                        _ => {}
                    },
                    (Some(item), "item", field) => match field {
                        "title" => item.title = value,
                        "link" => item.link = value,
                        "dc:creator" => item.creator = value,
                        "guid" => item.guid = value,
                        "content:encoded" => item.content = value,
                        "excerpt:encoded" => item.excerpt = value,
                        "wp:post_id" => item.post_id = value.trim().to_owned(),
                        "wp:post_date" => item.post_date = value,
                        "wp:post_date_gmt" => item.post_date_gmt = value,
                        "wp:status" => item.status = value.trim().to_owned(),
                        "wp:post_type" => item.post_type = value.trim().to_owned(),
                        "category" => {
                            let domain = attributes.get("domain").map(String::as_str);
                            let nicename = attributes.get("nicename").cloned().unwrap_or_default();
                            match domain {
                                Some("category") if item.category.is_none() => {
                                    item.category = site.by_nicename.get(&nicename).cloned();
                                }
                                Some("post_tag") => item.tags.push(value.trim().to_owned()),
                                _ => {}
                            }
                        }
                        _ => {}
                    },
                    (None, "wp:author", field) => match field {
                        "wp:author_login" => site.author_login = value,
                        "wp:author_display_name" => site.author_name = value,
                        _ => {}
                    },
                    (None, "channel", "wp:author") => {
                        let login = std::mem::take(&mut site.author_login);
                        let name = std::mem::take(&mut site.author_name);
                        site.authors.insert(login, name);
                    }
                    (None, "wp:category", field) => {
                        let category = &mut site.category;
                        match field {
                            "wp:term_id" => category.term_id = value.trim().to_owned(),
                            "wp:category_nicename" => category.nicename = value.trim().to_owned(),
                            "wp:category_parent" => category.parent = value.trim().to_owned(),
                            "wp:cat_name" => category.name = decode_entities(&value),
                            _ => {}
                        }
                    }
                    (None, "channel", "wp:category") => {
                        let category = std::mem::take(&mut site.category);
                        site.by_nicename
                            .insert(category.nicename.clone(), category.term_id.clone());
                        site.categories.push(category);
                    }
                    (None, "channel", "wp:base_blog_url") => {
                        site.base = value.trim().trim_end_matches('/').to_owned()
                    }
                    (None, "channel", "link") if site.base.is_empty() => {
                        site.base = value.trim().trim_end_matches('/').to_owned()
                    }
                    _ => {}
                }
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if !site.categories_written {
        write_categories(&mut site, sink).await?;
    }
    if !path.is_empty() {
        sink.flush().await?;
        anyhow::bail!("导出文件不完整：在 <{}> 中结束", path.join("> <"));
    }
    Ok(())
}

/// The categories as channels, each parent before its children.
async fn write_categories(site: &mut Site, sink: &mut Sink) -> anyhow::Result<()> {
    site.categories_written = true;
    let channels = site
        .categories
        .iter()
        .map(|category| Channel {
            external_id: category.term_id.clone(),
            name: category.name.clone(),
            slug: category.nicename.clone(),
            parent: site.by_nicename.get(&category.parent).cloned(),
            old_urls: vec![
                format!("{}/category/{}/", site.base, category.nicename),
                format!("{}/?cat={}", site.base, category.term_id),
            ],
        })
        .collect();
    super::write_channels(sink, channels).await
}

fn comment_of(raw: RawComment, post_id: &str, zone: chrono_tz::Tz) -> Option<Comment> {
    if matches!(raw.kind.trim(), "pingback" | "trackback") {
        return None;
    }
    let status = match raw.approved.trim() {
        "1" => "approved",
        "spam" => "spam",
        "trash" => "deleted",
        _ => "pending",
    };
    let created_at = gmt(&raw.date_gmt)
        .or_else(|| local(&raw.date, zone))
        .unwrap_or_else(Utc::now);
    let parent = raw.parent.trim();
    Some(Comment {
        external_id: format!("wp-comment-{}", raw.id.trim()),
        story: format!("wp-post-{post_id}"),
        parent: (!parent.is_empty() && parent != "0").then(|| format!("wp-comment-{parent}")),
        author_name: raw.author,
        body: raw.content,
        created_at,
        status,
    })
}

async fn write_item(
    item: Item,
    site: &Site,
    sink: &mut Sink,
    read: &Read<'_>,
) -> anyhow::Result<()> {
    if item.post_type != "post" {
        // Attachments are read through the bodies that show them; menus,
        // revisions and styles are the old theme's.
        let theirs = matches!(
            item.post_type.as_str(),
            "attachment" | "nav_menu_item" | "revision" | "custom_css" | "wp_global_styles"
        );
        if !theirs {
            sink.report.count("story").skipped += 1;
            sink.report
                .note(format!("{} 类型的内容（页面等）不导入", item.post_type));
        }
        return Ok(());
    }
    let published_at = match item.status.as_str() {
        "publish" => gmt(&item.post_date_gmt).or_else(|| local(&item.post_date, read.zone)),
        "trash" | "auto-draft" => {
            sink.report.count("story").skipped += 1;
            sink.report
                .note(format!("{} 状态的文章不导入", item.status));
            return Ok(());
        }
        "future" | "private" => {
            sink.report
                .note(format!("{} 状态的文章作为草稿导入", item.status));
            None
        }
        _ => None,
    };
    let created_at = gmt(&item.post_date_gmt).or_else(|| local(&item.post_date, read.zone));
    let mut body = paragraphs(&captions(&item.content));
    for shortcode in ["gallery", "embed", "audio", "video", "playlist"] {
        if body.contains(&format!("[{shortcode}")) {
            sink.report
                .note(format!("正文中的 [{shortcode}] 短代码未转换，已去掉"));
            body = strip_shortcode(&body, shortcode);
        }
    }
    let photos = super::local_photos(
        &mut body,
        |address| {
            read.uploads
                .and_then(|uploads| upload_file(uploads, address))
        },
        "正文中的图片未在 --uploads 中找到，已去掉",
        &mut sink.report,
    );
    let mut old_urls = vec![format!("{}/?p={}", site.base, item.post_id)];
    if !item.link.trim().is_empty() {
        old_urls.push(item.link.trim().to_owned());
    }
    if item.guid.trim().starts_with("http") && item.guid.trim() != item.link.trim() {
        old_urls.push(item.guid.trim().to_owned());
    }
    let byline = site
        .authors
        .get(item.creator.trim())
        .cloned()
        .unwrap_or_else(|| item.creator.trim().to_owned());
    let external_id = format!("wp-post-{}", item.post_id);
    let writer = Some(item.creator.trim().to_owned()).filter(|login| !login.is_empty());
    sink.story(Story {
        writer,
        external_id,
        title: item.title,
        summary: item.excerpt,
        body_html: body,
        channel: item.category,
        byline,
        source: String::new(),
        tags: item.tags,
        published_at,
        created_at,
        views: item.views,
        old_urls,
        photos,
    })
    .await?;
    if !item.comments.is_empty() {
        let mut comments = item.comments;
        // Parents first: WordPress numbers comments as they come.
        comments.sort_by_key(|comment| {
            comment
                .external_id
                .trim_start_matches("wp-comment-")
                .parse::<u64>()
                .unwrap_or(u64::MAX)
        });
        for comment in comments {
            sink.comment(comment).await?;
        }
    }
    Ok(())
}

/// Removes `[name …]…[/name]` and lone `[name …]` from a body.
fn strip_shortcode(body: &str, name: &str) -> String {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    let open = format!("[{name}");
    let close = format!("[/{name}]");
    while let Some(start) = rest.find(&open) {
        out.push_str(&rest[..start]);
        let after = &rest[start..];
        let Some(end) = after.find(']') else {
            rest = "";
            break;
        };
        rest = &after[end + 1..];
        if let Some(closing) = rest.find(&close) {
            rest = &rest[closing + close.len()..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captions_become_figures() {
        assert_eq!(
            captions(
                r#"前文[caption id="attachment_9" align="aligncenter" width="300"]<img src="https://old.example.com/wp-content/uploads/2024/01/a.jpg" alt="" /> 巡检 &amp; 检修[/caption]后文"#
            ),
            r#"前文<figure><img src="https://old.example.com/wp-content/uploads/2024/01/a.jpg" alt="" /><figcaption>巡检 &amp; 检修</figcaption></figure>后文"#
        );
        assert_eq!(
            captions(r#"[caption]<a href="/x"><img src="b.jpg"></a>说明[/caption]"#),
            r#"<figure><a href="/x"><img src="b.jpg"></a><figcaption>说明</figcaption></figure>"#
        );
        assert_eq!(captions("没有图片[caption"), "没有图片[caption");
    }

    #[test]
    fn blank_lines_make_paragraphs() {
        assert_eq!(
            paragraphs("第一段\n第二行\n\n第二段\r\n\r\n<h2>小标题</h2>\n\n<figure>x</figure>"),
            "<p>第一段<br>第二行</p><p>第二段</p><h2>小标题</h2><figure>x</figure>"
        );
    }

    #[test]
    fn shortcodes_without_a_form_here_are_taken_out() {
        assert_eq!(
            strip_shortcode(
                r#"前[gallery ids="1,2"]中[embed]https://v.example/1[/embed]后"#,
                "gallery"
            ),
            r#"前中[embed]https://v.example/1[/embed]后"#
        );
        assert_eq!(
            strip_shortcode(r#"前[embed]https://v.example/1[/embed]后"#, "embed"),
            "前后"
        );
    }

    #[test]
    fn resized_copies_lead_to_the_full_photo() {
        let dir = std::env::temp_dir().join(format!("wp-uploads-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("2024/01")).unwrap();
        std::fs::write(dir.join("2024/01/a.jpg"), b"x").unwrap();
        let found = |address: &str| upload_file(&dir, address);
        assert_eq!(
            found("https://old.example.com/wp-content/uploads/2024/01/a.jpg"),
            Some(dir.join("2024/01/a.jpg"))
        );
        assert_eq!(
            found("https://old.example.com/wp-content/uploads/2024/01/a-300x200.jpg?v=2"),
            Some(dir.join("2024/01/a.jpg"))
        );
        assert_eq!(
            found("https://old.example.com/wp-content/uploads/2024/01/b.jpg"),
            None
        );
        assert_eq!(
            found("https://old.example.com/wp-content/uploads/../../etc/passwd"),
            None
        );
        assert_eq!(found("https://cdn.example.com/x.jpg"), None);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
