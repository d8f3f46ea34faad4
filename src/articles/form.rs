//! The article form as typed, and its parsing into what is stored: every
//! field checked, the body sanitised, tags split, byline names credited.

use serde::Deserialize;
use uuid::Uuid;

use super::SanitizedHtml;
use crate::error::{Checks, FormError};

pub const TITLE_MAX: usize = 80;
const TAGS_MAX: usize = 10;
const TAG_MAX: usize = 20;

/// Designations a byline may name before its names, longest first so that
/// "摄影记者张三" reads as 摄影记者 + 张三.
const DESIGNATIONS: &[&str] = &[
    "本报特约记者",
    "本报通讯员",
    "本报记者",
    "特约记者",
    "见习记者",
    "摄影记者",
    "实习生",
    "通讯员",
    "记者",
    "摄影",
    "编译",
];

/// The form's fields, named as imports and tools rely on them. Every field
/// is a string so that whatever was typed comes back on an error.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ArticleForm {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub kicker: String,
    #[serde(default)]
    pub subtitle: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub channel_id: String,
    #[serde(default)]
    pub unit_id: String,
    #[serde(default)]
    pub author_byline: String,
    #[serde(default)]
    pub correspondents: String,
    #[serde(default)]
    pub source: String,
    #[serde(default)]
    pub tags: String,
    #[serde(default)]
    pub cover_media_id: String,
    #[serde(default)]
    pub version: String,
    /// `save` keeps a draft; `submit` sends it to review.
    #[serde(default)]
    pub action: String,
    /// For a published story: the public correction note (更正说明).
    #[serde(default)]
    pub correction_note: String,
}

/// One person credited on a story, with the byline's designation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credit {
    pub role: String,
    pub name: String,
}

/// A checked article, ready to store.
#[derive(Debug, Clone)]
pub struct ArticleInput {
    pub title: String,
    pub kicker: String,
    pub subtitle: String,
    pub summary: String,
    pub body: SanitizedHtml,
    pub body_text: String,
    pub channel_id: crate::ids::ChannelId,
    pub unit_id: crate::ids::UnitId,
    pub author_byline: String,
    pub correspondents: String,
    pub source: String,
    pub tags: Vec<String>,
    pub credits: Vec<Credit>,
    /// The cover photo, checked against the media library by the caller.
    pub cover_media_id: Option<Uuid>,
}

impl ArticleInput {
    /// What the story is found by in search.
    pub fn indexed(&self) -> crate::search::Indexed<'_> {
        crate::search::Indexed {
            title: &self.title,
            summary: &self.summary,
            body_text: &self.body_text,
            byline: &self.author_byline,
            correspondents: &self.correspondents,
        }
    }
}

fn short_text(value: &str, max: usize, what: &'static str) -> Result<String, String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(format!("{what}不超过 {max} 个字。"));
    }
    Ok(value.to_owned())
}

impl ArticleForm {
    /// Checks the form. `default_source` fills an empty 来源 (the site name).
    /// A refusal names every field that is wrong, each with its message.
    pub fn parse(&self, default_source: &str) -> Result<ArticleInput, FormError> {
        let mut checks = Checks::default();
        let title = checks.check(
            "title",
            match self.title.trim() {
                "" => Err("请填写标题。".into()),
                title => short_text(title, TITLE_MAX, "标题"),
            },
        );
        let kicker = checks.check("kicker", short_text(&self.kicker, 60, "引题"));
        let subtitle = checks.check("subtitle", short_text(&self.subtitle, 80, "副题"));
        let summary = checks.check("summary", short_text(&self.summary, 300, "摘要"));
        let source = checks.check(
            "source",
            match self.source.trim() {
                "" => Ok(default_source.to_owned()),
                source => short_text(source, 40, "来源"),
            },
        );
        let author_byline = checks.check(
            "author_byline",
            short_text(&self.author_byline, 100, "作者"),
        );
        let correspondents = checks.check(
            "correspondents",
            short_text(&self.correspondents, 100, "通讯员"),
        );
        let channel_id = checks.check(
            "channel_id",
            self.channel_id
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| "请选择栏目。"),
        );
        let unit_id = checks.check(
            "unit_id",
            self.unit_id
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| "请选择单位。"),
        );
        let cover_media_id = checks.check(
            "cover_media_id",
            match self.cover_media_id.trim() {
                "" => Ok(None),
                id => id
                    .parse()
                    .map(Some)
                    .map_err(|_| "封面图片不存在，请重新选择。"),
            },
        );
        let tags = checks.check("tags", parse_tags(&self.tags));
        let credits = checks.check(
            "author_byline",
            parse_credits(&author_byline, &correspondents),
        );
        checks.finish()?;
        let (Some(channel_id), Some(unit_id)) = (channel_id, unit_id) else {
            return Err(FormError::whole("请选择栏目和单位。"));
        };
        let body = SanitizedHtml::clean(&self.body);
        let body_text = body.plain_text();
        Ok(ArticleInput {
            title,
            kicker,
            subtitle,
            summary,
            body,
            body_text,
            channel_id,
            unit_id,
            author_byline,
            correspondents,
            source,
            tags,
            credits,
            cover_media_id,
        })
    }
}

