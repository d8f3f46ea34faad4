//! Site settings kept in the database (so every node sees the same values):
//! the site's name, copyright notice, time zone, session and upload limits.
//! The admin settings page edits them; pages read them per request.

pub mod admin;
pub mod db;
pub mod security;

use chrono::{DateTime, Datelike, Timelike, Utc};
use chrono_tz::Tz;

/// The settings public and admin pages need on every request.
#[derive(Debug, Clone)]
pub struct SiteSettings {
    pub site_name: String,
    pub copyright: String,
    pub time_zone: Tz,
    /// Session cookies carry `Secure` (the site is served over https).
    pub cookie_secure: bool,
    pub session_idle_minutes: i64,
    pub session_absolute_hours: i64,
    pub upload_max_mb: i64,
    pub anonymous_comments: bool,
    /// Public address of the site, for links in e-mails (https://news.example.com).
    pub site_url: String,
    /// SMTP relay for notification e-mails; e-mail is off while empty.
    pub smtp_host: String,
    pub smtp_port: i64,
    pub smtp_from: String,
    /// ICP 备案号 (京ICP备12345678号-1), shown at the bottom of every public
    /// page and linked to the MIIT filing site; none while empty.
    pub icp_number: String,
    /// 公安机关备案号 (京公网安备 11010502030143号), shown beside it with
    /// its emblem and linked to its record.
    pub police_number: String,
    /// The 主办单位 line of the footer (主办：国家电网有限公司).
    pub sponsor: String,
    /// Sessions per role (`session_idle_minutes.ROLE`,
    /// `session_absolute_hours.ROLE`, `session_limit.ROLE`) and the site's
    /// session limit (`session_limit`), as stored: empty for the default.
    pub session_rules: std::collections::BTreeMap<String, String>,
    /// Staff passwords: the shortest allowed, and how many character classes
    /// they mix.
    pub password_min_length: i64,
    pub password_classes: i64,
    /// Days a staff password lasts before it must be changed (0: for ever).
    pub password_expiry_days: i64,
    /// How many earlier passwords a new one may not repeat.
    pub password_history: i64,
    /// Days without a login after which a staff account (not an admin's) is
    /// disabled (0: never).
    pub dormant_days: i64,
    /// The roles that must log in with two factors, comma-separated.
    pub two_factor_roles: String,
    /// 三员分立: the system, security and audit admins each hold one duty
    /// and the single admin's account opens nothing.
    pub separation_of_duties: bool,
}

impl Default for SiteSettings {
    fn default() -> Self {
        SiteSettings {
            site_name: "电网新闻网".into(),
            copyright: String::new(),
            time_zone: chrono_tz::Asia::Shanghai,
            cookie_secure: false,
            session_idle_minutes: 30,
            session_absolute_hours: 12,
            upload_max_mb: 10,
            anonymous_comments: true,
            site_url: String::new(),
            smtp_host: String::new(),
            smtp_port: 25,
            smtp_from: String::new(),
            icp_number: String::new(),
            police_number: String::new(),
            sponsor: String::new(),
            session_rules: Default::default(),
            password_min_length: 10,
            password_classes: 3,
            password_expiry_days: 90,
            password_history: 5,
            dormant_days: 90,
            two_factor_roles: "admin,system_admin,security_admin,audit_admin,chief_editor".into(),
            separation_of_duties: false,
        }
    }
}

impl SiteSettings {
    /// Builds the settings from stored key/value rows; unknown keys are
    /// ignored and unparsable values keep their defaults.
    pub fn from_rows(rows: impl IntoIterator<Item = (String, String)>) -> Self {
        let mut settings = SiteSettings::default();
        for (key, value) in rows {
            match key.as_str() {
                "site_name" => settings.site_name = value,
                "copyright" => settings.copyright = value,
                "time_zone" => {
                    if let Ok(tz) = value.parse() {
                        settings.time_zone = tz;
                    }
                }
                "cookie_secure" => settings.cookie_secure = value == "true",
                "anonymous_comments" => settings.anonymous_comments = value == "true",
                "session_idle_minutes" => parse_into(&value, &mut settings.session_idle_minutes),
                "session_absolute_hours" => {
                    parse_into(&value, &mut settings.session_absolute_hours)
                }
                "upload_max_mb" => parse_into(&value, &mut settings.upload_max_mb),
                "site_url" => settings.site_url = value,
                "smtp_host" => settings.smtp_host = value,
                "smtp_port" => parse_into(&value, &mut settings.smtp_port),
                "smtp_from" => settings.smtp_from = value,
                "icp_number" => settings.icp_number = value,
                "police_number" => settings.police_number = value,
                "sponsor" => settings.sponsor = value,
                "password_min_length" => parse_into(&value, &mut settings.password_min_length),
                "password_classes" => parse_into(&value, &mut settings.password_classes),
                "password_expiry_days" => parse_into(&value, &mut settings.password_expiry_days),
                "password_history" => parse_into(&value, &mut settings.password_history),
                "dormant_days" => parse_into(&value, &mut settings.dormant_days),
                "two_factor_roles" => settings.two_factor_roles = value,
                "separation_of_duties" => settings.separation_of_duties = value == "true",
                key if is_session_rule(key) => {
                    settings.session_rules.insert(key.to_owned(), value);
                }
                _ => {}
            }
        }
        settings
    }

