//! The media folder: photos are stored under names made from their id, so a
//! URL can never name a file outside the folder.

use std::path::{Path, PathBuf};

use uuid::Uuid;

use super::{Processed, Size};

/// Writes the three files of a photo; each is written to a temporary name
/// and renamed, so a reader never sees half a file. On failure (a full
/// disk, say) nothing of the photo is left behind.
pub async fn save(dir: &Path, id: Uuid, processed: &Processed) -> std::io::Result<()> {
    let written = write_all(dir, id, processed).await;
    if written.is_err() {
        remove(dir, id, processed).await;
    }
    written
}

/// Whether a write failed for want of space (a full disk or quota).
pub fn is_out_of_space(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::StorageFull
        || matches!(
            error.raw_os_error(),
            Some(libc::ENOSPC) | Some(libc::EDQUOT)
        )
}

async fn write_all(dir: &Path, id: Uuid, processed: &Processed) -> std::io::Result<()> {
    tokio::fs::create_dir_all(dir).await?;
    let files = [
        (
            file_name(id, Size::Original, processed.original_ext),
            &processed.original,
        ),
        (
            file_name(id, Size::Display, processed.derived_ext),
            &processed.display,
        ),
        (
            file_name(id, Size::Thumb, processed.derived_ext),
            &processed.thumb,
        ),
    ];
    for (name, bytes) in files {
        let temporary = dir.join(format!(".{name}.part"));
        let (path, bytes) = (temporary.clone(), bytes.clone());
        // On the disk before the name says it is there. (tokio's File
        // writes in the background and lost the error of a full disk.)
        let written = tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut file = std::fs::File::create(&path)?;
            file.write_all(&bytes)?;
            file.sync_all()
        })
        .await
        .unwrap_or_else(|error| Err(std::io::Error::other(error)));
        if let Err(error) = written {
            let _ = tokio::fs::remove_file(&temporary).await;
            return Err(error);
        }
        tokio::fs::rename(&temporary, dir.join(name)).await?;
    }
    Ok(())
}

/// Removes the files of a photo whose database row was not written.
pub async fn remove(dir: &Path, id: Uuid, processed: &Processed) {
    for (size, ext) in [
        (Size::Original, processed.original_ext),
        (Size::Display, processed.derived_ext),
        (Size::Thumb, processed.derived_ext),
    ] {
        let _ = tokio::fs::remove_file(dir.join(file_name(id, size, ext))).await;
    }
}

pub fn file_name(id: Uuid, size: Size, ext: &str) -> String {
    match size {
        Size::Original => format!("{id}.{ext}"),
        Size::Display => format!("{id}-display.{ext}"),
        Size::Thumb => format!("{id}-thumb.{ext}"),
    }
}

/// Reads a requested name (`{uuid}[-display|-thumb].{jpg|png|gif}`) back into
/// its parts; anything else names no file. The path is rebuilt from the
/// parsed parts, never from the request.
pub fn resolve(dir: &Path, requested: &str) -> Option<(PathBuf, &'static str)> {
    let (stem, ext) = requested.rsplit_once('.')?;
    let (ext, mime) = match ext {
        "jpg" => ("jpg", "image/jpeg"),
        "png" => ("png", "image/png"),
        "gif" => ("gif", "image/gif"),
        _ => return None,
    };
    let (id, size) = match stem.strip_suffix("-display") {
        Some(id) => (id, Size::Display),
        None => match stem.strip_suffix("-thumb") {
            Some(id) => (id, Size::Thumb),
            None => (stem, Size::Original),
        },
    };
    let id: Uuid = id.parse().ok()?;
    Some((dir.join(file_name(id, size, ext)), mime))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_names_made_from_an_id_resolve() {
        let dir = Path::new("/srv/media");
        let id = Uuid::new_v4();
        let (path, mime) = resolve(dir, &format!("{id}-thumb.jpg")).unwrap();
        assert_eq!(path, dir.join(format!("{id}-thumb.jpg")));
        assert_eq!(mime, "image/jpeg");
        for bad in [
            "../etc/passwd",
            "..%2F..%2Fsecret_key",
            "x.jpg",
            &format!("{id}.exe"),
            &format!("../{id}.jpg"),
        ] {
            assert!(resolve(dir, bad).is_none(), "{bad}");
        }
    }
}
