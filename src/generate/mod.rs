//! `newsdesk generate`: fills a new database with a newsroom at scale for
//! benchmarks: about 500 units, 40 channels, 2,000 staff, N published
//! stories of 1,500 to 4,000 characters with their tags, credits and review
//! histories, M comments, and recent readings.
//!
//! Stories are written from the phrase corpus on worker threads, their
//! search vectors computed here with the same segmentation as the app, and
//! streamed with COPY. Secondary indexes are dropped for the load and built
//! again after it, as are the triggers skipped (the load is consistent by
//! construction).

mod corpus;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use corpus::{CITIES, Corpus, PROVINCES};

/// Stories written per batch (one COPY per table and batch).
const BATCH: u64 = 2_000;
/// Stories are published over this many days before now.
const ARCHIVE_DAYS: i64 = 5 * 365;

const TOP_CHANNELS: &[(&str, &str, &[&str])] = &[
    (
        "要闻",
        "yaowen",
        &["时政", "公司要闻", "领导活动", "通知公告"],
    ),
    (
        "电网",
        "dianwang",
        &["电网建设", "调度运行", "特高压", "配电网"],
    ),
    (
        "经营",
        "jingying",
        &["电力市场", "营销服务", "财务管理", "物资采购"],
    ),
    (
        "科技",
        "keji",
        &["科技创新", "数字化", "新能源", "标准质量"],
    ),
    (
        "党建",
        "dangjian",
        &["党建工作", "廉洁建设", "群团工作", "企业文化"],
    ),
    (
        "基层",
        "jiceng",
        &["基层动态", "班组风采", "一线故事", "劳模风采"],
    ),
    ("视觉", "shijue", &["图片新闻", "视频", "图解", "摄影作品"]),
    ("评论", "pinglun", &["本网评论", "观点", "言论", "读者来信"]),
];

const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹",
];
const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "涛", "明", "超",
    "秀英", "华", "平", "刚", "建国", "志强", "海燕", "晓东", "雪梅", "国庆", "立新",
];
const COMMENTS: &[&str] = &[
    "电力职工辛苦了！",
    "为一线抢修队员点赞。",
    "我们村的线路改造后再也没停过电。",
    "希望充电桩能建到小区里来。",
    "报道很及时，期待更多这样的好故事。",
    "供电服务越来越好了。",
    "请问这个政策什么时候在我们县推开？",
    "向坚守岗位的电网人致敬。",
];

/// What was generated and how long it took.
pub struct Summary {
    pub units: usize,
    pub channels: usize,
    pub users: usize,
    pub articles: u64,
    pub comments: u64,
    pub seconds: f64,
}

/// An account the stories are written and reviewed by.
#[derive(Clone)]
struct Person {
    id: Uuid,
    name: String,
    unit: Uuid,
    author: Option<Uuid>,
}

/// The newsroom the stories are attached to.
struct Newsroom {
    channels: Vec<Uuid>,
    writers: Vec<Person>,
    editors: Vec<Person>,
    chiefs: Vec<Person>,
    tags: HashMap<&'static str, Uuid>,
}

