use std::process::Command;

use crate::helpers::spawn_app;

async fn schema_fingerprint(pool: &sqlx::PgPool) -> (Vec<i64>, i64) {
    let versions: Vec<i64> =
        sqlx::query_scalar("select version from _sqlx_migrations order by version")
            .fetch_all(pool)
            .await
            .unwrap();
    let tables: i64 = sqlx::query_scalar(
        "select count(*) from information_schema.tables where table_schema = 'public'",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    (versions, tables)
}

#[tokio::test]
async fn migrations_applied_twice_change_nothing() {
    let app = spawn_app().await;
    let before = schema_fingerprint(&app.pool).await;
    assert!(!before.0.is_empty());

    newsdesk::db::migrate(&app.pool).await.expect("second run");
    newsdesk::db::migrate(&app.pool).await.expect("third run");
    assert_eq!(schema_fingerprint(&app.pool).await, before);
}

#[tokio::test]
async fn the_migrate_command_applies_migrations_and_can_run_again() {
    let app = spawn_app().await;
    let before = schema_fingerprint(&app.pool).await;
    sqlx::query("drop schema public cascade")
        .execute(&app.pool)
        .await
        .unwrap();
    sqlx::query("create schema public")
        .execute(&app.pool)
        .await
        .unwrap();

    for run in 1..=2 {
        let output = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
            .arg("migrate")
            .env("DATABASE_URL", app.database.url())
            .env("NEWSDESK_DATA_DIR", std::env::temp_dir())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(schema_fingerprint(&app.pool).await, before);
}

/// The `table.trigger` names of migrations/README.md's trigger table, and
/// the derived things of its first table.
fn mapped_triggers() -> (Vec<String>, Vec<String>, Vec<String>) {
    let map = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/README.md"))
        .unwrap();
    let cells = |line: &str| -> Vec<String> {
        line.trim()
            .trim_matches('|')
            .split('|')
            .map(|cell| cell.trim().trim_matches('`').to_string())
            .collect()
    };
    let (things_part, triggers_part) = map.split_once("## The triggers").unwrap();
    let things: Vec<String> = things_part
        .lines()
        .filter(|line| line.starts_with("| ") && !line.starts_with("| derived thing"))
        .map(|line| cells(line)[0].clone())
        .collect();
    let rows: Vec<Vec<String>> = triggers_part
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(cells)
        .collect();
    let triggers = rows.iter().map(|row| row[0].clone()).collect();
    let kept = rows.iter().map(|row| row[1].clone()).collect();
    (triggers, kept, things)
}

#[tokio::test]
async fn every_trigger_of_the_schema_is_on_the_map_of_derived_data() {
    let app = spawn_app().await;
    let live: Vec<String> = sqlx::query_scalar(
        "select c.relname || '.' || t.tgname from pg_trigger t join pg_class c on c.oid = t.tgrelid
         where not t.tgisinternal order by 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let (mut mapped, kept, things) = mapped_triggers();
    mapped.sort();
    let unmapped: Vec<&String> = live.iter().filter(|t| !mapped.contains(t)).collect();
    let gone: Vec<&String> = mapped.iter().filter(|t| !live.contains(t)).collect();
    assert!(
        unmapped.is_empty(),
        "triggers missing from migrations/README.md: {unmapped:?}"
    );
    assert!(
        gone.is_empty(),
        "mapped triggers the schema no longer has: {gone:?}"
    );
    for thing in &kept {
        assert!(
            things.contains(thing),
            "a trigger keeps {thing:?}, which the map does not describe"
        );
    }
    // Every function named on the map exists.
    let map = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/README.md"))
        .unwrap();
    let functions: Vec<String> = sqlx::query_scalar(
        "select distinct p.proname::text from pg_trigger t join pg_proc p on p.oid = t.tgfoid
         where not t.tgisinternal",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    for function in &functions {
        assert!(
            map.contains(&format!("`{function}`")),
            "function {function} is not on the map"
        );
    }
}

#[tokio::test]
async fn stored_states_decode_to_their_types_and_unknown_ones_are_errors() {
    use newsdesk::roles::Role;
    use newsdesk::workflow::Status;
    let app = spawn_app().await;
    let status: Status = sqlx::query_scalar("select 'in_review'::text")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(status, Status::InReview);
    let role: Role = sqlx::query_scalar("select 'chief_editor'::text")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(role, Role::ChiefEditor);
    // A value no version of the code knows is refused, not read as a draft.
    let unknown = sqlx::query_scalar::<_, Status>("select 'archived'::text")
        .fetch_one(&app.pool)
        .await;
    assert!(unknown.is_err(), "{unknown:?}");
    let unknown = sqlx::query_scalar::<_, Role>("select 'superuser'::text")
        .fetch_one(&app.pool)
        .await;
    assert!(unknown.is_err());
    // Every state the enum knows is one the database accepts.
    for status in [
        "draft",
        "submitted",
        "in_review",
        "returned",
        "rejected",
        "scheduled",
        "published",
        "unpublished",
    ] {
        let decoded: Status = sqlx::query_scalar("select $1::text")
            .bind(status)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(decoded.as_str(), status);
    }
}

#[tokio::test]
async fn stage_lists_and_comment_states_decode_to_their_types_and_unknown_ones_are_errors() {
    use newsdesk::comments::CommentStatus;
    use newsdesk::roles::StageRole;
    let app = spawn_app().await;
    let stages: Vec<StageRole> =
        sqlx::query_scalar("select array['editor', 'editor', 'chief_editor']::text[]")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        stages,
        [StageRole::Editor, StageRole::Editor, StageRole::ChiefEditor]
    );
    // One unknown stage spoils the list rather than dropping out of it.
    let unknown =
        sqlx::query_scalar::<_, Vec<StageRole>>("select array['editor', 'admin']::text[]")
            .fetch_one(&app.pool)
            .await;
    assert!(unknown.is_err(), "{unknown:?}");
    for status in ["pending", "approved", "rejected", "spam", "deleted"] {
        let decoded: CommentStatus = sqlx::query_scalar("select $1::text")
            .bind(status)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        assert_eq!(decoded.as_str(), status);
    }
    let unknown = sqlx::query_scalar::<_, CommentStatus>("select 'hidden'::text")
        .fetch_one(&app.pool)
        .await;
    assert!(unknown.is_err(), "{unknown:?}");
}

/// A rolling upgrade: the next release's migration runs while nodes of this
/// release still serve. Migrations only expand (a column, a table), so this
/// release must keep working on the expanded schema: no query of it may
/// depend on a table's exact columns or their order.
#[tokio::test]
async fn a_node_of_the_previous_release_keeps_serving_on_the_next_releases_schema() {
    let app =
        crate::helpers::spawn_app_with(|config| config.test_captcha = Some("TEST".into())).await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "select tablename::text from pg_tables where schemaname = 'public'
         and tablename <> '_sqlx_migrations' order by 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(tables.len() > 20);
    for table in &tables {
        sqlx::query(&format!(
            "alter table \"{table}\" add column next_release_note text not null default ''"
        ))
        .execute(&app.pool)
        .await
        .unwrap();
    }
    sqlx::query("create table next_release_things (id bigint primary key)")
        .execute(&app.pool)
        .await
        .unwrap();

    let number: i64 = sqlx::query_scalar(
        "select number from articles where status = 'published' order by number limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    for path in [
        "/".to_string(),
        format!("/articles/{number}"),
        "/channels/dianwang".to_string(),
        "/search?q=%E7%94%B5%E7%BD%91".to_string(),
        "/feed.xml".to_string(),
        "/sitemap.xml".to_string(),
    ] {
        assert_eq!(app.get(&path).await.status().as_u16(), 200, "{path}");
    }

    // A reader's comment, with the captcha the page gives.
    let (_, page) = app.page(&format!("/articles/{number}")).await;
    let captcha = crate::helpers::attrs(&page, "#comment-form input[name=captcha_id]", "value");
    let csrf = crate::helpers::attrs(&page, "#comment-form input[name=csrf_token]", "value");
    let response = app
        .client
        .post(app.url(&format!("/articles/{number}/comments")))
        .form(&[
            ("csrf_token", csrf[0].as_str()),
            ("captcha_id", captcha[0].as_str()),
            ("captcha_answer", "TEST"),
            ("anonymous", "on"),
            ("body", "升级期间的评论"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303, "the comment is taken");

    // Staff: the queue, a new story written and submitted, its review.
    app.login_as("upgrade-chief", "chief_editor").await;
    for path in [
        "/admin",
        "/admin/articles",
        "/admin/comments",
        "/admin/stats",
    ] {
        assert_eq!(app.get(path).await.status().as_u16(), 200, "{path}");
    }
    let channel: uuid::Uuid = sqlx::query_scalar("select id from channels where slug = 'dianwang'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let unit: uuid::Uuid = sqlx::query_scalar("select id from units where parent_id is null")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (channel, unit) = (channel.to_string(), unit.to_string());
    let response = app
        .post(
            "/admin/articles/new",
            &[
                ("title", "升级期间写的稿件"),
                ("kicker", ""),
                ("body", "<p>正文</p>"),
                ("channel_id", &channel),
                ("unit_id", &unit),
                ("author_byline", "本报记者 张三"),
                ("correspondents", ""),
                ("source", ""),
                ("tags", "升级"),
                ("action", "submit"),
            ],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303, "the story is saved");
    let id = crate::helpers::location(&response);
    let id = id
        .trim_start_matches("/admin/articles/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        app.get(&format!("/admin/articles/{id}"))
            .await
            .status()
            .as_u16(),
        200
    );
    let saved: i64 =
        sqlx::query_scalar("select count(*) from articles where title = '升级期间写的稿件'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(saved, 1);
}
