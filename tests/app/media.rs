//! Photo uploads: sniffing, limits, bombs, metadata, serving.

use std::io::Cursor;

use reqwest::multipart::{Form, Part};

use crate::helpers::{TestApp, spawn_app, texts};

pub fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
    let image = image::DynamicImage::new_rgb8(width, height);
    let mut jpeg = Cursor::new(Vec::new());
    image.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
    let jpeg = jpeg.into_inner();
    // An APP1 EXIF segment (little-endian TIFF, empty IFD) with location text.
    let mut exif = b"Exif\0\0II*\0\x08\0\0\0\0\0\0\0\0\0".to_vec();
    exif.extend_from_slice(b"GPSLatitude 37.50N GPSLongitude 122.05E");
    let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
    out.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&exif);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// CRC-32 as PNG chunks use it, to forge a consistent header.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

pub async fn upload(app: &TestApp, name: &str, bytes: Vec<u8>) -> reqwest::Response {
    let form = Form::new()
        .part("file", Part::bytes(bytes).file_name(name.to_string()))
        .text("caption", "变电站巡检现场");
    upload_form(app, form).await
}

async fn media_count(app: &TestApp) -> i64 {
    sqlx::query_scalar("select count(*) from media")
        .fetch_one(&app.pool)
        .await
        .unwrap()
}

fn stored_files(app: &TestApp) -> usize {
    std::fs::read_dir(app.data_dir.path().join("media")).map_or(0, |dir| dir.count())
}

