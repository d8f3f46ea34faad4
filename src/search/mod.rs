//! Search over published stories: titles and bodies are cut into words by
//! jieba (Chinese has no spaces) and stored as a weighted tsvector (title A,
//! body B) with a GIN index; queries, Traditional ones included (converted to
//! Simplified first, as jieba's dictionary is Simplified), are cut the same
//! way. Results come newest first with keyset pages; snippets are made here.

use std::sync::LazyLock;

use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use jieba_rs::Jieba;
use serde::Deserialize;
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::articles::public::article_url;
use crate::error::AppError;
use crate::web::layout::PublicLayout;
use crate::web::page;

/// Loading the dictionary takes about 0.1 s: done once.
static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

const PAGE_SIZE: i64 = 20;
const MAX_QUERY_WORDS: usize = 8;

/// The words of a text as the index keeps them: jieba's search-mode cut,
/// letters and digits only, lowercase.
pub fn words(text: &str) -> Vec<String> {
    JIEBA
        .cut_for_search(text, true)
        .into_iter()
        .map(|token| {
            token
                .word
                .chars()
                .filter(|c| c.is_alphanumeric())
                .collect::<String>()
                .to_lowercase()
        })
        .filter(|word| !word.is_empty())
        .collect()
}

/// A query matching stories that share any of the distinctive words (two
/// characters or more, not numbers) of `title`, for 相关阅读; None when the
/// title has none.
pub fn similarity_query(title: &str) -> Option<String> {
    let mut found: Vec<String> = Vec::new();
    for word in words(title) {
        if word.chars().count() >= 2
            && !word.chars().all(|c| c.is_ascii_digit())
            && !found.contains(&word)
        {
            found.push(word);
        }
    }
    found.truncate(MAX_QUERY_WORDS);
    (!found.is_empty()).then(|| found.join(" | "))
}

/// The words a query asks for (each must occur), from Simplified or
/// Traditional input.
pub fn query_words(query: &str) -> Vec<String> {
    let simplified = hanconv::t2s(query);
    let mut found: Vec<String> = Vec::new();
    for token in JIEBA.cut(&simplified, true) {
        let word: String = token
            .word
            .chars()
            .filter(|c| c.is_alphanumeric())
            .collect::<String>()
            .to_lowercase();
        if !word.is_empty() && !found.contains(&word) {
            found.push(word);
        }
    }
    found.truncate(MAX_QUERY_WORDS);
    found
}

/// (Re)computes the search vector of one story: the title weighs most,
/// the summary and the body count alike.
pub async fn index(
    conn: &mut PgConnection,
    id: Uuid,
    title: &str,
    summary: &str,
    body_text: &str,
) -> sqlx::Result<()> {
    let mut text = words(summary);
    text.extend(words(body_text));
    sqlx::query(
        "update articles set search_vector =
             setweight(to_tsvector('simple', $2), 'A') || setweight(to_tsvector('simple', $3), 'B')
         where id = $1",
    )
    .bind(id)
    .bind(words(title).join(" "))
    .bind(text.join(" "))
    .execute(conn)
    .await?;
    Ok(())
}

/// The search vector `index` stores for a story, in tsvector's text form,
/// computed here (for bulk loads that do not go through PostgreSQL's
/// parser): title words weigh A from position 1, summary and body words
/// weigh B after them; positions stop at 16,383 and a word keeps at most
/// 256 of them, as in PostgreSQL.
pub fn vector_literal(title: &str, summary: &str, body_text: &str) -> String {
    const MAX_POSITION: usize = 16_383;
    const MAX_POSITIONS: usize = 256;
    let mut lexemes: std::collections::BTreeMap<String, Vec<(usize, char)>> =
        std::collections::BTreeMap::new();
    let title = words(title);
    let offset = title.len().min(MAX_POSITION);
    let mut rest = words(summary);
    rest.extend(words(body_text));
    let weighted = title
        .into_iter()
        .enumerate()
        .map(|(i, word)| (word, (i + 1).min(MAX_POSITION), 'A'))
        .chain(rest.into_iter().enumerate().map(|(i, word)| {
            (
                word,
                ((i + 1).min(MAX_POSITION) + offset).min(MAX_POSITION),
                'B',
            )
        }));
    for (word, position, weight) in weighted {
        let positions = lexemes.entry(word).or_default();
        if positions.len() < MAX_POSITIONS && positions.last().map(|p| p.0) != Some(position) {
            positions.push((position, weight));
        }
    }
    let mut out = String::new();
    for (word, positions) in lexemes {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push('\'');
        out.push_str(&word);
        out.push_str("':");
        let list: Vec<String> = positions
            .iter()
            .map(|(position, weight)| format!("{position}{weight}"))
            .collect();
        out.push_str(&list.join(","));
    }
    out
}

/// Indexes stories that have no search vector yet (those stored before
/// search existed); run at start-up. Returns how many were indexed.
pub async fn backfill(pool: &PgPool) -> sqlx::Result<usize> {
    let mut done = 0;
    loop {
        let mut tx = pool.begin().await?;
        let batch: Vec<(Uuid, String, String, String)> = sqlx::query_as(
            "select id, title, summary, body_text from articles where search_vector is null
             limit 200 for update skip locked",
        )
        .fetch_all(&mut *tx)
        .await?;
        if batch.is_empty() {
            return Ok(done);
        }
        for (id, title, summary, body) in &batch {
            index(&mut tx, *id, title, summary, body).await?;
        }
        tx.commit().await?;
        done += batch.len();
    }
}

