//! The channel tree's admin pages.

use crate::helpers::{TestApp, attrs, location, spawn_app, texts};

async fn channel_id(app: &TestApp, slug: &str) -> String {
    let id: uuid::Uuid = sqlx::query_scalar("select id from channels where slug = $1")
        .bind(slug)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    id.to_string()
}

#[tokio::test]
async fn channels_are_created_with_their_review_stages() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    app.login_as("boss", "admin").await;
    let dianwang = channel_id(&app, "dianwang").await;

    let response = app
        .post(
            "/admin/channels",
            &[
                ("name", "安全生产"),
                ("slug", "anquan"),
                ("parent_id", &dianwang),
                ("sort_order", "5"),
                ("stage1", "editor"),
                ("stage2", "editor"),
                ("stage3", "chief_editor"),
            ],
        )
        .await;
    assert_eq!(location(&response), "/admin/channels?done=created");
    let stages: Vec<String> =
        sqlx::query_scalar("select review_stages from channels where slug = 'anquan'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stages, ["editor", "editor", "chief_editor"]);
    let (_, html) = app.page("/admin/channels").await;
    assert!(texts(&html, "td.stages").contains(&"编辑 → 编辑 → 总编".to_string()));

    let (status, html) = app
        .post_page(
            "/admin/channels",
            &[
                ("name", "重复"),
                ("slug", "anquan"),
                ("sort_order", "0"),
                ("stage1", "editor"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(texts(&html, ".alert.error"), ["栏目标识已被其他栏目使用。"]);
    assert_eq!(
        attrs(&html, "input[name=name]", "value"),
        ["重复"],
        "the input is kept"
    );

    let (status, html) = app
        .post_page(
            "/admin/channels",
            &[
                ("name", "跳环节"),
                ("slug", "tiao"),
                ("sort_order", "0"),
                ("stage1", "editor"),
                ("stage3", "chief_editor"),
            ],
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["审核环节须依次设置，不能跳过前面的环节。"]
    );
}

#[tokio::test]
async fn a_channel_cannot_move_below_itself_and_stale_edits_are_refused() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    app.login_as("boss", "admin").await;
    let dianwang = channel_id(&app, "dianwang").await;
    let fengcai = channel_id(&app, "qiye-fengcai").await;

    let (_, form) = app.page(&format!("/admin/channels/{dianwang}/edit")).await;
    let parents = attrs(&form, "select[name=parent_id] option", "value");
    assert!(
        !parents.contains(&fengcai),
        "its own sub-channel is not offered"
    );

    let edit = |parent: &str, version: &str| {
        vec![
            ("name", "电网"),
            ("slug", "dianwang"),
            ("parent_id", parent),
            ("sort_order", "1"),
            ("stage1", "chief_editor"),
            ("stage2", ""),
            ("stage3", ""),
            ("version", version),
        ]
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect::<Vec<_>>()
    };
    let fields = edit(&fengcai, "1");
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (status, html) = app
        .post_page(&format!("/admin/channels/{dianwang}/edit"), &borrowed)
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["不能把栏目移到它自己或它的下级栏目之下。"]
    );

    let fields = edit("", "1");
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        app.post(&format!("/admin/channels/{dianwang}/edit"), &borrowed)
            .await
            .status()
            .as_u16(),
        303
    );
    let (status, _) = app
        .post_page(&format!("/admin/channels/{dianwang}/edit"), &borrowed)
        .await;
    assert_eq!(
        status, 409,
        "the same version twice: the second save is stale"
    );
    let stages: Vec<String> =
        sqlx::query_scalar("select review_stages from channels where slug = 'dianwang'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stages, ["chief_editor"]);
}

#[tokio::test]
async fn a_deactivated_channel_leaves_the_portal_and_a_used_one_cannot_be_deleted() {
    let app = spawn_app().await;
    newsdesk::seed::seed_demo(&app.pool).await.unwrap();
    app.login_as("boss", "admin").await;
    let keji = channel_id(&app, "keji").await;

    let (status, html) = app
        .post_page(&format!("/admin/channels/{keji}/delete"), &[])
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&html, ".alert.error"),
        ["栏目“科技”还有 2 篇稿件、0 个下级栏目，不能删除；可以先停用。"]
    );

    assert_eq!(
        app.post(&format!("/admin/channels/{keji}/deactivate"), &[])
            .await
            .status()
            .as_u16(),
        303
    );
    let (_, home) = app.page("/").await;
    assert!(!texts(&home, ".channel-nav a").contains(&"科技".to_string()));
    assert_eq!(app.page("/channels/keji").await.0, 404);

    assert_eq!(
        app.post(&format!("/admin/channels/{keji}/activate"), &[])
            .await
            .status()
            .as_u16(),
        303
    );
    let (_, home) = app.page("/").await;
    assert!(texts(&home, ".channel-nav a").contains(&"科技".to_string()));
    let actions: Vec<String> =
        sqlx::query_scalar("select action from audit_log where target = '科技' order by id")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(actions, ["channel.deactivate", "channel.activate"]);
}
