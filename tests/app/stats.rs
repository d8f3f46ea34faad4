//! Contribution statistics against a hand-built newsroom.

use crate::helpers::{TestApp, spawn_app, texts};

async fn exec(app: &TestApp, sql: &str) {
    sqlx::raw_sql(sql).execute(&app.pool).await.unwrap();
}

/// Units 总部 > 甲公司 > 甲一所, 总部 > 乙公司; three stories with events
/// around the start of November 2026 in Asia/Shanghai.
async fn newsroom(app: &TestApp) {
    app.ensure_root_unit().await;
    for name in ["wa", "wa1", "wb"] {
        app.create_staff(name, "correspondent").await;
    }
    exec(
        app,
        "insert into units (name, parent_id, sort_order) select '甲公司', id, 1 from units where parent_id is null;
         insert into units (name, parent_id, sort_order) select '乙公司', id, 2 from units where parent_id is null;
         insert into units (name, parent_id) select '甲一所', id from units where name = '甲公司';
         update users set unit_id = (select id from units where name = '甲公司') where username = 'wa';
         update users set unit_id = (select id from units where name = '甲一所') where username = 'wa1';
         update users set unit_id = (select id from units where name = '乙公司') where username = 'wb';
         insert into channels (name, slug) values ('要闻', 'yaowen');
         insert into articles (title, channel_id, unit_id, created_by, status, published_at, is_headline)
         select t.title, (select id from channels where slug = 'yaowen'), u.unit_id, u.id, t.status,
                t.published_at::timestamptz, t.headline
         from (values ('一号稿', 'wa1', 'published', '2026-11-02T02:00:00Z', true),
                      ('二号稿', 'wa', 'submitted', null, false),
                      ('三号稿', 'wb', 'rejected', null, false)) as t(title, writer, status, published_at, headline)
         join users u on u.username = t.writer;
         insert into review_events (article_id, actor_name, action, from_status, to_status, stage, at)
         select a.id, 'x', e.action, '', e.to_status,
                case when e.action in ('pass', 'return', 'reject') then 0 end, e.at::timestamptz
         from (values ('一号稿', 'submit', 'submitted', '2026-10-31T16:30:00Z'),
                      ('一号稿', 'pass', 'published', '2026-11-02T02:00:00Z'),
                      ('二号稿', 'submit', 'submitted', '2026-10-31T15:30:00Z'),
                      ('二号稿', 'return', 'returned', '2026-11-01T01:00:00Z'),
                      ('二号稿', 'submit', 'submitted', '2026-11-03T01:00:00Z'),
                      ('三号稿', 'submit', 'submitted', '2026-11-10T01:00:00Z'),
                      ('三号稿', 'reject', 'rejected', '2026-11-11T01:00:00Z')) as e(title, action, to_status, at)
         join articles a on a.title = e.title;
         insert into article_views (article_id, day, views)
         select id, '2026-11-03', 100 from articles where title = '一号稿';
         insert into article_views (article_id, day, views)
         select id, '2026-10-20', 7 from articles where title = '一号稿';
         insert into comments (article_id, author_name, anonymous, body, status, client_hash, body_hash, created_at)
         select a.id, '匿名网友', true, c.body, c.status, '\\x00', '\\x00', '2026-11-05T03:00:00Z'
         from articles a, (values ('好', 'approved'), ('很好', 'approved'), ('待审', 'pending')) as c(body, status)
         where a.title = '一号稿';",
    )
    .await;
}

fn table(html: &scraper::Html) -> Vec<Vec<String>> {
    let rows = scraper::Selector::parse("table.stats tbody tr, table.stats tfoot tr").unwrap();
    let cells = scraper::Selector::parse("td, th").unwrap();
    html.select(&rows)
        .map(|row| {
            row.select(&cells)
                .map(|cell| cell.text().collect::<String>().trim().to_owned())
                .collect()
        })
        .collect()
}

