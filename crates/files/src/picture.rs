//! Photos made fit to show: decoded, turned upright by their EXIF orientation, scaled down and
//! re-encoded as plain JPEG — which drops every piece of metadata, the camera's GPS position
//! included — plus a thumbnail; and redaction, which blurs chosen parts of a photo for good.

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageReader, RgbImage};
use std::io::Cursor;

/// Longest side of the photo that is shown.
pub const SHOWN_SIDE: u32 = 1600;
/// Longest side of a thumbnail.
pub const THUMB_SIDE: u32 = 320;
/// A photo is divided into a `GRID` × `GRID` grid of cells for redaction.
pub const GRID: u32 = 4;
/// Decoding refuses images with more pixels than this: a phone's photo has 12–24 million (a
/// 6000 × 4000 sensor); a decompression bomb of a few kilobytes can claim billions.
pub const MAX_PIXELS: u64 = 24_000_000;
/// The most memory one decoder may ask for.
const MAX_DECODE_BYTES: u64 = 160 * 1024 * 1024;
/// Decodings that may wait for a free worker; one more is refused as busy.
const MAX_WAITING: usize = 8;

/// A photo ready to be shown: JPEG bytes without metadata.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// The photo to show, at most [`SHOWN_SIDE`] on its longest side.
    pub shown: Vec<u8>,
    /// The thumbnail, at most [`THUMB_SIDE`] on its longest side.
    pub thumb: Vec<u8>,
    /// Width of the shown photo.
    pub width: u32,
    /// Height of the shown photo.
    pub height: u32,
}

/// Why a photo could not be prepared.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    /// Not an image this platform can read, or a damaged one.
    #[error("not a readable image: {0}")]
    Unreadable(String),
    /// Too many pixels.
    #[error("image too large")]
    TooLarge,
    /// Every picture worker is busy and the queue is full: try again shortly.
    #[error("picture workers busy")]
    Busy,
}

/// Runs picture work (decoding, scaling, redaction) off the async threads, at most one job per
/// CPU at a time and at most [`MAX_WAITING`] waiting, so that a burst of large uploads costs a
/// bounded amount of CPU and memory and the rest of the server keeps answering.
pub async fn off_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, PictureError> {
    static WORKERS: std::sync::LazyLock<kernel::workers::Workers> = std::sync::LazyLock::new(|| kernel::workers::Workers::per_cpu(MAX_WAITING));
    WORKERS.run(work).await.map_err(|e| match e {
        kernel::workers::Refused::Busy => PictureError::Busy,
        kernel::workers::Refused::Failed(why) => PictureError::Unreadable(why),
    })
}

fn decode(bytes: &[u8]) -> Result<DynamicImage, PictureError> {
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| PictureError::Unreadable(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| PictureError::Unreadable(e.to_string()))?;
    let (w, h) = decoder.dimensions();
    if u64::from(w) * u64::from(h) > MAX_PIXELS {
        return Err(PictureError::TooLarge);
    }
    let orientation = decoder.orientation().ok();
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| PictureError::Unreadable(e.to_string()))?;
    if let Some(o) = orientation {
        img.apply_orientation(o);
    }
    Ok(img)
}

fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    // Encoding an in-memory RGB buffer into a Vec cannot fail.
    img.write_with_encoder(encoder).expect("JPEG encoding into memory");
    out
}

fn fit(img: &DynamicImage, side: u32) -> RgbImage {
    let scaled = if img.width() > side || img.height() > side { img.resize(side, side, FilterType::Triangle) } else { img.clone() };
    scaled.to_rgb8()
}

/// Prepares a photo for showing: upright, scaled, metadata dropped, with a thumbnail.
pub fn prepare(bytes: &[u8]) -> Result<Prepared, PictureError> {
    let img = decode(bytes)?;
    Ok(from_image(&img))
}

fn from_image(img: &DynamicImage) -> Prepared {
    let shown = fit(img, SHOWN_SIDE);
    let thumb = fit(img, THUMB_SIDE);
    Prepared { width: shown.width(), height: shown.height(), shown: jpeg(&shown, 82), thumb: jpeg(&thumb, 75) }
}

