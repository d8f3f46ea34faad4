//! `newsdesk import wordpress` as a migrating webmaster runs it: a WXR
//! export as WordPress writes it, with an uploads folder, into a site
//! that serves the stories, their photos, comments and old addresses.

use std::path::Path;
use std::process::Command;

use crate::helpers::{TestApp, attrs, spawn_app, texts};

const BASE: &str = "https://old.example.com";

/// One post of the export.
struct Post<'a> {
    id: u32,
    title: &'a str,
    slug: &'a str,
    status: &'a str,
    post_type: &'a str,
    category: Option<&'a str>,
    tags: &'a [&'a str],
    content: &'a str,
    /// (id, parent, approved, author, content)
    comments: &'a [(u32, u32, &'a str, &'a str, &'a str)],
}

fn cdata(text: &str) -> String {
    format!("<![CDATA[{}]]>", text.replace("]]>", "]]]]><![CDATA[>"))
}

fn post_xml(post: &Post) -> String {
    let mut categories = String::new();
    if let Some(category) = post.category {
        categories.push_str(&format!(
            r#"<category domain="category" nicename="{category}">{}</category>"#,
            cdata(category)
        ));
    }
    for tag in post.tags {
        categories.push_str(&format!(
            r#"<category domain="post_tag" nicename="{tag}">{}</category>"#,
            cdata(tag)
        ));
    }
    let comments: String = post
        .comments
        .iter()
        .map(|(id, parent, approved, author, content)| {
            format!(
                "<wp:comment><wp:comment_id>{id}</wp:comment_id><wp:comment_author>{}</wp:comment_author>
                 <wp:comment_author_email><![CDATA[a@example.com]]></wp:comment_author_email>
                 <wp:comment_author_IP><![CDATA[203.0.113.9]]></wp:comment_author_IP>
                 <wp:comment_date><![CDATA[2024-03-0{id} 10:00:00]]></wp:comment_date>
                 <wp:comment_date_gmt><![CDATA[2024-03-0{id} 02:00:00]]></wp:comment_date_gmt>
                 <wp:comment_content>{}</wp:comment_content>
                 <wp:comment_approved><![CDATA[{approved}]]></wp:comment_approved>
                 <wp:comment_type><![CDATA[comment]]></wp:comment_type>
                 <wp:comment_parent>{parent}</wp:comment_parent><wp:comment_user_id>0</wp:comment_user_id></wp:comment>",
                cdata(author),
                cdata(content)
            )
        })
        .collect();
    format!(
        r#"<item>
		<title>{title}</title>
		<link>{BASE}/2024/02/{slug}/</link>
		<pubDate>Thu, 01 Feb 2024 02:00:00 +0000</pubDate>
		<dc:creator><![CDATA[lixiao]]></dc:creator>
		<guid isPermaLink="false">{BASE}/?p={id}</guid>
		<description></description>
		<content:encoded>{content}</content:encoded>
		<excerpt:encoded><![CDATA[]]></excerpt:encoded>
		<wp:post_id>{id}</wp:post_id>
		<wp:post_date><![CDATA[2024-02-01 10:00:{id:02}]]></wp:post_date>
		<wp:post_date_gmt><![CDATA[2024-02-01 02:00:{id:02}]]></wp:post_date_gmt>
		<wp:comment_status><![CDATA[open]]></wp:comment_status>
		<wp:post_name><![CDATA[{slug}]]></wp:post_name>
		<wp:status><![CDATA[{status}]]></wp:status>
		<wp:post_parent>0</wp:post_parent>
		<wp:post_type><![CDATA[{post_type}]]></wp:post_type>
		{categories}
		<wp:postmeta><wp:meta_key><![CDATA[views]]></wp:meta_key><wp:meta_value><![CDATA[{views}]]></wp:meta_value></wp:postmeta>
		{comments}
	</item>
"#,
        title = post.title.replace('&', "&amp;"),
        slug = post.slug,
        id = post.id,
        content = cdata(post.content),
        status = post.status,
        post_type = post.post_type,
        views = post.id * 10,
    )
}

