//! Reading fixed-size fields off the front of untrusted bytes, for the binary decoders.

/// The first `N` bytes of `bytes` as an array, and the rest; `None` if there are fewer than
/// `N`. Never panics, whatever the input.
pub(crate) fn split_array<const N: usize>(bytes: &[u8]) -> Option<([u8; N], &[u8])> {
    let head = bytes.get(..N)?;
    let rest = bytes.get(N..)?;
    let array = <[u8; N]>::try_from(head).ok()?;
    Some((array, rest))
}

#[cfg(test)]
mod tests {
    use super::split_array;

    #[test]
    fn fields_come_off_the_front_or_not_at_all() {
        assert_eq!(split_array::<2>(b"abc"), Some((*b"ab", &b"c"[..])));
        assert_eq!(split_array::<3>(b"abc"), Some((*b"abc", &b""[..])));
        assert_eq!(split_array::<4>(b"abc"), None);
    }
}
