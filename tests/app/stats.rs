//! Contribution statistics against a hand-built newsroom.

use crate::helpers::{TestApp, spawn_app, texts};

async fn exec(app: &TestApp, sql: &str) {
    sqlx::raw_sql(sql).execute(&app.pool).await.unwrap();
}

/// Units 总部 > 甲公司 > 甲一所, 总部 > 乙公司; three stories with events
/// around the start of November 2026 in Asia/Shanghai. The review backlog
/// at the end of each day: 31 Oct 1 (二号稿), 1 Nov 1 (一号稿; 二号稿
/// returned), 2 Nov 0, 3 Nov to 9 Nov 1 (二号稿 again), 10 Nov 2 (三号稿),
/// from 11 Nov 1.
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
         select a.id, 'x', e.action, e.from_status, e.to_status,
                case when e.action in ('pass', 'return', 'reject') then 0 end, e.at::timestamptz
         from (values ('一号稿', 'submit', 'draft', 'submitted', '2026-10-31T16:30:00Z'),
                      ('一号稿', 'pass', 'submitted', 'published', '2026-11-02T02:00:00Z'),
                      ('二号稿', 'submit', 'draft', 'submitted', '2026-10-31T15:30:00Z'),
                      ('二号稿', 'return', 'submitted', 'returned', '2026-11-01T01:00:00Z'),
                      ('二号稿', 'submit', 'returned', 'submitted', '2026-11-03T01:00:00Z'),
                      ('三号稿', 'submit', 'draft', 'submitted', '2026-11-10T01:00:00Z'),
                      ('三号稿', 'reject', 'submitted', 'rejected', '2026-11-11T01:00:00Z'))
              as e(title, action, from_status, to_status, at)
         join articles a on a.title = e.title;
         insert into article_totals (article_id, views)
         select id, 107 from articles where title = '一号稿';
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

/// The table's name and figure columns (the yearly target's columns
/// follow them).
fn table(html: &scraper::Html) -> Vec<Vec<String>> {
    full_table(html)
        .into_iter()
        .map(|row| row.into_iter().take(8).collect())
        .collect()
}

fn full_table(html: &scraper::Html) -> Vec<Vec<String>> {
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

/// The first four cells of each row of the reviewers' loads.
fn reviewer_loads(page: &scraper::Html) -> Vec<Vec<String>> {
    let rows = scraper::Selector::parse("table.reviewers tbody tr").unwrap();
    let cells = scraper::Selector::parse("td").unwrap();
    page.select(&rows)
        .map(|row| {
            row.select(&cells)
                .take(4)
                .map(|c| c.text().collect())
                .collect()
        })
        .collect()
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
            line(&["总部（本级）", "0", "0", "0", "0", "0", "0", "0"]),
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
            ("总部（本级）：0".to_string(), "0".to_string()),
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
            line(&["甲公司（本级）", "0", "0", "1", "0", "0", "0", "0"]),
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
        ["日期格式应为 年-月-日（2000 至 2999 年），且截止日期不早于起始日期。"]
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
        texts(&own, "select[name=unit] option"),
        ["全部", "乙公司"],
        "an editor chooses among their own units"
    );
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
    for chart in ["ranking", "months", "backlog"] {
        let response = app
            .get(&format!(
                "/admin/stats.svg?period=month&from=2026-11-15&unit={jia}&chart={chart}"
            ))
            .await;
        assert_eq!(response.status(), 403, "{chart}");
    }

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
        "\"单位\",\"投稿\",\"采用\",\"退回\",\"未采用\",\"头条\",\"阅读量\",\"评论\",\
         \"年度任务\",\"本年已采用\",\"完成率（%）\",\"进度\""
    );
    assert_eq!(lines[2], "\"甲公司\",1,1,1,0,1,100,2,,1,,");
    assert_eq!(
        lines.last().unwrap(),
        &"\"合计\",2,1,1,1,1,100,2,,1,,",
        "the scope's year so far, against the scope unit's target (none set)"
    );

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