/// An export as WordPress 6 writes it: authors, a category tree, tags,
/// posts in every state, a page, an attachment, comments in threads.
fn export(posts: &[Post]) -> String {
    let items: String = posts.iter().map(post_xml).collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8" ?>
<rss version="2.0"
	xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:wp="http://wordpress.org/export/1.2/"
>
<channel>
	<title>旧电网新闻</title>
	<link>{BASE}</link>
	<description>旧站</description>
	<pubDate>Fri, 01 Mar 2024 00:00:00 +0000</pubDate>
	<language>zh-CN</language>
	<wp:wxr_version>1.2</wp:wxr_version>
	<wp:base_site_url>{BASE}</wp:base_site_url>
	<wp:base_blog_url>{BASE}</wp:base_blog_url>
	<wp:author><wp:author_id>2</wp:author_id><wp:author_login><![CDATA[lixiao]]></wp:author_login><wp:author_email><![CDATA[li@example.com]]></wp:author_email><wp:author_display_name><![CDATA[李晓]]></wp:author_display_name><wp:author_first_name><![CDATA[]]></wp:author_first_name><wp:author_last_name><![CDATA[]]></wp:author_last_name></wp:author>
	<wp:category><wp:term_id>3</wp:term_id><wp:category_nicename><![CDATA[news]]></wp:category_nicename><wp:category_parent><![CDATA[]]></wp:category_parent><wp:cat_name><![CDATA[新闻]]></wp:cat_name></wp:category>
	<wp:category><wp:term_id>5</wp:term_id><wp:category_nicename><![CDATA[grid-news]]></wp:category_nicename><wp:category_parent><![CDATA[news]]></wp:category_parent><wp:cat_name><![CDATA[电网动态]]></wp:cat_name></wp:category>
	<wp:category><wp:term_id>7</wp:term_id><wp:category_nicename><![CDATA[%e5%85%9a%e5%bb%ba]]></wp:category_nicename><wp:category_parent><![CDATA[]]></wp:category_parent><wp:cat_name><![CDATA[党建 &amp; 工会]]></wp:cat_name></wp:category>
	<wp:tag><wp:term_id>9</wp:term_id><wp:tag_slug><![CDATA[uhv]]></wp:tag_slug><wp:tag_name><![CDATA[特高压]]></wp:tag_name></wp:tag>
	<generator>https://wordpress.org/?v=6.4.3</generator>
{items}</channel>
</rss>
"#
    )
}

fn jpeg(path: &Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let image = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
    image.save(path).unwrap();
}

