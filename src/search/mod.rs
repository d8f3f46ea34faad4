//! Search over published stories: titles and bodies are cut into words by
//! jieba (Chinese has no spaces) and stored as a weighted tsvector (title A,
//! body B, the byline's names C) with a GIN index; queries, Traditional ones included (converted to
//! Simplified first, as jieba's dictionary is Simplified), are cut the same
//! way; snippets are made here. The search page is in `page`.

pub mod engine;
pub mod page;

use std::sync::LazyLock;

use jieba_rs::Jieba;
use sqlx::{PgConnection, PgPool};

use crate::ids::ArticleId;

/// How many stories a search matches: counted, or estimated when counting
/// them all would cost more than the search.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Count {
    Exact(i64),
    About(i64),
}

impl Count {
    /// What the results page says of it: an estimate of ten thousand or
    /// more in 万, as a reader reads a large round number.
    pub fn said(self) -> String {
        match self {
            Count::Exact(n) => format!("找到 {n} 条结果"),
            Count::About(n) if n >= 10_000 && n % 1_000 == 0 => {
                let tenths = n / 1_000;
                match tenths % 10 {
                    0 => format!("找到约 {} 万条结果", tenths / 10),
                    rest => format!("找到约 {}.{rest} 万条结果", tenths / 10),
                }
            }
            Count::About(n) => format!("找到约 {n} 条结果"),
        }
    }
}

/// An estimated count to two significant figures, as the estimate it is.
pub fn rounded(estimate: f64) -> i64 {
    let magnitude = 10f64
        .powi((estimate.max(1.0)).log10().floor() as i32 - 1)
        .max(1.0);
    ((estimate / magnitude).round() * magnitude) as i64
}
use crate::web::variant::Conversions;

/// Loading the dictionary takes about 0.1 s: done once.
static JIEBA: LazyLock<Jieba> = LazyLock::new(Jieba::new);

pub const MAX_QUERY_WORDS: usize = 8;

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
/// Traditional input: at most `MAX_QUERY_WORDS`.
pub fn query_words(query: &str, conversions: &Conversions) -> Vec<String> {
    query_words_cut(query, conversions).0
}

/// The words a query asks for, and whether it had more than are searched;
/// 繁體 is read the site's way first (its own conversions), then the
/// library's.
pub fn query_words_cut(query: &str, conversions: &Conversions) -> (Vec<String>, bool) {
    let simplified = conversions.t2s(query);
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
    let cut = found.len() > MAX_QUERY_WORDS;
    found.truncate(MAX_QUERY_WORDS);
    (found, cut)
}

/// The words a byline ("本报记者 王晓峰 通讯员 李明") is found by: each
/// name whole, as a reader types it, and cut as jieba cuts a query.
pub fn byline_words(byline: &str) -> Vec<String> {
    let mut found = Vec::new();
    for name in byline.split(|c: char| !c.is_alphanumeric()) {
        let whole: String = name.to_lowercase();
        if whole.is_empty() {
            continue;
        }
        let parts = words(&whole);
        found.push(whole);
        found.extend(parts);
    }
    found
}

/// The tsquery of a search for `words` (each must occur), typed as
/// `typed`: a query that jieba cuts into pieces but that is one run of
/// letters (a name such as 王晓峰) also finds that run whole.
pub fn tsquery(words: &[String], typed: &str, conversions: &Conversions) -> String {
    let all = words
        .iter()
        .map(|word| format!("'{word}'"))
        .collect::<Vec<_>>()
        .join(" & ");
    match whole_run(words, typed, conversions) {
        Some(run) => format!("({all}) | '{run}'"),
        None => all,
    }
}

/// The query typed as one run of letters (a name such as 王晓峰) that
/// jieba cuts into pieces, which a search also finds whole.
pub fn whole_run(words: &[String], typed: &str, conversions: &Conversions) -> Option<String> {
    let run: String = conversions.t2s(typed.trim()).to_lowercase();
    (words.len() > 1
        && (2..=8).contains(&run.chars().count())
        && run.chars().all(char::is_alphanumeric))
    .then_some(run)
}

/// (Re)computes the search vector of one story: the title weighs most,
/// the summary and the body count alike, the byline's names least.
pub async fn index(
    conn: &mut PgConnection,
    id: crate::ids::ArticleId,
    story: &Indexed<'_>,
) -> sqlx::Result<()> {
    let mut text = words(story.summary);
    text.extend(words(story.body_text));
    sqlx::query!(
        "update articles set search_vector =
             setweight(to_tsvector('simple', $2), 'A') || setweight(to_tsvector('simple', $3), 'B')
             || setweight(to_tsvector('simple', $4), 'C')
         where id = $1",
        id as crate::ids::ArticleId,
        words(story.title).join(" "),
        text.join(" "),
        story.names().join(" "),
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// What a story is found by.
pub struct Indexed<'a> {
    pub title: &'a str,
    pub summary: &'a str,
    pub body_text: &'a str,
    /// The byline and the correspondents, names separated by spaces.
    pub byline: &'a str,
    pub correspondents: &'a str,
}

impl Indexed<'_> {
    fn names(&self) -> Vec<String> {
        let mut names = byline_words(self.byline);
        names.extend(byline_words(self.correspondents));
        names
    }
}

