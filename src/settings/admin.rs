//! The site settings page for admins (the security policy has its own,
//! `security`). Every change is audited with the old and new values; a
//! concurrent change by another admin is detected and the form comes back
//! with the input kept.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use chrono_tz::Tz;
use serde::Deserialize;

use super::SiteSettings;
use crate::audit;
use crate::auth::Permission;
use crate::backend::Backend;
use crate::error::{AppError, FormError};
use crate::layout::AdminLayout;
use crate::web::redirect::see_other;
use crate::web::{page, render};

/// The form as typed: every field a string, so nothing typed is lost.
#[derive(Deserialize, Default, Clone)]
pub struct SettingsForm {
    #[serde(default)]
    site_name: String,
    #[serde(default)]
    copyright: String,
    #[serde(default)]
    time_zone: String,
    #[serde(default)]
    cookie_secure: Option<String>,
    #[serde(default)]
    upload_max_mb: String,
    #[serde(default)]
    anonymous_comments: Option<String>,
    #[serde(default)]
    site_url: String,
    #[serde(default)]
    smtp_host: String,
    #[serde(default)]
    smtp_port: String,
    #[serde(default)]
    smtp_from: String,
    #[serde(default)]
    icp_number: String,
    #[serde(default)]
    police_number: String,
    #[serde(default)]
    sponsor: String,
    #[serde(default)]
    version: String,
}

/// The keys the site settings page owns.
const SITE_KEYS: [&str; 13] = [
    "site_name",
    "icp_number",
    "police_number",
    "sponsor",
    "site_url",
    "smtp_host",
    "smtp_port",
    "smtp_from",
    "copyright",
    "time_zone",
    "cookie_secure",
    "upload_max_mb",
    "anonymous_comments",
];

/// A whole number typed into a settings form, within `range`, or what is
/// wrong with it in Chinese.
pub(super) fn number(
    value: &str,
    range: std::ops::RangeInclusive<i64>,
    what: &str,
) -> Result<String, String> {
    value
        .trim()
        .parse::<i64>()
        .ok()
        .filter(|n| range.contains(n))
        .map(|n| n.to_string())
        .ok_or_else(|| {
            format!(
                "{what}应为 {} 到 {} 之间的整数。",
                range.start(),
                range.end()
            )
        })
}

impl SettingsForm {
    fn from_settings(settings: &SiteSettings, version: String) -> Self {
        SettingsForm {
            site_name: settings.site_name.clone(),
            copyright: settings.copyright.clone(),
            time_zone: settings.time_zone.name().to_owned(),
            cookie_secure: settings.cookie_secure.then(|| "on".into()),
            upload_max_mb: settings.upload_max_mb.to_string(),
            anonymous_comments: settings.anonymous_comments.then(|| "on".into()),
            site_url: settings.site_url.clone(),
            smtp_host: settings.smtp_host.clone(),
            smtp_port: settings.smtp_port.to_string(),
            smtp_from: settings.smtp_from.clone(),
            icp_number: settings.icp_number.clone(),
            police_number: settings.police_number.clone(),
            sponsor: settings.sponsor.clone(),
            version,
        }
    }