/// Runs `newsdesk import wordpress` on the app's database and data folder.
fn run_import(app: &TestApp, export: &Path, uploads: &Path, extra: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .env("DATABASE_URL", app.database.url())
        .env("NEWSDESK_DATA_DIR", app.data_dir.path())
        .env("NEWSDESK_LOG", "warn")
        .arg("import")
        .arg("wordpress")
        .arg(export)
        .arg("--uploads")
        .arg(uploads)
        .args(extra)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    said
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

#[tokio::test]
async fn a_wordpress_export_comes_in_whole_once_and_its_old_addresses_lead_to_it() {
    let app = spawn_app().await;
    app.login_as("boss", "admin").await;
    let dir = tempfile::tempdir().unwrap();
    let uploads = dir.path().join("uploads");
    jpeg(&uploads.join("2024/02/tower.jpg"));
    let body = format!(
        "本报讯 国网山东电力特高压工程全线贯通。\n第二行\n\n[caption id=\"attachment_40\" align=\"aligncenter\" width=\"300\"]<img class=\"size-medium\" src=\"{BASE}/wp-content/uploads/2024/02/tower-300x225.jpg\" alt=\"\" width=\"300\" height=\"225\" /> 铁塔上的巡检人员 &amp; 无人机[/caption]\n\n<img src=\"{BASE}/wp-content/uploads/2024/02/missing.jpg\" />最后一段。<script>alert(1)</script>\n\n[gallery ids=\"1,2\"]"
    );
    let long_title = "超长标题".repeat(25);
    let posts = [
        Post {
            id: 11,
            title: "特高压工程全线贯通 & 投运",
            slug: "uhv-line",
            status: "publish",
            post_type: "post",
            category: Some("grid-news"),
            tags: &["特高压", "山东"],
            content: &body,
            comments: &[
                (1, 0, "1", "读者甲", "为电网人点赞"),
                (2, 1, "1", "读者乙", "同感"),
                (3, 2, "1", "读者丙", "回复的回复"),
                (4, 0, "0", "读者丁", "待审的评论"),
                (5, 0, "spam", "广告", "买买买"),
            ],
        },
        Post {
            id: 12,
            title: "党建工作会议召开",
            slug: "party",
            status: "publish",
            post_type: "post",
            category: Some("%e5%85%9a%e5%bb%ba"),
            tags: &[],
            content: "<p>会议要求。</p>",
            comments: &[],
        },
        Post {
            id: 13,
            title: "还在写的稿件",
            slug: "draft",
            status: "draft",
            post_type: "post",
            category: Some("news"),
            tags: &[],
            content: "草稿正文",
            comments: &[],
        },
        Post {
            id: 14,
            title: "待审的稿件",
            slug: "pending",
            status: "pending",
            post_type: "post",
            category: Some("news"),
            tags: &[],
            content: "待审正文",
            comments: &[],
        },
        Post {
            id: 15,
            title: "已删除的稿件",
            slug: "trashed",
            status: "trash",
            post_type: "post",
            category: Some("news"),
            tags: &[],
            content: "x",
            comments: &[],
        },
        Post {
            id: 16,
            title: "关于我们",
            slug: "about",
            status: "publish",
            post_type: "page",
            category: None,
            tags: &[],
            content: "页面",
            comments: &[],
        },
        Post {
            id: 17,
            title: &long_title,
            slug: "long",
            status: "publish",
            post_type: "post",
            category: None,
            tags: &[],
            content: "长标题的正文",
            comments: &[],
        },
        Post {
            id: 40,
            title: "tower",
            slug: "tower",
            status: "inherit",
            post_type: "attachment",
            category: None,
            tags: &[],
            content: "",
            comments: &[],
        },
    ];
    let file = dir.path().join("export.xml");
    std::fs::write(&file, export(&posts)).unwrap();

    // A dry run says what would come and writes nothing.
    let said = run_import(&app, &file, &uploads, &["--dry-run"]);
    assert!(said.contains("试运行，未写入任何内容。"), "{said}");
    assert!(said.contains("稿件：将导入 5，已存在 0，跳过 2"), "{said}");
    assert!(said.contains("评论：将导入 4"), "{said}");
    assert!(said.contains("标题超过 80 字，已截断"), "{said}");
    assert_eq!(count(&app, "select count(*) from articles").await, 0);
    assert_eq!(count(&app, "select count(*) from channels").await, 0);
    assert_eq!(count(&app, "select count(*) from import_map").await, 0);

    let said = run_import(&app, &file, &uploads, &[]);
    assert!(
        said.contains("稿件：导入 5，已存在（未改动） 0，跳过 2"),
        "{said}"
    );
    assert!(said.contains("图片：导入 1"), "{said}");
    assert!(said.contains("page 类型的内容（页面等）不导入"), "{said}");
    assert!(
        said.contains("正文中的图片未在 --uploads 中找到，已去掉：1 次"),
        "{said}"
    );

    // The category tree, with a slug made for the one that has none here.
    let tree: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "select c.name, c.slug, p.slug from channels c left join channels p on p.id = c.parent_id
         order by c.name",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(tree.contains(&("电网动态".into(), "grid-news".into(), Some("news".into()))));
    assert!(tree.contains(&("新闻".into(), "news".into(), None)));
    assert!(
        tree.iter()
            .any(|(name, slug, _)| name == "党建 & 工会" && slug == "import-7")
    );
    assert!(tree.iter().any(|(name, _, _)| name == "未分类"));

    let (number, status, views): (i64, String, i64) = sqlx::query_as(
        "select a.number, a.status, coalesce(t.views, 0) from articles a
         left join article_totals t on t.article_id = a.id where a.title = '特高压工程全线贯通 & 投运'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), views), ("published", 110));
    let drafts: Vec<String> =
        sqlx::query_scalar("select title from articles where status = 'draft' order by title")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(drafts, ["待审的稿件", "还在写的稿件"]);
    let long: String = sqlx::query_scalar("select title from articles where title like '超长%'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(long.chars().count(), 80);

    // The story's page: its time, byline, tags, the caption as a photo
    // from the media library, the sanitised body, the threaded comments.
    let (status, page) = app.page(&format!("/articles/{number}")).await;
    assert_eq!(status, 200);
    assert_eq!(texts(&page, "h1.title"), ["特高压工程全线贯通 & 投运"]);
    let html = page.html();
    assert!(html.contains("2024-02-01"), "published on its old date");
    assert!(html.contains("李晓"));
    assert!(!html.contains("alert(1)") && !html.contains("[gallery"));
    assert!(
        !html.contains("missing.jpg"),
        "an image not exported is left out"
    );
    let photo = attrs(&page, ".article-body figure img", "src");
    assert_eq!(photo.len(), 1, "{html}");
    assert!(photo[0].starts_with("/media/"), "{photo:?}");
    assert_eq!(app.get(&photo[0]).await.status(), 200);
    assert_eq!(
        texts(&page, ".article-body figcaption"),
        ["铁塔上的巡检人员 & 无人机"]
    );
    assert!(
        texts(&page, ".article-body p")
            .iter()
            .any(|p| p.contains("第二行"))
    );
    let tags = texts(&page, ".tags a.tag");
    assert!(tags.contains(&"特高压".to_string()) && tags.contains(&"山东".to_string()));
    let comments: Vec<(String, String, bool)> = sqlx::query_as(
        "select c.body, c.status, c.parent_id is not null from comments c order by c.created_at",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        comments,
        [
            ("为电网人点赞".into(), "approved".into(), false),
            ("同感".into(), "approved".into(), true),
            ("回复的回复".into(), "approved".into(), true),
            ("待审的评论".into(), "pending".into(), false),
        ]
    );
    let shown = texts(&page, ".comments").join("");
    assert!(shown.contains("同感") && !shown.contains("待审的评论"));

    // Found by search, counted in the statistics, listed by the API.
    let (_, found) = app.page("/search?q=特高压").await;
    assert!(
        texts(&found, ".search-results .story-title a")
            .contains(&"特高压工程全线贯通 & 投运".to_string())
    );
    let published_days = count(
        &app,
        "select coalesce(sum(published), 0)::bigint from stats_days where day = '2024-02-01'",
    )
    .await;
    assert_eq!(published_days, 3);
    let listed: serde_json::Value = app
        .get("/api/v1/stories?channel=news")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1);

    // The old addresses: permalink, ?p=, the category page.
    for old in [
        "/2024/02/uhv-line/".to_string(),
        "/2024/02/uhv-line".to_string(),
        "/?p=11".to_string(),
    ] {
        let moved = app.get(&old).await;
        assert_eq!(moved.status(), 301, "{old}");
        assert_eq!(
            moved.headers()["location"],
            format!("/articles/{number}").as_str()
        );
    }
    let moved = app.get("/category/news/grid-news/").await;
    assert_eq!(moved.status(), 404, "only what the export named");
    let moved = app.get("/category/grid-news/").await;
    assert_eq!(moved.status(), 301);
    assert_eq!(moved.headers()["location"], "/channels/grid-news");
    assert_eq!(
        app.get("/?p=13").await.status(),
        200,
        "drafts have no page to lead to"
    );
    assert_eq!(app.get("/2024/02/no-such/").await.status(), 404);
    let refused = app
        .client
        .post(app.url("/2024/02/uhv-line/"))
        .send()
        .await
        .unwrap();
    assert_ne!(refused.status(), 301, "only reads are redirected");

    // A second run changes nothing.
    let before: (i64, i64, i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from articles), (select count(*) from comments),
                (select count(*) from media), (select count(*) from channels),
                (select count(*) from legacy_redirects)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let said = run_import(&app, &file, &uploads, &[]);
    assert!(said.contains("稿件：导入 0，已存在（未改动） 5"), "{said}");
    assert!(said.contains("评论：导入 0，已存在（未改动） 4"), "{said}");
    let after: (i64, i64, i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from articles), (select count(*) from comments),
                (select count(*) from media), (select count(*) from channels),
                (select count(*) from legacy_redirects)",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(before, after);
    // The import queued no webhooks and wrote its events as imports.
    assert_eq!(count(&app, "select count(*) from webhook_events").await, 0);
    assert_eq!(
        count(
            &app,
            "select count(*) from review_events where action = 'import'"
        )
        .await,
        3
    );
}

