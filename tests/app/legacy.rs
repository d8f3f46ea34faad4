//! `newsdesk import dedecms` and `newsdesk import phpcms` against a real
//! MariaDB holding each CMS's own tables (their real columns, types and
//! defaults; a DedeCMS database in GBK, as many were).

use std::process::Command;

use sqlx::Executor;

use crate::helpers::{TestApp, attrs, spawn_app, texts};
use crate::mariadb;

fn run(app: &TestApp, args: &[&str]) -> (bool, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_newsdesk"))
        .env("DATABASE_URL", app.database.url())
        .env("NEWSDESK_DATA_DIR", app.data_dir.path())
        .env("NEWSDESK_LOG", "warn")
        .arg("import")
        .args(args)
        .output()
        .unwrap();
    (
        output.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    )
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&app.pool).await.unwrap()
}

const DEDE_TABLES: &str = "
create table dede_arctype (
  id smallint(5) unsigned not null auto_increment, reid smallint(5) unsigned not null default '0',
  topid smallint(5) unsigned not null default '0', sortrank smallint(5) unsigned not null default '50',
  typename char(30) not null default '', typedir char(60) not null default '',
  isdefault smallint(6) not null default '0', defaultname char(15) not null default 'index.html',
  issend smallint(6) not null default '0', channeltype smallint(6) default '1',
  maxpage smallint(6) not null default '-1', ispart smallint(6) not null default '0',
  corank smallint(6) not null default '0', tempindex char(50) not null default '',
  templist char(50) not null default '', temparticle char(50) not null default '',
  namerule char(50) not null default '', namerule2 char(50) not null default '',
  modname char(20) not null default '', description char(150) not null default '',
  keywords varchar(60) not null default '', seotitle varchar(80) not null default '',
  moresite tinyint(1) unsigned not null default '0', sitepath char(60) not null default '',
  siteurl char(50) not null default '', ishidden smallint(6) not null default '0',
  `cross` tinyint(1) not null default '0', crossid text, content text, smalltypes text,
  primary key (id), key reid (reid, isdefault, channeltype, ispart, corank, topid, ishidden),
  key sortrank (sortrank)
) engine=MyISAM default charset=gbk;
create table dede_archives (
  id mediumint(8) unsigned not null default '0', typeid smallint(5) unsigned not null default '0',
  typeid2 varchar(90) not null default '0', sortrank int(10) unsigned not null default '0',
  flag set('c','h','p','f','s','j','a','b') default null, ismake smallint(6) not null default '0',
  channel smallint(6) not null default '1', arcrank smallint(6) not null default '0',
  click mediumint(8) unsigned not null default '0', money smallint(6) not null default '0',
  title char(60) not null default '', shorttitle char(36) not null default '',
  color char(7) not null default '', writer char(20) not null default '',
  source char(30) not null default '', litpic char(100) not null default '',
  pubdate int(10) unsigned not null default '0', senddate int(10) unsigned not null default '0',
  mid mediumint(8) unsigned not null default '0', keywords char(30) not null default '',
  lastpost int(10) unsigned not null default '0', scores mediumint(8) not null default '0',
  goodpost mediumint(8) unsigned not null default '0', badpost mediumint(8) unsigned not null default '0',
  voteid mediumint(8) not null, notpost tinyint(1) unsigned not null default '0',
  description varchar(255) not null default '', filename varchar(40) not null default '',
  dutyadmin mediumint(8) unsigned not null default '0', tackid int(10) not null default '0',
  mtype mediumint(8) unsigned not null default '0', weight int(10) not null default '0',
  primary key (id), key sortrank (sortrank), key mainindex (arcrank, typeid, channel, flag, mid),
  key lastpost (lastpost, scores, goodpost, badpost, notpost)
) engine=MyISAM default charset=gbk;
create table dede_addonarticle (
  aid mediumint(8) unsigned not null default '0', typeid smallint(5) unsigned not null default '0',
  body mediumtext, redirecturl varchar(255) not null default '',
  templet varchar(30) not null default '', userip char(15) not null default '',
  primary key (aid), key typeid (typeid)
) engine=MyISAM default charset=gbk;
create table dede_feedback (
  id int(10) unsigned not null auto_increment, aid mediumint(8) unsigned not null default '0',
  typeid smallint(5) unsigned not null default '0', username char(20) not null default '',
  arctitle varchar(60) not null default '', ip char(15) not null default '',
  ischeck smallint(6) not null default '0', dtime int(10) unsigned not null default '0',
  mid mediumint(8) unsigned not null default '0', bad mediumint(8) unsigned not null default '0',
  good mediumint(8) unsigned not null default '0',
  ftype set('feedback','good','bad') not null default 'feedback',
  face smallint(5) unsigned not null default '0', msg text,
  primary key (id), key aid (aid, ischeck, mid)
) engine=MyISAM default charset=gbk;
";