/// Every row of the statistics tables, in order.
async fn statistics_rows(app: &TestApp) -> Vec<String> {
    sqlx::query_scalar(
        "select * from (
             select concat_ws('|', 'w', day, unit_id, channel_id, writer_id, submitted, published,
                              returned, rejected, headlines, views, comments, waiting) from stats_days
             union all
             select concat_ws('|', 'a', day, author_id, unit_id, channel_id, submitted, published,
                              returned, rejected, headlines, views, comments) from stats_author_days
         ) r(line) order by 1",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap()
}

#[tokio::test]
async fn readings_added_in_place_equal_a_rebuild_of_the_day() {
    let app = spawn_app().await;
    newsroom(&app).await;
    exec(
        &app,
        "insert into authors (name) values ('甲记者'), ('乙摄影');
         insert into article_authors (article_id, position, author_id, role)
         select a.id, p.position, w.id, p.role from articles a,
                (values (1, '甲记者', '本报记者'), (2, '乙摄影', '摄影')) as p(position, name, role)
         join authors w on w.name = p.name
         where a.title in ('一号稿', '三号稿');",
    )
    .await;
    app.login_as("zongbian", "chief_editor").await;
    november_total(&app).await;

    // Readings as flushes write them: added to a built day's existing
    // rows, new rows for a story first read that day, several stories in
    // one statement, and a day not built yet.
    exec(
        &app,
        "insert into article_totals (article_id, views)
         select id, 5 from articles where title in ('二号稿', '三号稿');
         update article_views set views = views + 5 where day = '2026-11-03';
         insert into article_views (article_id, day, views)
         select id, '2026-11-04', 3 from articles where title in ('一号稿', '三号稿');
         insert into article_views (article_id, day, views)
         select id, '2026-11-04', 2 from articles where title = '二号稿'
         on conflict (article_id, day) do update set views = article_views.views + excluded.views;
         insert into article_views (article_id, day, views)
         select id, '2030-01-01', 9 from articles where title = '一号稿';",
    )
    .await;
    let dirty: i64 = sqlx::query_scalar("select count(*) from stats_dirty")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(dirty, 0, "readings mark no day for a rebuild");
    assert_eq!(
        november_total(&app).await,
        line(&["合计", "2", "1", "1", "1", "1", "113", "2"])
    );
    let in_place = statistics_rows(&app).await;
    assert!(
        in_place.iter().any(|row| row.starts_with("a|2026-11-04")),
        "credited authors' days take the readings: {in_place:?}"
    );
    assert!(
        !in_place.iter().any(|row| row.contains("2030-01-01")),
        "a day not built is left to its build"
    );

    // The same days rebuilt from the readings come out the same.
    exec(
        &app,
        "insert into stats_dirty (day, xid)
         select day, pg_current_xact_id() from stats_built_days",
    )
    .await;
    november_total(&app).await;
    let rebuilt = statistics_rows(&app).await;
    assert_eq!(in_place, rebuilt);
}

#[tokio::test]
async fn readings_flushed_while_their_day_is_rebuilt_are_counted_once() {
    let app = spawn_app().await;
    newsroom(&app).await;
    app.login_as("zongbian", "chief_editor").await;
    november_total(&app).await;
    let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 3).unwrap();
    // Flushes of four nodes at once, while the day is marked and rebuilt
    // again and again by another.
    let mut tasks = Vec::new();
    for _ in 0..4 {
        let pool = app.pool.clone();
        tasks.push(tokio::spawn(async move {
            for _ in 0..40 {
                sqlx::query("update article_views set views = views + 1 where day = '2026-11-03'")
                    .execute(&pool)
                    .await
                    .unwrap();
            }
        }));
    }
    let pool = app.pool.clone();
    tasks.push(tokio::spawn(async move {
        for _ in 0..40 {
            sqlx::query(
                "insert into stats_dirty (day, xid) values ('2026-11-03', pg_current_xact_id())
                 on conflict do nothing",
            )
            .execute(&pool)
            .await
            .unwrap();
            let mut conn = pool.acquire().await.unwrap();
            newsdesk::stats::days::refresh(&mut conn, day, day, "Asia/Shanghai")
                .await
                .unwrap();
        }
    }));
    for task in tasks {
        task.await.unwrap();
    }
    assert_eq!(
        november_total(&app).await,
        line(&["合计", "2", "1", "1", "1", "1", "260", "2"]),
        "each of the 160 readings counted once"
    );
    let in_place = statistics_rows(&app).await;
    exec(
        &app,
        "insert into stats_dirty (day, xid) values ('2026-11-03', pg_current_xact_id())",
    )
    .await;
    november_total(&app).await;
    assert_eq!(in_place, statistics_rows(&app).await);
}

