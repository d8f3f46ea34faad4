//! Uploading photos (from the article editor or the media library), the
//! library itself with its search, editing captions, and serving the files.

use actix_multipart::Multipart;
use actix_web::http::StatusCode;
use actix_web::http::header::{ACCEPT, CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use super::{FIELD, Processed, Size, files, process, url};
use crate::auth::{Permission, Staff};
use crate::backend::Backend;
use crate::error::{AppError, FormError, Refused};
use crate::layout::AdminLayout;
use crate::settings;
use crate::state::AppState;
use crate::web::csrf::CsrfToken;
use crate::web::redirect::see_other;
use crate::web::render;

/// Most files in one upload.
const MAX_FILES: usize = 20;
/// Most bytes in one upload, all files together (but always one file of
/// the largest size allowed), so that an upload's memory stays bounded.
const MAX_REQUEST_BYTES: usize = 64 * 1024 * 1024;
/// Most bytes one account may store in an hour.
pub const MAX_HOURLY_BYTES: i64 = 1024 * 1024 * 1024;
const PAGE_SIZE: i64 = 48;

/// A stored photo as the library and the editor see it.
#[derive(Debug, Serialize)]
pub struct MediaItem {
    pub id: Uuid,
    /// The display size, for article bodies.
    pub url: String,
    pub href: String,
    pub thumb: String,
    pub width: i32,
    pub height: i32,
    pub caption: String,
    pub alt: String,
}

/// A stored photo with who uploaded it, from where and when.
#[derive(sqlx::FromRow)]
pub struct MediaRow {
    pub id: Uuid,
    pub caption: String,
    pub alt: String,
    pub original_ext: String,
    pub derived_ext: String,
    pub width: i32,
    pub height: i32,
    pub uploader: String,
    pub unit_name: String,
    pub created_at: DateTime<Utc>,
}

impl MediaRow {
    pub fn item(&self) -> MediaItem {
        MediaItem {
            id: self.id,
            url: url(
                self.id,
                Size::Display,
                &self.derived_ext,
                &self.original_ext,
            ),
            href: url(
                self.id,
                Size::Original,
                &self.derived_ext,
                &self.original_ext,
            ),
            thumb: url(self.id, Size::Thumb, &self.derived_ext, &self.original_ext),
            width: self.width,
            height: self.height,
            caption: self.caption.clone(),
            alt: self.alt.clone(),
        }
    }
}

struct Upload {
    name: String,
    bytes: Vec<u8>,
}

/// Reads the multipart body: files (each at most `max_bytes`), caption, alt.
async fn read_upload(
    payload: &mut Multipart,
    max_bytes: usize,
) -> Result<(Vec<Upload>, String, String), FormError> {
    let (mut uploads, mut caption, mut alt) = (Vec::new(), String::new(), String::new());
    let request_limit = MAX_REQUEST_BYTES.max(max_bytes);
    let mut total = 0usize;
    while let Some(field) = payload.next().await {
        let mut field = field.map_err(|_| FormError::field(FIELD, "上传中断，请重试。"))?;
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field
            .content_disposition()
            .and_then(|cd| cd.get_filename())
            .unwrap_or_default()
            .chars()
            .take(200)
            .collect::<String>();
        let limit = if name == "file" { max_bytes } else { 1000 };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| FormError::field(FIELD, "上传中断，请重试。"))?;
            total += chunk.len();
            if total > request_limit {
                return Err(FormError::field(
                    FIELD,
                    format!(
                        "一次上传的图片合计不能超过 {} MB，请分批上传。",
                        request_limit / (1024 * 1024)
                    ),
                ));
            }
            if bytes.len() + chunk.len() > limit {
                return Err(if name == "file" {
                    FormError::field(
                        FIELD,
                        format!(
                            "图片“{file_name}”超过 {} MB 的上限。",
                            max_bytes / (1024 * 1024)
                        ),
                    )
                } else {
                    FormError::field("caption", "图片说明过长。")
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = |bytes: &[u8]| -> Result<String, FormError> {
            let text = String::from_utf8_lossy(bytes);
            if crate::web::edge::has_forbidden_characters(&text) {
                return Err(FormError::field(
                    "caption",
                    "图片说明含有不允许的字符，请删除后重试。",
                ));
            }
            Ok(text.trim().chars().take(200).collect())
        };
        match name.as_str() {
            "file" if !bytes.is_empty() => {
                if uploads.len() == MAX_FILES {
                    return Err(FormError::field(
                        FIELD,
                        format!("一次最多上传 {MAX_FILES} 张图片。"),
                    ));
                }
                uploads.push(Upload {
                    // A file name is the browser's word: controls dropped.
                    name: file_name.chars().filter(|c| !c.is_control()).collect(),
                    bytes,
                });
            }
            "caption" => caption = text(&bytes)?,
            "alt" => alt = text(&bytes)?,
            _ => {}
        }
    }
    if uploads.is_empty() {
        return Err(FormError::field(FIELD, "请选择要上传的图片。"));
    }
    Ok((uploads, caption, alt))
}

/// Checks every file first, then stores them all or none.
async fn store_uploads(
    pool: &PgPool,
    state: &AppState,
    staff: &Staff,
    uploads: Vec<Upload>,
    caption: &str,
    alt: &str,
) -> Result<Vec<MediaItem>, AppError> {
    let incoming: i64 = uploads.iter().map(|upload| upload.bytes.len() as i64).sum();
    let stored_this_hour: i64 = sqlx::query_scalar(
        "select coalesce(sum(bytes), 0)::bigint from media
         where uploaded_by = $1 and created_at > now() - interval '1 hour'",
    )
    .bind(staff.id)
    .fetch_one(pool)
    .await?;
    if stored_this_hour + incoming > MAX_HOURLY_BYTES {
        return Err(FormError::field(
            FIELD,
            format!(
                "您一小时内上传的图片已接近 {} MB 的上限，请稍后再传。",
                MAX_HOURLY_BYTES / (1024 * 1024)
            ),
        )
        .into());
    }
    let mut processed: Vec<(Upload, Processed)> = Vec::new();
    for upload in uploads {
        let bytes = upload.bytes.clone();
        match web::block(move || process(&bytes)).await? {
            Ok(done) => processed.push((upload, done)),
            Err(refusal) => {
                let named = if upload.name.is_empty() {
                    refusal.summary()
                } else {
                    format!("“{}”：{}", upload.name, refusal.summary())
                };
                return Err(FormError::field(FIELD, named).into());
            }
        }
    }
    let mut saved: Vec<(Uuid, &Processed)> = Vec::new();
    let outcome: Result<Vec<MediaItem>, AppError> = async {
        let mut tx = pool.begin().await?;
        let mut items = Vec::new();
        for (upload, done) in &processed {
            let id = Uuid::new_v4();
            if let Err(error) = files::save(&state.media_dir, id, done).await {
                if files::is_out_of_space(&error) {
                    tracing::error!(%error, "the media folder is full");
                    // A full disk is the server's trouble, not the uploader's.
                    return Err(FormError::field(FIELD, OUT_OF_SPACE)
                        .with_status(StatusCode::INSUFFICIENT_STORAGE)
                        .into());
                }
                return Err(AppError::Internal(error.into()));
            }
            saved.push((id, done));
            sqlx::query(
                "insert into media (id, uploaded_by, unit_id, caption, alt, mime, original_ext, derived_ext,
                                    original_name, width, height, bytes)
                 values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
            )
            .bind(id)
            .bind(staff.id)
            .bind(staff.unit_id)
            .bind(caption)
            .bind(alt)
            .bind(done.mime)
            .bind(done.original_ext)
            .bind(done.derived_ext)
            .bind(&upload.name)
            .bind(done.width as i32)
            .bind(done.height as i32)
            .bind(done.original.len() as i32)
            .execute(&mut *tx)
            .await?;
            items.push(MediaItem {
                id,
                url: url(id, Size::Display, done.derived_ext, done.original_ext),
                href: url(id, Size::Original, done.derived_ext, done.original_ext),
                thumb: url(id, Size::Thumb, done.derived_ext, done.original_ext),
                width: done.width as i32,
                height: done.height as i32,
                caption: caption.to_owned(),
                alt: alt.to_owned(),
            });
        }
        tx.commit().await?;
        Ok(items)
    }
    .await;
    if outcome.is_err() {
        for (id, done) in saved {
            files::remove(&state.media_dir, id, done).await;
        }
    }
    outcome
}

/// What an uploader reads when the server's disk is full.
const OUT_OF_SPACE: &str = "服务器存储空间不足，图片未能保存，请联系管理员后再试。";

/// POST /admin/media: from the editor (JSON answer) or the library form.
pub async fn upload(
    req: HttpRequest,
    pool: web::Data<PgPool>,
    state: web::Data<AppState>,
    staff: Staff,
    csrf: CsrfToken,
    mut payload: Multipart,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::WriteArticles)?;
    let wants_json = req
        .headers()
        .get(ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.contains("application/json"));
    let max_bytes = {
        let mut conn = pool.acquire().await?;
        settings::db::load(&mut conn).await?.upload_max_mb as usize * 1024 * 1024
    };
    let stored = match read_upload(&mut payload, max_bytes).await {
        Ok((uploads, caption, alt)) => {
            store_uploads(&pool, &state, &staff, uploads, &caption, &alt)
                .await
                .refused()?
        }
        Err(refusal) => Err(refusal),
    };
    match (stored, wants_json) {
        (Ok(items), true) => Ok(HttpResponse::Ok().json(serde_json::json!({ "files": items }))),
        (Ok(_), false) => Ok(see_other("/admin/media?done=uploaded")),
        (Err(refusal), true) => Ok(HttpResponse::build(refusal.status)
            .json(serde_json::json!({ "error": refusal.summary() }))),
        (Err(refusal), false) => {
            let status = refusal.status;
            let mut conn = pool.acquire().await?;
            library_page(
                &mut conn,
                &staff,
                &csrf,
                LibraryQuery::default(),
                status,
                Some(refusal),
            )
            .await
        }
    }
}

#[derive(Deserialize, Default)]
pub struct LibraryQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    uploader: String,
    #[serde(default)]
    unit: String,
    #[serde(default)]
    from: String,
    #[serde(default)]
    to: String,
    done: Option<String>,
}