/// Generates into `pool`, which must hold a new, migrated database.
pub async fn generate(
    pool: &PgPool,
    articles: u64,
    comments: u64,
    progress: impl Fn(u64) + Send + Sync,
) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let mut conn = pool.acquire().await?;
    let used: bool = sqlx::query_scalar(
        "select exists (select 1 from users) or exists (select 1 from articles)",
    )
    .fetch_one(&mut *conn)
    .await?;
    if used {
        bail!("the database already has users or stories; generate into a new database");
    }
    // Triggers (foreign keys, announcements, counters) are skipped for the
    // load; this needs a superuser, and without one the load is slower.
    let replica = sqlx::query!("set session_replication_role = replica")
        .execute(&mut *conn)
        .await
        .is_ok();
    let mut rng = StdRng::seed_from_u64(20_261_124);
    let units = insert_units(&mut conn).await?;
    let channels = insert_channels(&mut conn).await?;
    let newsroom = insert_staff(&mut conn, &mut rng, &units, channels.clone()).await?;
    let indexes = drop_indexes(&mut conn).await?;

    let corpus = std::sync::Arc::new(Corpus::default());
    let newsroom = std::sync::Arc::new(newsroom);
    let now = Utc::now();
    let mut written = 0u64;
    let mut pending = std::collections::VecDeque::new();
    let mut batch_number = 0u64;
    // One story in 200 more is still in review (submitted, or passed by an
    // editor and waiting for a chief editor); it comes last, so that the
    // published stories are numbered 1 to N.
    let waiting = articles.div_ceil(200);
    let mut queued = 0u64;
    while queued < articles + waiting || !pending.is_empty() {
        // Two batches are written while the previous one is loaded.
        while pending.len() < 2 && queued < articles + waiting {
            let in_review = queued >= articles;
            let size = if in_review {
                waiting
            } else {
                BATCH.min(articles - queued)
            };
            let corpus = corpus.clone();
            let newsroom = newsroom.clone();
            let seed = batch_number;
            pending.push_back(tokio::task::spawn_blocking(move || {
                write_batch(&corpus, &newsroom, size, seed, now, in_review)
            }));
            batch_number += 1;
            queued += size;
        }
        let Some(next) = pending.pop_front() else {
            break;
        };
        let batch = next.await?;
        copy(&mut conn, "articles (id, channel_id, unit_id, created_by, title, summary, body_html, body_text, author_byline, source, status, review_stage, published_at, responsible_editors, created_at, updated_at, search_vector)", batch.articles).await?;
        copy(
            &mut conn,
            "article_tags (article_id, tag_id, position, published_at)",
            batch.tags,
        )
        .await?;
        copy(
            &mut conn,
            "article_totals (article_id, views)",
            batch.totals,
        )
        .await?;
        copy(
            &mut conn,
            "article_authors (article_id, position, author_id, role)",
            batch.authors,
        )
        .await?;
        copy(
            &mut conn,
            "review_events (article_id, actor_id, actor_name, action, from_status, to_status, stage, note, at)",
            batch.events,
        )
        .await?;
        written += batch.published;
        progress(written);
    }
    insert_comments(&mut conn, &mut rng, comments).await?;
    insert_readings(&mut conn).await?;
    for definition in &indexes {
        sqlx::query(definition).execute(&mut *conn).await?;
    }
    // The search rows, which the load's skipped triggers did not keep.
    sqlx::query(
        "insert into search_index (article_id, published_at, number, channel_id, unit_id,
                                   title, summary, search_vector)
         select id, published_at, number, channel_id, unit_id, title, summary, search_vector
         from articles
         where status = 'published' and search_vector is not null and published_at is not null
         on conflict (article_id) do nothing",
    )
    .execute(&mut *conn)
    .await?;
    // Nor the search feed: every node's search index is built again.
    sqlx::query(
        "insert into search_feed_trimmed (xid) values (pg_current_xact_id())
         on conflict (only_row) do update
             set xid = greatest(search_feed_trimmed.xid, excluded.xid)",
    )
    .execute(&mut *conn)
    .await?;
    // Who passed the stories still waiting, from their review histories.
    sqlx::query!(
        "update articles set passed_by = review_round_passers(id)
         where status in ('submitted', 'in_review')",
    )
    .execute(&mut *conn)
    .await?;
    if replica {
        sqlx::query!("set session_replication_role = origin")
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query!("analyze").execute(&mut *conn).await?;
    // The load bypassed the triggers that mark statistics days stale; build
    // every day now so the first statistics page does not pay for it.
    let zone = crate::settings::db::load(&mut conn).await?.time_zone;
    crate::stats::days::refresh_all(&mut conn, zone.name()).await?;
    sqlx::query!("select pg_notify('newsdesk_pages', '')")
        .execute(&mut *conn)
        .await?;
    Ok(Summary {
        units: units.len(),
        channels: channels.len(),
        users: newsroom.writers.len() + newsroom.editors.len() + newsroom.chiefs.len() + 20,
        articles: written,
        comments,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Drops the secondary indexes of the bulk-loaded tables and returns the
/// statements that build them again.
async fn drop_indexes(conn: &mut PgConnection) -> anyhow::Result<Vec<String>> {
    let indexes: Vec<(String, String)> = sqlx::query_as(
        "select i.indexname, i.indexdef from pg_indexes i
         where i.schemaname = current_schema()
           and i.tablename in ('articles', 'article_tags', 'article_authors', 'review_events', 'comments')
           and not exists (select 1 from pg_constraint c
                           where c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass)",
    )
    .fetch_all(&mut *conn)
    .await?;
    for (name, _) in &indexes {
        sqlx::query(&format!("drop index {}", crate::db::quote_identifier(name)))
            .execute(&mut *conn)
            .await?;
    }
    Ok(indexes
        .into_iter()
        .map(|(_, definition)| definition)
        .collect())
}

async fn copy(conn: &mut PgConnection, target: &str, data: String) -> anyhow::Result<()> {
    if data.is_empty() {
        return Ok(());
    }
    let mut copy = conn
        .copy_in_raw(&format!("copy {target} from stdin"))
        .await
        .with_context(|| format!("cannot start loading {target}"))?;
    copy.send(data.into_bytes()).await?;
    copy.finish().await?;
    Ok(())
}

/// Escapes a value for COPY's text format.
fn field(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            _ => out.push(c),
        }
    }
}

/// Writes one row of tab-separated fields (`None` is NULL).
fn row(out: &mut String, fields: &[Option<&str>]) {
    for (i, value) in fields.iter().enumerate() {
        if i > 0 {
            out.push('\t');
        }
        match value {
            Some(value) => field(out, value),
            None => out.push_str("\\N"),
        }
    }
    out.push('\n');
}

struct Batch {
    published: u64,
    articles: String,
    tags: String,
    authors: String,
    events: String,
    totals: String,
}

fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339()
}

