//! A connection's unwritten output: frames encoded into one buffer, except large bodies, which
//! stay where they are (a shared `Bytes`) and go out with the frames around them in one
//! vectored write. A batch of 32 x 1 KiB messages was copied once more, whole, into the output
//! buffer before its write; now only its header is.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

/// Bodies of at least this many bytes are written from where they are instead of copied into
/// the buffer. Below it a copy is cheaper than the segment's bookkeeping (and a 1 KiB single
/// message coalesces with its neighbours into one buffer).
pub(crate) const ZERO_COPY_MIN: usize = 4 * 1024;

/// The most segments one write hands the socket (the kernel takes up to 1,024).
const MAX_SLICES: usize = 64;

/// The unwritten output, in order: sealed segments, then the open buffer frames are encoded
/// into.
#[derive(Debug)]
pub(crate) struct Output {
    sealed: VecDeque<Bytes>,
    open: BytesMut,
    /// Bytes in `sealed`.
    sealed_len: usize,
}

impl Output {
    pub(crate) fn with_capacity(capacity: usize) -> Self {
        Output { sealed: VecDeque::new(), open: BytesMut::with_capacity(capacity), sealed_len: 0 }
    }

    /// Unwritten bytes.
    pub(crate) fn len(&self) -> usize {
        self.sealed_len + self.open.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The buffer frames are encoded into (after everything sealed).
    pub(crate) fn buffer(&mut self) -> &mut BytesMut {
        &mut self.open
    }

    /// Appends `body` after what the buffer holds, as its own segment: what was encoded so far
    /// is sealed first, so the order on the wire is kept.
    pub(crate) fn push_segment(&mut self, body: Bytes) {
        if body.is_empty() {
            return;
        }
        if !self.open.is_empty() {
            let head = self.open.split().freeze();
            self.sealed_len += head.len();
            self.sealed.push_back(head);
        }
        self.sealed_len += body.len();
        self.sealed.push_back(body);
    }

    /// The unwritten bytes as slices for one vectored write (at most `MAX_SLICES`).
    pub(crate) fn slices(&self) -> ([IoSlice<'_>; MAX_SLICES], usize) {
        let mut slices = [IoSlice::new(&[]); MAX_SLICES];
        let mut n = 0;
        let segments = self.sealed.iter().map(|b| &b[..]).chain(std::iter::once(&self.open[..]));
        for seg in segments.filter(|s| !s.is_empty()).take(MAX_SLICES) {
            slices[n] = IoSlice::new(seg);
            n += 1;
        }
        (slices, n)
    }

    /// The first unwritten bytes, for a write of one slice.
    pub(crate) fn first(&self) -> &[u8] {
        self.sealed.front().map_or(&self.open[..], |b| &b[..])
    }

    /// Drops the first `n` bytes, which the socket took.
    pub(crate) fn advance(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.sealed.front_mut() else { break };
            if n < front.len() {
                front.advance(n);
                self.sealed_len -= n;
                return;
            }
            n -= front.len();
            self.sealed_len -= front.len();
            self.sealed.pop_front();
        }
        self.open.advance(n.min(self.open.len()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Everything `slices` offers, joined.
    fn offered(out: &Output) -> Vec<u8> {
        let (slices, n) = out.slices();
        slices[..n].iter().flat_map(|s| s.iter().copied()).collect()
    }

    #[test]
    fn segments_keep_the_order_of_the_frames() {
        let mut out = Output::with_capacity(16);
        out.buffer().extend_from_slice(b"head1|");
        out.push_segment(Bytes::from_static(b"BODY1|"));
        out.buffer().extend_from_slice(b"head2|small|");
        out.push_segment(Bytes::from_static(b"BODY2|"));
        out.push_segment(Bytes::new());
        out.buffer().extend_from_slice(b"tail");
        assert_eq!(out.len(), 34);
        assert_eq!(offered(&out), b"head1|BODY1|head2|small|BODY2|tail");
        assert_eq!(out.first(), b"head1|");
    }

    /// "abcdefgh" as buffer, segment, buffer.
    fn three_parts() -> Output {
        let mut out = Output::with_capacity(16);
        out.buffer().extend_from_slice(b"ab");
        out.push_segment(Bytes::from_static(b"cdef"));
        out.buffer().extend_from_slice(b"gh");
        out
    }

    #[test]
    fn advancing_drops_written_bytes_across_segments() {
        // Every split point, from a fresh copy each time.
        for n in 0..=8 {
            let mut o = three_parts();
            o.advance(n);
            assert_eq!(o.len(), 8 - n, "after {n}");
            assert_eq!(offered(&o), &b"abcdefgh"[n..], "after {n}");
        }
        let mut out = three_parts();
        out.advance(3);
        out.advance(5);
        assert!(out.is_empty());
        // The buffer is reusable after draining.
        out.buffer().extend_from_slice(b"next");
        assert_eq!(offered(&out), b"next");
    }

    #[test]
    fn one_write_offers_at_most_max_slices() {
        let mut out = Output::with_capacity(16);
        for i in 0..100u8 {
            out.buffer().extend_from_slice(&[i]);
            out.push_segment(Bytes::from(vec![i; 3]));
        }
        let (_, n) = out.slices();
        assert_eq!(n, MAX_SLICES);
        assert_eq!(out.len(), 400);
    }
}