/// 2024-01-31 18:30 UTC: already 1 February in the old site's zone.
const PUBDATE: i64 = 1_706_725_800;

fn jpeg(path: &std::path::Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8 * 6, y as u8 * 8, 60]))
        .save(path)
        .unwrap();
}

#[tokio::test]
async fn a_dedecms_site_comes_in_from_its_gbk_database() {
    let app = spawn_app().await;
    app.login_as("boss", "admin").await;
    let (url, old) = mariadb::server().database("gbk").await;
    for statement in DEDE_TABLES.split(';').filter(|s| !s.trim().is_empty()) {
        old.execute(statement).await.unwrap();
    }
    let rule = "{typedir}/{Y}/{M}{D}/{aid}.html";
    for (id, reid, name, dir) in [
        (1, 0, "新闻中心", "{cmspath}/a/news"),
        (2, 1, "公司要闻", "{cmspath}/a/news/yaowen"),
        (3, 0, "党建园地", "{cmspath}/a/党建"),
    ] {
        sqlx::query(
            "insert into dede_arctype (id, reid, typename, typedir, namerule) values (?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(reid)
        .bind(name)
        .bind(dir)
        .bind(rule)
        .execute(&old)
        .await
        .unwrap();
    }
    let site = tempfile::tempdir().unwrap();
    jpeg(&site.path().join("uploads/allimg/240131/1-a.jpg"));
    let stories: [(i64, i64, i64, i64, &str, &str); 6] = [
        (
            1,
            2,
            0,
            1,
            "国网山东电力迎峰度冬保供电",
            "<p>本报讯 入冬以来……</p><script>x()</script>",
        ),
        (2, 2, -1, 1, "待审的稿件", "<p>待审</p>"),
        (3, 2, -2, 1, "回收站里的稿件", "<p>删了</p>"),
        (4, 1, 10, 1, "会员才能看的稿件", "<p>内部</p>"),
        (
            5,
            3,
            0,
            1,
            "党建园地的图片新闻",
            "<p>正文</p><p><img src=\"/uploads/allimg/240131/1-a.jpg\" alt=\"\"></p><p><img src=\"/uploads/missing.jpg\"></p>",
        ),
        (6, 1, 0, 2, "图集（另一种模型）", ""),
    ];
    for (id, typeid, arcrank, channel, title, body) in stories {
        sqlx::query(
            "insert into dede_archives (id, typeid, arcrank, channel, click, title, writer, source,
                                        pubdate, senddate, keywords, description, voteid)
             values (?, ?, ?, ?, ?, ?, '张伟 李娜', '本网', ?, ?, '迎峰度冬,保供电', '导语', 0)",
        )
        .bind(id)
        .bind(typeid)
        .bind(arcrank)
        .bind(channel)
        .bind(100 + id)
        .bind(title)
        .bind(PUBDATE + id)
        .bind(PUBDATE + id)
        .execute(&old)
        .await
        .unwrap();
        sqlx::query("insert into dede_addonarticle (aid, typeid, body) values (?, ?, ?)")
            .bind(id)
            .bind(typeid)
            .bind(body)
            .execute(&old)
            .await
            .unwrap();
    }
    for (id, aid, check, msg) in [
        (1, 1, 1, "为电网人点赞"),
        (2, 1, 0, "待审的留言"),
        (3, 3, 1, "回收站稿件的留言"),
    ] {
        sqlx::query(
            "insert into dede_feedback (id, aid, username, ischeck, dtime, msg) values (?, ?, '网友', ?, ?, ?)",
        )
        .bind(id)
        .bind(aid)
        .bind(check)
        .bind(PUBDATE + 100)
        .bind(msg)
        .execute(&old)
        .await
        .unwrap();
    }
    let root = site.path().to_str().unwrap();

    let (ok, said) = run(
        &app,
        &[
            "dedecms",
            "--mysql-url",
            &url,
            "--site-root",
            root,
            "--dry-run",
        ],
    );
    assert!(ok, "{said}");
    assert!(said.contains("稿件：将导入 4，已存在 0，跳过 1"), "{said}");
    assert_eq!(count(&app, "select count(*) from articles").await, 0);

    let (ok, said) = run(&app, &["dedecms", "--mysql-url", &url, "--site-root", root]);
    assert!(ok, "{said}");
    assert!(
        said.contains("稿件：导入 4，已存在（未改动） 0，跳过 1"),
        "{said}"
    );
    assert!(
        said.contains("评论：导入 2，已存在（未改动） 0，跳过 1"),
        "{said}"
    );
    assert!(said.contains("图片：导入 1"), "{said}");
    assert!(
        said.contains("仅会员可见的文档（arcrank > 0）作为草稿导入"),
        "{said}"
    );

    let tree: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "select c.name, c.slug, p.name from channels c left join channels p on p.id = c.parent_id",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(tree.contains(&("公司要闻".into(), "yaowen".into(), Some("新闻中心".into()))));
    assert!(
        tree.contains(&("党建园地".into(), "import-dede-type-3".into(), None)),
        "{tree:?}"
    );

    let (number, published, views, source): (i64, chrono::DateTime<chrono::Utc>, i64, String) =
        sqlx::query_as(
            "select a.number, a.published_at, t.views, a.source from articles a
             join article_totals t on t.article_id = a.id where a.title = '国网山东电力迎峰度冬保供电'",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(published.timestamp(), PUBDATE + 1);
    assert_eq!((views, source.as_str()), (101, "本网"));
    let statuses: Vec<(String, String)> =
        sqlx::query_as("select title, status from articles order by title")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert!(statuses.contains(&("待审的稿件".into(), "draft".into())));
    assert!(statuses.contains(&("会员才能看的稿件".into(), "draft".into())));
    assert!(
        !statuses
            .iter()
            .any(|(title, _)| title.contains("回收站") || title.contains("图集"))
    );

    let (status, page) = app.page(&format!("/articles/{number}")).await;
    assert_eq!(status, 200);
    let html = page.html();
    assert!(
        html.contains("张伟") && html.contains("李娜"),
        "both writers credited"
    );
    assert!(!html.contains("x()"));
    let tags = texts(&page, ".tags a.tag");
    assert!(tags.contains(&"迎峰度冬".to_string()) && tags.contains(&"保供电".to_string()));
    assert!(texts(&page, ".comments").join("").contains("为电网人点赞"));
    let photo_story: i64 =
        sqlx::query_scalar("select number from articles where title = '党建园地的图片新闻'")
            .fetch_one(&app.pool)
            .await
            .unwrap();
    let (_, photo_page) = app.page(&format!("/articles/{photo_story}")).await;
    let photos = attrs(&photo_page, ".article-body img", "src");
    assert_eq!(photos.len(), 1, "{photos:?}");
    assert_eq!(app.get(&photos[0]).await.status(), 200);

    for old_address in [
        "/a/news/yaowen/2024/0201/1.html".to_string(),
        "/plus/view.php?aid=1".to_string(),
    ] {
        let moved = app.get(&old_address).await;
        assert_eq!(moved.status(), 301, "{old_address}");
        assert_eq!(
            moved.headers()["location"],
            format!("/articles/{number}").as_str()
        );
    }
    let listed = app.get("/plus/list.php?tid=2").await;
    assert_eq!(listed.status(), 301);
    assert_eq!(listed.headers()["location"], "/channels/yaowen");
    assert_eq!(
        app.get("/plus/view.php?aid=2").await.status(),
        404,
        "a draft has no page"
    );

    // Again: nothing changes.
    let before = count(&app, "select count(*) from articles").await
        + count(&app, "select count(*) from comments").await
        + count(&app, "select count(*) from media").await;
    let (ok, said) = run(&app, &["dedecms", "--mysql-url", &url, "--site-root", root]);
    assert!(ok, "{said}");
    assert!(said.contains("稿件：导入 0，已存在（未改动） 4"), "{said}");
    let after = count(&app, "select count(*) from articles").await
        + count(&app, "select count(*) from comments").await
        + count(&app, "select count(*) from media").await;
    assert_eq!(before, after);
}

const PHPCMS_TABLES: &str = "
create table v9_category (
  catid smallint(5) unsigned not null auto_increment, siteid smallint(5) unsigned not null default '0',
  module varchar(15) not null, type tinyint(1) unsigned not null default '0',
  modelid smallint(5) unsigned not null default '0', parentid smallint(5) unsigned not null default '0',
  arrparentid varchar(255) not null, child tinyint(1) unsigned not null default '0',
  arrchildid mediumtext not null, catname varchar(30) not null, style varchar(5) not null,
  image varchar(100) not null, description mediumtext not null, parentdir varchar(100) not null,
  catdir varchar(30) not null, url varchar(100) not null, items mediumint(8) unsigned not null default '0',
  hits int(10) unsigned not null default '0', setting mediumtext not null,
  listorder smallint(5) unsigned not null default '0', ismenu tinyint(1) unsigned not null default '1',
  sethtml tinyint(1) unsigned not null default '0', letter varchar(30) not null,
  usable_type varchar(255) not null,
  primary key (catid), key module (module, parentid, listorder, catid), key siteid (siteid, type)
) engine=InnoDB default charset=utf8;
create table v9_news (
  id mediumint(8) unsigned not null auto_increment, catid smallint(5) unsigned not null default '0',
  typeid smallint(5) unsigned not null, title varchar(80) not null default '',
  style char(24) not null default '', thumb varchar(100) not null default '',
  keywords char(40) not null default '', description mediumtext not null,
  posids tinyint(1) unsigned not null default '0', url char(100) not null,
  listorder tinyint(3) unsigned not null default '0', status tinyint(2) unsigned not null default '1',
  sysadd tinyint(1) unsigned not null default '0', islink tinyint(1) unsigned not null default '0',
  username char(20) not null, inputtime int(10) unsigned not null default '0',
  updatetime int(10) unsigned not null default '0',
  primary key (id), key status (status, listorder, id), key listorder (catid, status, listorder, id),
  key catid (catid, status, id)
) engine=InnoDB default charset=utf8;
create table v9_news_data (
  id mediumint(8) unsigned default '0', content mediumtext not null,
  readpoint smallint(5) unsigned not null default '0', groupids_view varchar(100) not null,
  paginationtype tinyint(1) not null, maxcharperpage mediumint(6) not null, template varchar(30) not null,
  paytype tinyint(1) unsigned not null default '0', relation varchar(255) not null default '',
  voteid mediumint(8) unsigned not null default '0', allow_comment tinyint(1) unsigned not null default '1',
  copyfrom varchar(100) not null default '', key id (id)
) engine=InnoDB default charset=utf8;
create table v9_hits (
  hitsid char(30) not null, catid smallint(5) unsigned not null default '0',
  views int(10) unsigned not null default '0', yesterdayviews int(10) unsigned not null default '0',
  dayviews int(10) unsigned not null default '0', weekviews int(10) unsigned not null default '0',
  monthviews int(10) unsigned not null default '0', updatetime int(10) unsigned not null default '0',
  primary key (hitsid)
) engine=InnoDB default charset=utf8;
create table v9_comment (
  commentid char(30) not null, siteid smallint(5) not null default '0', title char(255) not null,
  url char(255) not null, total int(8) unsigned default '0', square mediumint(8) unsigned default '0',
  anti mediumint(8) unsigned default '0', neutral mediumint(8) unsigned default '0',
  display_type tinyint(1) default '0', tableid mediumint(8) unsigned default '0',
  lastupdate int(10) unsigned default '0',
  primary key (commentid), key lastupdate (lastupdate), key siteid (siteid)
) engine=MyISAM default charset=utf8;
create table v9_comment_data_1 (
  id int(10) unsigned not null auto_increment, commentid char(30) not null default '',
  siteid smallint(5) not null default '0', userid int(10) unsigned default '0',
  username varchar(20) default null, creat_at int(10) default null, ip varchar(15) default null,
  status tinyint(1) default '0', content text, direction tinyint(1) default '0',
  support mediumint(8) unsigned default '0', reply tinyint(1) not null default '0',
  primary key (id), key commentid (commentid), key direction (direction), key siteid (siteid)
) engine=MyISAM default charset=utf8;
";

#[tokio::test]
async fn a_phpcms_site_comes_in_and_a_wrong_database_or_prefix_is_refused() {
    let app = spawn_app().await;
    app.login_as("boss", "admin").await;
    let (url, old) = mariadb::server().database("utf8mb4").await;
    for statement in PHPCMS_TABLES.split(';').filter(|s| !s.trim().is_empty()) {
        old.execute(statement).await.unwrap();
    }
    for (catid, parent, name, dir, kind) in [
        (6, 0, "国内新闻", "guonei", 0),
        (7, 6, "电力要闻", "dianli", 0),
        (8, 0, "关于我们", "about", 1),
    ] {
        sqlx::query(
            "insert into v9_category (catid, siteid, module, type, modelid, parentid, arrparentid,
                                      arrchildid, catname, style, image, description, parentdir,
                                      catdir, url, setting, letter, usable_type)
             values (?, 1, 'content', ?, 1, ?, '0', '', ?, '', '', '', '', ?, ?, '', '', '')",
        )
        .bind(catid)
        .bind(kind)
        .bind(parent)
        .bind(name)
        .bind(dir)
        .bind(format!("http://old.example.com/html/{dir}/"))
        .execute(&old)
        .await
        .unwrap();
    }
    for (id, catid, status, title) in [
        (1, 7, 99, "特高压工程投运"),
        (2, 7, 1, "审核中的新闻"),
        (3, 6, 99, "国内新闻一则"),
    ] {
        sqlx::query(
            "insert into v9_news (id, catid, typeid, title, keywords, description, url, status,
                                  username, inputtime)
             values (?, ?, 0, ?, '特高压 投运', '导语', ?, ?, 'admin', ?)",
        )
        .bind(id)
        .bind(catid)
        .bind(title)
        .bind(format!(
            "http://old.example.com/html/2024/dianli_0201/{id}.html"
        ))
        .bind(status)
        .bind(PUBDATE + id)
        .execute(&old)
        .await
        .unwrap();
        sqlx::query(
            "insert into v9_news_data (id, content, groupids_view, paginationtype, maxcharperpage,
                                       template, copyfrom)
             values (?, '<p>正文一段。</p>', '', 0, 10000, '', '人民网|0')",
        )
        .bind(id)
        .execute(&old)
        .await
        .unwrap();
        sqlx::query("insert into v9_hits (hitsid, catid, views) values (?, ?, ?)")
            .bind(format!("c-1-{id}"))
            .bind(catid)
            .bind(1000 + id)
            .execute(&old)
            .await
            .unwrap();
    }
    old.execute(
        "insert into v9_comment (commentid, siteid, title, url, tableid)
         values ('content_7-1-1', 1, '特高压工程投运', '', 1)",
    )
    .await
    .unwrap();
    for (status, content) in [(1, "支持"), (0, "待审"), (-1, "未通过")] {
        sqlx::query(
            "insert into v9_comment_data_1 (commentid, siteid, username, creat_at, status, content)
             values ('content_7-1-1', 1, '读者', ?, ?, ?)",
        )
        .bind(PUBDATE + 50)
        .bind(status)
        .bind(content)
        .execute(&old)
        .await
        .unwrap();
    }

    // A prefix that is not one, and a database that is not there, are
    // refused before anything is written.
    let (ok, said) = run(
        &app,
        &["phpcms", "--mysql-url", &url, "--prefix", "v9_`; drop"],
    );
    assert!(!ok);
    assert!(said.contains("表前缀只能含字母、数字和下划线"), "{said}");
    let closed = format!("mysql://root@127.0.0.1:{}/nothing", crate::cli::free_port());
    let (ok, said) = run(&app, &["phpcms", "--mysql-url", &closed]);
    assert!(!ok);
    assert!(said.contains("连不上旧站的数据库"), "{said}");
    let (ok, said) = run(
        &app,
        &["phpcms", "--mysql-url", &url, "--prefix", "phpcms_"],
    );
    assert!(!ok, "{said}");
    assert_eq!(count(&app, "select count(*) from articles").await, 0);

    let (ok, said) = run(&app, &["phpcms", "--mysql-url", &url]);
    assert!(ok, "{said}");
    assert!(said.contains("稿件：导入 3"), "{said}");
    assert!(said.contains("评论：导入 3"), "{said}");
    let (number, views, source): (i64, i64, String) = sqlx::query_as(
        "select a.number, t.views, a.source from articles a join article_totals t on t.article_id = a.id
         where a.title = '特高压工程投运' and a.status = 'published'",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!((views, source.as_str()), (1001, "人民网"));
    assert_eq!(
        count(
            &app,
            "select count(*) from articles where title = '审核中的新闻' and status = 'draft'"
        )
        .await,
        1
    );
    assert_eq!(
        count(
            &app,
            "select count(*) from channels where name = '关于我们'"
        )
        .await,
        0,
        "a single page is not a channel"
    );
    let comments: Vec<(String, String)> =
        sqlx::query_as("select body, status from comments order by body")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        comments,
        [
            ("待审".into(), "pending".into()),
            ("支持".into(), "approved".into()),
            ("未通过".into(), "rejected".into()),
        ]
    );
    for old_address in [
        "/index.php?m=content&c=index&a=show&catid=7&id=1",
        "/index.php?id=1&catid=7&a=show&c=index&m=content",
        "/html/2024/dianli_0201/1.html",
    ] {
        let moved = app.get(old_address).await;
        assert_eq!(moved.status(), 301, "{old_address}");
        assert_eq!(
            moved.headers()["location"],
            format!("/articles/{number}").as_str()
        );
    }
    let (_, page) = app.page(&format!("/articles/{number}")).await;
    assert!(texts(&page, ".comments").join("").contains("支持"));
    let (_, listing) = app.page("/channels/guonei").await;
    let titles = texts(&listing, ".story-title a");
    assert!(titles.contains(&"特高压工程投运".to_string()), "{titles:?}");
}
