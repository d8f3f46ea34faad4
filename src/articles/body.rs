//! The article body: rich text typed by people, stored and shown only after
//! it has gone through an allow-list sanitiser.

use std::collections::HashSet;
use std::fmt;
use std::sync::LazyLock;

use crate::secret::keyed_hash;

/// The path uploaded images are served from; bodies may show no other images.
pub const MEDIA_PATH: &str = "/media/";

/// What the seal of a body that needs no sanitising is keyed for.
pub const SEAL_PURPOSE: &str = "sanitised body";

static SANITIZER: LazyLock<ammonia::Builder<'static>> = LazyLock::new(|| {
    let mut builder = ammonia::Builder::empty();
    builder
        .add_tags([
            "p",
            "h2",
            "h3",
            "h4",
            "strong",
            "em",
            "b",
            "i",
            "a",
            "blockquote",
            "ul",
            "ol",
            "li",
            "figure",
            "figcaption",
            "img",
            "br",
        ])
        .add_tag_attributes("a", ["href", "title"])
        .add_tag_attributes("img", ["src", "alt"])
        .url_schemes(HashSet::from(["http", "https", "mailto"]))
        .link_rel(Some("noopener noreferrer nofollow"))
        .attribute_filter(|element, attribute, value| {
            if element == "img" && attribute == "src" && !value.starts_with(MEDIA_PATH) {
                None
            } else {
                Some(value.into())
            }
        });
    builder
});

/// HTML that has passed the sanitiser; the only kind of HTML a template may
/// render unescaped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanitizedHtml(String);

/// One pass of the sanitiser and of the tidying that follows it.
fn clean_once(html: &str) -> String {
    let mut clean = Vec::with_capacity(html.len());
    SANITIZER
        .clean(html)
        .write_to(&mut clean)
        .expect("writing to memory does not fail");
    // html5ever writes UTF-8 only.
    let mut clean = String::from_utf8(clean)
        .unwrap_or_else(|bytes| String::from_utf8_lossy(bytes.as_bytes()).into_owned());
    // Editors leave empty paragraphs around photos and at the end.
    for empty in ["<p></p>", "<p><br></p>"] {
        if clean.contains(empty) {
            clean = clean.replace(empty, "");
        }
    }
    if clean.contains("<img ") {
        clean = describe_photos(&clean);
    }
    clean
}

/// `text` as paragraphs, one a line, escaped.
fn paragraphs(text: &str) -> String {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .map(|line| {
            let escaped = line
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            format!("<p>{escaped}</p>")
        })
        .collect()
}

/// Most passes of the sanitiser over one body (see `SanitizedHtml::clean`).
const MAX_PASSES: usize = 4;

impl SanitizedHtml {
    /// Sanitises `html`, again and again until the text stands still:
    /// serialising a parsed tree does not always give text that parses back
    /// to the same tree (a link inside a link, found by fuzzing, is split
    /// apart by the next parse), and a body must be what every later parse,
    /// the browser's too, reads from it.
    pub fn clean(html: &str) -> Self {
        let mut clean = clean_once(html);
        for _ in 1..MAX_PASSES {
            let again = clean_once(&clean);
            if again == clean {
                return SanitizedHtml(clean);
            }
            clean = again;
        }
        // Markup so tangled that every pass still changes it (deeply
        // mis-nested lists and links, found by fuzzing): kept as its text,
        // a paragraph a line, which cleans to itself.
        let text = SanitizedHtml(clean).plain_text();
        SanitizedHtml(clean_once(&paragraphs(&text)))
    }

    /// The seal of `stored`, a stored body that sanitising left as it is:
    /// kept with the story's page parts (migration 0029), it lets the next
    /// pages show the body as stored. The seal is keyed with the site's key,
    /// so a body written into the database by other means, or a seal made
    /// up there, does not match and the body is sanitised again.
    pub fn seal(&self, stored: &str, key: &[u8]) -> Option<[u8; 32]> {
        (self.0 == stored).then(|| keyed_hash(key, SEAL_PURPOSE, stored.as_bytes()))
    }

