//! The parts of a story's page: the story as its page shows it, the parts
//! kept beside it (推荐阅读, 相关阅读, 上一篇/下一篇, see migration 0029) and
//! their computing.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use uuid::Uuid;

use crate::ids::ArticleId;

use super::{PublishedArticle, SanitizedHtml};

/// A published story with what its page shows around it, read in one
/// statement: the parts of its page kept with it while they are fresh
/// (migration 0029) and the version of the trees the page may name channels
/// from, and take 推荐阅读 from (migration 0034).
#[derive(Debug)]
pub struct ArticlePage {
    pub article: PublishedArticle,
    pub structure_version: i64,
    /// The kept parts, or `None` when they must be computed again.
    pub kept: Option<KeptParts>,
    /// When the statement ran: the time parts computed now are kept with.
    pub read_at: DateTime<Utc>,
}

/// What a story's page shows from other rows.
#[derive(Debug)]
pub struct PageParts {
    /// The credits in order: (author id, designation, name).
    pub credits: Vec<(Uuid, String, String)>,
    pub tags: Vec<String>,
    /// 上一篇 and 下一篇 in the story's channel.
    pub earlier: Option<TitleLink>,
    pub later: Option<TitleLink>,
    /// 相关阅读, ranked by `related`.
    pub related: Vec<RelatedLink>,
}

/// A story's page parts as kept, with the seal of its body, if any (see
/// `SanitizedHtml::seal`).
#[derive(Debug)]
pub struct KeptParts {
    pub parts: PageParts,
    pub body_seal: Option<Vec<u8>>,
}

/// The page statement's row; the kept columns are null without a fresh row.
#[derive(sqlx::FromRow)]
struct PageRow {
    #[sqlx(flatten)]
    article: PublishedArticle,
    structure_version: i64,
    read_at: DateTime<Utc>,
    kept: bool,
    credit_ids: Option<Vec<Uuid>>,
    credit_roles: Option<Vec<String>>,
    credit_names: Option<Vec<String>>,
    tags: Option<Vec<String>>,
    earlier: Option<i64>,
    earlier_title: Option<String>,
    later: Option<i64>,
    later_title: Option<String>,
    related: Option<Vec<i64>>,
    related_titles: Option<Vec<String>>,
    related_dates: Option<Vec<DateTime<Utc>>>,
    body_seal: Option<Vec<u8>>,
}

impl From<PageRow> for ArticlePage {
    fn from(row: PageRow) -> Self {
        let link = |number: Option<i64>, title: Option<String>| {
            Some(TitleLink::from((number?, title.unwrap_or_default())))
        };
        let kept = row.kept.then(|| {
            let credits = row.credit_ids.unwrap_or_default().into_iter();
            let credits = credits
                .zip(row.credit_roles.unwrap_or_default())
                .zip(row.credit_names.unwrap_or_default())
                .map(|((id, role), name)| (id, role, name))
                .collect();
            let related = row.related.unwrap_or_default().into_iter();
            let related = related
                .zip(row.related_titles.unwrap_or_default())
                .zip(row.related_dates.unwrap_or_default())
                .map(|((number, title), published_at)| RelatedLink {
                    number,
                    title,
                    published_at,
                });
            KeptParts {
                parts: PageParts {
                    credits,
                    tags: row.tags.unwrap_or_default(),
                    earlier: link(row.earlier, row.earlier_title),
                    later: link(row.later, row.later_title),
                    related: related.collect(),
                },
                body_seal: row.body_seal,
            }
        });
        ArticlePage {
            article: row.article,
            structure_version: row.structure_version,
            kept,
            read_at: row.read_at,
        }
    }
}