pub struct LibraryEntry {
    pub item: MediaItem,
    pub uploader: String,
    pub unit_name: String,
    pub uploaded: String,
}

#[derive(Template)]
#[template(path = "admin/media/library.html")]
struct LibraryPage {
    layout: AdminLayout,
    query: LibraryQuery,
    entries: Vec<LibraryEntry>,
    units: Vec<crate::units::UnitNode>,
    max_mb: i64,
    error: Option<FormError>,
    notice: Option<String>,
}

/// Recent photos matching the filters, newest first.
pub async fn search(
    conn: &mut PgConnection,
    query: &LibraryQuery,
    tz: chrono_tz::Tz,
    limit: i64,
) -> sqlx::Result<Vec<MediaRow>> {
    let day = |value: &str, next: bool| {
        NaiveDate::parse_from_str(value.trim(), "%Y-%m-%d")
            .ok()
            .and_then(|d| {
                let d = if next { d.succ_opt()? } else { d };
                tz.from_local_datetime(&d.and_hms_opt(0, 0, 0)?)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
            })
    };
    let text = |value: &str| (!value.trim().is_empty()).then(|| value.trim().to_owned());
    sqlx::query_as(
        "select m.id, m.caption, m.alt, m.original_ext, m.derived_ext, m.width, m.height,
                u.display_name as uploader, n.name as unit_name, m.created_at
         from media m join users u on u.id = m.uploaded_by join units n on n.id = m.unit_id
         where ($1::text is null or m.caption ilike '%' || $1 || '%' or m.original_name ilike '%' || $1 || '%')
           and ($2::text is null or u.display_name ilike '%' || $2 || '%' or u.username ilike '%' || $2 || '%')
           and ($3::uuid is null or m.unit_id = $3)
           and ($4::timestamptz is null or m.created_at >= $4)
           and ($5::timestamptz is null or m.created_at < $5)
         order by m.created_at desc, m.id desc limit $6",
    )
    .bind(text(&query.q))
    .bind(text(&query.uploader))
    .bind(query.unit.parse::<Uuid>().ok())
    .bind(day(&query.from, false))
    .bind(day(&query.to, true))
    .bind(limit)
    .fetch_all(conn)
    .await
}

