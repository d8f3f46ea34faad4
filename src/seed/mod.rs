//! Demo content for a new installation: a unit tree, a channel tree, staff of
//! every role and a handful of published stories. Runs only on a database
//! without users, in one transaction, so it is all or nothing.

mod stories;

use std::collections::HashMap;

use anyhow::{Context, bail};
use chrono::{Duration, Utc};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::articles::form::ArticleForm;
use crate::articles::store::{self, Event};
use crate::auth::password;
use crate::ids::{ArticleId, UserId};
use crate::roles::Role;

/// A demo account and its freshly generated password, printed once.
pub struct DemoLogin {
    pub username: &'static str,
    /// The role's name (读者 for the reader account).
    pub role: &'static str,
    pub password: String,
}

/// The demo reader account.
const READER: &str = "reader1";

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
    ("admin", "网站管理员", Role::Admin, "国家电网"),
    // The three of 三员分立, ready for the switch on the security page.
    ("xitong", "周系统", Role::SystemAdmin, "国家电网"),
    ("anquan", "吴安全", Role::SecurityAdmin, "国家电网"),
    ("shenji", "郑审计", Role::AuditAdmin, "国家电网"),
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
        .map(|&(username, _, role, _)| (username, role.label()))
        .chain([(READER, "读者")])
        .map(|(username, role)| DemoLogin {
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
        let id: UserId = sqlx::query_scalar(
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
    let reader_hash = hashes.last().context("the reader's password")?;
    insert_comments(&mut tx, reader_hash, user_ids["bianji"]).await?;
    tx.commit().await?;
    Ok(logins)
}

/// A few entries of each proofreading list, so that the stories in
/// review show what the checker marks.
async fn insert_proof_terms(conn: &mut PgConnection) -> anyhow::Result<()> {
    let terms: &[(&str, &str, &str, &str, &str)] = &[
        ("typo", "即然", "既然", "", ""),
        ("typo", "按装", "安装", "", ""),
        ("typo", "布署", "部署", "", ""),
        (
            "typo",
            "截止",
            "截至",
            "#、目前、今年、本月、到",
            "时间之前用“截至”",
        ),
        ("typo", "渡过难关", "度过难关", "", ""),
        (
            "name",
            "国家电网公司",
            "国家电网有限公司",
            "",
            "2017 年改制后的全称",
        ),
        ("name", "国网公司", "国家电网有限公司", "", "正式稿件用全称"),
        ("leader", "张建国", "董事长、党组书记", "", "演示数据"),
        ("expression", "电老虎", "", "", "不用贬称"),
        ("expression", "拉闸限电", "有序用电", "", ""),
    ];
    for (kind, term, suggestion, followed_by, note) in terms {
        sqlx::query(
            "insert into proof_terms (kind, term, suggestion, followed_by, note)
             values ($1, $2, $3, $4, $5)",
        )
        .bind(kind)
        .bind(term)
        .bind(suggestion)
        .bind(followed_by)
        .bind(note)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// A reader, sensitive words, and comments in every state on the headline
/// story: approved (one pinned, one with a reply), pending, held by a
/// sensitive word, reported, rejected, spam, and deleted by its reader.
async fn insert_comments(
    conn: &mut PgConnection,
    reader_hash: &str,
    editor: UserId,
) -> anyhow::Result<()> {
    use sha2::{Digest, Sha256};
    let address = |n: u8| Sha256::digest([b'd', b'e', b'm', b'o', n]).to_vec()[..16].to_vec();
    let reader: Uuid = sqlx::query_scalar(
        "insert into readers (username, password_hash, client_hash) values ($1, $2, $3) returning id",
    )
    .bind(READER)
    .bind(reader_hash)
    .bind(address(1))
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query("insert into sensitive_words (word) values ('代开发票'), ('赌博')")
        .execute(&mut *conn)
        .await?;
    insert_proof_terms(conn).await?;
    let article: Uuid = sqlx::query_scalar(
        "select id from articles where status = 'published' and is_headline
         order by published_at desc limit 1",
    )
    .fetch_one(&mut *conn)
    .await?;
    // (body, by the reader, status, held for, pinned, reports, minutes ago, reply to)
    type DemoComment = (
        &'static str,
        bool,
        &'static str,
        &'static str,
        bool,
        i32,
        i32,
        Option<usize>,
    );
    let comments: &[DemoComment] = &[
        (
            "保供电的一线职工辛苦了！寒冬里守护万家灯火，向你们致敬。",
            true,
            "approved",
            "",
            true,
            0,
            90,
            None,
        ),
        (
            "我们小区上周刚换了新变压器，晚上用电高峰再也不跳闸了。",
            false,
            "approved",
            "",
            false,
            0,
            60,
            None,
        ),
        (
            "感谢留言，供电服务热线 95598 全天有人值守。",
            false,
            "approved",
            "",
            false,
            0,
            45,
            Some(1),
        ),
        (
            "希望农村电网改造也能加快进度。",
            true,
            "approved",
            "",
            false,
            2,
            30,
            None,
        ),
        (
            "这篇报道很及时，期待更多一线故事。",
            false,
            "pending",
            "",
            false,
            0,
            20,
            None,
        ),
        (
            "专业代开发票，联系微信。",
            false,
            "pending",
            "代开发票",
            false,
            0,
            15,
            None,
        ),
        ("写的什么东西！", false, "rejected", "", false, 0, 12, None),
        (
            "点击领取免费流量 http://spam.example",
            false,
            "spam",
            "",
            false,
            0,
            10,
            None,
        ),
        ("发错文章了，删掉。", true, "deleted", "", false, 0, 5, None),
    ];
    let mut ids: Vec<Uuid> = Vec::new();
    for (n, &(body, by_reader, status, held, pinned, reports, minutes, reply_to)) in
        comments.iter().enumerate()
    {
        let moderated = matches!(status, "approved" | "rejected" | "spam").then_some(editor);
        let id: Uuid = sqlx::query_scalar(
            "insert into comments (article_id, parent_id, reader_id, author_name, anonymous, body, status,
                                   held_for, pinned, report_count, client_hash, body_hash, created_at,
                                   moderated_at, moderated_by)
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12,
                     now() - make_interval(mins => $13), case when $14::uuid is null then null else now() end, $14)
             returning id",
        )
        .bind(article)
        .bind(reply_to.map(|index| ids[index]))
        .bind(by_reader.then_some(reader))
        .bind(if by_reader { READER } else { crate::comments::ANONYMOUS_NAME })
        .bind(!by_reader)
        .bind(body)
        .bind(status)
        .bind(held)
        .bind(pinned)
        .bind(reports)
        .bind(address(if by_reader { 1 } else { 2 + n as u8 }))
        .bind(Sha256::digest(body.as_bytes()).to_vec())
        .bind(minutes)
        .bind(moderated)
        .fetch_one(&mut *conn)
        .await?;
        ids.push(id);
    }
    Ok(())
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
    users: &HashMap<&str, UserId>,
) -> anyhow::Result<()> {
    let now = Utc::now();
    for story in stories::STORIES {
        let form = ArticleForm {
            title: story.title.into(),
            kicker: story.kicker.into(),
            subtitle: story.subtitle.into(),
            summary: story.summary.into(),
            body: story.body.into(),
            channel_id: channels
                .get(story.channel)
                .context("demo story in an unknown channel")?
                .to_string(),
            unit_id: units
                .get(story.unit)
                .context("demo story from an unknown unit")?
                .to_string(),
            author_byline: story.author_byline.into(),
            correspondents: story.correspondents.into(),
            source: story.source.into(),
            tags: story.tags.into(),
            ..ArticleForm::default()
        };
        let writer = *users
            .get(story.writer)
            .context("demo story by an unknown writer")?;
        let id = insert_reviewed(conn, &form, writer, users, "published", "").await?;
        sqlx::query("update articles set published_at = $2, is_headline = $3 where id = $1")
            .bind(id)
            .bind(now - Duration::hours(story.hours_ago))
            .bind(story.headline)
            .execute(&mut *conn)
            .await?;
        sqlx::query(
            "insert into article_grades (article_id, grade_id, graded_by, grader_name)
             select $1, id, $3, '刘总编' from grades
             order by position offset ($2 % 3) limit 1",
        )
        .bind(id)
        .bind(story.hours_ago)
        .bind(users["zongbian"])
        .execute(&mut *conn)
        .await?;
        sqlx::query("insert into article_totals (article_id, views) values ($1, $2)")
            .bind(id)
            .bind(story.hours_ago * 37 % 1000 + 50)
            .execute(&mut *conn)
            .await?;
        // The readings, spread over the days since publication.
        sqlx::query(
            "insert into article_views (article_id, day, views)
             select article_id, day::date, greatest(1, views / (1 + $2 / 24))
             from article_totals, generate_series((now() - make_interval(hours => $2::int)) at time zone (select value from settings where key = 'time_zone'),
                                            now() at time zone (select value from settings where key = 'time_zone'), interval '1 day') as day
             where article_id = $1
             on conflict do nothing",
        )
        .bind(id)
        .bind(story.hours_ago)
        .execute(&mut *conn)
        .await?;
    }
    for &(status, title, channel, writer, unit, note) in stories::IN_PROGRESS {
        let body = match status {
            "submitted" => format!("{}{}", stories::IN_PROGRESS_BODY, stories::SUBMITTED_TYPOS),
            _ => stories::IN_PROGRESS_BODY.to_owned(),
        };
        let form = ArticleForm {
            title: title.into(),
            body,
            channel_id: channels
                .get(channel)
                .context("unknown channel")?
                .to_string(),
            unit_id: units.get(unit).context("unknown unit")?.to_string(),
            source: "电网新闻网".into(),
            ..ArticleForm::default()
        };
        let writer = *users.get(writer).context("unknown writer")?;
        let id = insert_reviewed(conn, &form, writer, users, status, note).await?;
        if status == "scheduled" {
            sqlx::query("update articles set published_at = $2 where id = $1")
                .bind(id)
                .bind(now + Duration::hours(18))
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

/// Stores a demo story and walks it through the workflow to `status`,
/// with the events a real review would have left.
async fn insert_reviewed(
    conn: &mut PgConnection,
    form: &ArticleForm,
    writer: UserId,
    users: &HashMap<&str, UserId>,
    status: &str,
    note: &str,
) -> anyhow::Result<ArticleId> {
    let input = form
        .parse("电网新闻网")
        .map_err(|refusal| anyhow::anyhow!("{refusal}"))?;
    let id = store::insert(conn, &input, writer).await?;
    store::save_revision(conn, id, 1, writer, &input).await?;
    let editor = (users["bianji"], "陈编辑");
    let chief = (users["zongbian"], "刘总编");
    let writer_name: String = sqlx::query_scalar("select display_name from users where id = $1")
        .bind(writer)
        .fetch_one(&mut *conn)
        .await?;
    let step = |(actor_id, actor_name): (UserId, &'static str),
                action,
                from_status,
                to_status,
                stage,
                note| Event {
        actor_id: Some(actor_id),
        actor_name,
        action,
        from_status,
        to_status,
        stage,
        note,
    };
    let created = Event {
        actor_id: Some(writer),
        actor_name: &writer_name,
        action: "create",
        from_status: "",
        to_status: "draft",
        stage: None,
        note: "",
    };
    let mut steps = vec![created];
    if status != "draft" {
        steps.push(Event {
            action: "submit",
            from_status: "draft",
            to_status: "submitted",
            ..created
        });
    }
    match status {
        "in_review" => steps.push(step(
            editor,
            "pass",
            "submitted",
            "in_review",
            Some(0),
            note,
        )),
        "returned" => steps.push(step(
            editor,
            "return",
            "submitted",
            "returned",
            Some(0),
            note,
        )),
        "rejected" => steps.push(step(
            editor,
            "reject",
            "submitted",
            "rejected",
            Some(0),
            note,
        )),
        "published" | "scheduled" | "unpublished" => {
            steps.push(step(
                editor,
                "pass",
                "submitted",
                "in_review",
                Some(0),
                "同意，送终审。",
            ));
            let to = if status == "scheduled" {
                "scheduled"
            } else {
                "published"
            };
            let opinion = if status == "scheduled" {
                note
            } else {
                "同意发布。"
            };
            steps.push(step(chief, "pass", "in_review", to, Some(1), opinion));
            if status == "unpublished" {
                steps.push(step(
                    chief,
                    "unpublish",
                    "published",
                    "unpublished",
                    None,
                    note,
                ));
            }
        }
        _ => {}
    }
    for event in &steps {
        store::record_event(conn, id, event).await?;
    }
    let stage: i16 =
        if status == "in_review" || matches!(status, "published" | "scheduled" | "unpublished") {
            1
        } else {
            0
        };
    let editors = if matches!(status, "published" | "scheduled" | "unpublished") {
        "陈编辑 刘总编"
    } else if status == "in_review" {
        "陈编辑"
    } else {
        ""
    };
    sqlx::query(
        "update articles set status = $2, review_stage = $3, responsible_editors = $4,
                published_at = case when $2 in ('published', 'unpublished') then now() end,
                passed_by = case when $2 in ('submitted', 'in_review')
                                 then review_round_passers(id) else '{}' end
         where id = $1",
    )
    .bind(id)
    .bind(status)
    .bind(stage)
    .bind(editors)
    .execute(&mut *conn)
    .await?;
    Ok(id)
}
