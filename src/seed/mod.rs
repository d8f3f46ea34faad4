//! Demo content for a new installation: a unit tree, a channel tree, staff of
//! every role and a handful of published stories. Runs only on a database
//! without users, in one transaction, so it is all or nothing.

mod stories;

use std::collections::HashMap;

use anyhow::{Context, bail};
use chrono::{Duration, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::articles::SanitizedHtml;
use crate::users::{Role, password};

/// A demo account and its freshly generated password, printed once.
pub struct DemoLogin {
    pub username: &'static str,
    pub role: Role,
    pub password: String,
}

/// Units as (name, parent name).
const UNITS: &[(&str, Option<&str>)] = &[
    ("国家电网", None),
    ("国网山东电力", Some("国家电网")),
    ("国网济南供电公司", Some("国网山东电力")),
    ("国网威海供电公司", Some("国网山东电力")),
    ("带电作业中心", Some("国网威海供电公司")),
    ("国网江苏电力", Some("国家电网")),
    ("国网苏州供电公司", Some("国网江苏电力")),
    ("国网浙江电力", Some("国家电网")),
    ("国网杭州供电公司", Some("国网浙江电力")),
];

/// Channels as (name, slug, parent slug, review stages).
const CHANNELS: &[(&str, &str, Option<&str>, &[&str])] = &[
    ("要闻", "yaowen", None, &["editor", "chief_editor"]),
    ("电网", "dianwang", None, &["editor", "chief_editor"]),
    (
        "企业风采",
        "qiye-fengcai",
        Some("dianwang"),
        &["editor", "chief_editor"],
    ),
    (
        "电网建设",
        "dianwang-jianshe",
        Some("dianwang"),
        &["editor", "chief_editor"],
    ),
    ("基层动态", "jiceng-dongtai", Some("dianwang"), &["editor"]),
    ("科技", "keji", None, &["editor", "chief_editor"]),
    (
        "党建",
        "dangjian",
        None,
        &["editor", "editor", "chief_editor"],
    ),
];

/// Staff as (username, display name, role, unit).
const STAFF: &[(&str, &str, Role, &str)] = &[
    ("admin", "系统管理员", Role::Admin, "国家电网"),
    ("zongbian", "刘总编", Role::ChiefEditor, "国家电网"),
    ("bianji", "陈编辑", Role::Editor, "国家电网"),
    (
        "tongxunyuan1",
        "李明",
        Role::Correspondent,
        "国网威海供电公司",
    ),
    (
        "tongxunyuan2",
        "孙悦",
        Role::Correspondent,
        "国网苏州供电公司",
    ),
];

/// Whether the database has no users yet (a new installation).
pub async fn is_empty(pool: &PgPool) -> anyhow::Result<bool> {
    let users: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(pool)
        .await?;
    Ok(users == 0)
}

/// Fills an empty database with the demo content and returns the demo logins.
pub async fn seed_demo(pool: &PgPool) -> anyhow::Result<Vec<DemoLogin>> {
    let logins: Vec<DemoLogin> = STAFF
        .iter()
        .map(|&(username, _, role, _)| DemoLogin {
            username,
            role,
            password: password::generate(14),
        })
        .collect();
    let passwords: Vec<String> = logins.iter().map(|login| login.password.clone()).collect();
    let hashes = tokio::task::spawn_blocking(move || {
        passwords
            .iter()
            .map(|password| password::hash(password))
            .collect::<anyhow::Result<Vec<_>>>()
    })
    .await??;

    let mut tx = pool.begin().await?;
    // Two instances starting together on one new database seed it once.
    sqlx::query("select pg_advisory_xact_lock(hashtext('newsdesk.seed_demo'))")
        .execute(&mut *tx)
        .await?;
    let users: i64 = sqlx::query_scalar("select count(*) from users")
        .fetch_one(&mut *tx)
        .await?;
    if users > 0 {
        bail!(
            "the database already has users; demo content is only added to a new, empty database"
        );
    }
    let units = insert_units(&mut tx).await?;
    let channels = insert_channels(&mut tx).await?;
    let mut user_ids = HashMap::new();
    for (&(username, display_name, role, unit), hash) in STAFF.iter().zip(&hashes) {
        let id: Uuid = sqlx::query_scalar(
            "insert into users (username, display_name, role, unit_id, password_hash)
             values ($1, $2, $3, $4, $5) returning id",
        )
        .bind(username)
        .bind(display_name)
        .bind(role.as_str())
        .bind(units[unit])
        .bind(hash)
        .fetch_one(&mut *tx)
        .await?;
        user_ids.insert(username, id);
    }
    insert_stories(&mut tx, &units, &channels, &user_ids).await?;
    tx.commit().await?;
    Ok(logins)
}

async fn insert_units(conn: &mut PgConnection) -> anyhow::Result<HashMap<&'static str, Uuid>> {
    let mut ids = HashMap::new();
    for (order, &(name, parent)) in UNITS.iter().enumerate() {
        let parent_id = parent.map(|parent| ids[parent]);
        let id: Uuid = sqlx::query_scalar(
            "insert into units (name, parent_id, sort_order) values ($1, $2, $3) returning id",
        )
        .bind(name)
        .bind(parent_id)
        .bind(order as i32)
        .fetch_one(&mut *conn)
        .await?;
        ids.insert(name, id);
    }
    Ok(ids)
}

async fn insert_channels(conn: &mut PgConnection) -> anyhow::Result<HashMap<&'static str, Uuid>> {
    let mut ids = HashMap::new();
    for (order, &(name, slug, parent, stages)) in CHANNELS.iter().enumerate() {
        let parent_id = parent.map(|parent| ids[parent]);
        let id: Uuid = sqlx::query_scalar(
            "insert into channels (name, slug, parent_id, sort_order, review_stages)
             values ($1, $2, $3, $4, $5) returning id",
        )
        .bind(name)
        .bind(slug)
        .bind(parent_id)
        .bind(order as i32)
        .bind(stages)
        .fetch_one(&mut *conn)
        .await?;
        ids.insert(slug, id);
    }
    Ok(ids)
}

async fn insert_stories(
    conn: &mut PgConnection,
    units: &HashMap<&str, Uuid>,
    channels: &HashMap<&str, Uuid>,
    users: &HashMap<&str, Uuid>,
) -> anyhow::Result<()> {
    let now = Utc::now();
    for story in stories::STORIES {
        let body = SanitizedHtml::clean(story.body);
        sqlx::query(
            "insert into articles (channel_id, unit_id, created_by, title, kicker, subtitle, summary,
                                   body_html, body_text, author_byline, correspondents, source,
                                   status, published_at, is_headline)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'published', $13, $14)",
        )
        .bind(channels.get(story.channel).context("demo story in an unknown channel")?)
        .bind(units.get(story.unit).context("demo story from an unknown unit")?)
        .bind(users.get(story.writer).context("demo story by an unknown writer")?)
        .bind(story.title)
        .bind(story.kicker)
        .bind(story.subtitle)
        .bind(story.summary)
        .bind(body.as_str())
        .bind(body.plain_text())
        .bind(story.author_byline)
        .bind(story.correspondents)
        .bind(story.source)
        .bind(now - Duration::hours(story.hours_ago))
        .bind(story.headline)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}
