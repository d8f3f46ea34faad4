//! Proofreading (校对): the site's lists of common mistakes (易错词), exact
//! names (单位名称), leaders' titles (领导职务) and standard expressions
//! (规范表述), compiled once per list version into Aho-Corasick automata
//! over every form of each term (简体, 繁體, 臺灣正體), and the suspected
//! errors they find in a story's title and body, highlighted in place.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};
use sqlx::PgConnection;

use crate::web::variant::escape;

/// What a list entry guards against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// 易错词: a common mistake and its right form.
    Typo,
    /// An outdated or wrong form of a name (国家电网公司 → 国家电网有限公司).
    Name,
    /// A leader's name with their exact titles.
    Leader,
    /// 规范表述: a forbidden or outdated expression.
    Expression,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::Typo, Kind::Name, Kind::Leader, Kind::Expression];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Typo => "typo",
            Kind::Name => "name",
            Kind::Leader => "leader",
            Kind::Expression => "expression",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Kind::Typo => "易错词",
            Kind::Name => "单位名称",
            Kind::Leader => "领导姓名及职务",
            Kind::Expression => "规范表述",
        }
    }

    pub fn parse(value: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.as_str() == value)
    }
}

/// One row of the lists as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Term {
    pub id: i64,
    pub kind: String,
    pub term: String,
    pub suggestion: String,
    pub followed_by: String,
    pub note: String,
}

/// Titles a leader's name is written next to, besides those of the list's
/// own leaders: a title from here beside a listed name, other than the
/// name's own, is a suspected error.
const TITLES: &[&str] = &[
    "董事长",
    "副董事长",
    "总经理",
    "副总经理",
    "党组书记",
    "党组副书记",
    "党组成员",
    "党委书记",
    "党委副书记",
    "党委常委",
    "书记",
    "副书记",
    "主任",
    "副主任",
    "部长",
    "副部长",
    "局长",
    "副局长",
    "处长",
    "副处长",
    "院长",
    "副院长",
    "主席",
    "副主席",
    "工会主席",
    "总工程师",
    "总会计师",
    "总经济师",
    "总法律顾问",
    "总监",
    "经理",
    "副经理",
    "厂长",
    "所长",
    "站长",
    "组长",
    "副组长",
];

/// The words a term may be flagged only before.
enum Follow {
    Anything,
    /// Any of these (in every form), or a number for `#`.
    Before {
        words: Vec<String>,
        number: bool,
    },
}

struct Entry {
    kind: Kind,
    term: String,
    suggestion: String,
    note: String,
    follow: Follow,
    /// Every form of the suggestion: a hit inside the right form written
    /// out (国家电网 in 国家电网有限公司) is no error.
    right_forms: Vec<String>,
    /// A leader's titles, simplified.
    titles: Vec<String>,
}

/// The compiled lists of one version.
pub struct ProofLists {
    entries: Vec<Entry>,
    /// Pattern → the entries of that form (one term may have several rows,
    /// each before other words).
    owners: Vec<Vec<usize>>,
    finder: Option<AhoCorasick>,
    titles: AhoCorasick,
    /// Title pattern → the title, simplified.
    title_of: Vec<String>,
}

/// Every script form of `text`, the text first, each once.
fn forms(text: &str) -> Vec<String> {
    let mut all = vec![text.to_owned()];
    for form in [
        hanconv::s2t(text),
        hanconv::s2tw(text),
        hanconv::s2twp(text),
        hanconv::s2hk(text),
        hanconv::t2s(text),
    ] {
        if !all.contains(&form) {
            all.push(form);
        }
    }
    all
}

/// The items of a list typed with 、 (or ，, commas, spaces) between them.
pub fn items(text: &str) -> impl Iterator<Item = &str> {
    text.split(['、', '，', ',', ' ', '　', ';', '；'])
        .map(str::trim)
        .filter(|item| !item.is_empty())
}