/// Writes `size` stories with everything attached, from a seed of its own.
fn write_batch(
    corpus: &Corpus,
    newsroom: &Newsroom,
    size: u64,
    seed: u64,
    now: DateTime<Utc>,
    in_review: bool,
) -> Batch {
    let mut rng = StdRng::seed_from_u64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 42);
    let mut batch = Batch {
        published: if in_review { 0 } else { size },
        articles: String::with_capacity(size as usize * 20_000),
        tags: String::new(),
        authors: String::new(),
        events: String::new(),
        totals: String::new(),
    };
    for _ in 0..size {
        let story = corpus.story(&mut rng);
        let id = Uuid::new_v4();
        let id_text = id.to_string();
        let writer = &newsroom.writers[rng.random_range(0..newsroom.writers.len())];
        let editor = &newsroom.editors[rng.random_range(0..newsroom.editors.len())];
        let chief = &newsroom.chiefs[rng.random_range(0..newsroom.chiefs.len())];
        // Channels: a few carry most stories.
        let channel = newsroom.channels[(rng.random::<f64>().powi(2)
            * newsroom.channels.len() as f64) as usize
            % newsroom.channels.len()];
        let published = if in_review {
            now - Duration::minutes(rng.random_range(1..600))
        } else {
            now - Duration::seconds(rng.random_range(60..ARCHIVE_DAYS * 86_400))
        };
        let stage = if in_review { rng.random_range(0..2) } else { 1 };
        let status = match (in_review, stage) {
            (false, _) => "published",
            (true, 0) => "submitted",
            (true, _) => "in_review",
        };
        let created = published - Duration::minutes(rng.random_range(60..4_320));
        let views = (rng.random::<f64>() * 9.0).exp() as i64;
        let editors = match status {
            "published" => format!("{} {}", editor.name, chief.name),
            "in_review" => editor.name.clone(),
            _ => String::new(),
        };
        let byline = format!("本网记者 {}", writer.name);
        let vector = crate::search::vector_literal(&crate::search::Indexed {
            title: &story.title,
            summary: &story.summary,
            body_text: &story.body_text,
            byline: &byline,
            correspondents: "",
        });
        row(
            &mut batch.articles,
            &[
                Some(&id_text),
                Some(&channel.to_string()),
                Some(&writer.unit.to_string()),
                Some(&writer.id.to_string()),
                Some(&story.title),
                Some(&story.summary),
                Some(&story.body_html),
                Some(&story.body_text),
                Some(&byline),
                Some("电网新闻网"),
                Some(status),
                Some(&stage.to_string()),
                (!in_review).then(|| time(published)).as_deref(),
                Some(&editors),
                Some(&time(created)),
                Some(&time(published)),
                Some(&vector),
            ],
        );
        if !in_review {
            let _ = writeln!(batch.totals, "{id_text}\t{views}");
        }
        // The load bypasses the trigger that copies the publication time.
        let tagged_at = if in_review {
            "\\N".to_owned()
        } else {
            time(published)
        };
        for (position, tag) in story.tags.iter().enumerate() {
            let _ = writeln!(
                batch.tags,
                "{id_text}\t{}\t{position}\t{tagged_at}",
                newsroom.tags[tag]
            );
        }
        if let Some(author) = writer.author {
            let _ = writeln!(batch.authors, "{id_text}\t0\t{author}\t本网记者");
        }
        let mut at = created;
        let mut event = |actor: &Person,
                         action: &str,
                         from: &str,
                         to: &str,
                         stage: Option<i16>,
                         note: &str,
                         at: DateTime<Utc>| {
            let stage = stage.map(|s| s.to_string());
            row(
                &mut batch.events,
                &[
                    Some(&id_text),
                    Some(&actor.id.to_string()),
                    Some(&actor.name),
                    Some(action),
                    Some(from),
                    Some(to),
                    stage.as_deref(),
                    Some(note),
                    Some(&time(at)),
                ],
            );
        };
        event(writer, "create", "", "draft", None, "", at);
        at += Duration::minutes(20);
        event(writer, "submit", "draft", "submitted", None, "", at);
        if rng.random_range(0..20) == 0 {
            at += Duration::minutes(30);
            event(
                editor,
                "return",
                "submitted",
                "returned",
                Some(0),
                "请补充现场数据后再报。",
                at,
            );
            at += Duration::minutes(40);
            event(writer, "submit", "returned", "submitted", None, "", at);
        }
        // A waiting story's history stops where it waits: at its
        // submission, or at the editor's pass to the chief editor.
        if stage == 0 {
            continue;
        }
        at += (published - at) / 2;
        event(
            editor,
            "pass",
            "submitted",
            "in_review",
            Some(0),
            "同意，送终审。",
            at,
        );
        if !in_review {
            event(
                chief,
                "pass",
                "in_review",
                "published",
                Some(1),
                "同意发布。",
                published,
            );
        }
    }
    batch
}

