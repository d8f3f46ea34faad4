//! Reading the MySQL/MariaDB database of a DedeCMS (织梦) or PHPCMS v9
//! site directly, the way most Chinese newsroom sites of the last fifteen
//! years stored their news.
//!
//! DedeCMS: `arctype` → channels, `archives` with `addonarticle` → stories
//! (`writer`, `source`, `click`; `arcrank` 0 published, -1 pending →
//! draft, -2 in the recycle bin → left out, above 0 members only → draft),
//! `keywords` → tags, `feedback` → comments (`ischeck`). PHPCMS v9:
//! `category` → channels, `news` with `news_data` → stories (`status` 99
//! published, else draft; `copyfrom` → 来源), `hits` → readings,
//! `comment` with its `comment_data_N` tables → comments. Every table is
//! read with the site's prefix (`dede_`, `phpcms_`, `v9_`). The old pages'
//! addresses (`/a/…/123.html`, `/plus/view.php?aid=…`,
//! `index.php?m=content&c=index&a=show&catid=…&id=…`, list pages) lead
//! to the new ones.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use sqlx::{MySqlPool, Row};

use super::{Channel, Comment, Sink, Story, write_channels};

/// Stories read from the old database at a time.
const PAGE: i64 = 500;

/// Where the old site was.
pub struct Legacy<'a> {
    /// The tables' prefix (`dede_`, `v9_`).
    pub prefix: &'a str,
    /// The old site's web root (holding `uploads/`): photos the stories
    /// show are taken into the media library.
    pub site_root: Option<&'a Path>,
    /// The old site's time zone (the databases keep Unix times; only the
    /// day in the old addresses needs it).
    pub zone: chrono_tz::Tz,
}

impl Legacy<'_> {
    fn table(&self, name: &str) -> String {
        format!("`{}{}`", self.prefix.replace('`', ""), name)
    }
}