    /// The stored key/value pairs, or the first problem in Chinese.
    fn parse(&self) -> Result<Vec<(String, String)>, String> {
        let site_name = self.site_name.trim();
        if site_name.is_empty() || site_name.chars().count() > 40 {
            return Err("网站名称不能为空，且不超过 40 个字。".into());
        }
        if self.copyright.trim().chars().count() > 300 {
            return Err("版权声明不超过 300 个字。".into());
        }
        let time_zone: Tz = self
            .time_zone
            .trim()
            .parse()
            .map_err(|_| "时区无效，请填写如 Asia/Shanghai 的时区名称。".to_string())?;
        let icp_number = self.icp_number.trim();
        if !icp_number.is_empty() && !super::is_icp_number(icp_number) {
            return Err(
                "ICP 备案号格式不正确，应如“京ICP备12345678号”或“京ICP备12345678号-1”。".into(),
            );
        }
        let police_number = self.police_number.trim();
        if !police_number.is_empty() && super::police_code(police_number).is_none() {
            return Err("公安机关备案号格式不正确，应如“京公网安备 11010502030143号”。".into());
        }
        let sponsor = self.sponsor.trim();
        if sponsor.chars().count() > 60 {
            return Err("主办单位一行不超过 60 个字。".into());
        }
        let site_url = self.site_url.trim().trim_end_matches('/');
        if !(site_url.is_empty()
            || site_url.starts_with("https://")
            || site_url.starts_with("http://"))
        {
            return Err("网站地址应以 https:// 或 http:// 开头。".into());
        }
        let smtp_from = self.smtp_from.trim();
        if !self.smtp_host.trim().is_empty() && !smtp_from.contains('@') {
            return Err("填写 SMTP 服务器时，发件地址应为有效的邮件地址。".into());
        }
        let values = [
            site_name.to_owned(),
            icp_number.to_owned(),
            police_number.to_owned(),
            sponsor.to_owned(),
            site_url.to_owned(),
            self.smtp_host.trim().to_owned(),
            match self.smtp_port.trim() {
                "" => "25".to_owned(),
                port => number(port, 1..=65535, "SMTP 端口")?,
            },
            smtp_from.to_owned(),
            self.copyright.trim().to_owned(),
            time_zone.name().to_owned(),
            self.cookie_secure.is_some().to_string(),
            number(&self.upload_max_mb, 1..=100, "上传大小上限（MB）")?,
            self.anonymous_comments.is_some().to_string(),
        ];
        Ok(SITE_KEYS
            .iter()
            .map(|key| key.to_string())
            .zip(values)
            .collect())
    }
}

#[derive(Template)]
#[template(path = "admin/settings/edit.html")]
struct SettingsPage {
    layout: AdminLayout,
    form: SettingsForm,
    error: Option<FormError>,
    notice: Option<String>,
}

/// A fingerprint of the stored values of `keys`, for optimistic locking:
/// a page's form is stale once one of its own keys changed.
pub(super) async fn version_of(
    conn: &mut sqlx::PgConnection,
    keys: &[String],
) -> sqlx::Result<String> {
    sqlx::query_scalar(
        "select coalesce(max(updated_at)::text, '') from settings where key = any($1)",
    )
    .bind(keys)
    .fetch_one(conn)
    .await
}

/// Stores `values` in `tx` unless one of `keys` changed since the form's
/// `version` was read (then `false`, nothing written); the changes are
/// recorded as `action`, old and new values side by side.
pub(super) async fn store(
    tx: &mut sqlx::PgConnection,
    actor: &audit::Actor,
    keys: &[String],
    version: &str,
    values: &[(String, String)],
    action: &str,
    object: &str,
) -> sqlx::Result<bool> {
    sqlx::query!("lock table settings in share row exclusive mode")
        .execute(&mut *tx)
        .await?;
    if version_of(tx, keys).await? != version {
        return Ok(false);
    }
    let current: Vec<(String, String)> = sqlx::query_as("select key, value from settings")
        .fetch_all(&mut *tx)
        .await?;
    let mut changes = Vec::new();
    for (key, value) in values {
        let old = current
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str());
        if old == Some(value.as_str()) {
            continue;
        }
        sqlx::query!(
            "insert into settings (key, value) values ($1, $2)
             on conflict (key) do update set value = excluded.value",
            key,
            value,
        )
        .execute(&mut *tx)
        .await?;
        changes.push(format!("{key}: {} → {value}", old.unwrap_or("")));
    }
    if !changes.is_empty() {
        audit::record(tx, actor, action, object, &changes.join("；")).await?;
    }
    Ok(true)
}

/// The refusal of a form read before another admin's save.
pub(super) const CHANGED_MEANWHILE: &str = "设置已被其他管理员修改，请核对后重新保存。";

