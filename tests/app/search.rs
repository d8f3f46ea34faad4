//! Search at scale, proved at small scale: the pages a reader walks show
//! every story a scan of the same query finds, in order, and the count
//! says how many there are.

use crate::helpers::{attrs, spawn_app, texts};

/// The numbers a scan of the whole table finds for `tsquery` (with an
/// optional extra condition), newest first: no index involved.
async fn scanned(pool: &sqlx::PgPool, tsquery: &str, extra: &str) -> Vec<i64> {
    let mut tx = pool.begin().await.unwrap();
    for setting in [
        "set local enable_indexscan = off",
        "set local enable_bitmapscan = off",
        "set local enable_indexonlyscan = off",
    ] {
        sqlx::query(setting).execute(&mut *tx).await.unwrap();
    }
    let numbers = sqlx::query_scalar(&format!(
        "select number from articles a
         where status = 'published' and search_vector @@ to_tsquery('simple', $1) {extra}
         order by published_at desc, number desc"
    ))
    .bind(tsquery)
    .fetch_all(&mut *tx)
    .await
    .unwrap();
    tx.commit().await.unwrap();
    numbers
}

/// Searches answered by the search index so far, from `/metrics`.
async fn indexed_searches(app: &crate::helpers::TestApp) -> u64 {
    let metrics = app.get("/metrics").await.text().await.unwrap();
    metrics
        .lines()
        .find(|line| line.starts_with("newsdesk_searches_total{by=\"index\"}"))
        .and_then(|line| line.rsplit(' ').next())
        .and_then(|value| value.parse().ok())
        .unwrap_or(0)
}