#[tokio::test]
async fn an_interrupted_import_resumes_and_a_broken_export_is_refused() {
    let app = spawn_app().await;
    app.login_as("boss", "admin").await;
    let dir = tempfile::tempdir().unwrap();
    let uploads = dir.path().join("uploads");
    std::fs::create_dir_all(&uploads).unwrap();
    let titles: Vec<String> = (1..=30).map(|n| format!("第 {n} 篇稿件")).collect();
    let posts: Vec<Post> = titles
        .iter()
        .enumerate()
        .map(|(n, title)| Post {
            id: 100 + n as u32,
            title,
            slug: "s",
            status: "publish",
            post_type: "post",
            category: Some("news"),
            tags: &[],
            content: "正文",
            comments: &[],
        })
        .collect();
    let whole = export(&posts);
    // The export cut off in the middle of a post, as a full disk or a
    // stopped download leaves it.
    let cut_at = whole.find("第 21 篇稿件").unwrap();
    let broken = dir.path().join("broken.xml");
    std::fs::write(&broken, &whole[..cut_at]).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .env("DATABASE_URL", app.database.url())
        .env("NEWSDESK_DATA_DIR", app.data_dir.path())
        .env("NEWSDESK_LOG", "warn")
        .args(["import", "wordpress"])
        .arg(&broken)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("导出文件"), "{said}");
    let first = count(&app, "select count(*) from articles").await;
    assert!(first <= 20, "{first}");

    let file = dir.path().join("export.xml");
    std::fs::write(&file, &whole).unwrap();
    let said = run_import(&app, &file, &uploads, &[]);
    assert!(
        said.contains(&format!(
            "稿件：导入 {}，已存在（未改动） {first}",
            30 - first
        )),
        "{said}"
    );
    assert_eq!(count(&app, "select count(*) from articles").await, 30);
    let distinct = count(&app, "select count(distinct title) from articles").await;
    assert_eq!(distinct, 30);

    let missing = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .env("DATABASE_URL", app.database.url())
        .env("NEWSDESK_DATA_DIR", app.data_dir.path())
        .args(["import", "wordpress", "/no/such/export.xml"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("打不开导出文件"));
}

