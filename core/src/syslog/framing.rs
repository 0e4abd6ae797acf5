//! Splitting a syslog byte stream (TCP, TLS, Unix stream) into messages,
//! detected per message: octet counting (`LEN SP MSG`, RFC 6587) when it
//! starts with a digit 1–9, else up to LF or NUL (which also covers NUL
//! then LF: the empty gap between two terminators is skipped).

/// Why the stream cannot go on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// An octet count larger than the maximum; nothing of that size is
    /// allocated, and the rest of the stream cannot be framed.
    #[error(
        "octet count of {len} bytes exceeds the maximum message size of {max} bytes (raise --syslog-max-message if legitimate)"
    )]
    CountTooLarge {
        /// The count the peer sent (saturated at `u64::MAX`).
        len: u64,
        /// The maximum message size.
        max: usize,
    },
    /// A message with no LF or NUL in its first `max` bytes; it is
    /// skipped up to its end, the stream goes on.
    #[error(
        "message longer than the maximum of {max} bytes without LF or NUL; skipped up to its end (raise --syslog-max-message if legitimate)"
    )]
    Unterminated {
        /// The maximum message size.
        max: usize,
    },
}

/// Octet counts have at most this many digits (so 4 GiB and more are
/// read, refused, and never overflow).
const MAX_COUNT_DIGITS: usize = 20;

/// Frames one connection's bytes into syslog messages.
///
/// ```
/// use tributary_core::syslog::SyslogFramer;
/// let mut framer = SyslogFramer::new(1024);
/// framer.push(b"5 <13>a<14>b\0<15>c\n");
/// let mut got = Vec::new();
/// while let Some(m) = framer.next_message() {
///     got.push(m.unwrap().to_vec());
/// }
/// assert_eq!(got, [b"<13>a".to_vec(), b"<14>b".to_vec(), b"<15>c".to_vec()]);
/// ```
#[derive(Debug)]
pub struct SyslogFramer {
    buf: Vec<u8>,
    /// Start of the unread bytes in `buf`.
    start: usize,
    max: usize,
    /// Skipping an over-long unterminated message up to its LF or NUL.
    skipping: bool,
}

impl SyslogFramer {
    /// A framer for messages of at most `max` bytes.
    pub fn new(max: usize) -> SyslogFramer {
        SyslogFramer {
            buf: Vec::new(),
            start: 0,
            max,
            skipping: false,
        }
    }

    /// Appends bytes read from the connection.
    pub fn push(&mut self, data: &[u8]) {
        self.buffer_mut().extend_from_slice(data);
    }

