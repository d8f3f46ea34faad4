//! Staff accounts: their units, names and passwords.

pub mod account;
pub mod admin;
pub mod cli;
pub mod db;
pub mod locks;

/// Parses a username as typed: 2 to 32 letters, digits, `_`, `.` or `-`.
pub fn parse_username(username: &str) -> Result<String, &'static str> {
    let username = username.trim();
    let valid = (2..=32).contains(&username.len())
        && username
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if valid {
        Ok(username.to_owned())
    } else {
        Err("用户名为 2 到 32 个字母、数字、下划线、点或连字符。")
    }
}

/// Parses a display name as typed: 1 to 40 characters.
pub fn parse_display_name(name: &str) -> Result<String, &'static str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 40 {
        return Err("姓名不能为空，且不超过 40 个字。");
    }
    Ok(name.to_owned())
}

/// Parses an optional e-mail address for notifications.
pub fn parse_email(email: &str) -> Result<String, &'static str> {
    let email = email.trim();
    if email.is_empty() {
        return Ok(String::new());
    }
    let valid = email.len() <= 100
        && email.parse::<lettre::Address>().is_ok()
        && !email.chars().any(char::is_whitespace);
    if valid {
        Ok(email.to_owned())
    } else {
        Err("电子邮箱格式不正确。")
    }
}