#[derive(Deserialize)]
pub struct Notice {
    saved: Option<String>,
}

impl Notice {
    pub(super) fn text(&self) -> Option<String> {
        self.saved.as_ref().map(|_| "设置已保存。".into())
    }
}

fn site_keys() -> Vec<String> {
    SITE_KEYS.iter().map(|key| key.to_string()).collect()
}

pub async fn edit(
    mut backend: Backend,
    notice: web::Query<Notice>,
) -> Result<HttpResponse, AppError> {
    backend.require(Permission::ManageSettings)?;
    let layout = backend.layout("站点设置", "/admin/settings").await?;
    let version = version_of(&mut backend.conn, &site_keys()).await?;
    page(&SettingsPage {
        form: SettingsForm::from_settings(&layout.settings, version),
        layout,
        error: None,
        notice: notice.text(),
    })
}

pub async fn update(
    mut backend: Backend,
    form: web::Form<SettingsForm>,
) -> Result<HttpResponse, AppError> {
    backend.require(Permission::ManageSettings)?;
    let form = form.into_inner();
    let refuse = async |backend: &mut Backend, status: StatusCode, message: String| {
        let page_data = SettingsPage {
            layout: backend.layout("站点设置", "/admin/settings").await?,
            form: form.clone(),
            error: Some(message.into()),
            notice: None,
        };
        render(status, &page_data)
    };
    let values = match form.parse() {
        Ok(values) => values,
        Err(message) => {
            return refuse(&mut backend, StatusCode::UNPROCESSABLE_ENTITY, message).await;
        }
    };
    let actor = backend.staff.actor();
    let mut tx = sqlx::Connection::begin(&mut *backend.conn).await?;
    let keys = site_keys();
    if !store(
        &mut tx,
        &actor,
        &keys,
        &form.version,
        &values,
        "settings.update",
        "站点设置",
    )
    .await?
    {
        drop(tx);
        return refuse(&mut backend, StatusCode::CONFLICT, CHANGED_MEANWHILE.into()).await;
    }
    tx.commit().await?;
    Ok(see_other("/admin/settings?saved=1"))
}

/// One of the site's own 简 → 繁 conversions, as listed.
pub struct ConversionLine {
    pub simplified: String,
    pub traditional: String,
    /// What the library alone makes of the word, for comparison.
    pub library: String,
    pub added: String,
}

#[derive(Template)]
#[template(path = "admin/settings/conversions.html")]
struct ConversionsPage {
    layout: AdminLayout,
    lines: Vec<ConversionLine>,
    form: ConversionForm,
    notice: Option<String>,
    error: Option<FormError>,
}

#[derive(Deserialize, Default, Clone)]
pub struct ConversionForm {
    #[serde(default)]
    simplified: String,
    #[serde(default)]
    traditional: String,
    #[serde(default)]
    remove: String,
}

#[derive(Deserialize, Default)]
pub struct ConversionsQuery {
    #[serde(default)]
    done: String,
}

async fn conversions_page(
    backend: &mut Backend,
    status: StatusCode,
    form: ConversionForm,
    notice: Option<String>,
    error: Option<FormError>,
) -> Result<HttpResponse, AppError> {
    let layout = backend
        .layout("繁体转换词表", "/admin/settings/conversions")
        .await?;
    let rows: Vec<(String, String, chrono::DateTime<chrono::Utc>)> = sqlx::query_as(
        "select simplified, traditional, created_at from conversion_overrides order by simplified",
    )
    .fetch_all(&mut *backend.conn)
    .await?;
    let lines = rows
        .into_iter()
        .map(|(simplified, traditional, at)| ConversionLine {
            library: hanconv::s2tw(&simplified),
            added: layout.settings.format_date(at),
            simplified,
            traditional,
        })
        .collect();
    render(
        status,
        &ConversionsPage {
            layout,
            lines,
            form,
            notice,
            error,
        },
    )
}

