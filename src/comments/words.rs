//! The sensitive-word list: comments containing a listed word are held for
//! review and never published by themselves. Matching is Aho-Corasick over
//! the words in both scripts, against the comment as written and converted
//! to Simplified, with spaces and punctuation between the characters
//! ignored (敏 感 词, 敏.感.词).

use std::collections::HashSet;

use aho_corasick::{AhoCorasick, MatchKind};
use sqlx::PgConnection;

/// A compiled word list.
pub struct WordList {
    words: Vec<String>,
    matcher: Option<AhoCorasick>,
}

impl WordList {
    pub fn new(words: &[String]) -> Self {
        let mut patterns: Vec<String> = Vec::new();
        let mut owners: Vec<String> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        for word in words {
            let word = normalise(word);
            if word.is_empty() {
                continue;
            }
            for form in [
                word.clone(),
                hanconv::s2t(&word),
                hanconv::s2tw(&word),
                hanconv::t2s(&word),
            ] {
                if seen.insert(form.clone()) {
                    patterns.push(form);
                    owners.push(word.clone());
                }
            }
        }
        let matcher = (!patterns.is_empty()).then(|| {
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .expect("literal patterns always build")
        });
        WordList {
            words: owners,
            matcher,
        }
    }

    /// The listed words found in `text`, each once, in list form.
    pub fn find(&self, text: &str) -> Vec<String> {
        let Some(matcher) = &self.matcher else {
            return Vec::new();
        };
        let mut found: Vec<String> = Vec::new();
        let plain = normalise(text);
        for haystack in [plain.clone(), hanconv::t2s(&plain)] {
            for hit in matcher.find_iter(&haystack) {
                let word = &self.words[hit.pattern().as_usize()];
                if !found.contains(word) {
                    found.push(word.clone());
                }
            }
        }
        found
    }
}

/// The text without whitespace and punctuation, which people put between
/// the characters of a word to slip it past a filter.
fn normalise(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The current list.
pub async fn load(conn: &mut PgConnection) -> sqlx::Result<WordList> {
    let words: Vec<String> = sqlx::query_scalar!("select word from sensitive_words order by word")
        .fetch_all(conn)
        .await?;
    Ok(WordList::new(&words))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(words: &[&str]) -> WordList {
        WordList::new(&words.iter().map(|w| w.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn words_are_found_in_either_script_and_through_separators() {
        let list = list(&["代开发票", "赌博", "VPN"]);
        assert_eq!(list.find("专业代开发票，联系我"), ["代开发票"]);
        assert_eq!(list.find("網上賭博平台"), ["赌博"], "Traditional form");
        assert_eq!(list.find("代 开.发-票"), ["代开发票"], "separators");
        assert_eq!(list.find("翻墙用vpn"), ["VPN".to_lowercase()]);
        assert!(list.find("供电服务很好").is_empty());
    }

    #[test]
    fn an_empty_list_finds_nothing() {
        assert!(list(&[]).find("任何内容").is_empty());
    }
}