    /// `stored` as it is, when `seal` is its seal under `key`.
    pub fn unseal(stored: &str, seal: &[u8], key: &[u8]) -> Option<Self> {
        let expected = keyed_hash(key, SEAL_PURPOSE, stored.as_bytes());
        bool::from(subtle::ConstantTimeEq::ct_eq(&expected[..], seal))
            .then(|| SanitizedHtml(stored.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The body's text without markup, one line per block, for search,
    /// summaries and reading aloud. The sanitiser's output is well formed
    /// (text holds no raw `<`; a tag ends at the first `>` outside quotes),
    /// so tags are skipped in one pass rather than parsed again.
    pub fn plain_text(&self) -> String {
        const BLOCK_ENDS: [&str; 8] = [
            "/p",
            "/h2",
            "/h3",
            "/h4",
            "/li",
            "/figcaption",
            "br",
            "/blockquote",
        ];
        let mut text = String::with_capacity(self.0.len());
        let mut rest = self.0.as_str();
        while let Some(open) = rest.find('<') {
            text.push_str(&rest[..open]);
            let tag = &rest[open + 1..];
            let mut quote = None;
            let end = tag
                .char_indices()
                .find(|&(_, c)| match (quote, c) {
                    (None, '"' | '\'') => {
                        quote = Some(c);
                        false
                    }
                    (Some(q), c) if c == q => {
                        quote = None;
                        false
                    }
                    (None, '>') => true,
                    _ => false,
                })
                .map_or(tag.len(), |(at, _)| at);
            if BLOCK_ENDS.contains(&&tag[..end]) {
                text.push('\n');
            }
            rest = tag.get(end + 1..).unwrap_or("");
        }
        text.push_str(rest);
        decode_entities(&text)
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A photo of a body, as the API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyPhoto {
    /// The path of the photo as the body shows it (`/media/…`).
    pub src: String,
    /// Its text alternative.
    pub alt: String,
    /// The caption below it, as text (empty without one).
    pub caption: String,
}

impl SanitizedHtml {
    /// The body's photos in order, each with its caption when it stands in
    /// a figure with one. Read from the sanitiser's output, whose markup is
    /// normalised: attributes double-quoted, `"` within them escaped.
    pub fn photos(&self) -> Vec<BodyPhoto> {
        let attribute = |tag: &str, name: &str| {
            let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
            let end = tag[start..].find('"')?;
            Some(decode_entities(&tag[start..start + end]))
        };
        let mut photos = Vec::new();
        let mut rest = self.0.as_str();
        while let Some(start) = rest.find("<img ") {
            let Some(length) = rest[start..].find('>') else {
                break;
            };
            let tag = &rest[start..start + length + 1];
            rest = &rest[start + length + 1..];
            let Some(src) = attribute(tag, "src") else {
                continue;
            };
            let caption = rest
                .split("</figure>")
                .next()
                .filter(|figure| !figure.contains("<img "))
                .and_then(|figure| figure.split_once("<figcaption>"))
                .and_then(|(_, caption)| caption.split_once("</figcaption>"))
                .map(|(caption, _)| SanitizedHtml(caption.to_owned()).plain_text())
                .unwrap_or_default();
            photos.push(BodyPhoto {
                src,
                alt: attribute(tag, "alt").unwrap_or_default(),
                caption,
            });
        }
        photos
    }
}

impl fmt::Display for SanitizedHtml {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Gives each photo without a text alternative its caption as one, or an
/// empty one (decorative) when it has no caption, so that screen readers
/// neither skip a described photo nor read out its file name. Works on the
/// sanitiser's output, whose markup is normalised.
fn describe_photos(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(start) = rest.find("<img ") {
        out.push_str(&rest[..start]);
        let Some(length) = rest[start..].find('>') else {
            break;
        };
        let tag = &rest[start..start + length + 1];
        rest = &rest[start + length + 1..];
        if tag.contains(" alt=") {
            out.push_str(tag);
            continue;
        }
        let caption = rest
            .split("</figure>")
            .next()
            .and_then(|figure| figure.split_once("<figcaption>"))
            .and_then(|(_, caption)| caption.split_once("</figcaption>"))
            .map(|(caption, _)| ammonia::Builder::empty().clean(caption).to_string())
            .unwrap_or_default();
        out.push_str("<img alt=\"");
        out.push_str(&caption.replace('"', "&quot;"));
        out.push_str("\" ");
        out.push_str(&tag["<img ".len()..]);
    }
    out.push_str(rest);
    out
}

/// Undoes the escaping ammonia applies to text.
fn decode_entities(text: &str) -> String {
    if !text.contains('&') {
        return text.to_owned();
    }
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn photos_are_read_with_their_captions() {
        let body = SanitizedHtml::clean(
            r#"<p>导语</p><figure><img src="/media/a.jpg"><figcaption>巡检人员在<strong>"雪线" &amp; 塔</strong>上</figcaption></figure><p>中段</p><img src="/media/b.jpg" alt="塔"><figure><img src="/media/c.jpg"></figure>"#,
        );
        let photos = body.photos();
        assert_eq!(
            photos,
            vec![
                BodyPhoto {
                    src: "/media/a.jpg".into(),
                    alt: "巡检人员在\"雪线\" & 塔上".into(),
                    caption: "巡检人员在\"雪线\" & 塔上".into(),
                },
                BodyPhoto {
                    src: "/media/b.jpg".into(),
                    alt: "塔".into(),
                    caption: String::new(),
                },
                BodyPhoto {
                    src: "/media/c.jpg".into(),
                    alt: String::new(),
                    caption: String::new(),
                },
            ]
        );
    }

    /// Found by fuzz/fuzz_targets/article_form.rs: a body whose links and
    /// bold runs are so mis-nested that one pass of the sanitiser wrote a
    /// link inside a link, which the next parse splits. A cleaned body
    /// cleans again to itself.
    #[test]
    fn markup_that_never_settles_is_kept_as_its_text() {
        let html = String::from_utf8_lossy(include_bytes!(
            "../../fuzz/seeds/sanitize_body/seed-regression-deep-nesting"
        ))
        .into_owned();
        let mut pass = clean_once(&html);
        for _ in 1..MAX_PASSES {
            pass = clean_once(&pass);
        }
        assert_ne!(clean_once(&pass), pass, "the input still needs more passes");
        let clean = SanitizedHtml::clean(&html);
        assert_eq!(SanitizedHtml::clean(clean.as_str()), clean);
        assert!(clean.as_str().starts_with("<p>"), "{}", clean.as_str());
        assert!(!clean.as_str().contains("<a"), "{}", clean.as_str());
    }

    #[test]
    fn a_cleaned_body_is_what_cleaning_it_again_gives() {
        let form = include_bytes!("../../fuzz/seeds/article_form/seed-regression-nested-links");
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(form).unwrap();
        let body = &fields.iter().find(|(name, _)| name == "body").unwrap().1;
        let once = clean_once(body);
        assert_ne!(
            clean_once(&once),
            once,
            "the input still shows the unstable pass"
        );
        let clean = SanitizedHtml::clean(body);
        assert_eq!(SanitizedHtml::clean(clean.as_str()), clean);
    }

    #[test]
    fn plain_text_has_one_line_per_block_and_no_markup() {
        let body = SanitizedHtml::clean(
            "<h2>一、保供</h2><p>国网<strong>山东</strong>电力 &amp; 国网&lt;江苏&gt;</p>\
             <ul><li>甲</li><li>乙<br>丙</li></ul>\
             <figure><img src=\"/media/a.jpg\" alt=\"塔 > 线\"><figcaption>巡检</figcaption></figure>\
             <blockquote>引语</blockquote><p><a href=\"https://a.example/?x=1&amp;y=2\">链接</a>结尾</p>",
        );
        assert_eq!(
            body.plain_text(),
            "一、保供\n国网山东电力 & 国网<江苏>\n甲\n乙\n丙\n巡检\n引语\n链接结尾"
        );
    }

    #[test]
    fn scripts_styles_and_handlers_are_removed() {
        let html = SanitizedHtml::clean(
            r#"<p style="color:red" onclick="x()">电网<script>alert(1)</script></p><iframe src="x"></iframe>"#,
        );
        assert_eq!(html.as_str(), "<p>电网</p>");
    }

    #[test]
    fn images_only_from_the_media_path() {
        let html = SanitizedHtml::clean(
            r#"<img src="https://evil.example/x.png" alt="a"><img src="/media/a.jpg" alt="b">"#,
        );
        assert_eq!(
            html.as_str(),
            r#"<img alt="a"><img src="/media/a.jpg" alt="b">"#
        );
    }

    #[test]
    fn javascript_links_are_dropped() {
        let html = SanitizedHtml::clean(r#"<a href="javascript:alert(1)">点</a>"#);
        assert!(!html.as_str().contains("javascript"), "{}", html.as_str());
    }

    #[test]
    fn empty_paragraphs_are_dropped() {
        let html = SanitizedHtml::clean(
            "<p>导语</p><p></p><figure><img src=\"/media/a.jpg\"></figure><p><br></p>",
        );
        assert_eq!(
            html.as_str(),
            "<p>导语</p><figure><img alt=\"\" src=\"/media/a.jpg\"></figure>"
        );
    }

    #[test]
    fn photos_are_described_by_their_captions() {
        let html = SanitizedHtml::clean(
            r#"<figure><img src="/media/a.jpg"><figcaption>巡检人员在<strong>"雪线"</strong>上</figcaption></figure><figure><img src="/media/b.jpg" alt="塔"></figure>"#,
        );
        assert_eq!(
            html.as_str(),
            r#"<figure><img alt="巡检人员在&quot;雪线&quot;上" src="/media/a.jpg"><figcaption>巡检人员在<strong>"雪线"</strong>上</figcaption></figure><figure><img src="/media/b.jpg" alt="塔"></figure>"#
        );
    }

    #[test]
    fn markup_pasted_from_word_is_reduced_to_the_allowed_tags() {
        let pasted = r#"<p class=MsoNormal style='text-indent:2em'><span lang=EN-US style='font-family:宋体'>国网<o:p></o:p></span><b>要闻</b></p><font color=red>红字</font>"#;
        assert_eq!(
            SanitizedHtml::clean(pasted).as_str(),
            "<p>国网<b>要闻</b></p>红字"
        );
    }

    #[test]
    fn plain_text_keeps_blocks_apart_and_decodes_entities() {
        let html =
            SanitizedHtml::clean("<h2>一、概况</h2><p>电压 &lt; 10kV &amp; 安全</p><p>第二段</p>");
        assert_eq!(html.plain_text(), "一、概况\n电压 < 10kV & 安全\n第二段");
    }
}
