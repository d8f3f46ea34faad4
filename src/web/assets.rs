//! Static files (CSS, scripts, icons) embedded in the binary and served under
//! `/static/{version}/…`, where the version is a digest of all of them, so a
//! page always names the exact files it was built with and browsers may keep
//! them for a year.

use std::sync::LazyLock;

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE, ETAG};
use actix_web::{HttpResponse, web};
use rust_embed::RustEmbed;
use sha2::{Digest, Sha256};

use crate::error::AppError;

#[derive(RustEmbed)]
#[folder = "static/"]
struct StaticFiles;

/// The digest of every embedded file: it changes whenever any file changes.
pub static VERSION: LazyLock<String> = LazyLock::new(|| {
    let mut names: Vec<_> = StaticFiles::iter().collect();
    names.sort();
    let mut digest = Sha256::new();
    for name in names {
        if let Some(file) = StaticFiles::get(&name) {
            digest.update(name.as_bytes());
            digest.update(file.metadata.sha256_hash());
        }
    }
    hex::encode(&digest.finalize()[..6])
});

/// The public URL of a static file, e.g. `asset_url("css/site.css")`.
pub fn asset_url(path: &str) -> String {
    format!("/static/{}/{}", *VERSION, path)
}

/// Serves one static file. A request naming another version (a page rendered
/// by an older or newer node behind the same balancer) still gets the file,
/// but is not cached for long.
pub async fn serve(path: web::Path<(String, String)>) -> Result<HttpResponse, AppError> {
    let (version, name) = path.into_inner();
    if name.split('/').any(|part| part == ".." || part.is_empty()) {
        return Err(AppError::NotFound);
    }
    let file = StaticFiles::get(&name).ok_or(AppError::NotFound)?;
    let mime = mime_guess::from_path(&name).first_or_octet_stream();
    let content_type = if mime.type_() == mime_guess::mime::TEXT || mime.subtype() == "javascript" {
        format!("{}; charset=utf-8", mime.essence_str())
    } else {
        mime.essence_str().to_owned()
    };
    let cache = if version == *VERSION {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=60"
    };
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, content_type))
        .insert_header((CACHE_CONTROL, cache))
        .insert_header((
            ETAG,
            format!("\"{}\"", hex::encode(&file.metadata.sha256_hash()[..8])),
        ))
        .body(file.data.into_owned()))
}

/// The site icon, at the address browsers ask for by themselves.
pub async fn favicon() -> Result<HttpResponse, AppError> {
    let file = StaticFiles::get("favicon.svg").ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "image/svg+xml"))
        .insert_header((CACHE_CONTROL, "public, max-age=86400"))
        .body(file.data.into_owned()))
}