async fn insert_units(conn: &mut PgConnection) -> anyhow::Result<Vec<Uuid>> {
    let root: Uuid =
        sqlx::query_scalar("insert into units (name) values ('国家电网') returning id")
            .fetch_one(&mut *conn)
            .await?;
    let mut ids = vec![root];
    let per_province = CITIES.len().div_ceil(PROVINCES.len()) + 14;
    for (p, province) in PROVINCES.iter().enumerate() {
        let province_id: Uuid = sqlx::query_scalar(
            "insert into units (name, parent_id, sort_order) values ($1, $2, $3) returning id",
        )
        .bind(format!("国网{province}电力"))
        .bind(root)
        .bind(p as i32)
        .fetch_one(&mut *conn)
        .await?;
        ids.push(province_id);
        let names: Vec<String> = (0..per_province)
            .map(|c| {
                let city = CITIES[(p * per_province + c) % CITIES.len()];
                if c < 15 {
                    format!("国网{province}{city}供电公司")
                } else {
                    format!(
                        "国网{province}电力{}",
                        ["科学研究院", "经济技术研究院", "信息通信公司"][c % 3]
                    )
                }
            })
            .collect();
        let orders: Vec<i32> = (0..names.len() as i32).collect();
        let children: Vec<Uuid> = sqlx::query_scalar(
            "insert into units (name, parent_id, sort_order)
             select distinct on (name) name, $2, sort_order from unnest($1::text[], $3::int[]) as u(name, sort_order)
             returning id",
        )
        .bind(&names)
        .bind(province_id)
        .bind(&orders)
        .fetch_all(&mut *conn)
        .await?;
        ids.extend(children);
    }
    Ok(ids)
}