/// Waits until the search index has every change and answers `path`
/// (asked each time with a new query string, so the page cache, which
/// keeps a page from its second request on, does not answer instead).
async fn index_current(app: &crate::helpers::TestApp, path: &str) {
    for attempt in 0..200 {
        let before = indexed_searches(app).await;
        let (status, _) = app.page(&format!("{path}&attempt={attempt}")).await;
        assert_eq!(status, 200, "{path}");
        if indexed_searches(app).await > before {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("the search index never caught up");
}

/// Every result of a search, page after page, as a reader follows 下一页;
/// and what the first page said it found.
async fn walked(app: &crate::helpers::TestApp, path: &str) -> (Vec<i64>, String) {
    let mut numbers = Vec::new();
    let mut next = Some(path.to_owned());
    let mut found = String::new();
    let mut pages = 0;
    while let Some(path) = next {
        let (status, html) = app.page(&path).await;
        assert_eq!(status, 200, "{path}");
        if pages == 0 {
            found = texts(&html, ".found").join("");
        }
        numbers.extend(
            attrs(&html, ".search-results .story-title a", "href")
                .iter()
                .map(|href| {
                    href.trim_start_matches("/articles/")
                        .parse::<i64>()
                        .unwrap()
                }),
        );
        next = attrs(&html, ".pager a[rel=next]", "href")
            .into_iter()
            .next();
        pages += 1;
        assert!(pages < 200, "{path}: the pages never end");
    }
    (numbers, found)
}

#[tokio::test]
async fn every_story_a_scan_finds_is_on_the_pages_of_its_search() {
    let app = spawn_app().await;
    newsdesk::generate::generate(&app.pool, 1500, 0, |_| {})
        .await
        .unwrap();
    sqlx::query("analyze articles")
        .execute(&app.pool)
        .await
        .unwrap();
    // Words of every frequency the archive has: from the most frequent to
    // those in a single story.
    let stats: Vec<(String, i32)> = sqlx::query_as(
        "select word, ndoc from ts_stat($$select search_vector from articles where status = 'published'$$)
         where length(word) >= 2 and word !~ '^[0-9a-z]+$' order by ndoc desc, word",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    assert!(stats.len() > 50, "{} words", stats.len());
    let at = |share: f64| stats[((stats.len() - 1) as f64 * share) as usize].0.clone();
    let words = [at(0.0), at(0.01), at(0.05), at(0.2), at(0.5), at(1.0)];
    let (frequent, mid) = (&words[0], &words[2]);
    let channel: (uuid::Uuid, String) = sqlx::query_as(
        "select c.id, c.slug from channels c join articles a on a.channel_id = c.id
         where a.status = 'published' and c.parent_id is not null
         group by c.id, c.slug order by count(*) desc limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    let mut cases: Vec<(String, String, String)> = words
        .iter()
        .map(|word| {
            (
                format!("/search?q={word}"),
                format!("'{word}'"),
                String::new(),
            )
        })
        .collect();
    cases.push((
        format!("/search?q={frequent}+{mid}"),
        format!("'{frequent}' & '{mid}'"),
        String::new(),
    ));
    cases.push((
        format!("/search?q={frequent}&channel={}", channel.1),
        format!("'{frequent}'"),
        format!("and a.channel_id = '{}'", channel.0),
    ));
    // A word whose stories are nearly all the archive's oldest: a window
    // sized for stories spread evenly in time holds too few and is widened.
    let skewed = &words[3];
    sqlx::query(
        "update articles set published_at = (select min(published_at) from articles)
                 - make_interval(mins => number::int)
         where status = 'published' and search_vector @@ to_tsquery('simple', $1)
           and number not in (select number from articles where status = 'published'
                                and search_vector @@ to_tsquery('simple', $1)
                              order by published_at desc limit 3)",
    )
    .bind(format!("'{skewed}'"))
    .execute(&app.pool)
    .await
    .unwrap();
    let mut some_walked_far = false;
    // Every case walked twice: answered by the database, then by the
    // search index once it has caught up.
    let cases: Vec<(String, String, String, bool)> = cases
        .into_iter()
        .flat_map(|(path, tsquery, extra)| {
            [
                (path.clone(), tsquery.clone(), extra.clone(), false),
                (path, tsquery, extra, true),
            ]
        })
        .collect();
    let database_only = app.second_instance_with(|config| config.search_index = false);
    for (path, tsquery, extra, indexed) in &cases {
        let app = if *indexed {
            index_current(&app, path).await;
            &app
        } else {
            &database_only
        };
        let expected = scanned(&app.pool, tsquery, extra).await;
        let before = indexed_searches(app).await;
        let (found, said) = walked(app, path).await;
        assert!(!expected.is_empty(), "{path}: the scan finds nothing");
        if found != expected {
            let first = found.iter().zip(&expected).position(|(a, b)| a != b);
            panic!(
                "{path}: the pages show {} stories, the scan finds {}; first difference at {first:?}",
                found.len(),
                expected.len()
            );
        }
        some_walked_far |= found.len() > 100;
        // The count: exact when small, and never below what the pages show.
        // "找到 N 条", "找到约 N 条" or, from ten thousand, "找到约 1.2 万条".
        let figure: f64 = said
            .chars()
            .filter(|c| c.is_ascii_digit() || *c == '.')
            .collect::<String>()
            .parse()
            .unwrap_or_else(|_| panic!("{path}: {said}"));
        let shown = match said.contains('万') {
            true => (figure * 10_000.0).round() as i64,
            false => figure as i64,
        };
        if said.contains('约') {
            let truth = expected.len() as f64;
            assert!(
                (truth / 2.0..=truth * 2.0).contains(&(shown as f64)),
                "{path}: {said} for {truth}"
            );
        } else {
            assert_eq!(shown, expected.len() as i64, "{path}: {said}");
        }
        // By relevance: the newest matches, each once, whatever their rank.
        let (ranked, _) = walked(app, &format!("{path}&order=relevance")).await;
        let mut sorted = ranked.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ranked.len(), "{path}: a story twice");
        let mut newest: Vec<i64> = expected.iter().take(300).copied().collect();
        newest.sort_unstable();
        assert_eq!(sorted, newest, "{path}: relevance ranks the newest matches");
        if *indexed {
            assert!(
                indexed_searches(app).await > before,
                "{path}: the index answered"
            );
        }
    }
    assert!(some_walked_far, "a frequent word spans many pages");
}

/// What `search_index` holds, and what it must hold: a row of the keys,
/// title, summary and words of every published story, nothing else.
async fn search_rows(pool: &sqlx::PgPool) -> (Vec<String>, Vec<String>) {
    let row = "concat_ws('|', article_id, published_at, number, channel_id, unit_id, title,
                         summary, search_vector)";
    let kept = sqlx::query_scalar(&format!("select {row} from search_index order by 1"))
        .fetch_all(pool)
        .await
        .unwrap();
    let row = row.replace("article_id", "id");
    let wanted = sqlx::query_scalar(&format!(
        "select {row} from articles
         where status = 'published' and search_vector is not null and published_at is not null
         order by 1"
    ))
    .fetch_all(pool)
    .await
    .unwrap();
    (kept, wanted)
}

#[tokio::test]
async fn the_search_rows_follow_every_change_to_a_story() {
    use crate::helpers::execute;
    let app = spawn_app().await;
    newsdesk::generate::generate(&app.pool, 60, 0, |_| {})
        .await
        .unwrap();
    let same = |step: &'static str| {
        let pool = app.pool.clone();
        async move {
            let (kept, wanted) = search_rows(&pool).await;
            assert!(!wanted.is_empty(), "{step}: nothing published");
            assert_eq!(kept.len(), wanted.len(), "{step}: rows");
            assert_eq!(kept, wanted, "{step}");
        }
    };
    // The generator loads without triggers, then builds the rows at once.
    same("generated").await;
    let published: Vec<i64> = sqlx::query_scalar(
        "select number from articles where status = 'published' order by number limit 6",
    )
    .fetch_all(&app.pool)
    .await
    .unwrap();
    let story = |i: usize| published[i];
    execute!(
        app,
        "update articles set title = '新的标题', summary = '新的摘要' where number = $1",
        story(0)
    );
    same("title and summary changed").await;
    execute!(
        app,
        "update articles set channel_id = (select id from channels where id <> articles.channel_id
                                            order by slug limit 1),
                             published_at = published_at - interval '3 days'
         where number = $1",
        story(1)
    );
    same("moved to another channel and date").await;
    execute!(
        app,
        "update articles set status = 'unpublished' where number = $1",
        story(2)
    );
    same("withdrawn").await;
    execute!(
        app,
        "update articles set status = 'published' where number = $1",
        story(2)
    );
    same("published again").await;
    // Words computed after publication (the backfill's way).
    execute!(
        app,
        "update articles set search_vector = null where number = $1",
        story(3)
    );
    same("words cleared").await;
    execute!(
        app,
        "update articles set search_vector = to_tsvector('simple', '补上 的 词') where number = $1",
        story(3)
    );
    same("words computed").await;
    // A change search does not read leaves the row as it was: not rewritten.
    let row_version = || async {
        sqlx::query_scalar::<_, String>(
            "select s.xmin::text from search_index s join articles a on a.id = s.article_id
             where a.number = $1",
        )
        .bind(story(4))
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    let before = row_version().await;
    execute!(
        app,
        "update articles set body_html = body_html || '<p>又一段</p>', updated_at = now()
         where number = $1",
        story(4)
    );
    same("body changed").await;
    assert_eq!(
        row_version().await,
        before,
        "a body change rewrote the search row"
    );
    execute!(app, "delete from articles where number = $1", story(5));
    same("deleted").await;
    // A story inserted published, as an import writes it.
    execute!(
        app,
        "insert into articles (channel_id, unit_id, created_by, title, status, published_at,
                               search_vector)
         select channel_id, unit_id, created_by, '导入的稿件', 'published', now(),
                to_tsvector('simple', '导入')
         from articles where number = $1",
        story(0)
    );
    same("inserted published").await;
    // And a search finds what the rows hold: the renamed story by its new
    // title, the withdrawn-and-republished one, not the deleted one.
    let (status, html) = app.page("/search?q=导入").await;
    assert_eq!(status, 200);
    assert_eq!(
        texts(&html, ".search-results .story-title a"),
        ["导入的稿件"]
    );
}

