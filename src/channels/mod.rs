//! The channel tree (首页 > 电网 > 企业风采): where stories are filed, what the
//! portal's navigation shows, and how many review stages a story passes.

pub mod admin;
pub mod db;

use crate::roles::StageRole;

/// A top-level channel as the navigation bar shows it.
#[derive(Debug, Clone)]
pub struct NavChannel {
    pub name: String,
    pub slug: String,
}

/// One step of a breadcrumb (当前位置: 首页 > 电网 > 企业风采), root first.
#[derive(Debug, Clone)]
pub struct Crumb {
    pub name: String,
    pub slug: String,
}

/// A channel's review stages as typed in three selects: the first is
/// required, a later one only after an earlier one.
pub fn parse_review_stages(stages: [&str; 3]) -> Result<Vec<StageRole>, &'static str> {
    let mut parsed = Vec::new();
    let mut ended = false;
    for value in stages {
        match (value.trim(), StageRole::parse(value.trim())) {
            ("", _) => ended = true,
            (_, Some(role)) if !ended => parsed.push(role),
            (_, Some(_)) => return Err("审核环节须依次设置，不能跳过前面的环节。"),
            (_, None) => return Err("审核环节只能由编辑或总编担任。"),
        }
    }
    if parsed.is_empty() {
        return Err("至少设置一个审核环节。");
    }
    Ok(parsed)
}

/// A channel slug as typed: lowercase letters, digits and hyphens, used in
/// public URLs (/channels/{slug}).
pub fn parse_slug(slug: &str) -> Result<String, &'static str> {
    let slug = slug.trim();
    let valid = (1..=48).contains(&slug.len())
        && slug.as_bytes()[0].is_ascii_alphanumeric()
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(slug.to_owned())
    } else {
        Err("栏目标识须为小写字母、数字和连字符，最长 48 个字符，如 qiye-fengcai。")
    }
}

/// A channel name as typed: 1 to 30 characters.
pub fn parse_name(name: &str) -> Result<String, &'static str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 30 {
        return Err("栏目名称不能为空，且不超过 30 个字。");
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_stages_are_one_to_three_in_order() {
        assert_eq!(
            parse_review_stages(["editor", "chief_editor", ""]),
            Ok(vec![StageRole::Editor, StageRole::ChiefEditor])
        );
        assert_eq!(
            parse_review_stages(["chief_editor", "", ""]),
            Ok(vec![StageRole::ChiefEditor])
        );
        assert!(parse_review_stages(["", "", ""]).is_err());
        assert!(parse_review_stages(["editor", "", "chief_editor"]).is_err());
        assert!(parse_review_stages(["admin", "", ""]).is_err());
    }

    #[test]
    fn slugs_are_lowercase_ascii() {
        assert_eq!(parse_slug(" qiye-fengcai "), Ok("qiye-fengcai".into()));
        assert!(parse_slug("Qiye").is_err());
        assert!(parse_slug("-x").is_err());
        assert!(parse_slug("企业").is_err());
    }
}
