//! Site settings kept in the database (so every node sees the same values):
//! the site's name, copyright notice, time zone, session and upload limits.
//! The admin settings page edits them; pages read them per request.

pub mod admin;
pub mod db;

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
                _ => {}
            }
        }
        settings
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
