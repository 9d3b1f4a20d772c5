//! What a file is, decided by its bytes, never by its name or the browser's claim.

/// A kind of content the platform accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// JPEG photo.
    Jpeg,
    /// PNG image.
    Png,
    /// WebP image.
    Webp,
    /// GIF image.
    Gif,
    /// PDF document.
    Pdf,
}

impl Kind {
    /// Every kind that is an image.
    pub const IMAGES: &'static [Kind] = &[Kind::Jpeg, Kind::Png, Kind::Webp, Kind::Gif];
    /// Images and PDF documents (materials for an application).
    pub const MATERIALS: &'static [Kind] = &[Kind::Jpeg, Kind::Png, Kind::Webp, Kind::Gif, Kind::Pdf];

    /// The MIME type served.
    pub fn mime(self) -> &'static str {
        match self {
            Kind::Jpeg => "image/jpeg",
            Kind::Png => "image/png",
            Kind::Webp => "image/webp",
            Kind::Gif => "image/gif",
            Kind::Pdf => "application/pdf",
        }
    }

    /// Parses a stored MIME type.
    pub fn from_mime(m: &str) -> Option<Kind> {
        [Kind::Jpeg, Kind::Png, Kind::Webp, Kind::Gif, Kind::Pdf].into_iter().find(|k| k.mime() == m)
    }

    /// File extension.
    pub fn extension(self) -> &'static str {
        match self {
            Kind::Jpeg => "jpg",
            Kind::Png => "png",
            Kind::Webp => "webp",
            Kind::Gif => "gif",
            Kind::Pdf => "pdf",
        }
    }
}

/// Identifies `bytes` by their signature; anything unrecognised (HTML, SVG, scripts,
/// executables, archives) is `None` and refused.
pub fn sniff(bytes: &[u8]) -> Option<Kind> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some(Kind::Jpeg)
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(Kind::Png)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some(Kind::Gif)
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some(Kind::Webp)
    } else if bytes.starts_with(b"%PDF-") {
        Some(Kind::Pdf)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_decides_not_the_name() {
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some(Kind::Png));
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]), Some(Kind::Jpeg));
        assert_eq!(sniff(b"RIFF\x10\x00\x00\x00WEBPVP8 "), Some(Kind::Webp));
        assert_eq!(sniff(b"%PDF-1.7\n"), Some(Kind::Pdf));
        assert_eq!(sniff(b"<html><script>alert(1)</script>"), None);
        assert_eq!(sniff(b"<svg xmlns='http://www.w3.org/2000/svg' onload='x()'/>"), None);
        assert_eq!(sniff(b"MZ\x90\x00"), None);
        assert_eq!(sniff(b""), None);
    }
}