fn is_number(c: char) -> bool {
    c.is_ascii_digit() || ('０'..='９').contains(&c) || "〇零一二三四五六七八九十百千两".contains(c)
}

impl ProofLists {
    pub fn new(terms: &[Term]) -> Self {
        let mut entries = Vec::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut owners: Vec<Vec<usize>> = Vec::new();
        let mut pattern_at: HashMap<String, usize> = HashMap::new();
        let mut title_words: Vec<String> = TITLES.iter().map(|t| (*t).to_owned()).collect();
        for row in terms {
            let Some(kind) = Kind::parse(&row.kind) else {
                continue;
            };
            let follow = if row.followed_by.is_empty() {
                Follow::Anything
            } else {
                let mut words = Vec::new();
                let mut number = false;
                for item in items(&row.followed_by) {
                    if item == "#" {
                        number = true;
                    } else {
                        words.extend(forms(item));
                    }
                }
                Follow::Before { words, number }
            };
            let titles: Vec<String> = if kind == Kind::Leader {
                items(&row.suggestion).map(hanconv::t2s).collect()
            } else {
                Vec::new()
            };
            for title in &titles {
                if !title_words.contains(title) {
                    title_words.push(title.clone());
                }
            }
            let at = entries.len();
            entries.push(Entry {
                kind,
                term: row.term.clone(),
                suggestion: row.suggestion.clone(),
                note: row.note.clone(),
                follow,
                right_forms: if row.suggestion.is_empty() || kind == Kind::Leader {
                    Vec::new()
                } else {
                    forms(&row.suggestion)
                },
                titles,
            });
            for form in forms(&row.term) {
                let index = *pattern_at.entry(form.clone()).or_insert_with(|| {
                    patterns.push(form);
                    owners.push(Vec::new());
                    owners.len() - 1
                });
                if !owners[index].contains(&at) {
                    owners[index].push(at);
                }
            }
        }
        let finder = (!patterns.is_empty()).then(|| {
            AhoCorasick::builder()
                .match_kind(MatchKind::LeftmostLongest)
                .build(&patterns)
                .expect("literal patterns always build")
        });
        let mut title_patterns = Vec::new();
        let mut title_of = Vec::new();
        for title in &title_words {
            for form in forms(title) {
                title_patterns.push(form);
                title_of.push(title.clone());
            }
        }
        let titles = AhoCorasick::new(&title_patterns).expect("literal patterns always build");
        ProofLists {
            entries,
            owners,
            finder,
            titles,
            title_of,
        }
    }

    /// How many entries the lists hold.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The longest title ending exactly where `before` ends, or starting
    /// exactly where `after` starts, with its span relative to the text.
    fn adjacent_title(&self, before: &str, after: &str) -> Vec<(String, Span)> {
        let mut found = Vec::new();
        let tail_start = before.char_indices().rev().nth(7).map_or(0, |(at, _)| at);
        let tail = &before[tail_start..];
        if let Some(hit) = self
            .titles
            .find_overlapping_iter(tail)
            .filter(|hit| hit.end() == tail.len())
            .max_by_key(|hit| hit.len())
        {
            let start = before.len() - hit.len();
            found.push((
                self.title_of[hit.pattern().as_usize()].clone(),
                Span::Before(start),
            ));
        }
        let head_end = after
            .char_indices()
            .nth(8)
            .map_or(after.len(), |(at, _)| at);
        let head = &after[..head_end];
        if let Some(hit) = self
            .titles
            .find_overlapping_iter(head)
            .filter(|hit| hit.start() == 0)
            .max_by_key(|hit| hit.len())
        {
            found.push((
                self.title_of[hit.pattern().as_usize()].clone(),
                Span::After(hit.end()),
            ));
        }
        found
    }

