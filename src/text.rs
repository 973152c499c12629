//! Positions in text for error messages.

/// Line and column (1-based; the column counts characters) of byte `offset` of
/// `text` (an offset inside a character counts as that character).
pub(crate) fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let before = &text[..end];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (before.matches('\n').count() + 1, before[line_start..].chars().count() + 1)
}

/// Line and column of the first invalid byte of `bytes`, which `err` describes.
pub(crate) fn utf8_error_position(bytes: &[u8], err: &std::str::Utf8Error) -> (usize, usize) {
    // The prefix before the error is valid UTF-8: nothing is replaced.
    let valid = String::from_utf8_lossy(&bytes[..err.valid_up_to()]);
    line_column(&valid, valid.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions() {
        assert_eq!(line_column("ab\nجد", 5), (2, 2));
        assert_eq!(line_column("ab\nجد", 4), (2, 1), "inside a character");
        let bytes: Vec<u8> = [b"ab\ncd".as_slice(), &[0xff]].concat();
        let err = std::str::from_utf8(&bytes).unwrap_err();
        assert_eq!(utf8_error_position(&bytes, &err), (2, 3));
    }
}
