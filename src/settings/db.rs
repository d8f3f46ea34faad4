//! Queries on the settings table.

use sqlx::PgConnection;

use super::SiteSettings;

pub async fn load(conn: &mut PgConnection) -> sqlx::Result<SiteSettings> {
    let rows = sqlx::query!("select key, value from settings")
        .fetch_all(conn)
        .await?;
    Ok(SiteSettings::from_rows(
        rows.into_iter().map(|row| (row.key, row.value)),
    ))
}
