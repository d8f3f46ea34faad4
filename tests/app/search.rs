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
    for (path, tsquery, extra) in &cases {
        let expected = scanned(&app.pool, tsquery, extra).await;
        let (found, said) = walked(&app, path).await;
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
        let shown: i64 = said
            .chars()
            .filter(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap_or_else(|_| panic!("{path}: {said}"));
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
        let (ranked, _) = walked(&app, &format!("{path}&order=relevance")).await;
        let mut sorted = ranked.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(sorted.len(), ranked.len(), "{path}: a story twice");
        let mut newest: Vec<i64> = expected.iter().take(300).copied().collect();
        newest.sort_unstable();
        assert_eq!(sorted, newest, "{path}: relevance ranks the newest matches");
    }
    assert!(some_walked_far, "a frequent word spans many pages");
}