#[tokio::test]
async fn authors_get_staff_accounts_only_when_asked_and_keep_their_drafts() {
    let app = spawn_app().await;
    app.login_as("boss", "admin").await;
    let dir = tempfile::tempdir().unwrap();
    let uploads = dir.path().join("uploads");
    std::fs::create_dir_all(&uploads).unwrap();
    let posts = [
        Post {
            id: 1,
            title: "李晓写的稿件",
            slug: "a",
            status: "publish",
            post_type: "post",
            category: Some("news"),
            tags: &[],
            content: "正文",
            comments: &[],
        },
        Post {
            id: 2,
            title: "李晓的草稿",
            slug: "b",
            status: "draft",
            post_type: "post",
            category: Some("news"),
            tags: &[],
            content: "草稿",
            comments: &[],
        },
    ];
    let file = dir.path().join("export.xml");
    std::fs::write(&file, export(&posts)).unwrap();
    let said = run_import(&app, &file, &uploads, &["--dry-run", "--staff-accounts"]);
    assert!(said.contains("作者账号：将导入 1"), "{said}");
    assert_eq!(
        count(&app, "select count(*) from users where username = 'lixiao'").await,
        0
    );
    let said = run_import(&app, &file, &uploads, &["--staff-accounts"]);
    assert!(said.contains("作者账号：导入 1"), "{said}");
    let (role, name, must_change): (String, String, bool) = sqlx::query_as(
        "select role, display_name, must_change_password from users where username = 'lixiao'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        (role.as_str(), name.as_str(), must_change),
        ("correspondent", "李晓", true)
    );
    let owners: Vec<(String, String)> = sqlx::query_as(
        "select a.title, u.username from articles a join users u on u.id = a.created_by order by a.title",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert_eq!(
        owners,
        [
            ("李晓写的稿件".into(), "lixiao".into()),
            ("李晓的草稿".into(), "lixiao".into())
        ]
    );
    let linked = count(
        &app,
        "select count(*) from article_authors aa join authors au on au.id = aa.author_id
         join users u on u.id = au.user_id where u.username = 'lixiao'",
    )
    .await;
    assert_eq!(linked, 2, "the bylines lead to the account");
    // Nobody can log in as the new account before an admin sets a password.
    let stranger = app.other_client();
    for guess in ["", "lixiao", "password"] {
        let response = stranger.login("lixiao", guess).await;
        assert_ne!(response.status(), 303, "{guess}");
    }
    assert_eq!(
        count(
            &app,
            "select count(*) from audit_log where action = 'user.create' and target = 'lixiao'"
        )
        .await,
        1
    );
}

#[tokio::test]
async fn an_old_address_never_leads_off_the_site_and_an_export_cannot_read_files() {
    let app = spawn_app().await;
    app.login_as("boss", "admin").await;
    for target in [
        "//evil.example/x",
        "/\\evil.example",
        "https://evil.example/",
    ] {
        let refused = sqlx::query(
            "insert into legacy_redirects (from_key, to_path, source) values ('/old', $1, 'x')",
        )
        .bind(target)
        .execute(&app.pool)
        .await;
        assert!(refused.is_err(), "{target}");
    }
    // An export naming a local file as an entity gets the entity's name
    // as text, never the file.
    let dir = tempfile::tempdir().unwrap();
    let uploads = dir.path().join("uploads");
    std::fs::create_dir_all(&uploads).unwrap();
    let secret = dir.path().join("secret.txt");
    std::fs::write(&secret, "TOP-SECRET-CONTENT").unwrap();
    let posts = [Post {
        id: 1,
        title: "实体&amp;稿件",
        slug: "x",
        status: "publish",
        post_type: "post",
        category: Some("news"),
        tags: &[],
        content: "正文",
        comments: &[],
    }];
    let xml = export(&posts)
        .replacen(
            "<rss ",
            &format!(
                "<!DOCTYPE rss [<!ENTITY xxe SYSTEM \"file://{}\">]>\n<rss ",
                secret.display()
            ),
            1,
        )
        .replace(
            "<title>实体&amp;amp;稿件</title>",
            "<title>实体&xxe;稿件</title>",
        );
    assert!(xml.contains("&xxe;"));
    let file = dir.path().join("export.xml");
    std::fs::write(&file, xml).unwrap();
    run_import(&app, &file, &uploads, &[]);
    let title: String = sqlx::query_scalar("select title from articles")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(title, "实体&xxe;稿件");
    assert_eq!(
        count(
            &app,
            "select count(*) from articles where body_html like '%TOP-SECRET%'"
        )
        .await,
        0
    );
}

#[tokio::test]
async fn a_post_twice_in_one_export_comes_in_once() {
    let app = spawn_app().await;
    app.login_as("boss", "admin").await;
    let dir = tempfile::tempdir().unwrap();
    let uploads = dir.path().join("uploads");
    std::fs::create_dir_all(&uploads).unwrap();
    let post = |title| Post {
        id: 7,
        title,
        slug: "twice",
        status: "publish",
        post_type: "post",
        category: Some("news"),
        tags: &[],
        content: "正文",
        comments: &[(1, 0, "1", "读者", "好")],
    };
    let file = dir.path().join("export.xml");
    std::fs::write(&file, export(&[post("第一次"), post("第二次")])).unwrap();
    let said = run_import(&app, &file, &uploads, &[]);
    assert!(said.contains("稿件：导入 1，已存在（未改动） 1"), "{said}");
    assert_eq!(count(&app, "select count(*) from articles").await, 1);
    assert_eq!(count(&app, "select count(*) from comments").await, 1);
}