/// Sets a unit's or a person's target through the quota form as a person
/// would: the form as loaded, one value changed.
async fn quota_form(app: &TestApp, unit: &str) -> Vec<(String, String)> {
    let (status, form) = app
        .page(&format!("/admin/stats/quotas?year=2026&unit={unit}"))
        .await;
    assert_eq!(status, 200);
    let inputs = scraper::Selector::parse("form.quotas input").unwrap();
    form.select(&inputs)
        .filter_map(|input| {
            let name = input.value().attr("name")?;
            (name != "csrf_token").then(|| {
                (
                    name.to_owned(),
                    input.value().attr("value").unwrap_or_default().to_owned(),
                )
            })
        })
        .collect()
}

fn with(mut form: Vec<(String, String)>, field: &str, value: &str) -> Vec<(String, String)> {
    let line = form
        .iter_mut()
        .find(|(name, _)| name == field)
        .unwrap_or_else(|| panic!("no field {field}"));
    line.1 = value.to_owned();
    form
}

async fn post_form(app: &TestApp, form: &[(String, String)]) -> reqwest::Response {
    let fields: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    app.post("/admin/stats/quotas", &fields).await
}

#[tokio::test]
async fn yearly_targets_show_progress_and_who_is_behind() {
    let app = spawn_app().await;
    newsroom(&app).await;
    app.login_as("zongbian", "chief_editor").await;
    let id = |sql: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query_scalar::<_, String>(sql)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    let root = id("select id::text from units where parent_id is null").await;
    let jia = id("select id::text from units where name = '甲公司'").await;
    let wa1 = id("select id::text from users where username = 'wa1'").await;
    let yi1 = id("select id::text from units where name = '甲一所'").await;

    // Two chief editors open the same form.
    let form = quota_form(&app, &root).await;
    let other = app.other_client();
    other.login_as("fuzongbian", "chief_editor").await;
    let stale = quota_form(&other, &root).await;

    // A target that is not a whole number is refused, typed values kept.
    let bad = with(
        with(form.clone(), &format!("unit.{jia}"), "24"),
        &format!("unit.{root}"),
        "三十",
    );
    let response = post_form(&app, &bad).await;
    assert_eq!(response.status(), 422);
    let page = scraper::Html::parse_document(&response.text().await.unwrap());
    assert_eq!(
        crate::helpers::texts(&page, ".alert.error"),
        ["年度任务须为 1 至 100000 之间的整数；留空表示不设任务。"]
    );
    assert_eq!(
        crate::helpers::attrs(&page, &format!("input[name='unit.{root}']"), "value"),
        ["三十"]
    );
    assert_eq!(
        crate::helpers::attrs(&page, &format!("input[name='unit.{jia}']"), "value"),
        ["24"]
    );
    let stored: i64 = sqlx::query_scalar("select count(*) from quotas")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(stored, 0, "nothing is written when one value is bad");

    let response = post_form(
        &app,
        &with(
            with(form, &format!("unit.{jia}"), "24"),
            &format!("unit.{root}"),
            "5",
        ),
    )
    .await;
    assert_eq!(response.status(), 303);
    let person = quota_form(&app, &yi1).await;
    let response = post_form(&app, &with(person, &format!("user.{wa1}"), "1")).await;
    assert_eq!(response.status(), 303);

    // The other chief editor's form still shows no target for 甲公司: their
    // change is refused rather than overwriting, and the form says so.
    let response = post_form(&other, &with(stale, &format!("unit.{jia}"), "30")).await;
    assert_eq!(response.status(), 409);
    let page = scraper::Html::parse_document(&response.text().await.unwrap());
    assert!(
        crate::helpers::texts(&page, ".alert.error")[0].starts_with("甲公司 的任务已被他人修改")
    );
    assert_eq!(
        crate::helpers::attrs(&page, &format!("input[name='was.unit.{jia}']"), "value"),
        ["24"],
        "the form now compares against the stored target"
    );
    let target: i32 = sqlx::query_scalar("select target from quotas where unit_id = $1::uuid")
        .bind(&jia)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(target, 24);
    let audited: i64 =
        sqlx::query_scalar("select count(*) from audit_log where action = 'quota.set'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(audited, 2);

    // 甲公司 published 1 of 24 with most of 2026 gone: behind. wa1 has 1 of 1.
    let (_, units) = app
        .page("/admin/stats?period=month&from=2026-11-15&sort=progress")
        .await;
    let rows = full_table(&units);
    assert_eq!(rows[0][0], "甲公司", "the furthest behind first");
    assert_eq!(rows[0][8..], line(&["24", "1", "4% 落后"]));
    assert_eq!(
        rows.last().unwrap()[8..],
        line(&["5", "1", "20% 落后"]),
        "the root's target is measured against the whole tree, in the total row"
    );
    let (_, behind) = app
        .page("/admin/stats?period=month&from=2026-11-15&behind=1")
        .await;
    let names: Vec<String> = full_table(&behind).iter().map(|r| r[0].clone()).collect();
    assert_eq!(names, ["甲公司", "合计"]);
    let (_, writers) = app
        .page("/admin/stats?period=year&from=2026-01-01&view=writers")
        .await;
    let wa1_row = full_table(&writers)
        .into_iter()
        .find(|row| row[0] == "wa1的姓名")
        .unwrap();
    assert_eq!(wa1_row[8..], line(&["1", "1", "100%"]));

    // Clearing a target removes it.
    let form = quota_form(&app, &root).await;
    assert_eq!(
        post_form(&app, &with(form, &format!("unit.{jia}"), ""))
            .await
            .status(),
        303
    );
    let left: i64 = sqlx::query_scalar("select count(*) from quotas where unit_id is not null")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(left, 1, "the root's target stays");

    // Editors see statistics but do not set targets.
    let editor = app.other_client();
    editor.login_as("bianji", "editor").await;
    assert_eq!(editor.get("/admin/stats/quotas").await.status(), 403);
    let response = editor
        .post(
            "/admin/stats/quotas",
            &[("year", "2026"), ("unit", root.as_str())],
        )
        .await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn charts_draw_the_months_and_the_backlog_and_reviewers_see_their_load() {
    let app = spawn_app().await;
    newsroom(&app).await;
    app.login_as("zongbian", "chief_editor").await;
    for (name, unit) in [("bianji_jia", "甲公司"), ("bianji_yi", "乙公司")] {
        app.create_staff(name, "editor").await;
        sqlx::query(
            "update users set unit_id = (select id from units where name = $2) where username = $1",
        )
        .bind(name)
        .bind(unit)
        .execute(&app.pool)
        .await
        .unwrap();
    }
    let svg = |path: &'static str| {
        let app = &app;
        async move {
            let response = app.get(path).await;
            assert_eq!(response.status(), 200);
            assert_eq!(
                response.headers()["content-type"],
                "image/svg+xml; charset=utf-8"
            );
            response.text().await.unwrap()
        }
    };

    let months = svg("/admin/stats.svg?period=quarter&from=2026-11-15&chart=months").await;
    let chart = roxmltree::Document::parse(&months).expect("well-formed XML");
    let columns: Vec<(&str, &str)> = chart
        .descendants()
        .filter(|n| n.attribute("class") == Some("month"))
        .map(|n| {
            (
                n.attribute("data-month").unwrap(),
                n.attribute("data-total").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        columns,
        [("2026-10", "0"), ("2026-11", "1"), ("2026-12", "0")]
    );
    let segments: Vec<(&str, &str)> = chart
        .descendants()
        .filter(|n| n.attribute("class") == Some("segment"))
        .map(|n| {
            (
                n.attribute("data-series").unwrap(),
                n.attribute("data-count").unwrap(),
            )
        })
        .collect();
    assert_eq!(
        segments,
        [("甲公司", "1")],
        "甲一所's story counts for 甲公司"
    );

    let backlog =
        svg("/admin/stats.svg?period=range&from=2026-10-31&to=2026-11-12&chart=backlog").await;
    let chart = roxmltree::Document::parse(&backlog).expect("well-formed XML");
    let points: Vec<String> = chart
        .descendants()
        .filter(|n| n.attribute("class") == Some("point"))
        .map(|n| n.attribute("data-count").unwrap().to_owned())
        .collect();
    assert_eq!(
        points,
        [
            "1", "1", "0", "1", "1", "1", "1", "1", "1", "1", "2", "1", "1"
        ],
        "the backlog at the end of each day from 31 October to 12 November"
    );

    let (status, page) = app.page("/admin/stats?period=month&from=2026-11-15").await;
    assert_eq!(status, 200);
    assert_eq!(
        reviewer_loads(&page),
        [
            line(&["bianji_jia的姓名", "甲公司", "编辑", "1"]),
            line(&["zongbian的姓名", "总部", "总编", "1"]),
        ],
        "二号稿 waits at an editor's stage in 甲公司; 乙公司's editor cannot act on it"
    );
    let srcs = crate::helpers::attrs(&page, ".stats-charts img", "src");
    assert_eq!(srcs.len(), 3, "ranking, months and backlog");

    let response = app
        .get("/admin/stats.csv?period=month&from=2026-11-15&table=health")
        .await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    let lines: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[1], "\"从投稿到发布\",1,33.5,33.5");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("\"待审：bianji_jia的姓名（甲公司）\",1,,")),
        "reviewers' loads are in the download: {lines:?}"
    );

    // Whoever passed the story in its current round may not act on it
    // again (三审 separation), so it is not in their load.
    for (passer, left) in [
        (
            "bianji_jia",
            vec![line(&["zongbian的姓名", "总部", "总编", "1"])],
        ),
        (
            "zongbian",
            vec![line(&["范围内没有能审核这些待审稿件的审稿人。"])],
        ),
    ] {
        crate::helpers::execute!(
            app,
            "update articles set passed_by = passed_by || (select id from users where username = $1)
             where title = '二号稿'",
            passer
        );
        let (_, page) = app.page("/admin/stats?period=month&from=2026-11-15").await;
        assert_eq!(reviewer_loads(&page), left, "after {passer}'s pass");
    }
}

