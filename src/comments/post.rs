//! Posting a comment behind a captcha, with rate limits, duplicate
//! detection and a honeypot; reports; readers deleting their own comments.

use actix_web::http::StatusCode;
use actix_web::http::header::LOCATION;
use actix_web::{HttpRequest, HttpResponse, web};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{
    ANONYMOUS_NAME, CommentForm, CommentStatus, MAX_LENGTH, RATE_LIMIT, RATE_WINDOW_MINUTES,
    body_hash, client_hash,
};
use crate::articles::public::{self, ArticleQuery};
use crate::captcha;
use crate::error::{AppError, FormError, Refused};
use crate::ids::{ArticleId, CommentId};
use crate::readers::{self, Reader};
use crate::state::AppState;
use crate::web::client::client_ip;
use crate::web::redirect::see_other;

/// The story a comment is posted on.
#[derive(sqlx::FromRow)]
struct Target {
    id: ArticleId,
    comment_moderation: String,
}

/// Who a comment is posted as.
struct Author {
    reader_id: Option<Uuid>,
    name: String,
    anonymous: bool,
    /// Logged in with the form's username and password: a session opens
    /// with the comment.
    signed_in: bool,
}

/// A refusal of a comment: `message` beside `field`, answered with `status`.
fn refusal<T>(field: &'static str, message: &str, status: StatusCode) -> Result<T, AppError> {
    Err(FormError::field(field, message).with_status(status).into())
}

/// A stored comment: shown at once or waiting, and the session opened by
/// logging in with the form.
struct Accepted {
    shown: bool,
    cookie: Option<actix_web::cookie::Cookie<'static>>,
}

/// Where a comment comes from: the client's address and whether it came
/// over https (for the reader's session cookie).
struct Sender<'a> {
    ip: &'a str,
    https: bool,
}

/// Checks a comment against every rule and stores it, on one connection.
#[allow(clippy::too_many_arguments)]
async fn accept(
    pool: &PgPool,
    conn: &mut PgConnection,
    state: &AppState,
    site: &crate::site::Trees,
    reader: Option<&Reader>,
    target: &Target,
    form: &CommentForm,
    sender: Sender<'_>,
) -> Result<Accepted, AppError> {
    let Sender { ip, https } = sender;
    let unprocessable = StatusCode::UNPROCESSABLE_ENTITY;
    let client = client_hash(state.secret.as_bytes(), ip);
    // A reader in good standing, signed in before writing, is not asked.
    let trusted = match reader {
        Some(reader) => readers::in_good_standing(conn, reader.id).await?,
        None => false,
    };
    if !trusted {
        captcha::check_form(conn, state, &form.captcha_id, &form.captcha_answer).await?;
    }
    let body = form.body.trim();
    if body.is_empty() {
        return refusal("body", "请填写评论内容。", unprocessable);
    }
    if body.chars().count() > MAX_LENGTH {
        return refusal(
            "body",
            &format!("评论内容不能超过 {MAX_LENGTH} 个字。"),
            unprocessable,
        );
    }
    let settings = &site.settings;
    let author = if form.anonymous.is_some() {
        if !settings.anonymous_comments {
            return refusal(
                "anonymous",
                "本站目前不允许匿名评论，请登录后发表。",
                unprocessable,
            );
        }
        Author {
            reader_id: reader.map(|r| r.id),
            name: ANONYMOUS_NAME.to_owned(),
            anonymous: true,
            signed_in: false,
        }
    } else if let Some(reader) = reader {
        Author {
            reader_id: Some(reader.id),
            name: reader.username.clone(),
            anonymous: false,
            signed_in: false,
        }
    } else {
        let username = form.author_name.trim();
        if username.is_empty() || form.password.is_empty() {
            let message = if settings.anonymous_comments {
                "请填写读者用户名和密码，或选择匿名发表。"
            } else {
                "请填写读者用户名和密码后发表。"
            };
            return refusal("author_name", message, unprocessable);
        }
        let id = readers::authenticate(pool, username, form.password.clone(), ip, true).await?;
        let name: String = sqlx::query_scalar("select username from readers where id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        Author {
            reader_id: Some(id),
            name,
            anonymous: false,
            signed_in: true,
        }
    };
    let parent_id = match form.parent_id.trim() {
        "" => None,
        id => {
            let parent = id.parse::<CommentId>().ok();
            let valid: bool = sqlx::query_scalar(
                "select exists (select 1 from comments where id = $1 and article_id = $2
                                and parent_id is null and status = 'approved')",
            )
            .bind(parent)
            .bind(target.id)
            .fetch_one(&mut *conn)
            .await?;
            if !valid {
                return refusal("", "要回复的评论不存在或已不再显示。", unprocessable);
            }
            parent
        }
    };
    let (by_address, by_reader): (i64, i64) = sqlx::query_as(
        "select count(*) filter (where client_hash = $1),
                count(*) filter (where $2::uuid is not null and reader_id = $2)
         from comments
         where (client_hash = $1 or reader_id = $2)
           and created_at > now() - make_interval(mins => $3)",
    )
    .bind(&client)
    .bind(author.reader_id)
    .bind(RATE_WINDOW_MINUTES)
    .fetch_one(&mut *conn)
    .await?;
    if by_address >= RATE_LIMIT || by_reader >= RATE_LIMIT {
        return refusal(
            "",
            "评论过于频繁，请稍后再试。",
            StatusCode::TOO_MANY_REQUESTS,
        );
    }
    let hash = body_hash(body);
    let duplicate: bool = sqlx::query_scalar(
        "select exists (select 1 from comments
                        where body_hash = $1 and status <> 'deleted'
                          and ((client_hash = $2 or reader_id = $3) and created_at > now() - interval '1 day'
                               or article_id = $4 and created_at > now() - interval '1 hour'))",
    )
    .bind(&hash)
    .bind(&client)
    .bind(author.reader_id)
    .bind(target.id)
    .fetch_one(&mut *conn)
    .await?;
    if duplicate {
        return refusal("body", "请勿重复发表相同的评论。", StatusCode::CONFLICT);
    }
    let held = site.words.find(body).join("、");
    let status = if held.is_empty() && target.comment_moderation == "post" {
        CommentStatus::Approved
    } else {
        CommentStatus::Pending
    };
    let mut tx = sqlx::Connection::begin(&mut *conn).await?;
    sqlx::query(
        "insert into comments (article_id, parent_id, reader_id, author_name, anonymous, body,
                               status, held_for, client_hash, body_hash)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(target.id)
    .bind(parent_id)
    .bind(author.reader_id)
    .bind(&author.name)
    .bind(author.anonymous)
    .bind(body)
    .bind(status)
    .bind(&held)
    .bind(&client)
    .bind(&hash)
    .execute(&mut *tx)
    .await?;
    let cookie = match author.reader_id.filter(|_| author.signed_in) {
        Some(id) => {
            Some(readers::start_session(&mut tx, id, https || settings.cookie_secure).await?)
        }
        None => None,
    };
    tx.commit().await?;
    Ok(Accepted {
        shown: status == CommentStatus::Approved,
        cookie,
    })
}