fn line(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

#[tokio::test]
async fn figures_roll_up_the_unit_tree_within_the_site_time_zone() {
    let app = spawn_app().await;
    newsroom(&app).await;
    app.login_as("zongbian", "chief_editor").await;

    let (status, november) = app.page("/admin/stats?period=month&from=2026-11-15").await;
    assert_eq!(status, 200);
    assert_eq!(
        table(&november),
        [
            line(&["总部", "0", "0", "0", "0", "0", "0", "0"]),
            line(&["甲公司", "1", "1", "1", "0", "1", "100", "2"]),
            line(&["乙公司", "1", "0", "0", "1", "0", "0", "0"]),
            line(&["合计", "2", "1", "1", "1", "1", "100", "2"]),
        ],
        "甲公司 includes 甲一所; 一号稿 was submitted at 00:30 on 1 November in Shanghai; \
         二号稿 was first submitted in October, and its resubmission is the same story"
    );

    // Workflow health: 33.5 h from submission to publication; the first
    // stage decided after 33.5, 9.5 and 24 hours; one story waits there now.
    assert_eq!(
        texts(&november, ".health .to-publication td"),
        ["从投稿到发布", "1", "33.5", "33.5"]
    );
    assert_eq!(
        texts(&november, ".health .stage td"),
        ["第 1 审等待", "3", "24.0", "31.6"]
    );
    assert_eq!(texts(&november, ".backlog span"), ["第 1 审 1 篇"]);

    let svg = app
        .get("/admin/stats.svg?period=month&from=2026-11-15")
        .await
        .text()
        .await
        .unwrap();
    let chart = roxmltree::Document::parse(&svg).expect("the chart is well-formed XML");
    let bars: Vec<(String, String)> = chart
        .descendants()
        .filter(|node| node.has_tag_name("rect") && node.attribute("class") == Some("bar"))
        .map(|bar| {
            let label = bar
                .children()
                .find(|child| child.has_tag_name("title"))
                .and_then(|title| title.text())
                .unwrap_or_default()
                .to_owned();
            (label, bar.attribute("width").unwrap_or_default().to_owned())
        })
        .collect();
    assert_eq!(
        bars,
        [
            ("甲公司：1".to_string(), "400".to_string()),
            ("乙公司：0".to_string(), "0".to_string()),
            ("总部：0".to_string(), "0".to_string()),
        ],
        "one bar per unit, ranked by published stories"
    );

    let (_, october) = app.page("/admin/stats?period=month&from=2026-10-01").await;
    assert_eq!(
        table(&october).last().unwrap(),
        &line(&["合计", "1", "0", "0", "0", "0", "7", "0"]),
        "二号稿's first submission was 23:30 on 31 October in Shanghai"
    );

    let jia: String = sqlx::query_scalar("select id::text from units where name = '甲公司'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let (_, drilled) = app
        .page(&format!(
            "/admin/stats?period=month&from=2026-11-15&unit={jia}"
        ))
        .await;
    assert_eq!(
        table(&drilled),
        [
            line(&["甲公司", "0", "0", "1", "0", "0", "0", "0"]),
            line(&["甲一所", "1", "1", "0", "0", "1", "100", "2"]),
            line(&["合计", "1", "1", "1", "0", "1", "100", "2"]),
        ]
    );

    let (_, writers) = app
        .page("/admin/stats?period=month&from=2026-11-15&view=writers&sort=views")
        .await;
    let names: Vec<String> = table(&writers).iter().map(|row| row[0].clone()).collect();
    assert_eq!(
        names,
        ["wa1的姓名", "wa的姓名", "wb的姓名", "合计"],
        "sorted by readings"
    );

    let (_, quarter) = app
        .page("/admin/stats?period=quarter&from=2026-11-15")
        .await;
    assert_eq!(
        table(&quarter).last().unwrap(),
        &line(&["合计", "3", "1", "1", "1", "1", "107", "2"]),
        "a story submitted twice in the quarter counts once"
    );
    let (status, bad) = app
        .page("/admin/stats?period=range&from=2026-11-30&to=2026-11-01")
        .await;
    assert_eq!(status, 422);
    assert_eq!(
        texts(&bad, ".alert.error"),
        ["日期格式应为 年-月-日，且截止日期不早于起始日期。"]
    );
}

#[tokio::test]
async fn editors_see_their_own_units_only_and_tables_download_as_csv() {
    let app = spawn_app().await;
    newsroom(&app).await;
    app.create_staff("bianji", "editor").await;
    sqlx::query("update users set unit_id = (select id from units where name = '乙公司') where username = 'bianji'")
        .execute(&app.pool)
        .await
        .unwrap();
    app.login("bianji", "bianji-Tq7-lamp-horse").await;
    let (status, own) = app.page("/admin/stats?period=month&from=2026-11-15").await;
    assert_eq!(status, 200);
    assert_eq!(
        table(&own).last().unwrap(),
        &line(&["合计", "1", "0", "0", "1", "0", "0", "0"])
    );
    let jia: String = sqlx::query_scalar("select id::text from units where name = '甲公司'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    let response = app
        .get(&format!(
            "/admin/stats?period=month&from=2026-11-15&unit={jia}"
        ))
        .await;
    assert_eq!(response.status(), 403);
    let response = app
        .get(&format!(
            "/admin/stats.csv?period=month&from=2026-11-15&unit={jia}"
        ))
        .await;
    assert_eq!(response.status(), 403);

    let chief = app.other_client();
    chief.login_as("zongbian", "chief_editor").await;
    let response = chief
        .get("/admin/stats.csv?period=month&from=2026-11-15")
        .await;
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let bytes = response.bytes().await.unwrap();
    assert!(
        bytes.starts_with("\u{feff}".as_bytes()),
        "a byte-order mark"
    );
    let text = String::from_utf8(bytes.to_vec()).unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        lines[0],
        "\"单位\",\"投稿\",\"采用\",\"退回\",\"未采用\",\"头条\",\"阅读量\",\"评论\""
    );
    assert_eq!(lines[2], "\"甲公司\",1,1,1,0,1,100,2");
    assert_eq!(lines.last().unwrap(), &"\"合计\",2,1,1,1,1,100,2");

    let response = chief
        .get("/admin/stats.xlsx?period=month&from=2026-11-15")
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    let workbook = response.bytes().await.unwrap();
    assert!(workbook.starts_with(b"PK"), "a zip archive");
    let names = String::from_utf8_lossy(&workbook);
    assert!(names.contains("xl/worksheets/sheet1.xml"), "one worksheet");
    assert_eq!(chief.get("/admin/stats.pdf").await.status(), 404);

    let writer = app.other_client();
    writer.login_as("writer9", "correspondent").await;
    assert_eq!(writer.get("/admin/stats").await.status(), 403);
}

/// The totals row of November 2026's unit table.
async fn november_total(app: &TestApp) -> Vec<String> {
    let (status, page) = app.page("/admin/stats?period=month&from=2026-11-15").await;
    assert_eq!(status, 200);
    table(&page).last().unwrap().clone()
}

#[tokio::test]
async fn built_days_follow_every_change_they_depend_on() {
    let app = spawn_app().await;
    newsroom(&app).await;
    app.login_as("zongbian", "chief_editor").await;
    assert_eq!(
        november_total(&app).await,
        line(&["合计", "2", "1", "1", "1", "1", "100", "2"])
    );
    let built: i64 = sqlx::query_scalar("select count(*) from stats_built_days")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(built >= 24, "November's days up to today are built");

    // A pending comment approved, a reading added to a built day, and the
    // headline taken off: each shows on the next read.
    exec(
        &app,
        "update comments set status = 'approved' where body = '待审';
         update article_views set views = views + 5 where day = '2026-11-03';
         update articles set is_headline = false where title = '一号稿';",
    )
    .await;
    assert_eq!(
        november_total(&app).await,
        line(&["合计", "2", "1", "1", "1", "0", "105", "3"])
    );

    // A story moved to another unit moves its figures with it.
    exec(
        &app,
        "update articles set unit_id = (select id from units where name = '甲公司') where title = '三号稿'",
    )
    .await;
    let (_, units) = app.page("/admin/stats?period=month&from=2026-11-15").await;
    assert_eq!(
        table(&units)[1..3],
        [
            line(&["甲公司", "2", "1", "1", "1", "0", "105", "3"]),
            line(&["乙公司", "0", "0", "0", "0", "0", "0", "0"]),
        ]
    );

    // A change committed while a day is being rebuilt is not lost: the
    // rebuild's snapshot does not see it, so its marker stays and the day
    // is rebuilt on the next read.
    let mut pending = app.pool.begin().await.unwrap();
    sqlx::query(
        "insert into review_events (article_id, actor_name, action, from_status, to_status, stage, at)
         select id, 'x', 'reject', 'in_review', 'rejected', 0, '2026-11-03T02:00:00Z'
         from articles where title = '二号稿'",
    )
    .execute(&mut *pending)
    .await
    .unwrap();
    exec(
        &app,
        "update article_views set views = views + 1 where day = '2026-11-03'",
    )
    .await;
    assert_eq!(
        november_total(&app).await,
        line(&["合计", "2", "1", "1", "1", "0", "106", "3"]),
        "the uncommitted rejection is not counted yet"
    );
    pending.commit().await.unwrap();
    assert_eq!(
        november_total(&app).await,
        line(&["合计", "2", "1", "1", "2", "0", "106", "3"]),
        "the rejection committed during the rebuild is counted on the next read"
    );
}