#[tokio::test]
async fn correspondents_see_their_year_and_their_units_rank_on_the_dashboard() {
    let app = spawn_app().await;
    app.ensure_root_unit().await;
    app.create_staff("wa", "correspondent").await;
    app.create_staff("wb", "correspondent").await;
    // Stories published a minute ago: the dashboard shows the current year.
    exec(
        &app,
        "insert into units (name, parent_id, sort_order) select t.name, u.id, t.n
         from units u, (values ('甲公司', 1), ('乙公司', 2), ('丙公司', 3)) as t(name, n)
         where u.parent_id is null;
         update users set unit_id = (select id from units where name = '甲公司') where username = 'wa';
         update users set unit_id = (select id from units where name = '乙公司') where username = 'wb';
         insert into channels (name, slug) values ('要闻', 'yaowen');
         insert into articles (title, channel_id, unit_id, created_by, status, published_at, is_headline)
         select t.title, (select id from channels where slug = 'yaowen'), u.unit_id, u.id, 'published',
                now() - interval '1 minute', t.title = '甲一'
         from (values ('甲一', 'wa'), ('甲二', 'wa'), ('乙一', 'wb'), ('乙二', 'wb'), ('乙三', 'wb'))
              as t(title, writer)
         join users u on u.username = t.writer;
         insert into review_events (article_id, actor_name, action, from_status, to_status, stage, at)
         select a.id, 'x', e.action, e.from_status, e.to_status, e.stage, now() - e.ago
         from articles a, (values ('submit', 'draft', 'submitted', null::smallint, interval '2 minutes'),
                                  ('pass', 'submitted', 'published', 0::smallint, interval '1 minute'))
              as e(action, from_status, to_status, stage, ago);
         insert into quotas (year, user_id, target)
         select extract(year from now() at time zone 'Asia/Shanghai')::smallint, id, 2 from users where username = 'wa';
         insert into quotas (year, unit_id, target)
         select extract(year from now() at time zone 'Asia/Shanghai')::smallint, id, 10000 from units where name = '甲公司';",
    )
    .await;
    app.login("wa", "wa-Tq7-lamp-horse").await;
    let (status, page) = app.page("/admin").await;
    assert_eq!(status, 200);
    let figures: Vec<String> = [".submitted", ".published", ".headlines"]
        .iter()
        .map(|class| texts(&page, &format!(".year .totals dd{class}")).join(""))
        .collect();
    assert_eq!(figures, ["2", "2", "1"]);
    assert_eq!(
        texts(&page, ".quota.mine"),
        ["年度任务 2 篇，已完成 2 篇（100%），进度正常。"]
    );
    let unit = texts(&page, ".quota.unit").join("");
    assert!(
        unit.starts_with(
            "本单位（含下级单位）今年采用 2 篇，在 3 个同级单位中排第 2 名；年度任务 10000 篇，落后"
        ),
        "{unit}"
    );
    let ranking: Vec<String> = texts(&page, ".ranking tbody tr td:nth-child(2)");
    assert_eq!(ranking, ["乙公司", "甲公司", "丙公司"]);
    assert_eq!(texts(&page, ".ranking tr.own td:nth-child(2)"), ["甲公司"]);
}