/// A prefix is letters, digits and `_` only.
pub fn valid_prefix(prefix: &str) -> bool {
    prefix.len() <= 32
        && prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn unix(seconds: i64) -> Option<DateTime<Utc>> {
    (seconds > 0)
        .then(|| Utc.timestamp_opt(seconds, 0).single())
        .flatten()
}

/// The file under the old web root an image address points to.
fn root_file(root: &Path, address: &str) -> Option<PathBuf> {
    let path = match url::Url::parse(address) {
        Ok(url) => url.path().to_owned(),
        Err(_) if address.starts_with('/') => address.split(['?', '#']).next()?.to_owned(),
        Err(_) => return None,
    };
    let path = percent_encoding::percent_decode_str(&path).decode_utf8_lossy();
    let relative = path.trim_start_matches('/');
    if relative.is_empty()
        || relative
            .split('/')
            .any(|part| part == ".." || part.is_empty())
    {
        return None;
    }
    let file = root.join(relative);
    file.is_file().then_some(file)
}

/// The photos of a body found under the old root; the others are taken out.
fn photos_of(body: &mut String, legacy: &Legacy<'_>, sink: &mut Sink) -> Vec<(String, PathBuf)> {
    super::local_photos(
        body,
        |address| legacy.site_root.and_then(|root| root_file(root, address)),
        "正文中的图片未在 --site-root 中找到，已去掉",
        &mut sink.report,
    )
}

fn tags_of(keywords: &str) -> Vec<String> {
    keywords
        .split([',', '，', ' ', '、'])
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The last folder of a DedeCMS `typedir` (`{cmspath}/a/dangjian`).
fn dir_slug(typedir: &str) -> String {
    typedir
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_lowercase()
}

/// A DedeCMS address rule (`{typedir}/{Y}/{M}{D}/{aid}.html`) for a story.
fn dede_address(
    namerule: &str,
    typedir: &str,
    aid: i64,
    at: DateTime<Utc>,
    zone: chrono_tz::Tz,
) -> Option<String> {
    if namerule.trim().is_empty() || namerule.contains("{pinyin}") {
        return None;
    }
    let local = at.with_timezone(&zone);
    let typedir = typedir.replace("{cmspath}", "");
    let typedir = match url::Url::parse(&typedir) {
        Ok(url) => url.path().trim_end_matches('/').to_owned(),
        Err(_) => typedir.trim_end_matches('/').to_owned(),
    };
    let address = namerule
        .replace("{typedir}", &typedir)
        .replace("{cmspath}", "")
        .replace("{Y}", &local.format("%Y").to_string())
        .replace("{M}", &local.format("%m").to_string())
        .replace("{D}", &local.format("%d").to_string())
        .replace("{timestamp}", &at.timestamp().to_string())
        .replace("{aid}", &aid.to_string());
    (!address.contains('{')).then(|| {
        if address.starts_with('/') {
            address
        } else {
            format!("/{address}")
        }
    })
}

/// Imports a DedeCMS site's channels, articles and comments.
pub async fn dedecms(
    mysql: &MySqlPool,
    sink: &mut Sink,
    legacy: &Legacy<'_>,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<()> {
    let types = sqlx::query(&format!(
        "select cast(id as signed) as id, cast(reid as signed) as reid,
                cast(typename as char) as typename, cast(typedir as char) as typedir,
                cast(namerule as char) as namerule, cast(ispart as signed) as ispart
         from {} order by reid, sortrank, id",
        legacy.table("arctype")
    ))
    .fetch_all(mysql)
    .await?;
    let mut channels = Vec::new();
    let mut rules = std::collections::HashMap::new();
    for row in &types {
        let id: i64 = row.try_get("id")?;
        let reid: i64 = row.try_get("reid")?;
        let typedir: String = row.try_get("typedir")?;
        let path = typedir.replace("{cmspath}", "");
        rules.insert(id, (row.try_get::<String, _>("namerule")?, typedir.clone()));
        channels.push(Channel {
            external_id: format!("dede-type-{id}"),
            name: row.try_get("typename")?,
            slug: dir_slug(&typedir),
            parent: (reid > 0).then(|| format!("dede-type-{reid}")),
            old_urls: vec![
                format!("{}/", path.trim_end_matches('/')),
                format!("/plus/list.php?tid={id}"),
            ],
        });
    }
    write_channels(sink, channels).await?;
    let total: i64 = sqlx::query_scalar(&format!(
        "select count(*) from {} where channel = 1",
        legacy.table("archives")
    ))
    .fetch_one(mysql)
    .await?;
    let mut after = -1i64;
    let mut read = 0u64;
    loop {
        let rows = sqlx::query(&format!(
            "select cast(a.id as signed) as id, cast(a.typeid as signed) as typeid,
                    cast(a.title as char) as title, cast(a.writer as char) as writer,
                    cast(a.source as char) as source, cast(a.click as signed) as click,
                    cast(a.arcrank as signed) as arcrank, cast(a.pubdate as signed) as pubdate,
                    cast(a.senddate as signed) as senddate,
                    cast(a.description as char) as description,
                    cast(a.keywords as char) as keywords,
                    cast(coalesce(x.body, '') as char) as body
             from {} a left join {} x on x.aid = a.id
             where a.channel = 1 and a.id > ? order by a.id limit ?",
            legacy.table("archives"),
            legacy.table("addonarticle")
        ))
        .bind(after)
        .bind(PAGE)
        .fetch_all(mysql)
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let id: i64 = row.try_get("id")?;
            after = id;
            read += 1;
            let typeid: i64 = row.try_get("typeid")?;
            let arcrank: i64 = row.try_get("arcrank")?;
            let pubdate = unix(row.try_get("pubdate")?);
            let senddate = unix(row.try_get("senddate")?);
            let published_at = match arcrank {
                0 => pubdate.or(senddate).or_else(|| Some(Utc::now())),
                -2 => {
                    sink.report.count("story").skipped += 1;
                    sink.report.note("回收站中的文档（arcrank = -2）不导入");
                    continue;
                }
                -1 => None,
                _ => {
                    sink.report
                        .note("仅会员可见的文档（arcrank > 0）作为草稿导入，以免公开");
                    None
                }
            };
            let mut old_urls = vec![format!("/plus/view.php?aid={id}")];
            if let (Some((rule, typedir)), true) = (rules.get(&typeid), published_at.is_some()) {
                for at in [pubdate, senddate].into_iter().flatten() {
                    if let Some(address) = dede_address(rule, typedir, id, at, legacy.zone)
                        && !old_urls.contains(&address)
                    {
                        old_urls.push(address);
                    }
                }
            }
            let mut body: String = row.try_get("body")?;
            let photos = photos_of(&mut body, legacy, sink);
            sink.story(Story {
                external_id: format!("dede-arc-{id}"),
                title: row.try_get("title")?,
                summary: row.try_get("description")?,
                body_html: body,
                channel: Some(format!("dede-type-{typeid}")),
                byline: row.try_get("writer")?,
                source: row.try_get("source")?,
                tags: tags_of(&row.try_get::<String, _>("keywords")?),
                published_at,
                created_at: senddate.or(pubdate),
                views: row.try_get("click")?,
                old_urls,
                photos,
                writer: None,
            })
            .await?;
            progress(read, total as u64);
        }
    }
    sink.flush().await?;
    let mut after = -1i64;
    loop {
        let rows = sqlx::query(&format!(
            "select cast(id as signed) as id, cast(aid as signed) as aid,
                    cast(username as char) as username, cast(coalesce(msg, '') as char) as msg,
                    cast(ischeck as signed) as ischeck, cast(dtime as signed) as dtime
             from {} where id > ? order by id limit ?",
            legacy.table("feedback")
        ))
        .bind(after)
        .bind(PAGE)
        .fetch_all(mysql)
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let id: i64 = row.try_get("id")?;
            after = id;
            let aid: i64 = row.try_get("aid")?;
            sink.comment(Comment {
                external_id: format!("dede-feedback-{id}"),
                story: format!("dede-arc-{aid}"),
                parent: None,
                author_name: row.try_get("username")?,
                body: strip_tags(&row.try_get::<String, _>("msg")?),
                created_at: unix(row.try_get("dtime")?).unwrap_or_else(Utc::now),
                status: if row.try_get::<i64, _>("ischeck")? == 1 {
                    "approved"
                } else {
                    "pending"
                },
            })
            .await?;
        }
    }
    Ok(())
}

