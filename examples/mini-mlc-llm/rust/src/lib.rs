//! mini_tokenizers: the Rust half of mini-mlc-llm's tokenizer, linked into libmlc_llm as a
//! static library (as tokenizers-cpp links HuggingFace tokenizers). No dependencies, so
//! `cargo build --offline` works without crates.io.

use std::os::raw::c_char;

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

/// 64-bit FNV-1a hash of a byte string.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(FNV_OFFSET, |h, b| (h ^ u64::from(*b)).wrapping_mul(FNV_PRIME))
}

/// Number of whitespace-separated words (Unicode whitespace; invalid UTF-8 is replaced).
pub fn word_count(bytes: &[u8]) -> usize {
    String::from_utf8_lossy(bytes).split_whitespace().count()
}

unsafe fn as_slice<'a>(data: *const u8, len: usize) -> &'a [u8] {
    if data.is_null() || len == 0 {
        &[]
    } else {
        std::slice::from_raw_parts(data, len)
    }
}

/// C ABI: FNV-1a of `len` bytes at `data`.
///
/// # Safety
/// `data` must point to `len` readable bytes (or be null).
#[no_mangle]
pub unsafe extern "C" fn mini_tokenizers_fnv1a64(data: *const u8, len: usize) -> u64 {
    fnv1a64(as_slice(data, len))
}

/// C ABI: word count of `len` bytes at `data`.
///
/// # Safety
/// `data` must point to `len` readable bytes (or be null).
#[no_mangle]
pub unsafe extern "C" fn mini_tokenizers_word_count(data: *const u8, len: usize) -> usize {
    word_count(as_slice(data, len))
}

/// C ABI: the crate version, a static NUL-terminated string.
#[no_mangle]
pub extern "C" fn mini_tokenizers_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr() as *const c_char
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_known_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn words() {
        assert_eq!(word_count("  hello \t wide\u{3000}world\n".as_bytes()), 3);
    }
}
