//! The proofreading lists' page (/admin/proofreading): the desk adds,
//! changes and removes terms, and tries the lists on a pasted text.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::proof::{self, Kind, ProofLists, Proofread, Term};
use crate::audit;
use crate::auth::Permission;
use crate::backend::Backend;
use crate::error::{AppError, Checks, FormError};
use crate::layout::AdminLayout;
use crate::web::redirect::see_other;
use crate::web::render;

/// One entry as the page lists it.
pub struct TermLine {
    pub id: i64,
    pub kind: Kind,
    pub term: String,
    pub suggestion: String,
    pub followed_by: String,
    pub note: String,
    pub added: String,
}

#[derive(Deserialize, Default, Clone)]
pub struct TermForm {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub term: String,
    #[serde(default)]
    pub suggestion: String,
    #[serde(default)]
    pub followed_by: String,
    #[serde(default)]
    pub note: String,
    #[serde(default)]
    pub remove: String,
}

#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    done: String,
    /// A text to try the lists on.
    #[serde(default)]
    sample: String,
}

#[derive(Template)]
#[template(path = "admin/desk/proofreading.html")]
struct ListPage {
    layout: AdminLayout,
    kinds: Vec<(Kind, i64)>,
    /// The kind shown, or every kind.
    shown: Option<Kind>,
    lines: Vec<TermLine>,
    form: TermForm,
    sample: String,
    tried: Option<Proofread>,
    notice: Option<String>,
    error: Option<FormError>,
}

impl ListPage {
    fn is_shown(&self, kind: &Kind) -> bool {
        self.shown == Some(*kind)
    }
}

async fn list_page(
    backend: &mut Backend,
    status: StatusCode,
    shown: Option<Kind>,
    form: TermForm,
    sample: String,
    notice: Option<String>,
    error: Option<FormError>,
) -> Result<HttpResponse, AppError> {
    let layout = backend.layout("校对词库", "/admin/proofreading").await?;
    let rows: Vec<(Term, DateTime<Utc>)> =
        sqlx::query_as::<_, (i64, String, String, String, String, String, DateTime<Utc>)>(
            "select id, kind, term, suggestion, followed_by, note, created_at from proof_terms
         where $1::text is null or kind = $1 order by kind, term, followed_by",
        )
        .bind(shown.map(Kind::as_str))
        .fetch_all(&mut *backend.conn)
        .await?
        .into_iter()
        .map(|(id, kind, term, suggestion, followed_by, note, at)| {
            (
                Term {
                    id,
                    kind,
                    term,
                    suggestion,
                    followed_by,
                    note,
                },
                at,
            )
        })
        .collect();
    let counts: Vec<(String, i64)> =
        sqlx::query_as("select kind, count(*) from proof_terms group by kind")
            .fetch_all(&mut *backend.conn)
            .await?;
    let kinds = Kind::ALL
        .into_iter()
        .map(|kind| {
            let count = counts
                .iter()
                .find(|(k, _)| k == kind.as_str())
                .map_or(0, |(_, n)| *n);
            (kind, count)
        })
        .collect();
    let lines = rows
        .into_iter()
        .filter_map(|(term, at)| {
            Some(TermLine {
                id: term.id,
                kind: Kind::parse(&term.kind)?,
                term: term.term,
                suggestion: term.suggestion,
                followed_by: term.followed_by,
                note: term.note,
                added: layout.settings.format_date(at),
            })
        })
        .collect();
    let tried = if sample.trim().is_empty() {
        None
    } else {
        let lists = proof::load(&mut backend.conn).await?;
        Some(try_on(&lists, &sample))
    };
    render(
        status,
        &ListPage {
            layout,
            kinds,
            shown,
            lines,
            form,
            sample,
            tried,
            notice,
            error,
        },
    )
}

/// The lists on a pasted text, its paragraphs kept.
fn try_on(lists: &ProofLists, sample: &str) -> Proofread {
    let html: String = sample
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| format!("<p>{}</p>", crate::web::variant::escape(line.trim())))
        .collect();
    lists.proofread("", &html)
}

/// GET /admin/proofreading
pub async fn list(
    mut backend: Backend,
    query: web::Query<ListQuery>,
) -> Result<HttpResponse, AppError> {
    backend.require(Permission::ManageDesk)?;
    let query = query.into_inner();
    let notice = match query.done.split_once(':') {
        Some(("added", term)) => Some(format!("已保存“{term}”。此后的校对都按此提示。")),
        Some(("removed", term)) => Some(format!("已删除“{term}”。")),
        _ => None,
    };
    let shown = Kind::parse(&query.kind);
    let form = TermForm {
        kind: shown.unwrap_or(Kind::Typo).as_str().to_owned(),
        ..TermForm::default()
    };
    let sample: String = query.sample.chars().take(20_000).collect();
    list_page(
        &mut backend,
        StatusCode::OK,
        shown,
        form,
        sample,
        notice,
        None,
    )
    .await
}

