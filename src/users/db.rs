//! Queries on staff accounts.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::ids::{UnitId, UserId};

/// A staff account as the admin pages show it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: crate::ids::UserId,
    pub username: String,
    pub display_name: String,
    pub role: crate::roles::Role,
    pub unit_id: crate::ids::UnitId,
    pub unit_name: String,
    pub email: String,
    pub active: bool,
    pub must_change_password: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub last_login_at: Option<DateTime<Utc>>,
    /// When the account ends (an admin's choice); none: it does not.
    pub expires_at: Option<DateTime<Utc>>,
}

const USER_COLUMNS: &str =
    "u.id, u.username, u.display_name, u.role, u.unit_id, n.name as unit_name, u.email,
     u.active, u.must_change_password, u.version, u.created_at, u.last_login_at, u.expires_at";

/// Filters of the user list; empty means any.
#[derive(Debug, Default)]
pub struct UserFilter {
    pub role: Option<String>,
    /// Users of this unit and all units below it.
    pub unit_id: Option<UnitId>,
    pub active: Option<bool>,
    /// Part of a username or display name.
    pub search: Option<String>,
    /// Keyset: usernames (lowercased) after this one.
    pub after: Option<String>,
}

pub async fn list(
    conn: &mut PgConnection,
    filter: &UserFilter,
    limit: i64,
) -> sqlx::Result<Vec<UserRow>> {
    sqlx::query_as(&format!(
        "with recursive subtree as (
             select id from units where id = $2
             union all
             select u.id from units u join subtree s on u.parent_id = s.id
         )
         select {USER_COLUMNS}
         from users u join units n on n.id = u.unit_id
         where ($1::text is null or u.role = $1)
           and ($2::uuid is null or u.unit_id in (select id from subtree))
           and ($3::boolean is null or u.active = $3)
           and ($4::text is null or u.username ilike '%' || $4 || '%' or u.display_name ilike '%' || $4 || '%')
           and ($5::text is null or lower(u.username) > $5)
         order by lower(u.username)
         limit $6"
    ))
    .bind(&filter.role)
    .bind(filter.unit_id)
    .bind(filter.active)
    .bind(&filter.search)
    .bind(&filter.after)
    .bind(limit)
    .fetch_all(conn)
    .await
}

pub async fn by_id(conn: &mut PgConnection, id: UserId) -> sqlx::Result<Option<UserRow>> {
    sqlx::query_as(&format!(
        "select {USER_COLUMNS} from users u join units n on n.id = u.unit_id where u.id = $1"
    ))
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// A new account; the caller has checked the fields.
pub struct NewUser<'a> {
    pub username: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub unit_id: UnitId,
    pub password_hash: &'a str,
    pub must_change_password: bool,
    pub email: &'a str,
}

pub async fn insert(conn: &mut PgConnection, user: &NewUser<'_>) -> sqlx::Result<UserId> {
    sqlx::query_scalar!(
        "insert into users (username, display_name, role, unit_id, password_hash, must_change_password, email)
         values ($1, $2, $3, $4, $5, $6, $7) returning id",
        user.username,
        user.display_name,
        user.role,
        user.unit_id as UnitId,
        user.password_hash,
        user.must_change_password,
        user.email,
    )
    .fetch_one(conn)
    .await
    .map(UserId)
}

pub async fn set_password(
    conn: &mut PgConnection,
    id: UserId,
    hash: &str,
    must_change: bool,
) -> sqlx::Result<()> {
    // The password replaced joins the account's history.
    sqlx::query!(
        "insert into password_history (user_id, password_hash)
         select id, password_hash from users where id = $1",
        id as UserId,
    )
    .execute(&mut *conn)
    .await?;
    sqlx::query!(
        "update users set password_hash = $2, must_change_password = $3, password_changed_at = now(),
                          version = version + 1
         where id = $1",
        id as UserId,
        hash,
        must_change,
    )
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The hashes of the account's current password and of the `count` - 1
/// before it: a new password may match none of them.
pub async fn recent_passwords(
    conn: &mut PgConnection,
    id: UserId,
    count: i64,
) -> sqlx::Result<Vec<String>> {
    if count <= 0 {
        return Ok(Vec::new());
    }
    sqlx::query_scalar!(
        r#"select password_hash as "hash!" from (
               (select password_hash, 0 as age from users where id = $1)
               union all
               (select password_hash, row_number() over (order by id desc) as age
                from password_history where user_id = $1 order by id desc limit $2)
           ) recent order by age limit $3"#,
        id as UserId,
        (count - 1).max(0),
        count,
    )
    .fetch_all(conn)
    .await
}

/// Disables the staff accounts (administrators' excepted) without a login for
/// `days` days, ends their sessions and records each; returns their names.
pub async fn disable_dormant(conn: &mut PgConnection, days: i64) -> sqlx::Result<Vec<String>> {
    if days <= 0 {
        return Ok(Vec::new());
    }
    let disabled: Vec<(UserId, String)> = sqlx::query_as(
        "update users set active = false, disabled_reason = 'dormant', version = version + 1
         where active
           and role not in ('admin', 'system_admin', 'security_admin', 'audit_admin')
           and coalesce(last_login_at, created_at) < now() - make_interval(days => $1::int)
         returning id, username",
    )
    .bind(days as i32)
    .fetch_all(&mut *conn)
    .await?;
    for (id, username) in &disabled {
        crate::auth::session::end_all_for(conn, *id).await?;
        crate::audit::record(
            conn,
            &crate::audit::Actor::anonymous("系统", String::new()),
            "user.disable",
            username,
            &format!("超过 {days} 天未登录，自动停用"),
        )
        .await?;
    }
    Ok(disabled.into_iter().map(|(_, name)| name).collect())
}

/// Runs the dormant-account check every `every` until the process ends.
pub async fn run_dormant_sweeper(pool: sqlx::PgPool, every: std::time::Duration) {
    loop {
        let swept: sqlx::Result<Vec<String>> = async {
            let mut tx = pool.begin().await?;
            let days = crate::settings::db::load(&mut tx).await?.dormant_days;
            let disabled = disable_dormant(&mut tx, days).await?;
            tx.commit().await?;
            Ok(disabled)
        }
        .await;
        match swept {
            Ok(disabled) if !disabled.is_empty() => {
                tracing::info!(accounts = ?disabled, "disabled dormant staff accounts")
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "could not check for dormant accounts"),
        }
        tokio::time::sleep(every).await;
    }
}

/// Sets when the account ends: the end of `last_day` in `zone`, or never.
pub async fn set_expiry(
    conn: &mut PgConnection,
    id: UserId,
    last_day: Option<chrono::NaiveDate>,
    zone: chrono_tz::Tz,
) -> sqlx::Result<()> {
    use chrono::TimeZone;
    let ends = last_day
        .and_then(|day| day.succ_opt())
        .and_then(|next| {
            zone.from_local_datetime(&next.and_hms_opt(0, 0, 0)?)
                .earliest()
        })
        .map(|at| at.with_timezone(&Utc));
    sqlx::query("update users set expires_at = $2 where id = $1")
        .bind(id)
        .bind(ends)
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether `id` is the only active admin. Locks the admins' rows, so two
/// admins demoting each other at once cannot both succeed.
pub async fn is_last_active_admin(conn: &mut PgConnection, id: UserId) -> sqlx::Result<bool> {
    let admins: Vec<Uuid> =
        sqlx::query_scalar!("select id from users where role = 'admin' and active for update")
            .fetch_all(conn)
            .await?;
    Ok(admins == [id.0])
}