async fn insert_channels(conn: &mut PgConnection) -> anyhow::Result<Vec<Uuid>> {
    let mut ids = Vec::new();
    for (order, (name, slug, children)) in TOP_CHANNELS.iter().enumerate() {
        let parent: Uuid = sqlx::query_scalar(
            "insert into channels (name, slug, sort_order) values ($1, $2, $3) returning id",
        )
        .bind(name)
        .bind(slug)
        .bind(order as i32)
        .fetch_one(&mut *conn)
        .await?;
        ids.push(parent);
        for (n, child) in children.iter().enumerate() {
            let id: Uuid = sqlx::query_scalar(
                "insert into channels (name, slug, parent_id, sort_order) values ($1, $2, $3, $4) returning id",
            )
            .bind(child)
            .bind(format!("{slug}-{}", n + 1))
            .bind(parent)
            .bind(n as i32)
            .fetch_one(&mut *conn)
            .await?;
            ids.push(id);
        }
    }
    Ok(ids)
}

fn person_name(rng: &mut impl Rng) -> String {
    format!(
        "{}{}",
        SURNAMES[rng.random_range(0..SURNAMES.len())],
        GIVEN[rng.random_range(0..GIVEN.len())]
    )
}

/// 2,000 staff: 1,500 correspondents (each an author), 400 editors, 80
/// chief editors, 20 admins. They share one password hash, of a random
/// password nobody is told: benchmarks create their own logins.
async fn insert_staff(
    conn: &mut PgConnection,
    rng: &mut StdRng,
    units: &[Uuid],
    channels: Vec<Uuid>,
) -> anyhow::Result<Newsroom> {
    let secret = crate::auth::password::generate(20);
    let hash = tokio::task::spawn_blocking(move || crate::auth::password::hash(&secret)).await??;
    let mut newsroom = Newsroom {
        channels,
        writers: Vec::new(),
        editors: Vec::new(),
        chiefs: Vec::new(),
        tags: HashMap::new(),
    };
    for (role, prefix, count) in [
        ("correspondent", "c", 1500),
        ("editor", "e", 400),
        ("chief_editor", "z", 80),
        ("admin", "a", 20),
    ] {
        let mut usernames = Vec::new();
        let mut names = Vec::new();
        let mut unit_ids = Vec::new();
        for n in 0..count {
            usernames.push(format!("{prefix}{n:05}"));
            names.push(person_name(rng));
            let unit = match role {
                "correspondent" => units[rng.random_range(1..units.len())],
                "editor" => units[rng.random_range(0..units.len().min(200))],
                _ => units[0],
            };
            unit_ids.push(unit);
        }
        let ids: Vec<Uuid> = sqlx::query_scalar(
            "insert into users (username, display_name, role, unit_id, password_hash)
             select username, display_name, $4, unit_id, $5
             from unnest($1::text[], $2::text[], $3::uuid[]) as u(username, display_name, unit_id)
             returning id",
        )
        .bind(&usernames)
        .bind(&names)
        .bind(&unit_ids)
        .bind(role)
        .bind(&hash)
        .fetch_all(&mut *conn)
        .await?;
        let people: Vec<Person> = ids
            .into_iter()
            .zip(names)
            .zip(unit_ids)
            .map(|((id, name), unit)| Person {
                id,
                name,
                unit,
                author: None,
            })
            .collect();
        match role {
            "correspondent" => newsroom.writers = people,
            "editor" => newsroom.editors = people,
            "chief_editor" => newsroom.chiefs = people,
            _ => {}
        }
    }
    let user_ids: Vec<Uuid> = newsroom.writers.iter().map(|p| p.id).collect();
    let authors: Vec<(Uuid, Uuid)> = sqlx::query_as(
        "insert into authors (name, unit_id, user_id)
         select u.display_name, u.unit_id, u.id from users u where u.id = any($1)
         returning user_id, id",
    )
    .bind(&user_ids)
    .fetch_all(&mut *conn)
    .await?;
    let authors: HashMap<Uuid, Uuid> = authors.into_iter().collect();
    for writer in &mut newsroom.writers {
        writer.author = authors.get(&writer.id).copied();
    }
    let topics = corpus::topic_names();
    let tag_rows: Vec<(String, Uuid)> =
        sqlx::query_as("insert into tags (name) select unnest($1::text[]) returning name, id")
            .bind(topics)
            .fetch_all(&mut *conn)
            .await?;
    for (name, id) in tag_rows {
        if let Some(topic) = topics.iter().find(|topic| **topic == name) {
            newsroom.tags.insert(topic, id);
        }
    }
    Ok(newsroom)
}