/// GET /admin/settings/conversions: the site's own 简 → 繁 conversions.
pub async fn conversions(
    mut backend: Backend,
    query: web::Query<ConversionsQuery>,
) -> Result<HttpResponse, AppError> {
    backend.require(Permission::ManageSettings)?;
    let notice = match query.done.split_once(':') {
        Some(("added", word)) => Some(format!(
            "已添加“{word}”。以后的繁体页面、RSS 和搜索都按此转换。"
        )),
        Some(("removed", word)) => Some(format!("已删除“{word}”，恢复按通用词典转换。")),
        _ => None,
    };
    conversions_page(
        &mut backend,
        StatusCode::OK,
        ConversionForm::default(),
        notice,
        None,
    )
    .await
}

/// A word of the list: trimmed, 1 to 40 characters, no markup.
fn conversion_word(text: &str, empty: &'static str) -> Result<String, String> {
    let word = text.trim();
    if word.is_empty() {
        return Err(empty.to_owned());
    }
    if word.chars().count() > 40 {
        return Err("不超过 40 个字。".to_owned());
    }
    if word
        .chars()
        .any(|c| c.is_control() || matches!(c, '<' | '>' | '&' | '"'))
    {
        return Err("不能含有 < > & \" 或控制字符。".to_owned());
    }
    Ok(word.to_owned())
}

/// POST /admin/settings/conversions: adds (or changes) a conversion, or
/// removes one.
pub async fn change_conversions(
    mut backend: Backend,
    form: web::Form<ConversionForm>,
) -> Result<HttpResponse, AppError> {
    backend.require(Permission::ManageSettings)?;
    let form = form.into_inner();
    let actor = backend.staff.actor();
    if !form.remove.trim().is_empty() {
        let word = form.remove.trim().to_owned();
        let mut tx = sqlx::Connection::begin(&mut *backend.conn).await?;
        let removed = sqlx::query("delete from conversion_overrides where simplified = $1")
            .bind(&word)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if removed > 0 {
            audit::record(&mut tx, &actor, "conversion.remove", &word, "").await?;
        }
        tx.commit().await?;
        let query =
            serde_urlencoded::to_string([("done", format!("removed:{word}"))]).unwrap_or_default();
        return Ok(see_other(&format!("/admin/settings/conversions?{query}")));
    }
    let mut checks = crate::error::Checks::default();
    let simplified = checks.check(
        "simplified",
        conversion_word(&form.simplified, "请填写简体词语。"),
    );
    let traditional = checks.check(
        "traditional",
        conversion_word(&form.traditional, "请填写它的繁体写法。"),
    );
    if let Err(refusal) = checks.finish() {
        return conversions_page(
            &mut backend,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            None,
            Some(refusal),
        )
        .await;
    }
    let mut tx = sqlx::Connection::begin(&mut *backend.conn).await?;
    let before: Option<String> = sqlx::query_scalar(
        "select traditional from conversion_overrides where simplified = $1 for update",
    )
    .bind(&simplified)
    .fetch_optional(&mut *tx)
    .await?;
    sqlx::query(
        "insert into conversion_overrides (simplified, traditional, created_by) values ($1, $2, $3)
         on conflict (simplified) do update set traditional = excluded.traditional",
    )
    .bind(&simplified)
    .bind(&traditional)
    .bind(backend.staff.id)
    .execute(&mut *tx)
    .await?;
    let (action, detail) = match before {
        Some(before) => ("conversion.change", format!("{before} → {traditional}")),
        None => ("conversion.add", traditional.clone()),
    };
    audit::record(&mut tx, &actor, action, &simplified, &detail).await?;
    tx.commit().await?;
    let query =
        serde_urlencoded::to_string([("done", format!("added:{simplified}"))]).unwrap_or_default();
    Ok(see_other(&format!("/admin/settings/conversions?{query}")))
}