/// A comment's text without the markup old sites kept in it.
fn strip_tags(html: &str) -> String {
    crate::articles::SanitizedHtml::clean(html).plain_text()
}

/// Imports a PHPCMS v9 site's categories, news and comments.
pub async fn phpcms(
    mysql: &MySqlPool,
    sink: &mut Sink,
    legacy: &Legacy<'_>,
    mut progress: impl FnMut(u64, u64),
) -> anyhow::Result<()> {
    let categories = sqlx::query(&format!(
        "select cast(catid as signed) as catid, cast(parentid as signed) as parentid,
                cast(catname as char) as catname, cast(catdir as char) as catdir,
                cast(url as char) as url
         from {} where module = 'content' and type = 0 order by parentid, listorder, catid",
        legacy.table("category")
    ))
    .fetch_all(mysql)
    .await?;
    let mut channels = Vec::new();
    for row in &categories {
        let catid: i64 = row.try_get("catid")?;
        let parentid: i64 = row.try_get("parentid")?;
        let url: String = row.try_get("url")?;
        let mut old_urls = vec![format!(
            "/index.php?m=content&c=index&a=lists&catid={catid}"
        )];
        if !url.trim().is_empty() {
            old_urls.push(url.trim().to_owned());
        }
        channels.push(Channel {
            external_id: format!("phpcms-cat-{catid}"),
            name: row.try_get("catname")?,
            slug: row.try_get::<String, _>("catdir")?.to_lowercase(),
            parent: (parentid > 0).then(|| format!("phpcms-cat-{parentid}")),
            old_urls,
        });
    }
    write_channels(sink, channels).await?;
    let total: i64 = sqlx::query_scalar(&format!("select count(*) from {}", legacy.table("news")))
        .fetch_one(mysql)
        .await?;
    let mut after = -1i64;
    let mut read = 0u64;
    loop {
        let rows = sqlx::query(&format!(
            "select cast(n.id as signed) as id, cast(n.catid as signed) as catid,
                    cast(n.title as char) as title, cast(n.description as char) as description,
                    cast(n.keywords as char) as keywords, cast(n.url as char) as url,
                    cast(n.status as signed) as status, cast(n.inputtime as signed) as inputtime,
                    cast(coalesce(d.content, '') as char) as content,
                    cast(coalesce(d.copyfrom, '') as char) as copyfrom,
                    cast(coalesce(h.views, 0) as signed) as views
             from {news} n
             left join {data} d on d.id = n.id
             left join {category} c on c.catid = n.catid
             left join {hits} h on h.hitsid = concat('c-', coalesce(c.modelid, 1), '-', n.id)
             where n.id > ? order by n.id limit ?",
            news = legacy.table("news"),
            data = legacy.table("news_data"),
            category = legacy.table("category"),
            hits = legacy.table("hits"),
        ))
        .bind(after)
        .bind(PAGE)
        .fetch_all(mysql)
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let id: i64 = row.try_get("id")?;
            after = id;
            read += 1;
            let catid: i64 = row.try_get("catid")?;
            let status: i64 = row.try_get("status")?;
            let input = unix(row.try_get("inputtime")?);
            let published_at = (status == 99).then(|| input.unwrap_or_else(Utc::now));
            let mut old_urls = vec![format!(
                "/index.php?m=content&c=index&a=show&catid={catid}&id={id}"
            )];
            let url: String = row.try_get("url")?;
            if !url.trim().is_empty() && !old_urls.contains(&url) {
                old_urls.push(url.trim().to_owned());
            }
            let copyfrom: String = row.try_get("copyfrom")?;
            let mut body: String = row.try_get("content")?;
            let photos = photos_of(&mut body, legacy, sink);
            sink.story(Story {
                external_id: format!("phpcms-news-{id}"),
                title: row.try_get("title")?,
                summary: row.try_get("description")?,
                body_html: body,
                channel: Some(format!("phpcms-cat-{catid}")),
                byline: String::new(),
                source: copyfrom.split('|').next().unwrap_or_default().to_owned(),
                tags: tags_of(&row.try_get::<String, _>("keywords")?),
                published_at,
                created_at: input,
                views: row.try_get("views")?,
                old_urls,
                photos,
                writer: None,
            })
            .await?;
            progress(read, total as u64);
        }
    }
    sink.flush().await?;
    // Comments: each story's thread names the data table its comments are in.
    let tables: Vec<i64> = sqlx::query_scalar(&format!(
        "select distinct cast(tableid as signed) from {}",
        legacy.table("comment")
    ))
    .fetch_all(mysql)
    .await?;
    for table in tables {
        let mut after = -1i64;
        loop {
            let rows = sqlx::query(&format!(
                "select cast(id as signed) as id, cast(commentid as char) as commentid,
                        cast(coalesce(username, '') as char) as username,
                        cast(coalesce(creat_at, 0) as signed) as creat_at,
                        cast(coalesce(status, 0) as signed) as status,
                        cast(coalesce(content, '') as char) as content
                 from {} where id > ? order by id limit ?",
                legacy.table(&format!("comment_data_{table}"))
            ))
            .bind(after)
            .bind(PAGE)
            .fetch_all(mysql)
            .await?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                let id: i64 = row.try_get("id")?;
                after = id;
                // content_{catid}-{id}-{siteid}
                let commentid: String = row.try_get("commentid")?;
                let story = commentid
                    .strip_prefix("content_")
                    .and_then(|rest| rest.split('-').nth(1))
                    .map(str::to_owned)
                    .unwrap_or_default();
                sink.comment(Comment {
                    external_id: format!("phpcms-comment-{table}-{id}"),
                    story: format!("phpcms-news-{story}"),
                    parent: None,
                    author_name: row.try_get("username")?,
                    body: strip_tags(&row.try_get::<String, _>("content")?),
                    created_at: unix(row.try_get("creat_at")?).unwrap_or_else(Utc::now),
                    status: match row.try_get::<i64, _>("status")? {
                        1 => "approved",
                        -1 => "rejected",
                        _ => "pending",
                    },
                })
                .await?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dede_rules_give_the_old_addresses() {
        let at = Utc.with_ymd_and_hms(2024, 1, 31, 18, 30, 0).unwrap();
        let zone = chrono_tz::Asia::Shanghai;
        assert_eq!(
            dede_address(
                "{typedir}/{Y}/{M}{D}/{aid}.html",
                "{cmspath}/a/dangjian",
                12,
                at,
                zone
            )
            .as_deref(),
            Some("/a/dangjian/2024/0201/12.html"),
            "the day in the old site's zone"
        );
        assert_eq!(
            dede_address(
                "{typedir}/{aid}.html",
                "http://www.example.com/news",
                7,
                at,
                zone
            )
            .as_deref(),
            Some("/news/7.html")
        );
        assert_eq!(
            dede_address("{typedir}/{pinyin}.html", "/a", 7, at, zone),
            None
        );
        assert_eq!(dir_slug("{cmspath}/a/DangJian/"), "dangjian");
        assert!(valid_prefix("dede_") && valid_prefix("v9_") && !valid_prefix("x`; drop"));
        assert_eq!(tags_of("电网, 特高压，安全 "), ["电网", "特高压", "安全"]);
    }
}
