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

/// The site's own 简 → 繁 conversions (migration 0040), compiled.
pub async fn conversions(
    conn: &mut PgConnection,
) -> sqlx::Result<crate::web::variant::Conversions> {
    let pairs: Vec<(String, String)> = sqlx::query_as(
        "select simplified, traditional from conversion_overrides order by simplified",
    )
    .fetch_all(conn)
    .await?;
    Ok(crate::web::variant::Conversions::new(&pairs))
}