/// POST /articles/{number}/comments
pub async fn post(
    req: HttpRequest,
    pool: web::Data<PgPool>,
    trees: web::Data<crate::site::TreeCache>,
    state: web::Data<AppState>,
    reader: Option<Reader>,
    number: web::Path<String>,
    form: web::Form<CommentForm>,
) -> Result<HttpResponse, AppError> {
    let number: i64 = number.parse().map_err(|_| AppError::NotFound)?;
    let form = form.into_inner();
    let mut conn = pool.acquire().await?;
    let target: Target = sqlx::query_as(
        "select a.id, c.comment_moderation from articles a join channels c on c.id = a.channel_id
         where a.number = $1 and a.status = 'published'",
    )
    .bind(number)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(AppError::NotFound)?;
    let article = crate::articles::article_url(number);
    if !form.website.is_empty() {
        tracing::info!("dropped a comment that filled in the honeypot");
        return Ok(see_other(&format!("{article}?comment=pending#comments")));
    }
    let ip = client_ip(&req, &state.trusted_proxies);
    let site = trees.current(&mut conn).await?;
    let outcome = accept(
        &pool,
        &mut conn,
        &state,
        &site,
        reader.as_ref(),
        &target,
        &form,
        Sender {
            ip: &ip,
            https: crate::web::cookies::https(&req),
        },
    )
    .await;
    drop(conn);
    match outcome.refused()? {
        Ok(accepted) => {
            let outcome = if accepted.shown { "posted" } else { "pending" };
            let mut response = HttpResponse::SeeOther();
            response.insert_header((LOCATION, format!("{article}?comment={outcome}#comments")));
            if let Some(cookie) = accepted.cookie {
                response.cookie(cookie);
            }
            Ok(response.finish())
        }
        Err(refusal) => {
            let status = refusal.status;
            let sources = public::PageSources {
                pool: &pool,
                primary: None,
                trees: &trees,
                key: state.secret.as_bytes(),
            };
            public::render_article(
                sources,
                number,
                &ArticleQuery::default(),
                Some(form.draft(refusal)),
                status,
            )
            .await
        }
    }
}

/// POST /comments/{id}/report: any visitor, once per address.
pub async fn report(
    req: HttpRequest,
    pool: web::Data<PgPool>,
    state: web::Data<AppState>,
    id: web::Path<CommentId>,
) -> Result<HttpResponse, AppError> {
    let ip = client_ip(&req, &state.trusted_proxies);
    let client = client_hash(state.secret.as_bytes(), &ip);
    let mut tx = pool.begin().await?;
    let number: i64 = sqlx::query_scalar(
        "select a.number from comments c join articles a on a.id = c.article_id
         where c.id = $1 and c.status = 'approved' and a.status = 'published'",
    )
    .bind(*id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(AppError::NotFound)?;
    let first = sqlx::query(
        "insert into comment_reports (comment_id, client_hash) values ($1, $2) on conflict do nothing",
    )
    .bind(*id)
    .bind(&client)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if first {
        sqlx::query("update comments set report_count = report_count + 1 where id = $1")
            .bind(*id)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(see_other(&format!(
        "{}?comment=reported#comments",
        crate::articles::article_url(number)
    )))
}

/// POST /comments/{id}/delete: a reader deletes one of their comments.
pub async fn delete_own(
    pool: web::Data<PgPool>,
    reader: Reader,
    id: web::Path<CommentId>,
) -> Result<HttpResponse, AppError> {
    let mut conn = pool.acquire().await?;
    let deleted = sqlx::query(
        "update comments set status = 'deleted' where id = $1 and reader_id = $2 and status <> 'deleted'",
    )
    .bind(*id)
    .bind(reader.id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if deleted == 0 {
        return Err(AppError::NotFound);
    }
    Ok(see_other("/account?deleted=1"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_ignore_spacing() {
        assert_eq!(body_hash("好 文章\n"), body_hash("好  文章"));
        assert_ne!(body_hash("好文章"), body_hash("好文章！"));
    }
}