/// The search vector `index` stores for a story, in tsvector's text form,
/// computed here (for bulk loads that do not go through PostgreSQL's
/// parser): title words weigh A from position 1, summary and body words
/// weigh B after them, byline names C after those; positions stop at
/// 16,383 and a word keeps at most 256 of them, as in PostgreSQL.
pub fn vector_literal(story: &Indexed<'_>) -> String {
    const MAX_POSITION: usize = 16_383;
    const MAX_POSITIONS: usize = 256;
    let mut lexemes: std::collections::BTreeMap<String, Vec<(usize, char)>> =
        std::collections::BTreeMap::new();
    let title = words(story.title);
    let offset = title.len().min(MAX_POSITION);
    let mut rest = words(story.summary);
    rest.extend(words(story.body_text));
    let names = story.names();
    let names_offset = (offset + rest.len()).min(MAX_POSITION);
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
        }))
        .chain(names.into_iter().enumerate().map(|(i, word)| {
            (
                word,
                ((i + 1).min(MAX_POSITION) + names_offset).min(MAX_POSITION),
                'C',
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
        let batch: Vec<(ArticleId, String, String, String, String, String)> = sqlx::query_as(
            "select id, title, summary, body_text, author_byline, correspondents
             from articles where search_vector is null
             limit 200 for update skip locked",
        )
        .fetch_all(&mut *tx)
        .await?;
        if batch.is_empty() {
            return Ok(done);
        }
        for (id, title, summary, body_text, byline, correspondents) in &batch {
            let story = Indexed {
                title,
                summary,
                body_text,
                byline,
                correspondents,
            };
            index(&mut tx, *id, &story).await?;
        }
        tx.commit().await?;
        done += batch.len();
    }
}

/// A piece of a snippet, highlighted when it is a searched word.
pub struct Piece {
    pub text: String,
    pub hit: bool,
}

/// Where a snippet showing the character `first` begins: at most 30
/// characters before it, at the start of a sentence or clause when one
/// begins within reach, else at the start of a word, never inside one.
fn snippet_start(chars: &[char], first: usize) -> usize {
    let earliest = first.saturating_sub(30);
    if earliest == 0 {
        return 0;
    }
    let clause = (earliest..first).find(|&at| {
        matches!(
            chars[at],
            '。' | '！'
                | '？'
                | '；'
                | '，'
                | '、'
                | '：'
                | '.'
                | '!'
                | '?'
                | ';'
                | ','
                | ' '
                | '\n'
        )
    });
    if let Some(at) = clause {
        return at + 1;
    }
    let from = earliest.saturating_sub(12);
    let window: String = chars[from..first].iter().collect();
    let mut at = from;
    for token in JIEBA.cut(&window, false) {
        if at >= earliest {
            return at;
        }
        at += token.word.chars().count();
    }
    first
}

/// Whether `text`, lowercased, starts with `word` (lowercasing only as
/// much of `text` as the comparison reads).
fn starts_lowercased(text: &str, word: &str) -> bool {
    let mut lowered = text.chars().flat_map(char::to_lowercase);
    word.chars().all(|wanted| lowered.next() == Some(wanted))
}

/// About 90 characters of `text` around the first searched word, with every
/// searched word marked, starting at a clause or a word.
pub fn snippet(text: &str, words: &[String]) -> Vec<Piece> {
    let chars: Vec<char> = text.chars().collect();
    // A word without letter case (Chinese) is found in the text as it is;
    // only a word with case needs the text lowercased.
    let cased = words
        .iter()
        .any(|word| word.chars().any(char::is_lowercase));
    let lower: std::borrow::Cow<str> = match cased {
        true => text.to_lowercase().into(),
        false => text.into(),
    };
    let first = words
        .iter()
        .filter_map(|word| {
            lower
                .find(word.as_str())
                .map(|byte| lower[..byte].chars().count())
        })
        .min()
        .unwrap_or(0);
    let start = snippet_start(&chars, first);
    let end = (start + 90).min(chars.len());
    let window: String = chars[start..end].iter().collect();
    let mut pieces: Vec<Piece> = Vec::new();
    let mut rest = window.as_str();
    'outer: while !rest.is_empty() {
        for word in words {
            if starts_lowercased(rest, word) {
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

#[cfg(test)]
mod tests {
    #[test]
    fn large_estimates_are_said_in_wan() {
        use super::Count;
        assert_eq!(Count::Exact(123_456).said(), "找到 123456 条结果");
        assert_eq!(Count::About(9_900).said(), "找到约 9900 条结果");
        assert_eq!(Count::About(12_000).said(), "找到约 1.2 万条结果");
        assert_eq!(Count::About(120_000).said(), "找到约 12 万条结果");
        assert_eq!(Count::About(1_000_000).said(), "找到约 100 万条结果");
        assert_eq!(Count::About(12_345).said(), "找到约 12345 条结果");
    }

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
        assert_eq!(
            query_words("電網 建設", &Conversions::default()),
            ["电网", "建设"]
        );
    }

    #[test]
    fn a_snippet_starts_at_a_clause_or_a_word_never_inside_one() {
        let text = "国网山东电力提前部署迎峰度冬各项工作组织各级单位开展设备隐患排查加强负荷预测和电网运行方式安排";
        let pieces = snippet(text, &["电网".to_string()]);
        let whole: String = pieces.iter().map(|p| p.text.as_str()).collect();
        let shown = whole.trim_start_matches('…');
        let offset = text
            .find(shown)
            .expect("the snippet is a piece of the text");
        let start = text[..offset].chars().count();
        let cuts: Vec<usize> = JIEBA
            .cut(text, false)
            .iter()
            .scan(0, |at, token| {
                let here = *at;
                *at += token.word.chars().count();
                Some(here)
            })
            .collect();
        assert!(cuts.contains(&start), "starts at a word: {whole}");
        assert!(!shown.starts_with("峰度冬"), "{whole}");

        let clause = format!("{}，迎峰度冬期间电网负荷创新高", "很".repeat(40));
        let pieces = snippet(&clause, &["电网".to_string()]);
        let whole: String = pieces.iter().map(|p| p.text.as_str()).collect();
        assert_eq!(
            whole.trim_start_matches('…').chars().next(),
            Some('迎'),
            "{whole}"
        );
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