/// Reads a published story and what its page shows around it: the story,
/// its view count and its kept parts, each a single-row read.
pub async fn article_page(
    conn: &mut PgConnection,
    number: i64,
) -> sqlx::Result<Option<ArticlePage>> {
    let row: Option<PageRow> = sqlx::query_as(
        "select a.id, a.number, a.channel_id, a.unit_id, a.title, a.kicker, a.subtitle, a.summary,
                a.body_html, a.source, a.published_at,
                coalesce((select t.views from article_totals t where t.article_id = a.id), 0)
                    as view_count,
                a.comment_count, a.correction_note, a.corrected_at, a.responsible_editors,
                m.id as cover_id, m.original_ext as cover_original_ext,
                m.derived_ext as cover_derived_ext,
                (select version from structure_version) as structure_version,
                now() as read_at,
                p.article_id is not null as kept, p.credit_ids, p.credit_roles, p.credit_names,
                p.tags, p.earlier, p.earlier_title, p.later, p.later_title, p.related,
                p.related_titles, p.related_dates, p.body_seal
         from articles a
         left join media m on m.id = a.cover_media_id
         left join article_page_parts p on p.article_id = a.id
             and p.computed_at > a.updated_at and p.related_dates is not null
             and (not p.follows_words or p.computed_at > now() - interval '1 day')
         where a.number = $1 and a.status = 'published'",
    )
    .bind(number)
    .fetch_optional(conn)
    .await?;
    Ok(row.map(ArticlePage::from))
}

/// A published story as its page and the API show it.
pub struct Shown {
    pub article: PublishedArticle,
    /// The version of the trees the page may name channels from.
    pub structure_version: i64,
    pub parts: PageParts,
    pub body: SanitizedHtml,
}

/// Reads a published story, its page's parts and its body ready to show;
/// parts missing are computed and kept on `primary` when `conn` is a
/// replica's (a replica cannot keep them).
pub async fn shown(
    conn: &mut PgConnection,
    primary: Option<&sqlx::PgPool>,
    number: i64,
    key: &[u8],
) -> sqlx::Result<Option<Shown>> {
    let Some(ArticlePage {
        article,
        structure_version,
        kept,
        read_at,
    }) = article_page(&mut *conn, number).await?
    else {
        return Ok(None);
    };
    let (parts, body) = match (&kept, primary) {
        (None, Some(primary)) => {
            let mut primary = primary.acquire().await?;
            parts_and_body(&mut primary, &article, kept, read_at, key).await?
        }
        _ => parts_and_body(conn, &article, kept, read_at, key).await?,
    };
    Ok(Some(Shown {
        article,
        structure_version,
        parts,
        body,
    }))
}

/// Stories listed under 推荐阅读 on a story's page (the story itself left out).
pub const RECOMMENDED: usize = 6;

/// The newest `limit` recommended stories (推荐阅读), newest first.
pub async fn recommended(conn: &mut PgConnection, limit: i64) -> sqlx::Result<Vec<TitleLink>> {
    sqlx::query_as(
        "select number, title from articles
         where status = 'published' and is_recommended
         order by published_at desc limit $1",
    )
    .bind(limit)
    .fetch_all(conn)
    .await
}

/// The parts of a published story's page and its body ready to show: the
/// kept parts, and the body as stored while its seal holds; otherwise the
/// body is sanitised, and the parts are computed and kept again with the
/// body's seal.
pub async fn parts_and_body(
    conn: &mut PgConnection,
    article: &PublishedArticle,
    kept: Option<KeptParts>,
    read_at: DateTime<Utc>,
    key: &[u8],
) -> sqlx::Result<(PageParts, SanitizedHtml)> {
    if let Some(KeptParts { parts, body_seal }) = kept {
        let body = body_seal
            .and_then(|seal| SanitizedHtml::unseal(&article.body_html, &seal, key))
            .unwrap_or_else(|| SanitizedHtml::clean(&article.body_html));
        return Ok((parts, body));
    }
    let body = SanitizedHtml::clean(&article.body_html);
    let seal = body.seal(&article.body_html, key);
    let parts = compute_parts(conn, article, seal, read_at).await?;
    Ok((parts, body))
}

