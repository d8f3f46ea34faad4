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

/// Writes every embedded file to `root/static/{version}/…`, so that a reverse
/// proxy in front of several nodes can serve them from the shared data folder
/// (deploy/nginx.conf). Files of older versions stay, for pages that older
/// nodes rendered during a rolling upgrade. Each version's folder is written
/// beside it and renamed into place, so a proxy never sees half of one.
pub fn write_to(root: &std::path::Path) -> std::io::Result<std::path::PathBuf> {
    let folder = root.join("static");
    let target = folder.join(&*VERSION);
    if target.is_dir() {
        return Ok(target);
    }
    let partial = folder.join(format!(".{}-{}", *VERSION, std::process::id()));
    for name in StaticFiles::iter() {
        let file = StaticFiles::get(&name).ok_or(std::io::ErrorKind::NotFound)?;
        let path = partial.join(name.as_ref());
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, &file.data)?;
    }
    match std::fs::rename(&partial, &target) {
        Ok(()) => Ok(target),
        // Another node on the same folder wrote the same version first.
        Err(_) if target.is_dir() => {
            std::fs::remove_dir_all(&partial)?;
            Ok(target)
        }
        Err(error) => Err(error),
    }
}

/// The site icon, at the address browsers ask for by themselves.
pub async fn favicon() -> Result<HttpResponse, AppError> {
    let file = StaticFiles::get("favicon.svg").ok_or(AppError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "image/svg+xml"))
        .insert_header((CACHE_CONTROL, "public, max-age=86400"))
        .body(file.data.into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_is_written_under_its_version_and_a_second_node_keeps_it() {
        let root = tempfile::tempdir().unwrap();
        let written = write_to(root.path()).unwrap();
        assert_eq!(written, root.path().join("static").join(&*VERSION));
        let css = std::fs::read(written.join("css/site.css")).unwrap();
        assert_eq!(css, StaticFiles::get("css/site.css").unwrap().data.as_ref());
        let count = StaticFiles::iter().count();
        let on_disk = walk(&written);
        assert_eq!(on_disk, count, "every embedded file, nothing else");

        // A second node on the same folder, and one that finds a folder
        // left half-written by a node killed while writing.
        std::fs::create_dir_all(root.path().join("static/.stale-1/css")).unwrap();
        assert_eq!(write_to(root.path()).unwrap(), written);
        assert_eq!(walk(&written), count);
    }

    fn walk(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| {
                let path = entry.unwrap().path();
                if path.is_dir() { walk(&path) } else { 1 }
            })
            .sum()
    }
}