async fn library_page(
    conn: &mut PgConnection,
    staff: &Staff,
    csrf: &CsrfToken,
    query: LibraryQuery,
    status: StatusCode,
    error: Option<FormError>,
) -> Result<HttpResponse, AppError> {
    let layout = AdminLayout::load(conn, staff, csrf, "图片库", "/admin/media").await?;
    let rows = search(conn, &query, layout.settings.time_zone, PAGE_SIZE).await?;
    let entries = rows
        .into_iter()
        .map(|row| LibraryEntry {
            item: row.item(),
            uploaded: layout.settings.format_date(row.created_at),
            uploader: row.uploader,
            unit_name: row.unit_name,
        })
        .collect();
    let notice = match query.done.as_deref() {
        Some("uploaded") => Some("图片已上传。".to_string()),
        Some("saved") => Some("图片说明已保存。".to_string()),
        _ => None,
    };
    let page = LibraryPage {
        max_mb: layout.settings.upload_max_mb,
        units: crate::units::db::tree(conn, false).await?,
        layout,
        query,
        entries,
        error,
        notice,
    };
    render(status, &page)
}

pub async fn library(
    Backend {
        staff,
        csrf,
        mut conn,
    }: Backend,
    query: web::Query<LibraryQuery>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::WriteArticles)?;
    library_page(
        &mut conn,
        &staff,
        &csrf,
        query.into_inner(),
        StatusCode::OK,
        None,
    )
    .await
}