    /// The buffer to read into directly (no copy through a read buffer);
    /// bytes appended to it are input.
    pub fn buffer_mut(&mut self) -> &mut Vec<u8> {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
            // A buffer that grew for one large message gives the memory
            // back, as the native decoders' do.
            crate::frame::shrink(&mut self.buf);
        }
        &mut self.buf
    }

    /// Bytes of an unfinished message held.
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// The next complete message, an error, or `None` until more bytes
    /// come. After [`FramingError::CountTooLarge`] the stream must be
    /// closed.
    pub fn next_message(&mut self) -> Option<Result<&[u8], FramingError>> {
        loop {
            let rest = &self.buf[self.start..];
            if self.skipping {
                match memchr::memchr2(b'\n', b'\0', rest) {
                    Some(at) => {
                        self.start += at + 1;
                        self.skipping = false;
                    }
                    None => {
                        self.start = self.buf.len();
                        return None;
                    }
                }
                continue;
            }
            // The gaps between messages: NUL+LF, CRLF, blank lines.
            let skip = rest
                .iter()
                .position(|b| !matches!(b, b'\n' | b'\0' | b'\r'))
                .unwrap_or(rest.len());
            self.start += skip;
            let rest = &self.buf[self.start..];
            let first = *rest.first()?;
            if (b'1'..=b'9').contains(&first) {
                match octet_count(rest, self.max) {
                    Count::Message(header, len) => {
                        if rest.len() < header + len {
                            return None;
                        }
                        let from = self.start + header;
                        self.start = from + len;
                        return Some(Ok(&self.buf[from..from + len]));
                    }
                    Count::Partial => return None,
                    Count::TooLarge(len) => {
                        return Some(Err(FramingError::CountTooLarge { len, max: self.max }));
                    }
                    Count::Delimited => {}
                }
            }
            let rest = &self.buf[self.start..];
            return match memchr::memchr2(b'\n', b'\0', rest) {
                Some(at) if at <= self.max => {
                    let from = self.start;
                    self.start += at + 1;
                    let mut m = &self.buf[from..from + at];
                    if let Some(s) = m.strip_suffix(b"\r") {
                        m = s;
                    }
                    Some(Ok(m))
                }
                Some(_) => {
                    self.skipping = true;
                    Some(Err(FramingError::Unterminated { max: self.max }))
                }
                None if rest.len() > self.max => {
                    self.skipping = true;
                    Some(Err(FramingError::Unterminated { max: self.max }))
                }
                None => None,
            };
        }
    }

    /// At end of stream: the last message when it was simply not
    /// terminated (delimiter framing). `Err` with the bytes held when an
    /// octet-counted message was cut short.
    pub fn finish(&mut self) -> Result<Option<&[u8]>, usize> {
        if self.skipping {
            return Ok(None);
        }
        let rest = &self.buf[self.start..];
        if rest.iter().all(|b| matches!(b, b'\n' | b'\0' | b'\r')) {
            return Ok(None);
        }
        if matches!(
            octet_count(rest, self.max),
            Count::Message(..) | Count::Partial
        ) {
            return Err(rest.len());
        }
        let from = self.start;
        self.start = self.buf.len();
        Ok(Some(&self.buf[from..]))
    }
}

enum Count {
    /// Header length, message length.
    Message(usize, usize),
    /// Digits so far, no space yet.
    Partial,
    TooLarge(u64),
    /// Digits not followed by a space: a delimited message.
    Delimited,
}