#[tokio::test]
async fn a_photo_is_stored_with_its_sizes_and_without_its_location() {
    let app = spawn_app().await;
    app.login_as("writer", "correspondent").await;
    let original = jpeg_with_gps(1800, 900);
    assert!(original.windows(4).any(|w| w == b"Exif"));
    let response = upload(&app, "巡检.jpg", original).await;
    assert_eq!(response.status().as_u16(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let file = &body["files"][0];
    assert_eq!(
        (file["width"].as_i64(), file["height"].as_i64()),
        (Some(1800), Some(900))
    );
    assert_eq!(file["caption"], "变电站巡检现场");

    let href = file["href"].as_str().unwrap();
    let served = app.get(href).await;
    assert_eq!(served.headers()["content-type"], "image/jpeg");
    assert_eq!(
        served.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let bytes = served.bytes().await.unwrap();
    assert!(!bytes.windows(4).any(|w| w == b"Exif"), "metadata stripped");
    assert!(!bytes.windows(3).any(|w| w == b"GPS"), "location stripped");

    let display = image::load_from_memory(
        &app.get(file["url"].as_str().unwrap())
            .await
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(display.width(), 1200);
    let thumb = image::load_from_memory(
        &app.get(file["thumb"].as_str().unwrap())
            .await
            .bytes()
            .await
            .unwrap(),
    )
    .unwrap();
    assert_eq!(thumb.width(), 320);
}

#[tokio::test]
async fn a_renamed_non_image_an_oversized_file_and_a_bomb_are_refused() {
    let app = spawn_app().await;
    app.login_as("writer", "correspondent").await;

    let response = upload(&app, "photo.jpg", b"%PDF-1.7 this is a document".to_vec()).await;
    assert_eq!(response.status().as_u16(), 422);
    let error: serde_json::Value = response.json().await.unwrap();
    assert!(
        error["error"]
            .as_str()
            .unwrap()
            .contains("不是支持的图片格式"),
        "{error}"
    );

    sqlx::query("update settings set value = '1' where key = 'upload_max_mb'")
        .execute(&app.pool)
        .await
        .unwrap();
    let mut big = jpeg_with_gps(10, 10);
    big.resize(1_500_000, 0);
    let response = upload(&app, "big.jpg", big).await;
    assert_eq!(response.status().as_u16(), 422);
    let error: serde_json::Value = response.json().await.unwrap();
    assert_eq!(error["error"], "图片“big.jpg”超过 1 MB 的上限。");

    // A PNG that claims 20000×20000 pixels in a few bytes.
    let mut bomb = Cursor::new(Vec::new());
    image::DynamicImage::new_rgb8(1, 1)
        .write_to(&mut bomb, image::ImageFormat::Png)
        .unwrap();
    let mut bomb = bomb.into_inner();
    bomb[16..20].copy_from_slice(&20_000u32.to_be_bytes());
    bomb[20..24].copy_from_slice(&20_000u32.to_be_bytes());
    let crc = crc32(&bomb[12..29]);
    bomb[29..33].copy_from_slice(&crc.to_be_bytes());
    let response = upload(&app, "bomb.png", bomb).await;
    assert_eq!(response.status().as_u16(), 422);
    let error: serde_json::Value = response.json().await.unwrap();
    assert!(
        error["error"].as_str().unwrap().contains("像素过大"),
        "{error}"
    );

    assert_eq!(media_count(&app).await, 0, "nothing stored");
    assert_eq!(stored_files(&app), 0);
}

#[tokio::test]
async fn media_urls_cannot_leave_the_media_folder() {
    let app = spawn_app().await;
    std::fs::write(app.data_dir.path().join("secret_key"), "top secret").unwrap();
    for path in [
        "/media/..%2Fsecret_key",
        "/media/%2e%2e%2fsecret_key",
        "/media/secret_key",
        "/media/00000000-0000-0000-0000-000000000000.exe",
        "/media/00000000-0000-0000-0000-000000000000.jpg",
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status().as_u16(), 404, "{path}");
        assert!(!response.text().await.unwrap().contains("top secret"));
    }
}

#[tokio::test]
async fn the_library_takes_several_files_without_scripts_and_finds_them_again() {
    let app = spawn_app().await;
    app.login_as("writer", "correspondent").await;
    let token = app.csrf().await;
    let form = Form::new()
        .part(
            "file",
            Part::bytes(jpeg_with_gps(400, 300)).file_name("一.jpg"),
        )
        .part(
            "file",
            Part::bytes(jpeg_with_gps(300, 400)).file_name("二.jpg"),
        )
        .text("caption", "迎峰度冬保供电");
    let response = app
        .client
        .post(app.url(&format!("/admin/media?csrf_token={token}")))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    assert_eq!(media_count(&app).await, 2);

    let (_, library) = app.page("/admin/media?q=保供电").await;
    assert_eq!(texts(&library, ".media-item").len(), 2);
    let (_, none) = app.page("/admin/media?q=台风").await;
    assert_eq!(texts(&none, ".media-item").len(), 0);
    let (_, mine) = app.page("/admin/media?uploader=writer").await;
    assert_eq!(texts(&mine, ".media-item").len(), 2);

    let refused = app
        .client
        .post(app.url("/admin/media"))
        .multipart(Form::new().part(
            "file",
            Part::bytes(jpeg_with_gps(10, 10)).file_name("x.jpg"),
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status().as_u16(), 403, "no CSRF token, no upload");
    assert_eq!(media_count(&app).await, 2);
}

async fn upload_form(app: &TestApp, form: Form) -> reqwest::Response {
    let token = app.csrf().await;
    app.client
        .post(app.url("/admin/media"))
        .header("x-csrf-token", token)
        .header("accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap()
}

async fn refusal(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap();
    (
        status,
        body["error"].as_str().unwrap_or_default().to_string(),
    )
}

#[tokio::test]
async fn uploads_are_capped_per_request_and_per_hour_and_text_fields_are_checked() {
    let app = spawn_app().await;
    app.login_as("sheying", "correspondent").await;

    // Seven files of 9.9 MB each: every one fits, together they do not.
    let mut form = Form::new();
    for n in 0..7 {
        form = form.part(
            "file",
            Part::bytes(vec![0u8; 9_900_000]).file_name(format!("{n}.jpg")),
        );
    }
    let (status, message) = refusal(upload_form(&app, form).await).await;
    assert_eq!(status, 422);
    assert!(message.contains("合计不能超过 64 MB"), "{message}");

    // A NUL in the caption is refused, not stored.
    let form = Form::new()
        .part(
            "file",
            Part::bytes(jpeg_with_gps(40, 30)).file_name("a.jpg"),
        )
        .text("caption", "巡检\0现场");
    let (status, message) = refusal(upload_form(&app, form).await).await;
    assert_eq!(status, 422);
    assert!(message.contains("不允许的字符"), "{message}");
    assert_eq!(media_count(&app).await, 0);

    // An account that stored its hour's worth must wait.
    sqlx::query(
        "insert into media (uploaded_by, unit_id, mime, original_ext, derived_ext, width, height, bytes, created_at)
         select id, unit_id, 'image/jpeg', 'jpg', 'jpg', 10, 10, 1073741824, now() - interval '10 minutes'
         from users where username = 'sheying'",
    )
    .execute(&app.pool)
    .await
    .unwrap();
    let (status, message) = refusal(upload(&app, "b.jpg", jpeg_with_gps(40, 30)).await).await;
    assert_eq!(status, 422);
    assert!(message.contains("一小时内"), "{message}");
    // Another account is not held back by it.
    let other = app.other_client();
    other.login_as("sheying2", "correspondent").await;
    assert_eq!(
        upload(&other, "c.jpg", jpeg_with_gps(40, 30))
            .await
            .status(),
        200
    );
}

#[tokio::test]
async fn a_full_disk_refuses_the_upload_and_keeps_no_half_file() {
    let app = spawn_app().await;
    app.login_as("cipan", "correspondent").await;
    let media = app.data_dir.path().join("media");
    std::fs::create_dir_all(&media).unwrap();
    // A 64 KiB file system for the media folder (the tests run as root).
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&media)
        .status()
        .unwrap();
    assert!(mounted.success(), "mount a small tmpfs (needs root)");
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(media.clone());
    // Noise does not compress: the original alone is larger than the disk.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let noisy = image::RgbImage::from_fn(400, 300, |_, _| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let [r, g, b, ..] = state.to_le_bytes();
        image::Rgb([r, g, b])
    });
    let mut png = Cursor::new(Vec::new());
    image::DynamicImage::ImageRgb8(noisy)
        .write_to(&mut png, image::ImageFormat::Png)
        .unwrap();
    let png = png.into_inner();
    assert!(png.len() > 100_000, "{} bytes", png.len());
    let (status, message) = refusal(upload(&app, "full.png", png).await).await;
    let listing = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("ls -la {0}; df {0}", media.display()))
        .output()
        .unwrap();
    assert_eq!(status, 507, "{}", String::from_utf8_lossy(&listing.stdout));
    assert!(message.contains("存储空间不足"), "{message}");
    let left: Vec<String> = std::fs::read_dir(&media)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "nothing half-written: {left:?}");
    assert_eq!(media_count(&app).await, 0);
    // With room again, the same upload works.
    drop(_unmount);
    assert_eq!(
        upload(&app, "ok.jpg", jpeg_with_gps(40, 30)).await.status(),
        200
    );
}