/// A field of an entry: trimmed, at most `max` characters, no markup.
fn text_field(text: &str, max: usize, empty: Option<&'static str>) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return match empty {
            Some(message) => Err(message.to_owned()),
            None => Ok(String::new()),
        };
    }
    if text.chars().count() > max {
        return Err(format!("不超过 {max} 个字。"));
    }
    if text
        .chars()
        .any(|c| c.is_control() || matches!(c, '<' | '>' | '&' | '"'))
    {
        return Err("不能含有 < > & \" 或控制字符。".to_owned());
    }
    Ok(text.to_owned())
}

/// The typed entry checked, or the refusal.
fn checked(form: &TermForm) -> Result<(Kind, String, String, String, String), FormError> {
    let mut checks = Checks::default();
    let kind = Kind::parse(&form.kind);
    if kind.is_none() {
        checks.refuse("kind", "请选择词条类别。");
    }
    let kind = kind.unwrap_or(Kind::Typo);
    let term = checks.check(
        "term",
        text_field(
            &form.term,
            40,
            Some(if kind == Kind::Leader {
                "请填写领导姓名。"
            } else {
                "请填写要提示的写法。"
            }),
        ),
    );
    let needs = match kind {
        Kind::Expression => None,
        Kind::Leader => Some("请填写准确职务，多个职务用顿号隔开。"),
        _ => Some("请填写正确写法。"),
    };
    let suggestion = checks.check("suggestion", text_field(&form.suggestion, 80, needs));
    if kind != Kind::Leader && !term.is_empty() && term == suggestion {
        checks.refuse("suggestion", "正确写法与要提示的写法相同。");
    }
    let followed_by = checks.check("followed_by", text_field(&form.followed_by, 200, None));
    if kind == Kind::Leader && !followed_by.is_empty() {
        checks.refuse("followed_by", "领导姓名不设后接词。");
    }
    let followed_by = proof::items(&followed_by).collect::<Vec<_>>().join("、");
    let note = checks.check("note", text_field(&form.note, 200, None));
    let suggestion = if kind == Kind::Leader {
        proof::items(&suggestion).collect::<Vec<_>>().join("、")
    } else {
        suggestion
    };
    checks.finish()?;
    Ok((kind, term, suggestion, followed_by, note))
}

/// POST /admin/proofreading: adds (or changes) an entry, or removes one.
pub async fn change(
    mut backend: Backend,
    form: web::Form<TermForm>,
) -> Result<HttpResponse, AppError> {
    backend.require(Permission::ManageDesk)?;
    let form = form.into_inner();
    let actor = backend.staff.actor();
    if !form.remove.trim().is_empty() {
        let id: i64 = form
            .remove
            .trim()
            .parse()
            .map_err(|_| AppError::BadRequest)?;
        let mut tx = sqlx::Connection::begin(&mut *backend.conn).await?;
        let removed: Option<(String, String)> =
            sqlx::query_as("delete from proof_terms where id = $1 returning term, suggestion")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((term, suggestion)) = removed else {
            return Err(AppError::NotFound);
        };
        audit::record(&mut tx, &actor, "proof_term.remove", &term, &suggestion).await?;
        tx.commit().await?;
        let query =
            serde_urlencoded::to_string([("done", format!("removed:{term}"))]).unwrap_or_default();
        return Ok(see_other(&format!("/admin/proofreading?{query}")));
    }
    let (kind, term, suggestion, followed_by, note) = match checked(&form) {
        Ok(entry) => entry,
        Err(refusal) => {
            let shown = Kind::parse(&form.kind);
            return list_page(
                &mut backend,
                StatusCode::UNPROCESSABLE_ENTITY,
                shown,
                form,
                String::new(),
                None,
                Some(refusal),
            )
            .await;
        }
    };
    let mut tx = sqlx::Connection::begin(&mut *backend.conn).await?;
    let before: Option<(String, String)> = sqlx::query_as(
        "select kind, suggestion from proof_terms where term = $1 and followed_by = $2 for update",
    )
    .bind(&term)
    .bind(&followed_by)
    .fetch_optional(&mut *tx)
    .await?;
    sqlx::query(
        "insert into proof_terms (kind, term, suggestion, followed_by, note, created_by)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (term, followed_by) do update
         set kind = excluded.kind, suggestion = excluded.suggestion, note = excluded.note",
    )
    .bind(kind.as_str())
    .bind(&term)
    .bind(&suggestion)
    .bind(&followed_by)
    .bind(&note)
    .bind(backend.staff.id)
    .execute(&mut *tx)
    .await?;
    let (action, detail) = match before {
        Some((_, before)) => ("proof_term.change", format!("{before} → {suggestion}")),
        None => ("proof_term.add", format!("{}：{suggestion}", kind.label())),
    };
    audit::record(&mut tx, &actor, action, &term, &detail).await?;
    tx.commit().await?;
    let query = serde_urlencoded::to_string([
        ("kind", kind.as_str().to_owned()),
        ("done", format!("added:{term}")),
    ])
    .unwrap_or_default();
    Ok(see_other(&format!("/admin/proofreading?{query}")))
}