fn octet_count(rest: &[u8], max: usize) -> Count {
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > MAX_COUNT_DIGITS {
        return Count::TooLarge(u64::MAX);
    }
    match rest.get(digits) {
        None => Count::Partial,
        Some(b' ') => {
            let len = rest[..digits].iter().fold(0u64, |n, &d| {
                n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
            });
            match usize::try_from(len) {
                Ok(l) if l <= max => Count::Message(digits + 1, l),
                _ => Count::TooLarge(len),
            }
        }
        Some(_) => Count::Delimited,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn all(framer: &mut SyslogFramer) -> Vec<Result<Vec<u8>, FramingError>> {
        let mut out = Vec::new();
        while let Some(m) = framer.next_message() {
            let stop = m.is_err() && matches!(m, Err(FramingError::CountTooLarge { .. }));
            out.push(m.map(<[u8]>::to_vec));
            if stop {
                break;
            }
        }
        out
    }

    #[test]
    fn bytes_read_into_the_buffer_continue_the_unread_ones() {
        let mut framer = SyslogFramer::new(1024);
        framer.buffer_mut().extend_from_slice(b"<13>a\n7 <14>");
        assert_eq!(framer.next_message(), Some(Ok(&b"<13>a"[..])));
        assert_eq!(framer.next_message(), None);
        assert_eq!(framer.pending(), 6);
        framer.buffer_mut().extend_from_slice(b"bcd<15>e\n");
        assert_eq!(
            all(&mut framer),
            [Ok(b"<14>bcd".to_vec()), Ok(b"<15>e".to_vec())]
        );
        assert_eq!(framer.pending(), 0);
    }

    #[test]
    fn python_nul_logger_lf_and_nul_lf() {
        let mut f = SyslogFramer::new(100);
        f.push(b"<12>py warn\0<15>py dbg\0<13>lf\n<13>crlf\r\n<13>nul-lf\0\n<13>x");
        let got = all(&mut f);
        let want: Vec<Result<Vec<u8>, FramingError>> = [
            "<12>py warn",
            "<15>py dbg",
            "<13>lf",
            "<13>crlf",
            "<13>nul-lf",
        ]
        .iter()
        .map(|s| Ok(s.as_bytes().to_vec()))
        .collect();
        assert_eq!(got, want);
        assert_eq!(f.finish(), Ok(Some(&b"<13>x"[..])));
    }

    #[test]
    fn octet_counting_across_reads() {
        let mut f = SyslogFramer::new(100);
        f.push(b"1");
        assert_eq!(all(&mut f), vec![]);
        f.push(b"0 <13>1 - -");
        assert_eq!(all(&mut f), vec![]);
        f.push(b" 6 <13>x\n");
        assert_eq!(
            all(&mut f),
            vec![Ok(b"<13>1 - - ".to_vec()), Ok(b"<13>x\n".to_vec())]
        );
    }

    #[test]
    fn four_gib_count_is_refused_without_allocating() {
        let mut f = SyslogFramer::new(65536);
        f.push(b"4294967296 <13>x");
        assert_eq!(
            all(&mut f),
            vec![Err(FramingError::CountTooLarge {
                len: 4_294_967_296,
                max: 65536
            })]
        );
        assert!(f.buf.capacity() < 1024);
        let mut f = SyslogFramer::new(10);
        f.push(&[b'9'; 40]);
        assert!(matches!(
            all(&mut f)[..],
            [Err(FramingError::CountTooLarge { .. })]
        ));
    }

    #[test]
    fn endless_message_is_skipped_and_the_next_lands() {
        let mut f = SyslogFramer::new(8);
        f.push(b"<13>aaaaaaa");
        f.push(b"aaaaaa");
        assert_eq!(
            all(&mut f),
            vec![Err(FramingError::Unterminated { max: 8 })]
        );
        assert!(f.pending() == 0);
        f.push(b"aaa\n<13>ok\n");
        assert_eq!(all(&mut f), vec![Ok(b"<13>ok".to_vec())]);
    }

    #[test]
    fn half_octet_count_at_close_is_reported() {
        let mut f = SyslogFramer::new(100);
        f.push(b"20 <13>abc");
        assert_eq!(all(&mut f), vec![]);
        assert_eq!(f.finish(), Err(10));
        let mut f = SyslogFramer::new(100);
        f.push(b"12");
        assert_eq!(f.finish(), Err(2));
    }

    proptest! {
        #[test]
        fn any_chunking_gives_the_same_messages(
            msgs in proptest::collection::vec("<[0-9]{1,3}>[ -~]{0,40}", 1..20),
            octet in proptest::collection::vec(any::<bool>(), 20),
            cuts in proptest::collection::vec(0usize..400, 0..10),
        ) {
            let mut wire = Vec::new();
            for (i, m) in msgs.iter().enumerate() {
                if octet[i] {
                    wire.extend_from_slice(format!("{} {m}", m.len()).as_bytes());
                } else {
                    wire.extend_from_slice(m.as_bytes());
                    wire.push(if i % 2 == 0 { b'\n' } else { b'\0' });
                }
            }
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(wire.len())).collect();
            cuts.sort_unstable();
            let mut f = SyslogFramer::new(1000);
            let mut got = Vec::new();
            let mut from = 0;
            for c in cuts.into_iter().chain([wire.len()]) {
                f.push(&wire[from..c]);
                from = c;
                while let Some(m) = f.next_message() {
                    got.push(String::from_utf8(m.unwrap().to_vec()).unwrap());
                }
            }
            prop_assert_eq!(f.finish(), Ok(None));
            prop_assert_eq!(got, msgs);
        }

        #[test]
        fn arbitrary_bytes_never_panic_and_stay_bounded(data in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let mut f = SyslogFramer::new(64);
            for chunk in data.chunks(7) {
                f.push(chunk);
                while let Some(m) = f.next_message() {
                    match m {
                        Ok(m) => prop_assert!(m.len() <= 64),
                        Err(FramingError::CountTooLarge { .. }) => return Ok(()),
                        Err(_) => {}
                    }
                }
                prop_assert!(f.pending() <= 64 + 7 + MAX_COUNT_DIGITS);
            }
        }
    }
}