#[tokio::test]
async fn downloads_and_quota_saves_refuse_what_they_cannot_read() {
    let app = spawn_app().await;
    newsroom(&app).await;
    app.login_as("zongbian", "chief_editor").await;
    for (path, status) in [
        (
            "/admin/stats.csv?period=range&from=2026-11-30&to=2026-11-01",
            400,
        ),
        ("/admin/stats.svg?period=month&from=1999-12-01", 400),
        ("/admin/stats.svg?period=month&chart=pie", 404),
        ("/admin/stats.xlsx?period=month&table=nope", 404),
        ("/admin/stats/quotas?year=3000", 404),
    ] {
        assert_eq!(app.get(path).await.status(), status, "{path}");
    }
    let root: String = sqlx::query_scalar("select id::text from units where parent_id is null")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    for fields in [
        vec![("year", "二〇二六"), ("unit", root.as_str())],
        vec![("year", "2026"), ("unit", "总部")],
        vec![
            ("year", "2026"),
            ("unit", root.as_str()),
            ("unit.总部", "5"),
        ],
    ] {
        let response = app.post("/admin/stats/quotas", &fields).await;
        assert_eq!(response.status(), 400, "{fields:?}");
    }
    let written: i64 = sqlx::query_scalar("select count(*) from quotas")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(written, 0);
}