/// A linked story title, for 上一篇 / 下一篇, 相关阅读 and 推荐阅读.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TitleLink {
    pub number: i64,
    pub title: String,
}

impl From<(i64, String)> for TitleLink {
    fn from((number, title): (i64, String)) -> Self {
        TitleLink { number, title }
    }
}

/// A story under 相关阅读: its link and when it was published.
#[derive(Debug, Clone)]
pub struct RelatedLink {
    pub number: i64,
    pub title: String,
    pub published_at: DateTime<Utc>,
}

impl TitleLink {
    /// Links from (number, title) rows.
    pub fn all(rows: Vec<(i64, String)>) -> Vec<TitleLink> {
        rows.into_iter().map(TitleLink::from).collect()
    }
}

/// Published stories related to `id` (相关阅读): those sharing its tags
/// (each shared tag weighs most) and those whose text shares the words of
/// its title (`words`, see `search::similarity_query`), ranked by both, then
/// newest first. Each tag and the text search contribute a bounded set of
/// candidates, so popular tags and frequent words stay cheap: for a tag, the
/// stories published nearest in time to this one. The text is searched only
/// when the tags bring too few; the second value says whether it was, and
/// so whether stories published later may enter the list unannounced (the
/// newest stories sharing the words are taken).
pub async fn related(
    conn: &mut PgConnection,
    id: ArticleId,
    words: Option<&str>,
    limit: i64,
) -> sqlx::Result<(Vec<RelatedLink>, bool)> {
    let rows: Vec<(i64, String, DateTime<Utc>, bool)> = sqlx::query_as(
        "with tagged as (
             -- For each tag: the 50 stories published just before this one
             -- and the 50 just after (migration 0023).
             select other.article_id as id, other.published_at, count(*)::float8 as score
             from article_tags mine
             cross join lateral (
                 (select article_id, published_at from article_tags t
                  where t.tag_id = mine.tag_id and t.published_at is not null
                    and (t.published_at, t.article_id) < (mine.published_at, mine.article_id)
                  order by t.published_at desc, t.article_id desc limit 50)
                 union all
                 (select article_id, published_at from article_tags t
                  where t.tag_id = mine.tag_id and t.published_at is not null
                    and (t.published_at, t.article_id) > (mine.published_at, mine.article_id)
                  order by t.published_at, t.article_id limit 50)) other
             where mine.article_id = $1
             group by other.article_id, other.published_at
         ), by_words as (
             -- Shared tags outweigh shared words: with enough stories
             -- sharing tags, the words are not searched.
             select $2::text is not null and count(*) < 24 as searched from tagged
         ), worded as (
             select c.id, c.published_at, ts_rank(c.search_vector, to_tsquery('simple', $2)) as score
             from (select a.id, a.published_at, a.search_vector from articles a
                   where (select searched from by_words) and a.status = 'published' and a.id <> $1
                     and a.search_vector @@ to_tsquery('simple', $2)
                   order by a.published_at desc limit 40) c
         ), scored as (
             -- Ranked from the index alone: only the stories shown are read.
             select id, max(published_at) as published_at, sum(score) as score
             from (select id, published_at, score from tagged
                   union all select id, published_at, score from worded) s
             group by id order by score desc, published_at desc limit $3
         )
         select a.number, a.title, a.published_at, (select searched from by_words)
         from scored
         join articles a on a.id = scored.id and a.status = 'published'
         order by scored.score desc, scored.published_at desc",
    )
    .bind(id)
    .bind(words)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    // No story at all: the tags brought too few.
    let worded = rows.first().map_or(words.is_some(), |row| row.3);
    let links = rows
        .into_iter()
        .map(|(number, title, published_at, _)| RelatedLink {
            number,
            title,
            published_at,
        })
        .collect();
    Ok((links, worded))
}

