//! The security policy page: passwords, sessions per role, two-factor
//! rules and the switch to 三员分立. It belongs to the security admin
//! (the single admin on a small site); the site's other settings are the
//! system admin's (`admin`).

use std::collections::BTreeMap;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::SiteSettings;
use super::admin::{CHANGED_MEANWHILE, Notice, number, store, version_of};
use crate::auth::{Permission, duties};
use crate::backend::Backend;
use crate::error::{AppError, FormError};
use crate::layout::AdminLayout;
use crate::roles::Role;
use crate::web::redirect::see_other;
use crate::web::render;

/// The form as typed: every field a string, so nothing typed is lost.
#[derive(Deserialize, Default, Clone)]
pub struct SecurityForm {
    #[serde(default)]
    session_idle_minutes: String,
    #[serde(default)]
    session_absolute_hours: String,
    #[serde(default)]
    password_min_length: String,
    #[serde(default)]
    password_classes: String,
    #[serde(default)]
    password_expiry_days: String,
    #[serde(default)]
    password_history: String,
    #[serde(default)]
    dormant_days: String,
    /// Ticked to turn 三员分立 on (it is turned off on the server only).
    #[serde(default)]
    separation_of_duties: Option<String>,
    #[serde(default)]
    version: String,
    /// The per-role session rules, the site's session limit and the
    /// two-factor boxes, by input name.
    #[serde(flatten)]
    rules: BTreeMap<String, String>,
}

/// One role's line of session rules on the page.
pub struct RoleRules {
    pub label: &'static str,
    /// (input name, value, what it is) for idle, absolute and limit.
    pub fields: Vec<(String, String, &'static str)>,
}

/// The policy's keys with a fixed name, in the order they are stored.
const POLICY_KEYS: [&str; 7] = [
    "session_idle_minutes",
    "session_absolute_hours",
    "password_min_length",
    "password_classes",
    "password_expiry_days",
    "password_history",
    "dormant_days",
];

/// The per-role session rules' keys, the site's limit first.
fn rule_keys() -> impl Iterator<Item = (String, &'static (&'static str, &'static str, i64, i64))> {
    std::iter::once(("session_limit".to_owned(), &super::SESSION_RULES[2])).chain(
        Role::ALL.into_iter().flat_map(|role| {
            super::SESSION_RULES
                .iter()
                .map(move |rule| (format!("{}.{}", rule.0, role.as_str()), rule))
        }),
    )
}

/// Every key the page owns, for its version.
fn keys() -> Vec<String> {
    POLICY_KEYS
        .iter()
        .map(|key| key.to_string())
        .chain([
            "two_factor_roles".to_owned(),
            "separation_of_duties".to_owned(),
        ])
        .chain(rule_keys().map(|(key, _)| key))
        .collect()
}

impl SecurityForm {
    fn from_settings(settings: &SiteSettings, version: String) -> Self {
        SecurityForm {
            session_idle_minutes: settings.session_idle_minutes.to_string(),
            session_absolute_hours: settings.session_absolute_hours.to_string(),
            password_min_length: settings.password_min_length.to_string(),
            password_classes: settings.password_classes.to_string(),
            password_expiry_days: settings.password_expiry_days.to_string(),
            password_history: settings.password_history.to_string(),
            dormant_days: settings.dormant_days.to_string(),
            separation_of_duties: settings.separation_of_duties.then(|| "on".into()),
            version,
            rules: settings
                .session_rules
                .clone()
                .into_iter()
                .chain(
                    settings
                        .two_factor_roles
                        .split(',')
                        .filter(|role| Role::parse(role).is_some())
                        .map(|role| (format!("two_factor.{role}"), "on".to_owned())),
                )
                .collect(),
        }
    }

    /// The stored key/value pairs (the switch apart), or the first problem
    /// in Chinese.
    fn parse(&self) -> Result<Vec<(String, String)>, String> {
        // A field left empty keeps the policy's default rather than failing.
        let policy_number = |value: &str, default: i64, range, what| match value.trim() {
            "" => Ok(default.to_string()),
            typed => number(typed, range, what),
        };
        let fixed = [
            number(&self.session_idle_minutes, 5..=1440, "空闲超时（分钟）")?,
            number(
                &self.session_absolute_hours,
                1..=168,
                "会话最长时间（小时）",
            )?,
            policy_number(&self.password_min_length, 10, 8..=64, "密码最短长度")?,
            policy_number(&self.password_classes, 3, 0..=4, "密码字符种类")?,
            policy_number(&self.password_expiry_days, 90, 0..=3650, "密码有效期（天）")?,
            policy_number(&self.password_history, 5, 0..=24, "不得重复的历史密码数")?,
            policy_number(&self.dormant_days, 90, 0..=3650, "长期未登录停用（天）")?,
        ];
        let mut values: Vec<(String, String)> = POLICY_KEYS
            .iter()
            .map(|key| key.to_string())
            .zip(fixed)
            .collect();
        let two_factor: Vec<&str> = Role::ALL
            .into_iter()
            .map(|role| role.as_str())
            .filter(|role| self.rules.contains_key(&format!("two_factor.{role}")))
            .collect();
        values.push(("two_factor_roles".to_owned(), two_factor.join(",")));
        for (key, (_, what, low, high)) in rule_keys() {
            let typed = self.rules.get(&key).map_or("", |value| value.trim());
            if !typed.is_empty() {
                number(typed, *low..=*high, what)?;
            }
            values.push((key, typed.to_owned()));
        }
        Ok(values)
    }

