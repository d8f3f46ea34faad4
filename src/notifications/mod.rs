//! Newsroom notifications: the writer hears when a story is returned,
//! rejected or published; reviewers hear when a story arrives at a stage
//! they act on. Written in the transaction of the step that causes them.

pub mod mail;
pub mod page;

use sqlx::PgConnection;

use crate::articles::article_url;
use crate::articles::store::ArticleRecord;
use crate::ids::{ArticleId, UnitId, UserId};
use crate::workflow::Status;

async fn notify(
    conn: &mut PgConnection,
    users: &[UserId],
    article: &ArticleRecord,
    message: &str,
    note: &str,
    link: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "insert into notifications (user_id, article_id, message, note, link)
         select user_id, $2, $3, $4, $5 from unnest($1::uuid[]) as user_id",
        users as &[UserId],
        article.id as ArticleId,
        message,
        note,
        link,
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Active staff who act on `stage_role` for a story of `unit_id`: chief
/// editors for their stages; for editors' stages, the editors whose unit
/// is the story's unit or above it.
async fn reviewers(
    conn: &mut PgConnection,
    stage_role: &str,
    unit_id: UnitId,
    except: UserId,
) -> sqlx::Result<Vec<UserId>> {
    sqlx::query_scalar!(
        "with recursive above as (
             select id, parent_id from units where id = $2
             union all
             select u.id, u.parent_id from units u join above a on u.id = a.parent_id
         )
         select id from users
         where active and id <> $3 and role = $1
           and ($1 = 'chief_editor' or unit_id in (select id from above))",
        stage_role,
        unit_id as UnitId,
        except as UserId,
    )
    .fetch_all(conn)
    .await
    .map(|ids| ids.into_iter().map(UserId).collect())
}

/// Tells the people concerned about a story that moved to `status` at
/// review stage `stage`. What they were told of the story before is done
/// with (the review it asked for has happened, the return was answered):
/// it is marked read, so no badge stays for work that is over.
pub async fn story_moved(
    conn: &mut PgConnection,
    article: &ArticleRecord,
    status: Status,
    stage: usize,
    note: &str,
) -> sqlx::Result<()> {
    sqlx::query!(
        "update notifications set read_at = now() where article_id = $1 and read_at is null",
        article.id as ArticleId,
    )
    .execute(&mut *conn)
    .await?;
    let backend = format!("/admin/articles/{}", article.id);
    match status {
        Status::Submitted | Status::InReview => {
            let Some(role) = article.review_stages.get(stage) else {
                return Ok(());
            };
            let users = reviewers(conn, role.as_str(), article.unit_id, article.created_by).await?;
            let message = format!("新稿件待审（第 {} 审）：{}", stage + 1, article.title);
            notify(conn, &users, article, &message, "", &backend).await
        }
        Status::Draft => Ok(()),
        writer_news => {
            let (what, link) = match writer_news {
                Status::Returned => ("稿件被退回修改", backend),
                Status::Rejected => ("稿件未被采用", backend),
                Status::Published => ("稿件已发布", article_url(article.number)),
                Status::Scheduled => ("稿件已通过终审，将定时发布", backend),
                _ => ("稿件已被撤下", backend),
            };
            let message = format!("{what}：{}", article.title);
            notify(conn, &[article.created_by], article, &message, note, &link).await
        }
    }
}