#[derive(Deserialize)]
pub struct CaptionForm {
    #[serde(default)]
    caption: String,
    #[serde(default)]
    alt: String,
}

/// Edits a photo's caption and alt text: its uploader, or a reviewer whose
/// units include the photo's (chief editors and admins: any photo).
pub async fn update(
    pool: web::Data<PgPool>,
    staff: Staff,
    id: web::Path<Uuid>,
    form: web::Form<CaptionForm>,
) -> Result<HttpResponse, AppError> {
    staff.require(Permission::WriteArticles)?;
    let caption: String = form.caption.trim().chars().take(200).collect();
    let alt: String = form.alt.trim().chars().take(200).collect();
    let mut conn = pool.acquire().await?;
    let scope = crate::articles::access::scope_units(&mut conn, &staff).await?;
    let updated = sqlx::query(
        "update media set caption = $2, alt = $3
         where id = $1 and (uploaded_by = $4 or ($5 and ($6::uuid[] is null or unit_id = any($6))))",
    )
    .bind(*id)
    .bind(&caption)
    .bind(&alt)
    .bind(staff.id)
    .bind(staff.can(Permission::ReviewArticles))
    .bind(scope)
    .execute(&mut *conn)
    .await?;
    if updated.rows_affected() == 0 {
        return Err(AppError::Forbidden);
    }
    Ok(see_other("/admin/media?done=saved"))
}

/// GET /media/{name}: a stored file, cached for a year (names never change).
pub async fn serve(
    state: web::Data<AppState>,
    name: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let (path, mime) = files::resolve(&state.media_dir, &name).ok_or(AppError::NotFound)?;
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return Err(AppError::NotFound);
        }
        Err(error) => return Err(AppError::Internal(error.into())),
    };
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, mime))
        .insert_header((CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .body(bytes))
}