/// Computes the parts of `article`'s page from the rows they come from,
/// and keeps them with the body's `seal`, as computed from what the
/// database held at `read_at`. Keeping them is best effort: the parts are
/// returned even if that fails (the story was deleted meanwhile, the
/// database is read-only).
async fn compute_parts(
    conn: &mut PgConnection,
    article: &PublishedArticle,
    seal: Option<[u8; 32]>,
    read_at: DateTime<Utc>,
) -> sqlx::Result<PageParts> {
    // One plan per connection: planned for each story's values instead,
    // 相关阅读 spent longer planning than running. Kept parts can be
    // computed again, so nobody waits for them to reach the disk, nor for a
    // lock to keep them.
    let mut tx = sqlx::Connection::begin_with(
        &mut *conn,
        "begin; set local plan_cache_mode = force_generic_plan;
         set local max_parallel_workers_per_gather = 0;
         set local synchronous_commit = off; set local lock_timeout = '100ms'",
    )
    .await?;
    // A change to what parts are made of holds this lock alone from its
    // first row that drops parts until it commits (migration 0033), and
    // waits for the parts being computed under it to be kept, so that its
    // triggers find them. Parts computed while a change is under way are
    // shown, not kept; so are those whose story's row a change has locked,
    // once the lock timeout passes.
    // Read from a streaming replica, they are shown and kept by the next
    // reading of the primary.
    let may_keep: bool = sqlx::query_scalar(
        "select not pg_is_in_recovery()
                and pg_try_advisory_xact_lock_shared(hashtext('newsdesk_page_parts'))",
    )
    .fetch_one(&mut *tx)
    .await?;
    type Own = (
        Vec<(Uuid, String, String)>,
        Vec<String>,
        Option<(i64, String)>,
        Option<(i64, String)>,
    );
    let (credits, tags, earlier, later): Own = sqlx::query_as(
        "select array(select row(au.id, aa.role, au.name)
                      from article_authors aa join authors au on au.id = aa.author_id
                      where aa.article_id = a.id order by aa.position),
                array(select t.name from article_tags at join tags t on t.id = at.tag_id
                      where at.article_id = a.id order by at.position),
                (select row(number, title) from articles
                 where channel_id = a.channel_id and status = 'published'
                   and (published_at, number) < (a.published_at, a.number)
                 order by published_at desc, number desc limit 1),
                (select row(number, title) from articles
                 where channel_id = a.channel_id and status = 'published'
                   and (published_at, number) > (a.published_at, a.number)
                 order by published_at, number limit 1)
         from articles a where a.id = $1",
    )
    .bind(article.id)
    .fetch_one(&mut *tx)
    .await?;
    let similar = crate::search::similarity_query(&article.title);
    let (related, worded) = related(&mut tx, article.id, similar.as_deref(), 6).await?;
    let parts = PageParts {
        credits,
        tags,
        earlier: earlier.map(TitleLink::from),
        later: later.map(TitleLink::from),
        related,
    };
    if may_keep {
        let kept = match keep_parts(&mut tx, article.id, &parts, worded, seal, read_at).await {
            Ok(()) => tx.commit().await,
            Err(error) => Err(error),
        };
        if let Err(error) = kept {
            tracing::warn!(%error, "page parts not kept");
        }
    }
    Ok(parts)
}

/// Computes and keeps the page parts of every published story that has
/// none (after an upgrade, or a bulk load), with two connections, in the
/// background at start-up; pages compute missing parts themselves
/// meanwhile. Returns how many stories' parts were kept.
pub async fn keep_missing_parts(pool: &sqlx::PgPool, key: &[u8]) -> sqlx::Result<usize> {
    // From the index of published stories and the kept rows' keys alone:
    // the stories' own rows hold their bodies and are large (at 1,000,000
    // stories, 5 s of reading per start against 1 s for the indexes).
    let missing: Vec<ArticleId> = sqlx::query_scalar(
        "select a.id from articles a
         where a.status = 'published'
           and not exists (select 1 from article_page_parts p where p.article_id = a.id)
         order by a.id",
    )
    .fetch_all(pool)
    .await?;
    if missing.is_empty() {
        return Ok(0);
    }
    let kept = futures_util::future::try_join_all(
        missing
            .chunks(missing.len().div_ceil(2))
            .map(|ids| keep_parts_of(pool, key, ids)),
    )
    .await?;
    Ok(kept.into_iter().sum())
}