#[derive(Deserialize)]
pub struct SearchQuery {
    #[serde(default)]
    q: String,
    before: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct Hit {
    number: i64,
    title: String,
    body_text: String,
    published_at: DateTime<Utc>,
}

/// A piece of a snippet, highlighted when it is a searched word.
pub struct Piece {
    pub text: String,
    pub hit: bool,
}

pub struct Result {
    pub url: String,
    pub title: String,
    pub date: String,
    pub snippet: Vec<Piece>,
}

/// About 90 characters of `text` around the first searched word, with every
/// searched word marked.
pub fn snippet(text: &str, words: &[String]) -> Vec<Piece> {
    let chars: Vec<char> = text.chars().collect();
    let lower: String = text.to_lowercase();
    let first = words
        .iter()
        .filter_map(|word| {
            lower
                .find(word.as_str())
                .map(|byte| lower[..byte].chars().count())
        })
        .min()
        .unwrap_or(0);
    let start = first.saturating_sub(30);
    let end = (start + 90).min(chars.len());
    let window: String = chars[start..end].iter().collect();
    let mut pieces: Vec<Piece> = Vec::new();
    let mut rest = window.as_str();
    'outer: while !rest.is_empty() {
        for word in words {
            if rest.to_lowercase().starts_with(word.as_str()) {
                let length = rest
                    .chars()
                    .take(word.chars().count())
                    .map(char::len_utf8)
                    .sum();
                pieces.push(Piece {
                    text: rest[..length].to_owned(),
                    hit: true,
                });
                rest = &rest[length..];
                continue 'outer;
            }
        }
        let next = rest.chars().next().map_or(1, char::len_utf8);
        match pieces.last_mut() {
            Some(last) if !last.hit => last.text.push_str(&rest[..next]),
            _ => pieces.push(Piece {
                text: rest[..next].to_owned(),
                hit: false,
            }),
        }
        rest = &rest[next..];
    }
    if start > 0 {
        pieces.insert(
            0,
            Piece {
                text: "…".into(),
                hit: false,
            },
        );
    }
    if end < chars.len() {
        pieces.push(Piece {
            text: "…".into(),
            hit: false,
        });
    }
    pieces
}

#[derive(Template)]
#[template(path = "public/search.html")]
struct SearchPage {
    layout: PublicLayout,
    query: String,
    searched: bool,
    results: Vec<Result>,
    next_page: Option<String>,
}

/// GET /search?q=
pub async fn search(
    pool: web::Data<PgPool>,
    query: web::Query<SearchQuery>,
) -> std::result::Result<HttpResponse, AppError> {
    let typed = query.q.trim().chars().take(100).collect::<String>();
    let terms = query_words(&typed);
    let mut conn = pool.acquire().await?;
    let layout = PublicLayout::load(&mut conn).await?;
    let mut results = Vec::new();
    let mut next_page = None;
    if !terms.is_empty() {
        let tsquery = terms
            .iter()
            .map(|word| format!("'{word}'"))
            .collect::<Vec<_>>()
            .join(" & ");
        let hits: Vec<Hit> = sqlx::query_as(
            "select a.number, a.title, a.body_text, a.published_at from articles a
             where a.status = 'published' and a.search_vector @@ to_tsquery('simple', $1)
               and ($2::bigint is null or (a.published_at, a.number) <
                    (select published_at, number from articles where number = $2))
             order by a.published_at desc, a.number desc limit $3",
        )
        .bind(&tsquery)
        .bind(query.before)
        .bind(PAGE_SIZE + 1)
        .fetch_all(&mut *conn)
        .await?;
        if hits.len() as i64 > PAGE_SIZE {
            let q = serde_urlencoded::to_string([("q", typed.as_str())]).unwrap_or_default();
            next_page = Some(format!(
                "/search?{q}&before={}",
                hits[PAGE_SIZE as usize - 1].number
            ));
        }
        results = hits
            .into_iter()
            .take(PAGE_SIZE as usize)
            .map(|hit| Result {
                url: article_url(hit.number),
                date: layout.settings.format_date(hit.published_at),
                snippet: snippet(&hit.body_text, &terms),
                title: hit.title,
            })
            .collect();
    }
    let description = format!("在{}搜索稿件", layout.settings.site_name);
    page(&SearchPage {
        layout: layout.titled(format!("搜索：{typed}"), description),
        searched: !terms.is_empty(),
        query: typed,
        results,
        next_page,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_text_is_cut_into_searchable_words() {
        let found = words("国网山东电力全力保障冬季电力供应！");
        assert!(found.contains(&"电力".to_string()), "{found:?}");
        assert!(found.contains(&"供应".to_string()), "{found:?}");
        assert!(!found.iter().any(|w| w.contains('！')));
    }

    #[test]
    fn traditional_queries_find_simplified_words() {
        assert_eq!(query_words("電網 建設"), ["电网", "建设"]);
    }

    #[test]
    fn snippets_mark_the_searched_words() {
        let pieces = snippet(
            "入冬以来，国网山东电力提前部署迎峰度冬各项工作",
            &["电力".to_string()],
        );
        let marked: Vec<&str> = pieces
            .iter()
            .filter(|p| p.hit)
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!(marked, ["电力"]);
        let whole: String = pieces.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(whole, "入冬以来，国网山东电力提前部署迎峰度冬各项工作");
    }
}