    /// The suspected errors of `text` (plain text, or the text between two
    /// tags of a body), in order.
    pub fn hits(&self, text: &str) -> Vec<Hit> {
        let Some(finder) = &self.finder else {
            return Vec::new();
        };
        let mut hits: Vec<Hit> = Vec::new();
        for found in finder.find_iter(text) {
            let (start, end) = (found.start(), found.end());
            let written = &text[start..end];
            for &at in &self.owners[found.pattern().as_usize()] {
                let entry = &self.entries[at];
                if entry.kind == Kind::Leader {
                    let wrong = self
                        .adjacent_title(&text[..start], &text[end..])
                        .into_iter()
                        .filter(|(title, _)| !entry.titles.contains(title))
                        .collect::<Vec<_>>();
                    if !wrong.is_empty() {
                        let (mut from, mut to) = (start, end);
                        for (_, span) in &wrong {
                            match span {
                                Span::Before(at) => from = from.min(*at),
                                Span::After(len) => to = to.max(end + len),
                            }
                        }
                        hits.push(Hit {
                            start: from,
                            end: to,
                            entry: at,
                        });
                        break;
                    }
                    continue;
                }
                if !entry.follows(&text[end..]) || entry.written_right(text, start, written) {
                    continue;
                }
                hits.push(Hit {
                    start,
                    end,
                    entry: at,
                });
                break;
            }
        }
        hits.retain({
            let mut last_end = 0;
            move |hit| {
                let keep = hit.start >= last_end;
                if keep {
                    last_end = hit.end;
                }
                keep
            }
        });
        hits
    }

    /// The suspected errors of a story's title and body, counted by form,
    /// and both texts with each error marked.
    pub fn proofread(&self, title: &str, body_html: &str) -> Proofread {
        let mut report = Report::default();
        let mut title_marked = String::new();
        self.mark(title, true, &mut title_marked, &mut report);
        let mut body_marked = String::with_capacity(body_html.len() + 64);
        let mut rest = body_html;
        while !rest.is_empty() {
            match rest.find('<') {
                Some(0) => {
                    let close = rest.find('>').map_or(rest.len(), |at| at + 1);
                    body_marked.push_str(&rest[..close]);
                    rest = &rest[close..];
                }
                Some(at) => {
                    self.mark(&rest[..at], false, &mut body_marked, &mut report);
                    rest = &rest[at..];
                }
                None => {
                    self.mark(rest, false, &mut body_marked, &mut report);
                    rest = "";
                }
            }
        }
        Proofread {
            total: report.findings.iter().map(|f| f.count).sum(),
            findings: report.findings,
            title_html: title_marked,
            body_html: body_marked,
        }
    }

    /// Writes `text` into `out` with its hits marked; `plain` text is
    /// escaped, a body's text is HTML already.
    fn mark(&self, text: &str, plain: bool, out: &mut String, report: &mut Report) {
        let put = |out: &mut String, piece: &str| {
            if plain {
                out.push_str(&escape(piece));
            } else {
                out.push_str(piece);
            }
        };
        let mut at = 0;
        for hit in self.hits(text) {
            put(out, &text[at..hit.start]);
            let entry = &self.entries[hit.entry];
            let written = &text[hit.start..hit.end];
            let number = report.hits;
            report.hits += 1;
            let advice = entry.advice();
            out.push_str(&format!(
                "<mark class=\"proof proof-{}\" id=\"proof-{number}\" title=\"{}\">",
                entry.kind.as_str(),
                escape(&advice)
            ));
            put(out, written);
            out.push_str("</mark>");
            let shown = if plain {
                written.to_owned()
            } else {
                unescape(written)
            };
            match report
                .findings
                .iter_mut()
                .find(|f| f.found == shown && f.advice == advice)
            {
                Some(finding) => finding.count += 1,
                None => report.findings.push(Finding {
                    kind: entry.kind,
                    found: shown,
                    advice,
                    note: entry.note.clone(),
                    count: 1,
                    first: number,
                    context: context(text, hit.start, hit.end, plain),
                }),
            }
            at = hit.end;
        }
        put(out, &text[at..]);
    }
}

enum Span {
    /// A title starting at this offset of the text before the name.
    Before(usize),
    /// A title of this length right after the name.
    After(usize),
}