    /// The roles with their two-factor box: (name, label, checked).
    fn two_factor_roles(&self) -> Vec<(String, &'static str, bool)> {
        Role::ALL
            .into_iter()
            .map(|role| {
                let name = format!("two_factor.{}", role.as_str());
                let checked = self.rules.contains_key(&name);
                (name, role.label(), checked)
            })
            .collect()
    }

    /// The session rules' lines of the form: the site's limit, then one
    /// line per role.
    fn role_rules(&self) -> Vec<RoleRules> {
        let value = |key: &str| self.rules.get(key).cloned().unwrap_or_default();
        let mut lines = vec![RoleRules {
            label: "全站",
            fields: vec![(
                "session_limit".to_owned(),
                value("session_limit"),
                super::SESSION_RULES[2].1,
            )],
        }];
        lines.extend(Role::ALL.into_iter().map(|role| {
            RoleRules {
                label: role.label(),
                fields: super::SESSION_RULES
                    .iter()
                    .map(|(rule, what, ..)| {
                        let key = format!("{rule}.{}", role.as_str());
                        let typed = value(&key);
                        (key, typed, *what)
                    })
                    .collect(),
            }
        }));
        lines
    }
}

#[derive(Template)]
#[template(path = "admin/settings/security.html")]
struct SecurityPage {
    layout: AdminLayout,
    form: SecurityForm,
    /// 三员分立 is on (the box is then shown ticked and fixed).
    separated: bool,
    /// The three that have no active account yet, by name.
    missing: Vec<&'static str>,
    error: Option<FormError>,
    notice: Option<String>,
}

const TITLE: &str = "安全策略";
const PATH: &str = "/admin/security";

async fn show(
    backend: &mut Backend,
    form: SecurityForm,
    status: StatusCode,
    error: Option<FormError>,
    notice: Option<String>,
) -> Result<HttpResponse, AppError> {
    let layout = backend.layout(TITLE, PATH).await?;
    let missing = duties::missing(&mut backend.conn).await?;
    render(
        status,
        &SecurityPage {
            separated: layout.settings.separation_of_duties,
            missing: missing.into_iter().map(Role::label).collect(),
            layout,
            form,
            error,
            notice,
        },
    )
}

/// GET /admin/security
pub async fn edit(
    mut backend: Backend,
    notice: web::Query<Notice>,
) -> Result<HttpResponse, AppError> {
    backend.require(Permission::ManageSecurity)?;
    let settings = crate::settings::db::load(&mut backend.conn).await?;
    let version = version_of(&mut backend.conn, &keys()).await?;
    let form = SecurityForm::from_settings(&settings, version);
    show(&mut backend, form, StatusCode::OK, None, notice.text()).await
}

/// POST /admin/security: saves the policy; a newly ticked 三员分立 box
/// turns the separation on in the same transaction, or nothing is saved.
pub async fn update(
    mut backend: Backend,
    form: web::Form<SecurityForm>,
) -> Result<HttpResponse, AppError> {
    backend.require(Permission::ManageSecurity)?;
    let form = form.into_inner();
    let values = match form.parse() {
        Ok(values) => values,
        Err(message) => {
            let status = StatusCode::UNPROCESSABLE_ENTITY;
            return show(&mut backend, form, status, Some(message.into()), None).await;
        }
    };
    let actor = backend.staff.actor();
    let separated = crate::settings::db::load(&mut backend.conn)
        .await?
        .separation_of_duties;
    let mut tx = sqlx::Connection::begin(&mut *backend.conn).await?;
    if !store(
        &mut tx,
        &actor,
        &keys(),
        &form.version,
        &values,
        "security.update",
        TITLE,
    )
    .await?
    {
        drop(tx);
        let error = Some(CHANGED_MEANWHILE.into());
        return show(&mut backend, form, StatusCode::CONFLICT, error, None).await;
    }
    if form.separation_of_duties.is_some()
        && !separated
        && let Err(missing) = duties::separate(&mut tx, &actor).await?
    {
        drop(tx);
        let error = FormError::field("separation_of_duties", duties::missing_message(&missing));
        let status = StatusCode::UNPROCESSABLE_ENTITY;
        return show(&mut backend, form, status, Some(error), None).await;
    }
    tx.commit().await?;
    Ok(see_other("/admin/security?saved=1"))
}
