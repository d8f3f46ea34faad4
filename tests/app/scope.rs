//! Unit scope as an editor of one unit would try to walk out of it: ids of
//! another unit's comments, photos and units swapped into requests.

use crate::helpers::{TestApp, execute, location, spawn_app, texts};

/// Two sibling units under the root, `东区` and `西区`, a story published
/// in each (in a channel without pre-moderation) and one pending comment
/// on each. Returns the ids of the comments (east, west) and the west
/// unit's id.
async fn two_units(app: &TestApp) -> (String, String, String) {
    app.ensure_root_unit().await;
    execute!(
        app,
        "insert into units (name, parent_id) select n, (select id from units where parent_id is null)
         from unnest(array['东区', '西区']) n"
    );
    execute!(
        app,
        "insert into channels (name, slug, review_stages) values ('要闻', 'yaowen', '{editor}')"
    );
    app.create_staff("writer_any", "correspondent").await;
    for (unit, title) in [("东区", "东区的稿件"), ("西区", "西区的稿件")] {
        execute!(
            app,
            "insert into articles (title, channel_id, unit_id, created_by, status, published_at)
             values ($1, (select id from channels where slug = 'yaowen'),
                     (select id from units where name = $2),
                     (select id from users where username = 'writer_any'), 'published', now())",
            title,
            unit
        );
        execute!(
            app,
            "insert into comments (article_id, author_name, anonymous, body, status, client_hash, body_hash)
             select id, '匿名网友', true, $2, 'pending', '\\x00', '\\x00' from articles where title = $1",
            title,
            format!("{unit}的评论")
        );
    }
    let comment = |body: &'static str| async move {
        let id: uuid::Uuid = sqlx::query_scalar("select id from comments where body = $1")
            .bind(body)
            .fetch_one(&app.pool)
            .await
            .unwrap();
        id.to_string()
    };
    let west: uuid::Uuid = sqlx::query_scalar("select id from units where name = '西区'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    (
        comment("东区的评论").await,
        comment("西区的评论").await,
        west.to_string(),
    )
}

/// Logs `app` in as a staff member of `role` in unit `unit`.
async fn login_in_unit(app: &TestApp, username: &str, role: &str, unit: &str) {
    let password = app.create_staff(username, role).await;
    execute!(
        app,
        "update users set unit_id = (select id from units where name = $2) where username = $1",
        username,
        unit
    );
    assert_eq!(app.login(username, &password).await.status().as_u16(), 303);
}

async fn status_of(app: &TestApp, comment: &str) -> String {
    sqlx::query_scalar("select status from comments where id = $1::uuid")
        .bind(comment)
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

#[tokio::test]
async fn an_editor_moderates_only_the_comments_of_their_units() {
    let app = spawn_app().await;
    let (east, west, _) = two_units(&app).await;
    login_in_unit(&app, "east_editor", "editor", "东区").await;

    let (status, html) = app.page("/admin/comments").await;
    assert_eq!(status, 200);
    let listed = texts(&html, ".comment-body").join("|");
    assert!(listed.contains("东区的评论"), "{listed}");
    assert!(
        !listed.contains("西区的评论"),
        "another unit's comment is listed"
    );

    // Both ids in one request: only the editor's own unit's comment moves.
    let response = app
        .post(
            "/admin/comments",
            &[("action", "approve"), ("ids", &east), ("ids", &west)],
        )
        .await;
    assert_eq!(response.status().as_u16(), 303);
    assert!(
        location(&response).contains("approve%3A1"),
        "{}",
        location(&response)
    );
    assert_eq!(status_of(&app, &east).await, "approved");
    assert_eq!(status_of(&app, &west).await, "pending");

    // A chief editor moderates everywhere.
    let chief = app.other_client();
    login_in_unit(&chief, "chief_west", "chief_editor", "东区").await;
    let response = chief
        .post("/admin/comments", &[("action", "reject"), ("ids", &west)])
        .await;
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(status_of(&app, &west).await, "rejected");
}

#[tokio::test]
async fn a_story_is_filed_only_into_the_writers_units() {
    let app = spawn_app().await;
    let (_, _, west) = two_units(&app).await;
    login_in_unit(&app, "east_writer", "correspondent", "东区").await;
    let channel: uuid::Uuid = sqlx::query_scalar("select id from channels where slug = 'yaowen'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let channel = channel.to_string();
    let (status, html) = app
        .post_page(
            "/admin/articles/new",
            &[
                ("title", "归错单位的稿件"),
                ("body", "<p>正文</p>"),
                ("channel_id", &channel),
                ("unit_id", &west),
                ("action", "save"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["只能把稿件归入本单位或下属单位。"]
    );
    let kept = crate::helpers::attrs(&html, "input[name=title]", "value");
    assert_eq!(kept, ["归错单位的稿件"], "the form keeps what was typed");
    let written: i64 =
        sqlx::query_scalar("select count(*) from articles where title = '归错单位的稿件'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(written, 0);
}

#[tokio::test]
async fn an_editor_captions_only_photos_of_their_units() {
    let app = spawn_app().await;
    two_units(&app).await;
    for (name, unit) in [("east_photographer", "东区"), ("west_photographer", "西区")] {
        app.create_staff(name, "correspondent").await;
        execute!(
            app,
            "insert into media (uploaded_by, unit_id, caption, mime, original_ext, derived_ext, width, height, bytes)
             values ((select id from users where username = $1), (select id from units where name = $2),
                     '原说明', 'image/jpeg', 'jpg', 'jpg', 10, 10, 100)",
            name,
            unit
        );
    }
    let photo = |name: &'static str| {
        let pool = app.pool.clone();
        async move {
            let id: uuid::Uuid = sqlx::query_scalar(
                "select m.id from media m join users u on u.id = m.uploaded_by where u.username = $1",
            )
            .bind(name)
            .fetch_one(&pool)
            .await
            .unwrap();
            id
        }
    };
    let (east, west) = (
        photo("east_photographer").await,
        photo("west_photographer").await,
    );
    login_in_unit(&app, "east_editor", "editor", "东区").await;
    let caption = |id: uuid::Uuid| {
        let app = &app;
        async move {
            app.post(
                &format!("/admin/media/{id}"),
                &[("caption", "编辑改过的说明"), ("alt", "")],
            )
            .await
            .status()
            .as_u16()
        }
    };
    assert_eq!(caption(west).await, 403, "another unit's photo");
    assert_eq!(caption(east).await, 303, "a photo of the editor's unit");
    let captions: Vec<(uuid::Uuid, String)> =
        sqlx::query_as("select id, caption from media order by caption")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert!(captions.contains(&(west, "原说明".to_string())));
    assert!(captions.contains(&(east, "编辑改过的说明".to_string())));
}