impl Entry {
    fn follows(&self, after: &str) -> bool {
        match &self.follow {
            Follow::Anything => true,
            Follow::Before { words, number } => {
                let after = after.trim_start();
                (*number && after.chars().next().is_some_and(is_number))
                    || words.iter().any(|word| after.starts_with(word.as_str()))
            }
        }
    }

    /// Whether the hit at `start` is part of the right form written out.
    fn written_right(&self, text: &str, start: usize, written: &str) -> bool {
        self.right_forms.iter().any(|right| {
            right.match_indices(written).any(|(offset, _)| {
                start >= offset
                    && text
                        .get(start - offset..start - offset + right.len())
                        .is_some_and(|there| there == right)
            })
        })
    }

    /// What the reviewer is told to write instead.
    fn advice(&self) -> String {
        match self.kind {
            Kind::Leader => format!("{}的职务为：{}", self.term, self.suggestion),
            _ if self.suggestion.is_empty() => "建议删改".to_owned(),
            _ => format!("应为“{}”", self.suggestion),
        }
    }
}

/// A suspected error: where in the text it is, and which entry says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub start: usize,
    pub end: usize,
    entry: usize,
}

#[derive(Default)]
struct Report {
    hits: usize,
    findings: Vec<Finding>,
}

/// One form found, with what it should be and how often it occurs.
#[derive(Debug, Clone)]
pub struct Finding {
    pub kind: Kind,
    pub found: String,
    pub advice: String,
    pub note: String,
    pub count: usize,
    /// The number of its first mark (`#proof-N`).
    pub first: usize,
    /// A few characters either side of the first occurrence.
    pub context: String,
}

/// A story's proofreading: the findings, and its title and body marked.
pub struct Proofread {
    pub findings: Vec<Finding>,
    /// How many places were marked.
    pub total: usize,
    pub title_html: String,
    pub body_html: String,
}

