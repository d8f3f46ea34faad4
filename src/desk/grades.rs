//! Grades (稿件评级): the site's list, and the grade each story went out
//! with, given by a chief editor at its last review stage.

use sqlx::PgConnection;

use crate::ids::{ArticleId, UserId};

/// A grade of the list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Grade {
    pub id: i32,
    pub name: String,
    pub position: i32,
    pub active: bool,
}

/// The whole list in order, inactive grades too.
pub async fn all(conn: &mut PgConnection) -> sqlx::Result<Vec<Grade>> {
    sqlx::query_as("select id, name, position, active from grades order by position, id")
        .fetch_all(conn)
        .await
}

/// The grades a chief editor may give now, in order.
pub async fn active(conn: &mut PgConnection) -> sqlx::Result<Vec<Grade>> {
    Ok(all(conn).await?.into_iter().filter(|g| g.active).collect())
}

/// Whether `id` is a grade that may be given now.
pub async fn is_active(conn: &mut PgConnection, id: i32) -> sqlx::Result<bool> {
    sqlx::query_scalar("select exists (select 1 from grades where id = $1 and active)")
        .bind(id)
        .fetch_one(conn)
        .await
}

/// A story's grade, given by whom and when.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Given {
    pub grade_id: i32,
    pub name: String,
    pub grader_name: String,
    pub graded_at: chrono::DateTime<chrono::Utc>,
}

/// A story's grade, when it has one.
pub async fn of_article(conn: &mut PgConnection, id: ArticleId) -> sqlx::Result<Option<Given>> {
    sqlx::query_as(
        "select a.grade_id, g.name, a.grader_name, a.graded_at from article_grades a
         join grades g on g.id = a.grade_id where a.article_id = $1",
    )
    .bind(id)
    .fetch_optional(conn)
    .await
}

/// Gives (or changes) a story's grade, in the caller's transaction; the
/// grade's name, for the record.
pub async fn give(
    conn: &mut PgConnection,
    article: ArticleId,
    grade: i32,
    by: UserId,
    name: &str,
) -> sqlx::Result<String> {
    sqlx::query(
        "insert into article_grades (article_id, grade_id, graded_by, grader_name)
         values ($1, $2, $3, $4)
         on conflict (article_id) do update
         set grade_id = excluded.grade_id, graded_by = excluded.graded_by,
             grader_name = excluded.grader_name, graded_at = now()",
    )
    .bind(article)
    .bind(grade)
    .bind(by)
    .bind(name)
    .execute(&mut *conn)
    .await?;
    sqlx::query_scalar("select name from grades where id = $1")
        .bind(grade)
        .fetch_one(conn)
        .await
}