#[tokio::test]
async fn a_name_that_looks_like_a_formula_is_text_in_the_csv() {
    let app = spawn_app().await;
    newsroom(&app).await;
    exec(
        &app,
        "update units set name = '=HYPERLINK(\"http://evil.example\",\"点此\")' where name = '甲公司';
         update units set name = '@SUM(1+1)' where name = '乙公司';",
    )
    .await;
    app.login_as("zongbian", "chief_editor").await;
    let response = app
        .get("/admin/stats.csv?period=month&from=2026-11-15")
        .await;
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"点此\"\")\""),
        "{text}"
    );
    assert!(text.contains("\"'@SUM(1+1)\""), "{text}");
    for line in text.trim_start_matches('\u{feff}').lines() {
        for cell in line.split(',') {
            let cell = cell.trim_start_matches('"');
            assert!(
                !cell.starts_with(['=', '+', '@']),
                "a cell a spreadsheet would evaluate: {line}"
            );
        }
    }
}

/// Units 总部 > 甲公司 > 甲一所 and 总部 > 乙公司; a chief editor at 总部.
/// This month: 甲一 (wa) submitted and published, read 30 times today;
/// 乙一 and 乙二 (wb) submitted and waiting (first and second stage); the
/// chief editor's own 自己的 submitted; 甲三 (wa) returned. On 1 January
/// at noon: 甲二 (wa1, in 甲一所) submitted and published, read 50 times.
async fn desk(app: &TestApp) {
    app.ensure_root_unit().await;
    for name in ["wa", "wa1", "wb"] {
        app.create_staff(name, "correspondent").await;
    }
    app.create_staff("zb", "chief_editor").await;
    exec(
        app,
        "insert into units (name, parent_id, sort_order) select '甲公司', id, 1 from units where parent_id is null;
         insert into units (name, parent_id, sort_order) select '乙公司', id, 2 from units where parent_id is null;
         insert into units (name, parent_id) select '甲一所', id from units where name = '甲公司';
         update users set unit_id = (select id from units where name = '甲公司') where username = 'wa';
         update users set unit_id = (select id from units where name = '甲一所') where username = 'wa1';
         update users set unit_id = (select id from units where name = '乙公司') where username = 'wb';
         insert into channels (name, slug) values ('要闻', 'yaowen');
         create temporary table times as
         select now() - interval '2 minutes' as recent,
                date_trunc('year', now() at time zone 'Asia/Shanghai') + interval '12 hours' as local_noon;
         insert into articles (title, channel_id, unit_id, created_by, status, review_stage, published_at)
         select t.title, (select id from channels where slug = 'yaowen'), u.unit_id, u.id, t.status, t.stage,
                case when t.status = 'published' then now() end
         from (values ('甲一', 'wa', 'published', 0), ('甲二', 'wa1', 'published', 0),
                      ('乙一', 'wb', 'submitted', 0), ('乙二', 'wb', 'in_review', 1),
                      ('自己的', 'zb', 'submitted', 0), ('甲三', 'wa', 'returned', 0))
              as t(title, writer, status, stage)
         join users u on u.username = t.writer;
         insert into review_events (article_id, actor_name, action, from_status, to_status, stage, at)
         select a.id, 'x', 'submit', 'draft', 'submitted', null, times.recent
         from articles a, times where a.title in ('甲一', '乙一', '乙二', '自己的', '甲三');
         insert into review_events (article_id, actor_name, action, from_status, to_status, stage, at)
         select a.id, 'x', 'pass', 'submitted', 'published', 0, times.recent + interval '1 minute'
         from articles a, times where a.title = '甲一';
         insert into review_events (article_id, actor_name, action, from_status, to_status, stage, at)
         select a.id, 'x', 'return', 'submitted', 'returned', 0, times.recent + interval '1 minute'
         from articles a, times where a.title = '甲三';
         insert into review_events (article_id, actor_name, action, from_status, to_status, stage, at)
         select a.id, 'x', e.action, e.from_status, e.to_status, e.stage,
                (times.local_noon + e.later) at time zone 'Asia/Shanghai'
         from articles a, times,
              (values ('submit', 'draft', 'submitted', null::smallint, interval '0'),
                      ('pass', 'submitted', 'published', 0::smallint, interval '1 hour')) as e(action, from_status, to_status, stage, later)
         where a.title = '甲二';
         insert into article_totals (article_id, views)
         select id, 80 from articles where title in ('甲一', '甲二');
         insert into article_views (article_id, day, views)
         select id, (now() at time zone 'Asia/Shanghai')::date, 30 from articles where title = '甲一';
         insert into article_views (article_id, day, views)
         select a.id, times.local_noon::date, 50 from articles a, times where a.title = '甲二';",
    )
    .await;
}

