//! Decoding text files: BOM handling (UTF-8, UTF-16 LE/BE), a NUL-byte sniff
//! of the first 8 KiB, and strict UTF-8.

use super::LoadError;

/// How much of a file is sniffed for NUL bytes.
pub const SNIFF_BYTES: usize = 8 * 1024;

/// Decodes a text file. A UTF-8 BOM is stripped; a UTF-16 BOM selects
/// UTF-16. Otherwise the bytes must be UTF-8 without NUL bytes in the first
/// [`SNIFF_BYTES`], else the file is [`LoadError::Binary`].
pub fn decode(bytes: &[u8]) -> Result<String, LoadError> {
    if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
        return utf16(rest, u16::from_be_bytes);
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if bytes[..bytes.len().min(SNIFF_BYTES)].contains(&0) {
        return Err(LoadError::Binary("NUL bytes".into()));
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(s.to_string()),
        Err(_) => Err(LoadError::Binary("not UTF-8".into())),
    }
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, LoadError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(LoadError::Binary("not UTF-16".into()));
    }
    let units = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]]));
    let text: Result<String, _> = char::decode_utf16(units).collect();
    match text {
        Ok(s) if !s.contains('\0') => Ok(s),
        Ok(_) => Err(LoadError::Binary("NUL bytes".into())),
        Err(_) => Err(LoadError::Binary("not UTF-16".into())),
    }
}
