//! Staff accounts: roles, units and passwords.

pub mod account;
pub mod admin;
pub mod db;
pub mod password;

use std::fmt;

/// What a staff member may do in the newsroom.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Admin,
    ChiefEditor,
    Editor,
    Correspondent,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Admin,
        Role::ChiefEditor,
        Role::Editor,
        Role::Correspondent,
    ];

    /// The value stored in `users.role`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::ChiefEditor => "chief_editor",
            Role::Editor => "editor",
            Role::Correspondent => "correspondent",
        }
    }

    /// The role's name as the newsroom says it.
    pub fn label(self) -> &'static str {
        match self {
            Role::Admin => "管理员",
            Role::ChiefEditor => "总编",
            Role::Editor => "编辑",
            Role::Correspondent => "通讯员",
        }
    }

    pub fn parse(value: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|role| role.as_str() == value)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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

/// `newsdesk create-user`: creates a staff account from the command line,
/// for the first admin and for scripts. Audited as done by "command line".
pub async fn create_from_cli(
    pool: &sqlx::PgPool,
    username: &str,
    role: &str,
    unit: Option<&str>,
    display_name: Option<&str>,
    password: &str,
) -> anyhow::Result<()> {
    use anyhow::{Context, bail};
    let username = parse_username(username).map_err(anyhow::Error::msg)?;
    let role =
        Role::parse(role).context("--role must be admin, chief_editor, editor or correspondent")?;
    let display_name =
        parse_display_name(display_name.unwrap_or(&username)).map_err(anyhow::Error::msg)?;
    password::check_policy(password, &username).map_err(anyhow::Error::msg)?;
    let typed = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || password::hash(&typed)).await??;
    let mut tx = pool.begin().await?;
    let unit_id = match unit {
        Some(name) => match crate::units::db::by_name(&mut tx, name).await?.as_slice() {
            [id] => *id,
            [] => bail!("no active unit is named {name}"),
            _ => bail!("several units are named {name}"),
        },
        None => crate::units::db::root(&mut tx).await?.context(
            "there is no unit yet: run `newsdesk seed-demo` or create the root unit first",
        )?,
    };
    let new_user = db::NewUser {
        username: &username,
        display_name: &display_name,
        role: role.as_str(),
        unit_id,
        password_hash: &hash,
        must_change_password: false,
    };
    match db::insert(&mut tx, &new_user).await {
        Err(error) if crate::error::is_unique_violation(&error) => {
            bail!("the username {username} is taken")
        }
        other => other?,
    };
    let actor = crate::audit::Actor::anonymous("command line", String::new());
    crate::audit::record(
        &mut tx,
        &actor,
        "user.create",
        &username,
        &format!("角色：{}", role.label()),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