/// Whether today (in the site's zone) is in January, when the year's first
/// day is also this month's.
async fn in_january(app: &TestApp) -> bool {
    sqlx::query_scalar("select extract(month from now() at time zone 'Asia/Shanghai') = 1")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

fn row(page: &scraper::Html, row: &str) -> Vec<String> {
    texts(page, &format!(".desk-figures tr.{row} td"))
}

#[tokio::test]
async fn a_chief_editors_dashboard_counts_the_desk_below_him_and_what_waits_for_him() {
    let app = spawn_app().await;
    desk(&app).await;
    let january = in_january(&app).await;
    app.login("zb", "zb-Tq7-lamp-horse").await;
    let (status, page) = app.page("/admin").await;
    assert_eq!(status, 200);
    // 乙一 at the first stage and 乙二 at the second both wait for him; his
    // own story does not.
    assert_eq!(texts(&page, ".todo .waiting strong"), ["2"]);
    // 投稿: 甲一 乙一 乙二 自己的 甲三 (and 甲二 in January); 采用: 甲一 (甲二).
    let (month_submitted, month_published, month_views) = if january {
        ("6", "2", "80")
    } else {
        ("5", "1", "30")
    };
    assert_eq!(
        row(&page, "month"),
        [month_submitted, month_published, "1", "0", month_views]
    );
    assert_eq!(row(&page, "year"), ["6", "2", "1", "0", "80"]);
    // The unit at the root counts every unit below it.
    let unit = texts(&page, ".quota.unit").join("");
    assert!(
        unit.starts_with("本单位（含下级单位）今年采用 2 篇"),
        "{unit}"
    );
}

#[tokio::test]
async fn a_correspondents_month_never_exceeds_the_year_and_the_unit_counts_its_sub_units() {
    let app = spawn_app().await;
    desk(&app).await;
    app.login("wa", "wa-Tq7-lamp-horse").await;
    let (_, page) = app.page("/admin").await;
    let month: Vec<String> = [".written", ".submitted", ".published", ".views"]
        .iter()
        .map(|class| texts(&page, &format!(".month .totals dd{class}")).join(""))
        .collect();
    // 甲一 and 甲三 were begun this month; 甲一 was submitted (甲三 too),
    // published and read 30 times.
    assert_eq!(month, ["2", "2", "1", "30"]);
    let year: Vec<String> = [".submitted", ".published", ".views"]
        .iter()
        .map(|class| texts(&page, &format!(".year .totals dd{class}")).join(""))
        .collect();
    assert_eq!(year, ["2", "1", "30"]);
    // 甲公司 with 甲一所: 甲一 and 甲二; first of the two companies.
    let unit = texts(&page, ".quota.unit").join("");
    assert!(
        unit.starts_with("本单位（含下级单位）今年采用 2 篇，在 2 个同级单位中排第 1 名"),
        "{unit}"
    );
    assert_eq!(texts(&page, ".todo .returned strong"), ["1"]);
    // A correspondent reviews nothing: no queue figure and no desk table.
    assert!(texts(&page, ".todo .waiting").is_empty());
    assert!(texts(&page, ".desk-figures").is_empty());
    // The labels are the statistics' own: 投稿 and 采用, never 提交/发布.
    let labels = texts(&page, ".totals dt").join(" ");
    assert!(
        !labels.contains("提交") && !labels.contains("发布"),
        "{labels}"
    );
}

#[tokio::test]
async fn refusals_and_missing_pages_inside_the_backend_keep_its_menu() {
    let app = spawn_app().await;
    app.login_as("writer", "correspondent").await;
    let (status, page) = app.page("/admin/users").await;
    assert_eq!(status, 403);
    assert!(!texts(&page, ".admin-nav a").is_empty());
    assert_eq!(texts(&page, "h1.page-title"), ["无权访问"]);
    assert!(
        texts(&page, ".backend-error")
            .join("")
            .contains("没有执行此操作的权限")
    );
    let missing = format!("/admin/articles/{}/edit", uuid::Uuid::new_v4());
    let (status, page) = app.page(&missing).await;
    assert_eq!(status, 404);
    assert_eq!(texts(&page, ".admin-nav a.active"), ["稿件"]);
    let (status, page) = app.page("/admin/no-such-page").await;
    assert_eq!(status, 404);
    assert!(!texts(&page, ".admin-nav a").is_empty());
    // A stranger is told the same without the menu of anyone.
    let stranger = app.other_client();
    let (status, page) = stranger.page("/admin/no-such-page").await;
    assert_eq!(status, 404);
    assert!(texts(&page, ".admin-nav a").is_empty());
    // A public page's 404 is the public one.
    let (status, page) = app.page("/no-such-page").await;
    assert_eq!(status, 404);
    assert!(texts(&page, ".admin-nav a").is_empty());
}

#[tokio::test]
async fn an_editor_counts_only_what_waits_in_his_own_units() {
    let app = spawn_app().await;
    desk(&app).await;
    // An editor of 甲公司: 乙一 (first stage, 乙公司) is not his to review,
    // nor 乙二 (a chief editor's stage).
    app.create_staff("bj", "editor").await;
    exec(
        &app,
        "update users set unit_id = (select id from units where name = '甲公司') where username = 'bj';",
    )
    .await;
    app.login("bj", "bj-Tq7-lamp-horse").await;
    let (_, page) = app.page("/admin").await;
    assert_eq!(texts(&page, ".todo .waiting strong"), ["0"]);
    // His desk is 甲公司 with 甲一所: 甲一 and 甲三 this month, not 乙's.
    assert_eq!(texts(&page, ".desk h2"), ["甲公司（含下级单位）"]);
    let year = row(&page, "year");
    assert_eq!(year[1], "2", "采用: 甲一 and 甲二 (甲一所): {year:?}");
}
