//! A bounds-checked big-endian cursor over untrusted bytes.
//!
//! Every read names what it was reading, so a short buffer becomes
//! `ProtocolError::Truncated("...")` instead of a panic.

use super::ProtocolError;

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn bytes(
        &mut self,
        n: usize,
        what: &'static str,
    ) -> Result<&'a [u8], ProtocolError> {
        if n > self.buf.len() {
            return Err(ProtocolError::Truncated(what));
        }
        let (head, tail) = self.buf.split_at(n);
        self.buf = tail;
        Ok(head)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], ProtocolError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N, what)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, what: &'static str) -> Result<u8, ProtocolError> {
        Ok(self.array::<1>(what)?[0])
    }

    pub(crate) fn i16(&mut self, what: &'static str) -> Result<i16, ProtocolError> {
        self.array(what).map(i16::from_be_bytes)
    }

    pub(crate) fn i32(&mut self, what: &'static str) -> Result<i32, ProtocolError> {
        self.array(what).map(i32::from_be_bytes)
    }

    pub(crate) fn i64(&mut self, what: &'static str) -> Result<i64, ProtocolError> {
        self.array(what).map(i64::from_be_bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_big_endian_and_reports_truncation() {
        let data = [0x01, 0x02, 0x00, 0x00, 0x00, 0x03, 0xff];
        let mut r = Reader::new(&data);
        assert_eq!(r.i16("a"), Ok(0x0102));
        assert_eq!(r.i32("b"), Ok(3));
        assert_eq!(r.remaining(), 1);
        assert_eq!(r.i16("c"), Err(ProtocolError::Truncated("c")));
        assert_eq!(r.u8("d"), Ok(0xff));
        assert!(r.is_empty());
        assert_eq!(r.i64("e"), Err(ProtocolError::Truncated("e")));
        assert_eq!(r.bytes(1, "f"), Err(ProtocolError::Truncated("f")));
        assert_eq!(r.bytes(0, "g"), Ok(&[][..]));
    }
}
