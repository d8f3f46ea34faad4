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
    let token = app.csrf().await;
    let form = Form::new()
        .part("file", Part::bytes(bytes).file_name(name.to_string()))
        .text("caption", "变电站巡检现场");
    app.client
        .post(app.url("/admin/media"))
        .header("x-csrf-token", token)
        .header("accept", "application/json")
        .multipart(form)
        .send()
        .await
        .unwrap()
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