    /// The record code of the 公安机关备案号, for its link.
    pub fn police_code(&self) -> Option<&str> {
        police_code(&self.police_number)
    }

    /// A moment as shown on pages: `2021-07-14 14:26:54` in the site's zone.
    pub fn format_time(&self, at: DateTime<Utc>) -> String {
        // Written out rather than through a strftime pattern, which is
        // parsed again on every call (lists show dozens per page).
        let local = at.with_timezone(&self.time_zone);
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            local.year(),
            local.month(),
            local.day(),
            local.hour(),
            local.minute(),
            local.second()
        )
    }

    /// A moment to the minute, as lists show it: `2021-07-14 14:26`.
    pub fn format_minute(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&self.time_zone);
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            local.year(),
            local.month(),
            local.day(),
            local.hour(),
            local.minute()
        )
    }

    /// A moment's date as shown in lists: `2021-07-14`.
    pub fn format_date(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&self.time_zone);
        format!(
            "{:04}-{:02}-{:02}",
            local.year(),
            local.month(),
            local.day()
        )
    }
}

fn parse_into(value: &str, target: &mut i64) {
    if let Ok(parsed) = value.parse() {
        *target = parsed;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn times_are_shown_in_the_site_time_zone() {
        let settings =
            SiteSettings::from_rows([("time_zone".to_string(), "Asia/Shanghai".to_string())]);
        let at = Utc.with_ymd_and_hms(2021, 7, 14, 6, 26, 54).unwrap();
        assert_eq!(settings.format_time(at), "2021-07-14 14:26:54");
        assert_eq!(settings.format_date(at), "2021-07-14");
    }

    #[test]
    fn an_unknown_time_zone_keeps_the_default() {
        let settings =
            SiteSettings::from_rows([("time_zone".to_string(), "Mars/Olympus".to_string())]);
        assert_eq!(settings.time_zone, chrono_tz::Asia::Shanghai);
    }
}

/// The session rules a role may have, with their ranges: a rule left
/// empty falls back to the site's.
pub const SESSION_RULES: [(&str, &str, i64, i64); 3] = [
    ("session_idle_minutes", "空闲超时（分钟）", 5, 1440),
    ("session_absolute_hours", "会话最长时间（小时）", 1, 168),
    ("session_limit", "同时在线会话数（0 为不限）", 0, 20),
];

fn is_session_rule(key: &str) -> bool {
    key == "session_limit"
        || SESSION_RULES.iter().any(|(rule, ..)| {
            key.strip_prefix(rule)
                .and_then(|role| role.strip_prefix('.'))
                .is_some_and(|role| crate::roles::Role::parse(role).is_some())
        })
}

fn is_han(c: char) -> bool {
    ('\u{4e00}'..='\u{9fff}').contains(&c)
}

/// Whether `number` is written as an ICP 备案号 is: the province's one
/// character, `ICP备`, the digits, `号`, and the site's `-N` when it has one
/// (京ICP备12345678号-1).
pub fn is_icp_number(number: &str) -> bool {
    let mut chars = number.chars();
    let Some(province) = chars.next() else {
        return false;
    };
    let Some(rest) = chars.as_str().strip_prefix("ICP备") else {
        return false;
    };
    let digits = rest.chars().take_while(char::is_ascii_digit).count();
    let Some(rest) = rest[digits..].strip_prefix('号') else {
        return false;
    };
    is_han(province)
        && (4..=12).contains(&digits)
        && (rest.is_empty()
            || rest.strip_prefix('-').is_some_and(|site| {
                (1..=4).contains(&site.len()) && site.chars().all(|c| c.is_ascii_digit())
            }))
}

/// The record code of a 公安机关备案号 written as the filing site gives it
/// (京公网安备 11010502030143号, the space optional), or `None`.
pub fn police_code(number: &str) -> Option<&str> {
    let mut chars = number.chars();
    let province = chars.next()?;
    let rest = chars.as_str().strip_prefix("公网安备")?.trim_start();
    let code = rest.strip_suffix('号')?;
    (is_han(province)
        && (10..=16).contains(&code.len())
        && code.chars().all(|c| c.is_ascii_digit()))
    .then_some(code)
}

#[cfg(test)]
mod filing_tests {
    use super::*;

    #[test]
    fn filing_numbers_are_read_as_the_filing_sites_write_them() {
        for good in [
            "京ICP备12345678号",
            "京ICP备12345678号-1",
            "沪ICP备2021012345号-12",
        ] {
            assert!(is_icp_number(good), "{good}");
        }
        for bad in [
            "",
            "ICP备12345678号",
            "京ICP12345678号",
            "京ICP备号",
            "京ICP备12345678",
            "京ICP备12345678号-",
            "京ICP备12345678号-12345",
            "<b>京ICP备12345678号</b>",
        ] {
            assert!(!is_icp_number(bad), "{bad}");
        }
        assert_eq!(
            police_code("京公网安备 11010502030143号"),
            Some("11010502030143")
        );
        assert_eq!(
            police_code("京公网安备11010502030143号"),
            Some("11010502030143")
        );
        for bad in [
            "",
            "京公网安备 110105号",
            "公网安备 11010502030143号",
            "京公网安备 11010502030143",
            "京公网安备 1101050203014a号",
        ] {
            assert_eq!(police_code(bad), None, "{bad}");
        }
    }
}