#[tokio::test]
async fn the_search_index_answers_once_current_and_follows_every_change() {
    let app = spawn_app().await;
    newsdesk::generate::generate(&app.pool, 60, 0, |_| {})
        .await
        .unwrap();
    // A second node on the same data folder reads the index the first keeps.
    let other = app.second_instance();
    let numbers = |html: &scraper::Html| -> Vec<i64> {
        attrs(html, ".search-results .story-title a", "href")
            .iter()
            .map(|href| href.trim_start_matches("/articles/").parse().unwrap())
            .collect()
    };
    let story: i64 = sqlx::query_scalar(
        "select number from articles where status = 'published' order by number limit 1",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    // A word no other story has, given to the story's title.
    let set_title = |title: &'static str| {
        let pool = app.pool.clone();
        async move {
            sqlx::query(
                "update articles set title = $1,
                     search_vector = setweight(to_tsvector('simple', $2), 'A') where number = $3",
            )
            .bind(title)
            .bind(newsdesk::search::words(title).join(" "))
            .bind(story)
            .execute(&pool)
            .await
            .unwrap();
        }
    };
    set_title("独一无二的琥珀标题").await;
    for node in [&app, &other] {
        index_current(node, "/search?q=琥珀").await;
        let (_, html) = node.page("/search?q=琥珀").await;
        assert_eq!(numbers(&html), [story]);
        assert_eq!(texts(&html, ".found"), ["找到 1 条结果"]);
    }
    // Changed: found by its new words only, on both nodes.
    set_title("另一个翡翠标题").await;
    for node in [&app, &other] {
        index_current(node, "/search?q=翡翠").await;
        let (_, html) = node.page("/search?q=翡翠").await;
        assert_eq!(numbers(&html), [story]);
        let (_, html) = node.page("/search?q=琥珀").await;
        assert!(numbers(&html).is_empty(), "the old title is gone");
    }
    // Unpublished: gone from the index; a search right after the change
    // never shows it, whoever answers.
    sqlx::query("update articles set status = 'unpublished' where number = $1")
        .bind(story)
        .execute(&app.pool)
        .await
        .unwrap();
    let (_, html) = app.page("/search?q=翡翠").await;
    assert!(numbers(&html).is_empty(), "not shown right after");
    index_current(&app, "/search?q=翡翠").await;
    let (_, html) = app.page("/search?q=翡翠").await;
    assert!(numbers(&html).is_empty());
    let kept: i64 = sqlx::query_scalar("select count(*) from search_feed")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert!(kept >= 3, "each change is in the feed: {kept}");
}