fn unescape(html: &str) -> String {
    html.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

/// Up to ten characters either side of `start..end`, with … where cut.
fn context(text: &str, start: usize, end: usize, plain: bool) -> String {
    let from = text[..start]
        .char_indices()
        .rev()
        .nth(9)
        .map_or(0, |(at, _)| at);
    let to = text[end..]
        .char_indices()
        .nth(10)
        .map_or(text.len(), |(at, _)| end + at);
    let mut shown = String::new();
    if from > 0 {
        shown.push('…');
    }
    shown.push_str(&text[from..to]);
    if to < text.len() {
        shown.push('…');
    }
    if plain { shown } else { unescape(&shown) }
}

/// The current lists, compiled.
pub async fn load(conn: &mut PgConnection) -> sqlx::Result<ProofLists> {
    let terms: Vec<Term> = sqlx::query_as(
        "select id, kind, term, suggestion, followed_by, note from proof_terms order by id",
    )
    .fetch_all(conn)
    .await?;
    Ok(ProofLists::new(&terms))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lists(rows: &[(&str, &str, &str, &str)]) -> ProofLists {
        let terms: Vec<Term> = rows
            .iter()
            .enumerate()
            .map(|(id, (kind, term, suggestion, followed_by))| Term {
                id: id as i64,
                kind: (*kind).into(),
                term: (*term).into(),
                suggestion: (*suggestion).into(),
                followed_by: (*followed_by).into(),
                note: String::new(),
            })
            .collect();
        ProofLists::new(&terms)
    }

    fn found(lists: &ProofLists, text: &str) -> Vec<String> {
        lists
            .hits(text)
            .into_iter()
            .map(|hit| text[hit.start..hit.end].to_owned())
            .collect()
    }

    #[test]
    fn mistakes_are_found_in_either_script_and_marked() {
        let lists = lists(&[
            ("typo", "即然", "既然", ""),
            ("typo", "按装", "安装", ""),
            ("typo", "布署", "部署", ""),
        ]);
        assert_eq!(
            found(&lists, "即然要按装设备，就要布署到位"),
            ["即然", "按装", "布署"]
        );
        assert_eq!(found(&lists, "既然要安装设备"), Vec::<String>::new());
        assert_eq!(found(&lists, "即然要按裝設備"), ["即然", "按裝"], "繁體");
        let read = lists.proofread(
            "按装<b>",
            "<p class=\"x\">先按装，再<strong>布署</strong></p>",
        );
        assert_eq!(read.total, 3);
        assert_eq!(read.findings.len(), 2);
        assert_eq!(read.findings[0].count, 2, "按装 twice");
        assert_eq!(read.findings[0].advice, "应为“安装”");
        assert!(
            read.title_html
                .starts_with("<mark class=\"proof proof-typo\" id=\"proof-0\"")
        );
        assert!(
            read.title_html.ends_with("&lt;b&gt;"),
            "{}",
            read.title_html
        );
        assert_eq!(
            read.body_html,
            "<p class=\"x\">先<mark class=\"proof proof-typo\" id=\"proof-1\" title=\"应为“安装”\">按装</mark>，再<strong><mark class=\"proof proof-typo\" id=\"proof-2\" title=\"应为“部署”\">布署</mark></strong></p>"
        );
    }

    #[test]
    fn a_rule_flags_a_term_only_before_its_words() {
        let lists = lists(&[("typo", "截止", "截至", "#、目前、今年、到")]);
        assert_eq!(found(&lists, "截止11月底，完成投资"), ["截止"]);
        assert_eq!(found(&lists, "截止目前，已完成"), ["截止"]);
        assert_eq!(found(&lists, "截止十一月"), ["截止"], "Chinese numerals");
        assert!(found(&lists, "报名于11月30日截止。").is_empty());
        assert!(found(&lists, "截止日期已过").is_empty());
    }

    #[test]
    fn the_right_form_written_out_is_no_error() {
        let lists = lists(&[
            ("name", "国家电网公司", "国家电网有限公司", ""),
            ("name", "国家电网", "国家电网有限公司", ""),
        ]);
        assert_eq!(found(&lists, "国家电网公司召开会议"), ["国家电网公司"]);
        assert!(found(&lists, "国家电网有限公司召开会议").is_empty());
        assert!(found(&lists, "國家電網有限公司召開會議").is_empty(), "繁體");
        assert_eq!(found(&lists, "国家电网召开会议"), ["国家电网"]);
    }

    #[test]
    fn a_leader_with_another_title_beside_the_name_is_flagged() {
        let lists = lists(&[("leader", "张建国", "董事长、党组书记", "")]);
        assert!(found(&lists, "公司董事长、党组书记张建国出席").is_empty());
        assert!(found(&lists, "张建国董事长指出").is_empty());
        assert!(found(&lists, "张建国在会上指出").is_empty(), "no title");
        assert_eq!(found(&lists, "总经理张建国出席"), ["总经理张建国"]);
        assert_eq!(found(&lists, "张建国副董事长指出"), ["张建国副董事长"]);
        assert_eq!(found(&lists, "總經理張建國出席"), ["總經理張建國"], "繁體");
        let read = lists.proofread("", "<p>总经理张建国出席</p>");
        assert_eq!(read.findings[0].advice, "张建国的职务为：董事长、党组书记");
    }

    #[test]
    fn an_expression_without_a_suggestion_asks_for_a_rewrite() {
        let lists = lists(&[("expression", "电老虎", "", "")]);
        let read = lists.proofread("", "<p>不做&amp;电老虎&nbsp;吗</p>");
        assert_eq!(read.findings[0].advice, "建议删改");
        assert_eq!(read.findings[0].context, "不做&电老虎 吗");
    }

    #[test]
    fn empty_lists_find_nothing() {
        let lists = lists(&[]);
        assert!(lists.hits("即然按装").is_empty());
        assert_eq!(
            lists.proofread("标题", "<p>正文</p>").body_html,
            "<p>正文</p>"
        );
    }
}
