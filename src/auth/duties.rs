//! 三员分立: on sites that need it, three administrators take the single
//! admin's place, each with one duty (see `GRANTS`). An account has one
//! role, so no one holds two duties; no one changes their own role; the
//! accounts of the three are set up on the server (`newsdesk create-user`)
//! or by the single admin before the switch, and no web page can change
//! them once it is made, nor make it undone (`newsdesk duties single`).

use sqlx::PgConnection;

use crate::audit::{self, Actor};
use crate::roles::Role;

/// The three whose duties the switch needs and who have no active account.
pub async fn missing(conn: &mut PgConnection) -> sqlx::Result<Vec<Role>> {
    let present: Vec<String> = sqlx::query_scalar(
        "select distinct role from users
         where active and (expires_at is null or expires_at > now())
           and role = any($1)",
    )
    .bind(Role::SEPARATED.map(Role::as_str).as_slice())
    .fetch_all(&mut *conn)
    .await?;
    Ok(Role::SEPARATED
        .into_iter()
        .filter(|role| !present.iter().any(|p| p == role.as_str()))
        .collect())
}

/// The refusal of a switch made before the three have accounts.
pub fn missing_message(missing: &[Role]) -> String {
    let names: Vec<&str> = missing.iter().map(|role| role.label()).collect();
    format!(
        "启用三员分立前，须先为{}各设立一个可用账号。",
        names.join("、")
    )
}

/// Turns 三员分立 on in `tx`: refused with the roles that lack an account;
/// the single admin's sessions end. Recorded.
pub async fn separate(tx: &mut PgConnection, actor: &Actor) -> sqlx::Result<Result<(), Vec<Role>>> {
    sqlx::query("lock table settings in share row exclusive mode")
        .execute(&mut *tx)
        .await?;
    let missing = missing(tx).await?;
    if !missing.is_empty() {
        return Ok(Err(missing));
    }
    set(tx, true).await?;
    let ended = sqlx::query(
        "delete from sessions where user_id in (select id from users where role = 'admin')",
    )
    .execute(&mut *tx)
    .await?
    .rows_affected();
    audit::record(
        tx,
        actor,
        "duties.separate",
        "三员分立",
        &format!("启用；管理员账号的 {ended} 个会话已结束"),
    )
    .await?;
    Ok(Ok(()))
}

/// Gives the site back to a single admin, as `newsdesk duties single`
/// does. Recorded.
pub async fn single(tx: &mut PgConnection, actor: &Actor) -> sqlx::Result<()> {
    set(tx, false).await?;
    audit::record(tx, actor, "duties.single", "三员分立", "停用").await
}

async fn set(tx: &mut PgConnection, on: bool) -> sqlx::Result<()> {
    sqlx::query(
        "insert into settings (key, value) values ('separation_of_duties', $1)
         on conflict (key) do update set value = excluded.value",
    )
    .bind(on.to_string())
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Whether the accounts pages may edit, disable or reset an account of
/// `target`: under 三员分立 not one of the three's.
pub fn may_manage(separated: bool, target: Role) -> bool {
    !(separated && target.is_separated_admin())
}

/// The roles the accounts pages may give: under 三员分立 the newsroom's
/// only (the single admin's role opens nothing then, and the three's
/// accounts are set up on the server).
pub fn assignable(separated: bool) -> Vec<Role> {
    if separated {
        Role::EDITORIAL.to_vec()
    } else {
        Role::ALL.to_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn under_separation_the_three_are_out_of_the_accounts_pages_reach() {
        for role in Role::SEPARATED {
            assert!(!may_manage(true, role));
            assert!(may_manage(false, role));
            assert!(!assignable(true).contains(&role));
            assert!(assignable(false).contains(&role));
        }
        assert!(!assignable(true).contains(&Role::Admin));
        assert!(
            may_manage(true, Role::Admin),
            "a left-over admin can be re-roled"
        );
        assert_eq!(
            missing_message(&[Role::SecurityAdmin, Role::AuditAdmin]),
            "启用三员分立前，须先为安全管理员、审计管理员各设立一个可用账号。"
        );
    }
}
