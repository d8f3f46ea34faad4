//! Photos: checking what was uploaded (by its bytes, never its name),
//! refusing oversized files and decompression bombs, stripping metadata
//! (EXIF location included) by re-encoding, and making the display size and
//! the thumbnail once, at upload.

pub mod admin;
pub mod files;

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use uuid::Uuid;

use crate::error::FormError;

/// Largest picture accepted, in pixels (a 40-megapixel camera fits).
pub const MAX_PIXELS: u64 = 40_000_000;
/// Widths of the derived sizes.
pub const DISPLAY_WIDTH: u32 = 1200;
pub const THUMB_WIDTH: u32 = 320;

/// The form field photos are uploaded in; a refused photo's message
/// stands beside it.
pub const FIELD: &str = "file";

/// A checked, cleaned photo with its derived sizes, ready to store.
pub struct Processed {
    pub mime: &'static str,
    pub original_ext: &'static str,
    pub original: Vec<u8>,
    pub derived_ext: &'static str,
    pub display: Vec<u8>,
    pub thumb: Vec<u8>,
    pub width: u32,
    pub height: u32,
}

/// The type of the bytes, if it is one we take.
pub fn sniff(bytes: &[u8]) -> Option<(&'static str, ImageFormat)> {
    match infer::get(bytes)?.mime_type() {
        "image/jpeg" => Some(("image/jpeg", ImageFormat::Jpeg)),
        "image/png" => Some(("image/png", ImageFormat::Png)),
        "image/gif" => Some(("image/gif", ImageFormat::Gif)),
        "image/webp" => Some(("image/webp", ImageFormat::WebP)),
        _ => None,
    }
}

fn refuse<T>(message: impl Into<String>) -> Result<T, FormError> {
    Err(FormError::field(FIELD, message))
}

/// Checks and processes an upload. CPU-heavy: run it off the async threads.
pub fn process(bytes: &[u8]) -> Result<Processed, FormError> {
    let Some((mime, format)) = sniff(bytes) else {
        return refuse("文件不是支持的图片格式，请上传 JPEG、PNG、WebP 或 GIF 图片。");
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(20_000);
    limits.max_image_height = Some(20_000);
    limits.max_alloc = Some(512 * 1024 * 1024);
    let reader = || {
        let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
        reader.limits(limits.clone());
        reader
    };
    let (width, height) = match reader().into_dimensions() {
        Ok(dimensions) => dimensions,
        Err(_) => return refuse("图片文件已损坏或尺寸过大，无法读取。"),
    };
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return refuse(format!(
            "图片像素过大（{width}×{height}），最多 4000 万像素。"
        ));
    }
    let mut decoder = match reader().into_decoder() {
        Ok(decoder) => decoder,
        Err(_) => return refuse("图片文件已损坏，无法读取。"),
    };
    let orientation = decoder.orientation().ok();
    let mut image = match DynamicImage::from_decoder(decoder) {
        Ok(image) => image,
        Err(_) => return refuse("图片文件已损坏，无法读取。"),
    };
    if let Some(orientation) = orientation {
        image.apply_orientation(orientation);
    }
    let alpha = image.color().has_alpha();
    let (original_ext, original) = match format {
        // GIFs carry no EXIF; keeping the file keeps any animation.
        ImageFormat::Gif => ("gif", bytes.to_vec()),
        ImageFormat::Jpeg => ("jpg", encode(&image, ImageFormat::Jpeg)?),
        _ => ("png", encode(&image, ImageFormat::Png)?),
    };
    let derived_format = if alpha {
        ImageFormat::Png
    } else {
        ImageFormat::Jpeg
    };
    let display = encode(&shrink(&image, DISPLAY_WIDTH), derived_format)?;
    let thumb = encode(&shrink(&image, THUMB_WIDTH), derived_format)?;
    Ok(Processed {
        mime,
        original_ext,
        original,
        derived_ext: if alpha { "png" } else { "jpg" },
        display,
        thumb,
        width: image.width(),
        height: image.height(),
    })
}

fn shrink(image: &DynamicImage, width: u32) -> DynamicImage {
    if image.width() <= width {
        return image.clone();
    }
    let height =
        (u64::from(image.height()) * u64::from(width) / u64::from(image.width())).max(1) as u32;
    image.resize_exact(width, height, image::imageops::FilterType::Triangle)
}

/// Encodes without metadata: JPEG at quality 88 (from RGB), or PNG.
fn encode(image: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, FormError> {
    let mut out = Cursor::new(Vec::new());
    let written = match format {
        ImageFormat::Jpeg => {
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 88);
            image.to_rgb8().write_with_encoder(encoder)
        }
        _ => image.write_to(&mut out, ImageFormat::Png),
    };
    match written {
        Ok(()) => Ok(out.into_inner()),
        Err(_) => refuse("图片处理失败，请换一张图片再试。"),
    }
}

/// The public URL of one size of a stored photo.
pub fn url(id: Uuid, size: Size, derived_ext: &str, original_ext: &str) -> String {
    match size {
        Size::Original => format!("/media/{id}.{original_ext}"),
        Size::Display => format!("/media/{id}-display.{derived_ext}"),
        Size::Thumb => format!("/media/{id}-thumb.{derived_ext}"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Original,
    Display,
    Thumb,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let image = DynamicImage::new_rgb8(width, height);
        encode(&image, ImageFormat::Png).unwrap()
    }

    #[test]
    fn a_photo_gets_its_sizes_and_loses_nothing_but_metadata() {
        let processed = process(&png(2400, 1200)).unwrap();
        assert_eq!((processed.width, processed.height), (2400, 1200));
        assert_eq!(
            (processed.original_ext, processed.derived_ext),
            ("png", "jpg")
        );
        let display = image::load_from_memory(&processed.display).unwrap();
        assert_eq!((display.width(), display.height()), (1200, 600));
        let thumb = image::load_from_memory(&processed.thumb).unwrap();
        assert_eq!(thumb.width(), 320);
    }

    #[test]
    fn what_is_not_an_image_is_refused_whatever_its_name() {
        let refusal = process(b"%PDF-1.7 not a picture").err().unwrap();
        assert!(refusal.summary().contains("不是支持的图片格式"));
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

    #[test]
    fn a_decompression_bomb_is_refused_before_decoding() {
        // A tiny PNG header claiming 20000×20000 pixels.
        let mut bomb = png(1, 1);
        bomb[16..20].copy_from_slice(&20_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&20_000u32.to_be_bytes());
        let crc = crc32(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        let refusal = process(&bomb).err().unwrap();
        assert!(refusal.summary().contains("像素过大"), "{refusal:?}");
    }
}