async fn keep_parts_of(pool: &sqlx::PgPool, key: &[u8], ids: &[ArticleId]) -> sqlx::Result<usize> {
    let mut conn = pool.acquire().await?;
    let mut kept = 0;
    for ids in ids.chunks(500) {
        // Still published now, by the number the page is read by.
        let numbers: Vec<i64> = sqlx::query_scalar(
            "select number from articles where id = any($1) and status = 'published' order by id",
        )
        .bind(ids)
        .fetch_all(&mut *conn)
        .await?;
        for number in numbers {
            if let Some(page) = article_page(&mut conn, number).await? {
                parts_and_body(&mut conn, &page.article, None, page.read_at, key).await?;
                kept += 1;
            }
        }
    }
    Ok(kept)
}

/// Keeps `parts`, computed for `id` from what the database held at
/// `computed_at`, unless newer ones were kept meanwhile; `worded` says that
/// 相关阅读 took the newest stories sharing the title's words.
async fn keep_parts(
    conn: &mut PgConnection,
    id: ArticleId,
    parts: &PageParts,
    worded: bool,
    seal: Option<[u8; 32]>,
    computed_at: DateTime<Utc>,
) -> sqlx::Result<()> {
    let credit_ids: Vec<Uuid> = parts.credits.iter().map(|credit| credit.0).collect();
    let credit_roles: Vec<&str> = parts.credits.iter().map(|credit| &*credit.1).collect();
    let credit_names: Vec<&str> = parts.credits.iter().map(|credit| &*credit.2).collect();
    let related: Vec<i64> = parts.related.iter().map(|link| link.number).collect();
    let related_titles: Vec<&str> = parts.related.iter().map(|link| &*link.title).collect();
    let related_dates: Vec<DateTime<Utc>> =
        parts.related.iter().map(|link| link.published_at).collect();
    let links: Vec<i64> = [&parts.earlier, &parts.later]
        .into_iter()
        .flatten()
        .map(|link| link.number)
        .chain(related.iter().copied())
        .collect();
    sqlx::query(
        "insert into article_page_parts (article_id, credit_ids, credit_roles, credit_names,
             tags, earlier, earlier_title, later, later_title, related, related_titles,
             related_dates, links, body_seal, computed_at, follows_words)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
         on conflict (article_id) do update
             set credit_ids = excluded.credit_ids, credit_roles = excluded.credit_roles,
                 credit_names = excluded.credit_names, tags = excluded.tags,
                 earlier = excluded.earlier, earlier_title = excluded.earlier_title,
                 later = excluded.later, later_title = excluded.later_title,
                 related = excluded.related, related_titles = excluded.related_titles,
                 related_dates = excluded.related_dates,
                 links = excluded.links, body_seal = excluded.body_seal,
                 computed_at = excluded.computed_at, follows_words = excluded.follows_words
             where article_page_parts.computed_at < excluded.computed_at",
    )
    .bind(id)
    .bind(credit_ids)
    .bind(credit_roles)
    .bind(credit_names)
    .bind(&parts.tags)
    .bind(parts.earlier.as_ref().map(|link| link.number))
    .bind(parts.earlier.as_ref().map(|link| &*link.title))
    .bind(parts.later.as_ref().map(|link| link.number))
    .bind(parts.later.as_ref().map(|link| &*link.title))
    .bind(related)
    .bind(related_titles)
    .bind(related_dates)
    .bind(links)
    .bind(seal.as_ref().map(|seal| &seal[..]))
    .bind(computed_at)
    .bind(worded)
    .execute(conn)
    .await
    .map(drop)
}