/// `count` comments on stories (recent ones most), mostly approved, with
/// the approved counts set on the stories.
async fn insert_comments(
    conn: &mut PgConnection,
    rng: &mut StdRng,
    count: u64,
) -> anyhow::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let stories: Vec<Uuid> =
        sqlx::query_scalar("select id from articles order by published_at desc limit 20000")
            .fetch_all(&mut *conn)
            .await?;
    if stories.is_empty() {
        return Ok(());
    }
    let now = Utc::now();
    let mut data = String::new();
    for n in 0..count {
        let story = stories
            [((rng.random::<f64>().powi(3)) * stories.len() as f64) as usize % stories.len()];
        let body = format!("{}（{}）", COMMENTS[rng.random_range(0..COMMENTS.len())], n);
        let status = match rng.random_range(0..100) {
            0..85 => "approved",
            85..95 => "pending",
            95..98 => "rejected",
            _ => "spam",
        };
        let mut address = [0u8; 16];
        rng.fill(&mut address);
        let at = now - Duration::minutes(rng.random_range(1..60 * 24 * 30));
        let _ = writeln!(
            data,
            "{story}\t匿名网友\ttrue\t{body}\t{status}\t\\\\x{}\t\\\\x{}\t{}",
            hex::encode(address),
            hex::encode(Sha256::digest(body.as_bytes())),
            time(at)
        );
        if data.len() > 8 << 20 {
            copy(conn, "comments (article_id, author_name, anonymous, body, status, client_hash, body_hash, created_at)", std::mem::take(&mut data)).await?;
        }
    }
    copy(
        conn,
        "comments (article_id, author_name, anonymous, body, status, client_hash, body_hash, created_at)",
        data,
    )
    .await?;
    sqlx::query!(
        "update articles a set comment_count = c.n
         from (select article_id, count(*)::int as n from comments where status = 'approved'
               group by article_id) c
         where a.id = c.article_id",
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Readings of the last 30 days for the most-read lists: stories of the
/// period are read on the days after their publication.
async fn insert_readings(conn: &mut PgConnection) -> anyhow::Result<()> {
    sqlx::query!(
        "insert into article_views (article_id, day, views)
         select a.id, d::date, greatest(1, (t.views / (1 + (d::date - a.published_at::date)))::bigint)
         from articles a join article_totals t on t.article_id = a.id
         cross join lateral generate_series(a.published_at::date, current_date, interval '1 day') d
         where a.published_at > now() - interval '30 days'
         on conflict do nothing",)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
