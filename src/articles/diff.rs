//! Comparing two revisions of a story, character by character: a word-level
//! diff would mark whole Chinese paragraphs (which have no spaces) as changed.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;
use similar::{ChangeTag, TextDiff};

use super::SanitizedHtml;
use super::access::access;
use super::store;
use crate::auth::Permission;
use crate::backend::Backend;
use crate::error::AppError;
use crate::ids::ArticleId;
use crate::layout::AdminLayout;
use crate::web::render;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Same,
    Added,
    Removed,
}

/// A run of characters that are the same in both texts, or only in one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub kind: Kind,
    pub text: String,
}

impl Segment {
    pub fn is_added(&self) -> bool {
        self.kind == Kind::Added
    }

    pub fn is_removed(&self) -> bool {
        self.kind == Kind::Removed
    }
}

/// The character-level differences from `old` to `new`, as runs.
pub fn diff_chars(old: &str, new: &str) -> Vec<Segment> {
    let diff = TextDiff::configure()
        .timeout(Duration::from_millis(300))
        .diff_chars(old, new);
    let mut segments: Vec<Segment> = Vec::new();
    for change in diff.iter_all_changes() {
        let kind = match change.tag() {
            ChangeTag::Equal => Kind::Same,
            ChangeTag::Insert => Kind::Added,
            ChangeTag::Delete => Kind::Removed,
        };
        match segments.last_mut() {
            Some(last) if last.kind == kind => last.text.push_str(change.value()),
            _ => segments.push(Segment {
                kind,
                text: change.value().to_owned(),
            }),
        }
    }
    segments
}

/// One compared field of the story.
pub struct FieldDiff {
    pub label: &'static str,
    pub changed: bool,
    pub segments: Vec<Segment>,
}

#[derive(sqlx::FromRow)]
struct Revision {
    version: i32,
    title: String,
    kicker: String,
    subtitle: String,
    summary: String,
    body_html: String,
    author_byline: String,
    correspondents: String,
    source: String,
    tags: String,
    channel_name: String,
    unit_name: String,
}

impl Revision {
    fn fields(&self) -> [(&'static str, String); 11] {
        [
            ("引题", self.kicker.clone()),
            ("标题", self.title.clone()),
            ("副题", self.subtitle.clone()),
            ("栏目", self.channel_name.clone()),
            ("单位", self.unit_name.clone()),
            ("作者", self.author_byline.clone()),
            ("通讯员", self.correspondents.clone()),
            ("来源", self.source.clone()),
            ("标签", self.tags.clone()),
            ("摘要", self.summary.clone()),
            ("正文", SanitizedHtml::clean(&self.body_html).plain_text()),
        ]
    }
}

#[derive(Deserialize)]
pub struct DiffQuery {
    from: i32,
    to: i32,
}

#[derive(Template)]
#[template(path = "admin/articles/diff.html")]
struct DiffPage {
    layout: AdminLayout,
    article_id: ArticleId,
    title: String,
    from: i32,
    to: i32,
    fields: Vec<FieldDiff>,
}

/// GET /admin/articles/{id}/diff?from=1&to=3
pub async fn compare(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    id: web::Path<ArticleId>,
    query: web::Query<DiffQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::ReadArticles)?;
    let article = store::record(&mut conn, *id)
        .await?
        .ok_or(AppError::NotFound)?;
    if !access(&mut conn, &staff, &article).await?.view {
        return Err(AppError::NotFound);
    }
    let revisions: Vec<Revision> = sqlx::query_as(
        "select r.version, r.title, r.kicker, r.subtitle, r.summary, r.body_html, r.author_byline,
                r.correspondents, r.source, r.tags, c.name as channel_name, n.name as unit_name
         from article_revisions r join channels c on c.id = r.channel_id join units n on n.id = r.unit_id
         where r.article_id = $1 and r.version in ($2, $3)",
    )
    .bind(*id)
    .bind(query.from)
    .bind(query.to)
    .fetch_all(&mut *conn)
    .await?;
    let find = |version| {
        revisions
            .iter()
            .find(|r| r.version == version)
            .ok_or(AppError::NotFound)
    };
    let (old, new) = (find(query.from)?, find(query.to)?);
    let fields = old
        .fields()
        .into_iter()
        .zip(new.fields())
        .map(|((label, before), (_, after))| FieldDiff {
            label,
            changed: before != after,
            segments: diff_chars(&before, &after),
        })
        .collect();
    let page = DiffPage {
        layout: AdminLayout::load(&mut conn, &staff, &csrf, "版本比较", "/admin/articles").await?,
        article_id: *id,
        title: article.title,
        from: query.from,
        to: query.to,
        fields,
    };
    render(StatusCode::OK, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_changed_characters_of_a_chinese_sentence_are_marked() {
        let segments = diff_chars(
            "国网山东电力提前部署迎峰度冬工作",
            "国网山东电力全面部署迎峰度冬工作",
        );
        let changed: Vec<(Kind, &str)> = segments
            .iter()
            .filter(|s| s.kind != Kind::Same)
            .map(|s| (s.kind, s.text.as_str()))
            .collect();
        assert_eq!(changed, [(Kind::Removed, "提前"), (Kind::Added, "全面")]);
        let kept: String = segments
            .iter()
            .filter(|s| s.kind == Kind::Same)
            .map(|s| s.text.as_str())
            .collect();
        assert_eq!(kept, "国网山东电力部署迎峰度冬工作");
    }

    #[test]
    fn identical_texts_have_one_unchanged_run() {
        assert_eq!(
            diff_chars("电网", "电网"),
            [Segment {
                kind: Kind::Same,
                text: "电网".into()
            }]
        );
    }
}
