//! `newsdesk create-user`, for the first admin and for scripts.

use anyhow::{Context, bail};

use super::{db, parse_display_name, parse_username};
use crate::audit::{self, Actor};
use crate::auth::password;
use crate::error::Violation;
use crate::roles::Role;
use crate::units;

/// Creates a staff account from the command line,
/// for the first admin and for scripts. Audited as done by "command line".
pub async fn create_user(
    pool: &sqlx::PgPool,
    username: &str,
    role: &str,
    unit: Option<&str>,
    display_name: Option<&str>,
    password: &str,
) -> anyhow::Result<()> {
    let username = parse_username(username).map_err(anyhow::Error::msg)?;
    let role =
        Role::parse(role).context("--role must be admin, system_admin, security_admin, audit_admin, chief_editor, editor or correspondent")?;
    let display_name =
        parse_display_name(display_name.unwrap_or(&username)).map_err(anyhow::Error::msg)?;
    let settings = crate::settings::db::load(&mut *pool.acquire().await?).await?;
    password::check_staff_policy(password, &username, &password::Policy::of(&settings))
        .map_err(anyhow::Error::msg)?;
    let typed = password.to_owned();
    let hash = tokio::task::spawn_blocking(move || password::hash(&typed)).await??;
    let mut tx = pool.begin().await?;
    let unit_id = match unit {
        Some(name) => match units::db::by_name(&mut tx, name).await?.as_slice() {
            [id] => *id,
            [] => bail!("no active unit is named {name}"),
            _ => bail!("several units are named {name}"),
        },
        None => units::db::root(&mut tx).await?.context(
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
        email: "",
    };
    match db::insert(&mut tx, &new_user).await {
        Err(error) if Violation::of(&error) == Some(Violation::Unique) => {
            bail!("the username {username} is taken")
        }
        other => other?,
    };
    let actor = Actor::anonymous("command line", String::new());
    audit::record(
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