/// Blurs the given cells (row-major indexes into the [`GRID`] × [`GRID`] grid) of a photo beyond
/// recognition — heavy pixelation, then a flat average — and prepares the result.
pub fn redact(bytes: &[u8], cells: &[u32]) -> Result<Prepared, PictureError> {
    let mut img = decode(bytes)?.to_rgb8();
    let (w, h) = img.dimensions();
    for &cell in cells.iter().filter(|&&c| c < GRID * GRID) {
        let (cx, cy) = (cell % GRID, cell / GRID);
        let (x0, x1) = (cx * w / GRID, ((cx + 1) * w / GRID).min(w));
        let (y0, y1) = (cy * h / GRID, ((cy + 1) * h / GRID).min(h));
        let mut sum = [0u64; 3];
        let mut n = 0u64;
        for y in y0..y1 {
            for x in x0..x1 {
                let p = img.get_pixel(x, y).0;
                for i in 0..3 {
                    sum[i] += u64::from(p[i]);
                }
                n += 1;
            }
        }
        if n == 0 {
            continue;
        }
        let avg = image::Rgb([(sum[0] / n) as u8, (sum[1] / n) as u8, (sum[2] / n) as u8]);
        for y in y0..y1 {
            for x in x0..x1 {
                img.put_pixel(x, y, avg);
            }
        }
    }
    Ok(from_image(&DynamicImage::ImageRgb8(img)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG with an EXIF block that carries a GPS position.
    fn jpeg_with_gps() -> Vec<u8> {
        let img = RgbImage::from_fn(64, 48, |x, y| image::Rgb([(x * 4) as u8, (y * 5) as u8, 128]));
        let plain = jpeg(&img, 90);
        // APP1 "Exif\0\0" + a little-endian TIFF header with one IFD entry pointing at a GPS IFD.
        let mut exif = b"Exif\0\0II*\0\x08\0\0\0".to_vec();
        exif.extend_from_slice(&[1, 0, 0x25, 0x88, 4, 0, 1, 0, 0, 0, 0x1a, 0, 0, 0, 0, 0, 0, 0]);
        exif.extend_from_slice(&[1, 0, 1, 0, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0, 0, 0, 0, 0]);
        exif.extend_from_slice(b"GPSMARKER-32.0603N118.7969E");
        let mut out = plain[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(&exif);
        out.extend_from_slice(&plain[2..]);
        out
    }

    #[test]
    fn prepared_photos_carry_no_metadata() {
        let original = jpeg_with_gps();
        assert!(original.windows(9).any(|w| w == b"GPSMARKER"));
        let p = prepare(&original).expect("prepares");
        for bytes in [&p.shown, &p.thumb] {
            assert!(!bytes.windows(4).any(|w| w == b"Exif"), "EXIF dropped");
            assert!(!bytes.windows(9).any(|w| w == b"GPSMARKER"), "position dropped");
            assert!(bytes.starts_with(&[0xFF, 0xD8]));
        }
        assert_eq!((p.width, p.height), (64, 48));
    }

    #[test]
    fn big_photos_are_scaled_and_thumbnailed() {
        let img = DynamicImage::ImageRgb8(RgbImage::from_pixel(2000, 1000, image::Rgb([10, 200, 30])));
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        let p = prepare(&png).unwrap();
        assert_eq!((p.width, p.height), (1600, 800));
        let thumb = image::load_from_memory(&p.thumb).unwrap();
        assert_eq!((thumb.width(), thumb.height()), (320, 160));
    }

    #[test]
    fn redaction_flattens_the_chosen_cells_only() {
        let img = RgbImage::from_fn(80, 80, |x, y| if (x + y) % 2 == 0 { image::Rgb([255, 255, 255]) } else { image::Rgb([0, 0, 0]) });
        let p = redact(&jpeg(&img, 95), &[0]).unwrap();
        let out = image::load_from_memory(&p.shown).unwrap().to_rgb8();
        // Inside cell 0 the checkerboard is gone (flat grey); outside it remains.
        let spread = |x0: u32, y0: u32| {
            let v: Vec<u8> = (0..10).map(|i| out.get_pixel(x0 + i, y0 + 5).0[0]).collect();
            v.iter().max().unwrap() - v.iter().min().unwrap()
        };
        assert!(spread(2, 2) < 40, "redacted cell is flat");
        assert!(spread(50, 50) > 100, "the rest is untouched");
    }

    #[test]
    fn a_tiny_file_that_claims_fifty_million_pixels_is_refused_before_decoding() {
        // 7000 × 7000 of one colour compresses to a few hundred kilobytes of PNG.
        let img = image::GrayImage::from_pixel(7000, 7000, image::Luma([200]));
        let mut png = Vec::new();
        img.write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        assert!(png.len() < 400_000, "{} bytes", png.len());
        let started = std::time::Instant::now();
        assert!(matches!(prepare(&png), Err(PictureError::TooLarge)));
        assert!(started.elapsed() < std::time::Duration::from_secs(1), "refused from the header, {:?}", started.elapsed());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn picture_work_is_bounded_and_refuses_when_the_queue_is_full() {
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = std::sync::Arc::new(std::sync::Mutex::new(hold));
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut running = Vec::new();
        for _ in 0..workers + MAX_WAITING {
            let hold = hold.clone();
            running.push(tokio::spawn(off_thread(move || {
                let _ = hold.lock().unwrap().recv_timeout(std::time::Duration::from_secs(10));
            })));
        }
        // Let every job take a worker or a place in the queue.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(matches!(off_thread(|| ()).await, Err(PictureError::Busy)), "one more than the queue holds is refused");
        for _ in 0..workers + MAX_WAITING {
            let _ = release.send(());
        }
        for r in running {
            assert!(r.await.unwrap().is_ok());
        }
        assert!(off_thread(|| ()).await.is_ok(), "free again");
    }

    #[test]
    fn garbage_is_refused() {
        assert!(prepare(b"\xFF\xD8\xFFnot really a jpeg").is_err());
        assert!(prepare(b"<svg/>").is_err());
    }
}