/// Splits tags on commas (half or full width) and 、, dropping blanks and repeats.
pub fn parse_tags(value: &str) -> Result<Vec<String>, String> {
    let mut tags: Vec<String> = Vec::new();
    for tag in value
        .split([',', '，', '、', ';', '；'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        if tag.chars().count() > TAG_MAX {
            return Err(format!("标签“{tag}”过长，每个标签不超过 {TAG_MAX} 个字。"));
        }
        if !tags.iter().any(|t| t == tag) {
            tags.push(tag.to_owned());
        }
    }
    if tags.len() > TAGS_MAX {
        return Err(format!("标签最多 {TAGS_MAX} 个。"));
    }
    Ok(tags)
}

/// Reads the byline ("本报记者 张三 李四 摄影 王五") and the 通讯员 field
/// into credits in order. Names before any designation are credited as 作者.
pub fn parse_credits(byline: &str, correspondents: &str) -> Result<Vec<Credit>, String> {
    let mut credits = Vec::new();
    let mut role = "作者".to_string();
    for token in byline
        .split([' ', '\u{3000}', ',', '，', '、', ';', '；'])
        .filter(|t| !t.is_empty())
    {
        let mut name = token;
        if let Some(designation) = DESIGNATIONS.iter().find(|d| token.starts_with(**d)) {
            role = (*designation).to_owned();
            name = &token[designation.len()..];
        }
        if !name.is_empty() {
            push_credit(&mut credits, &role, name)?;
        }
    }
    for name in correspondents
        .split([' ', '\u{3000}', ',', '，', '、', ';', '；'])
        .filter(|t| !t.is_empty())
    {
        let name = name.strip_prefix("通讯员").unwrap_or(name);
        if !name.is_empty() {
            push_credit(&mut credits, "通讯员", name)?;
        }
    }
    Ok(credits)
}

fn push_credit(credits: &mut Vec<Credit>, role: &str, name: &str) -> Result<(), String> {
    if name.chars().count() > 20 {
        return Err(format!("署名“{name}”过长，请用空格分隔多个姓名。"));
    }
    if !credits.iter().any(|c| c.name == name && c.role == role) {
        credits.push(Credit {
            role: role.to_owned(),
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Renders credits as a byline: consecutive names of one designation share it
/// ("本报记者 张三 李四 摄影 王五").
pub fn byline(credits: &[Credit]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut last_role: Option<&str> = None;
    for credit in credits {
        if last_role != Some(credit.role.as_str()) && credit.role != "作者" {
            parts.push(credit.role.clone());
        }
        parts.push(credit.name.clone());
        last_role = Some(&credit.role);
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credit(role: &str, name: &str) -> Credit {
        Credit {
            role: role.into(),
            name: name.into(),
        }
    }

    #[test]
    fn bylines_are_read_into_credits_in_order() {
        let credits = parse_credits("本报记者 张三 李四 摄影王五", "赵六、钱七").unwrap();
        assert_eq!(
            credits,
            [
                credit("本报记者", "张三"),
                credit("本报记者", "李四"),
                credit("摄影", "王五"),
                credit("通讯员", "赵六"),
                credit("通讯员", "钱七"),
            ]
        );
        assert_eq!(byline(&credits[..3]), "本报记者 张三 李四 摄影 王五");
        assert_eq!(parse_credits("张三", "").unwrap(), [credit("作者", "张三")]);
        assert_eq!(byline(&[credit("作者", "张三")]), "张三");
    }

    #[test]
    fn tags_split_on_commas_and_enumeration_marks() {
        assert_eq!(
            parse_tags("迎峰度冬，电网建设、 安全生产,迎峰度冬").unwrap(),
            ["迎峰度冬", "电网建设", "安全生产"]
        );
        assert!(parse_tags("一二三四五六七八九十一二三四五六七八九十一").is_err());
    }

    #[test]
    fn a_refusal_names_every_wrong_field_once() {
        let form = ArticleForm {
            title: String::new(),
            kicker: "引".repeat(61),
            channel_id: "not-an-id".into(),
            unit_id: Uuid::new_v4().to_string(),
            tags: "标".repeat(21),
            author_byline: "名".repeat(21),
            ..ArticleForm::default()
        };
        let refusal = form.parse("网").unwrap_err();
        assert_eq!(
            refusal.status,
            actix_web::http::StatusCode::UNPROCESSABLE_ENTITY
        );
        let fields: Vec<&str> = refusal.messages.iter().map(|(field, _)| *field).collect();
        assert_eq!(
            fields,
            ["title", "kicker", "channel_id", "tags", "author_byline"]
        );
        assert_eq!(refusal.at("kicker"), Some("引题不超过 60 个字。"));
        assert_eq!(refusal.at("unit_id"), None);
    }

    #[test]
    fn a_form_needs_a_title_of_at_most_eighty_characters() {
        let mut form = ArticleForm {
            title: " ".into(),
            channel_id: Uuid::new_v4().to_string(),
            unit_id: Uuid::new_v4().to_string(),
            ..ArticleForm::default()
        };
        assert_eq!(
            form.parse("网").unwrap_err().at("title"),
            Some("请填写标题。")
        );
        form.title = "长".repeat(81);
        assert_eq!(
            form.parse("网").unwrap_err().at("title"),
            Some("标题不超过 80 个字。")
        );
        form.title = "标题".into();
        form.body = "<p onclick=\"x\">正文<script>alert(1)</script></p><a href=\"javascript:x\">链</a><style>p{}</style>".into();
        let input = form.parse("电网新闻网").unwrap();
        assert_eq!(
            input.body.as_str(),
            "<p>正文</p><a rel=\"noopener noreferrer nofollow\">链</a>"
        );
        assert_eq!(
            input.source, "电网新闻网",
            "the site name is the default source"
        );
    }
}
