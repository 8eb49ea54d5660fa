//! `Content-Encoding` of OTLP/HTTP bodies, inflated with a hard limit on the inflated size.

use std::io::Read;

use bytes::Bytes;

/// How a request body is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Deflate,
}

/// Why a body could not be inflated.
#[derive(Debug, thiserror::Error)]
pub enum InflateError {
    #[error("unsupported content encoding {0:?}: use gzip or deflate")]
    Unsupported(String),
    #[error("cannot decompress body: {0}")]
    Corrupt(std::io::Error),
    #[error("decompressed body exceeds {0} bytes")]
    TooLarge(usize),
}

impl Compression {
    /// Parses a `Content-Encoding` header value (absent means none).
    pub fn from_header(value: Option<&str>) -> Result<Self, InflateError> {
        match value.unwrap_or("identity").trim().to_ascii_lowercase().as_str() {
            "" | "identity" => Ok(Self::None),
            "gzip" | "x-gzip" => Ok(Self::Gzip),
            "deflate" => Ok(Self::Deflate),
            other => Err(InflateError::Unsupported(other.to_owned())),
        }
    }

    /// Inflates `body`, refusing one that grows past `limit` bytes (a decompression bomb).
    pub fn inflate(self, body: Bytes, limit: usize) -> Result<Bytes, InflateError> {
        let reader: Box<dyn Read + '_> = match self {
            Self::None => return Ok(body),
            Self::Gzip => Box::new(flate2::read::MultiGzDecoder::new(&body[..])),
            Self::Deflate => Box::new(flate2::read::ZlibDecoder::new(&body[..])),
        };
        let mut inflated = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
        match reader.take(limit as u64 + 1).read_to_end(&mut inflated) {
            Err(err) => Err(InflateError::Corrupt(err)),
            Ok(n) if n > limit => Err(InflateError::TooLarge(limit)),
            Ok(_) => Ok(Bytes::from(inflated)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzip(data: &[u8]) -> Bytes {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).expect("write");
        Bytes::from(encoder.finish().expect("finish"))
    }

    #[test]
    fn gzip_bodies_inflate_within_the_limit() {
        let body = Compression::Gzip.inflate(gzip(b"hello"), 100).expect("inflates");
        assert_eq!(&body[..], b"hello");
    }

    #[test]
    fn a_gzip_bomb_is_too_large() {
        let bomb = gzip(&vec![0u8; 1 << 20]);
        assert!(matches!(Compression::Gzip.inflate(bomb, 1000), Err(InflateError::TooLarge(1000))));
    }

    #[test]
    fn corrupt_gzip_and_unknown_encodings_are_refused() {
        assert!(matches!(Compression::Gzip.inflate(Bytes::from_static(b"nope"), 100), Err(InflateError::Corrupt(_))));
        assert!(matches!(Compression::from_header(Some("br")), Err(InflateError::Unsupported(_))));
        assert_eq!(Compression::from_header(None).expect("none"), Compression::None);
    }
}
