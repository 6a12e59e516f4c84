//! A bounded reader over request bytes: checked reads of every Kafka primitive.
//!
//! The one rule it exists for: untrusted bytes never size an allocation. A length or count
//! from the wire is checked against the bytes that remain *before* anything happens — a
//! string or bytes field must fit in them, and an array may not claim more elements than
//! bytes remain (every element of every request array we decode occupies at least one
//! byte). Arrays then grow by `push` as elements actually decode, so their capacity
//! follows the data, never the claimed count. Strings and bytes are zero-copy slices of the
//! input [`Bytes`]. Every failure is a [`DecodeError`] naming the field; nothing panics.
//!
//! A reader is either *classic* (int16/int32 length prefixes) or *flexible* (Kafka's
//! "compact" encodings: unsigned-varint lengths plus one, and tagged fields), fixed for a
//! whole request body — Kafka switches every field of a message at its first flexible
//! version. The one exception, the request header's client id (always a classic nullable
//! string), has its own method.

use std::str::FromStr;

use bytes::{Buf, Bytes};
use kafka_protocol::protocol::StrBytes;

use super::error::DecodeError;

type Result<T> = std::result::Result<T, DecodeError>;

/// Reads Kafka primitives from the front of a buffer, consuming them.
#[derive(Debug, Clone)]
pub struct Reader {
    buf: Bytes,
    flexible: bool,
}

impl Reader {
    /// A reader over `buf`; `flexible` selects compact lengths and tagged fields.
    pub fn new(buf: Bytes, flexible: bool) -> Self {
        Reader { buf, flexible }
    }

    /// Whether this reader uses the compact (flexible-version) encodings.
    pub fn is_flexible(&self) -> bool {
        self.flexible
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// The unread rest of the buffer (e.g. the body after a header).
    pub fn into_rest(self) -> Bytes {
        self.buf
    }

    fn fixed<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N]> {
        if self.buf.len() < N {
            return Err(DecodeError::Truncated { field, needed: N, remaining: self.buf.len() });
        }
        let mut out = [0u8; N];
        self.buf.copy_to_slice(&mut out);
        Ok(out)
    }

    pub fn int8(&mut self, field: &'static str) -> Result<i8> {
        Ok(i8::from_be_bytes(self.fixed(field)?))
    }

    pub fn int16(&mut self, field: &'static str) -> Result<i16> {
        Ok(i16::from_be_bytes(self.fixed(field)?))
    }

    pub fn int32(&mut self, field: &'static str) -> Result<i32> {
        Ok(i32::from_be_bytes(self.fixed(field)?))
    }

    pub fn int64(&mut self, field: &'static str) -> Result<i64> {
        Ok(i64::from_be_bytes(self.fixed(field)?))
    }

    pub fn uint16(&mut self, field: &'static str) -> Result<u16> {
        Ok(u16::from_be_bytes(self.fixed(field)?))
    }

    pub fn uint32(&mut self, field: &'static str) -> Result<u32> {
        Ok(u32::from_be_bytes(self.fixed(field)?))
    }

    pub fn float64(&mut self, field: &'static str) -> Result<f64> {
        Ok(f64::from_be_bytes(self.fixed(field)?))
    }

    /// Kafka's boolean: one byte, any non-zero value is true (as the Java broker reads it).
    pub fn boolean(&mut self, field: &'static str) -> Result<bool> {
        Ok(self.fixed::<1>(field)?[0] != 0)
    }

    /// A 16-byte UUID, returned as any type that parses from its 32-hex-digit form.
    ///
    /// Generic so that this crate needs no direct `uuid` dependency: the caller's context
    /// (e.g. `with_topic_id(r.uuid(..)?)`) picks kafka-protocol's `Uuid`. No allocation.
    pub fn uuid<U: FromStr>(&mut self, field: &'static str) -> Result<U> {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let raw: [u8; 16] = self.fixed(field)?;
        let mut text = [0u8; 32];
        for (i, b) in raw.iter().enumerate() {
            text[2 * i] = HEX[usize::from(b >> 4)];
            text[2 * i + 1] = HEX[usize::from(b & 0x0f)];
        }
        let text = std::str::from_utf8(&text).map_err(|_| DecodeError::InvalidUtf8 { field })?;
        // 32 hex digits always parse; the error arm only keeps this free of panics.
        text.parse().map_err(|_| DecodeError::InvalidUtf8 { field })
    }

    /// An unsigned varint of at most 5 bytes whose value fits in 32 bits.
    pub fn unsigned_varint(&mut self, field: &'static str) -> Result<u32> {
        let mut value = 0u32;
        for i in 0..5 {
            let b = self.fixed::<1>(field)?[0];
            if i == 4 && b > 0x0f {
                return Err(DecodeError::InvalidVarint { field });
            }
            value |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::InvalidVarint { field })
    }

    /// An unsigned varint of at most 10 bytes whose value fits in 64 bits.
    pub fn unsigned_varlong(&mut self, field: &'static str) -> Result<u64> {
        let mut value = 0u64;
        for i in 0..10 {
            let b = self.fixed::<1>(field)?[0];
            if i == 9 && b > 0x01 {
                return Err(DecodeError::InvalidVarint { field });
            }
            value |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(DecodeError::InvalidVarint { field })
    }

    /// A zigzag-encoded signed varint (32 bits).
    pub fn varint(&mut self, field: &'static str) -> Result<i32> {
        let v = self.unsigned_varint(field)?;
        Ok((v >> 1) as i32 ^ -((v & 1) as i32))
    }

    /// A zigzag-encoded signed varlong (64 bits).
    pub fn varlong(&mut self, field: &'static str) -> Result<i64> {
        let v = self.unsigned_varlong(field)?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    /// `length` bytes as a zero-copy slice, if that many remain.
    fn sized(&mut self, field: &'static str, length: i64) -> Result<Bytes> {
        match usize::try_from(length) {
            Ok(n) if n <= self.buf.len() => Ok(self.buf.split_to(n)),
            _ => Err(DecodeError::InvalidLength { field, length, remaining: self.buf.len() }),
        }
    }

    /// A compact length: unsigned varint N, where 0 is null and N > 0 means N - 1.
    fn compact_length(&mut self, field: &'static str) -> Result<Option<i64>> {
        let n = self.unsigned_varint(field)?;
        Ok(n.checked_sub(1).map(i64::from))
    }

    /// A classic length (`-1` is null, other negatives are invalid) widened to i64.
    fn classic_length(field: &'static str, length: i64, remaining: usize) -> Result<Option<i64>> {
        match length {
            -1 => Ok(None),
            n if n < 0 => Err(DecodeError::InvalidLength { field, length: n, remaining }),
            n => Ok(Some(n)),
        }
    }

    fn string_length(&mut self, field: &'static str, compact: bool) -> Result<Option<i64>> {
        if compact {
            self.compact_length(field)
        } else {
            let n = self.int16(field)?;
            Self::classic_length(field, i64::from(n), self.buf.len())
        }
    }

    /// Lengths of bytes fields and counts of arrays: int32 classic, compact when flexible.
    fn long_length(&mut self, field: &'static str) -> Result<Option<i64>> {
        if self.flexible {
            self.compact_length(field)
        } else {
            let n = self.int32(field)?;
            Self::classic_length(field, i64::from(n), self.buf.len())
        }
    }

    fn utf8(field: &'static str, bytes: Bytes) -> Result<StrBytes> {
        StrBytes::from_utf8(bytes).map_err(|_| DecodeError::InvalidUtf8 { field })
    }

    fn nullable_string_as(&mut self, field: &'static str, compact: bool) -> Result<Option<StrBytes>> {
        match self.string_length(field, compact)? {
            None => Ok(None),
            Some(n) => Ok(Some(Self::utf8(field, self.sized(field, n)?)?)),
        }
    }

    /// A nullable string (compact when flexible).
    pub fn nullable_string(&mut self, field: &'static str) -> Result<Option<StrBytes>> {
        self.nullable_string_as(field, self.flexible)
    }

    /// A non-null string (compact when flexible); null is a decode error.
    pub fn string(&mut self, field: &'static str) -> Result<StrBytes> {
        self.nullable_string(field)?.ok_or(DecodeError::UnexpectedNull { field })
    }

    /// A classic (int16-length) nullable string whatever the mode: the request header's
    /// client id keeps this encoding even in header v2, for old brokers' sake.
    pub fn classic_nullable_string(&mut self, field: &'static str) -> Result<Option<StrBytes>> {
        self.nullable_string_as(field, false)
    }

    /// Nullable bytes (compact when flexible), as a zero-copy slice.
    pub fn nullable_bytes(&mut self, field: &'static str) -> Result<Option<Bytes>> {
        match self.long_length(field)? {
            None => Ok(None),
            Some(n) => Ok(Some(self.sized(field, n)?)),
        }
    }

    /// Non-null bytes (compact when flexible), as a zero-copy slice.
    pub fn bytes(&mut self, field: &'static str) -> Result<Bytes> {
        self.nullable_bytes(field)?.ok_or(DecodeError::UnexpectedNull { field })
    }

    /// A nullable array (compact when flexible) whose elements `element` decodes.
    ///
    /// The count must not exceed the bytes remaining; the vector grows as elements decode.
    pub fn nullable_array<T>(
        &mut self,
        field: &'static str,
        mut element: impl FnMut(&mut Reader) -> Result<T>,
    ) -> Result<Option<Vec<T>>> {
        let Some(count) = self.long_length(field)? else {
            return Ok(None);
        };
        let remaining = self.buf.len();
        if count > remaining as i64 {
            return Err(DecodeError::InvalidLength { field, length: count, remaining });
        }
        // Capacity from the data, never from the wire: a lying count costs nothing.
        let mut items = Vec::new();
        for _ in 0..count {
            items.push(element(self)?);
        }
        Ok(Some(items))
    }

    /// A non-null array (compact when flexible); null is a decode error.
    pub fn array<T>(&mut self, field: &'static str, element: impl FnMut(&mut Reader) -> Result<T>) -> Result<Vec<T>> {
        self.nullable_array(field, element)?.ok_or(DecodeError::UnexpectedNull { field })
    }

    /// The tagged-field section of a flexible struct (nothing in classic mode).
    ///
    /// `known` is called with each tag and a reader over exactly that field's bytes; it
    /// decodes the tags it knows and ignores the rest, which are thereby skipped (the
    /// broker has no use for tags it does not understand, so they are not kept).
    pub fn tagged_fields(
        &mut self,
        field: &'static str,
        mut known: impl FnMut(u32, &mut Reader) -> Result<()>,
    ) -> Result<()> {
        if !self.flexible {
            return Ok(());
        }
        let count = self.unsigned_varint(field)?;
        let remaining = self.buf.len();
        if count as usize > remaining {
            return Err(DecodeError::InvalidLength { field, length: count.into(), remaining });
        }
        for _ in 0..count {
            let tag = self.unsigned_varint(field)?;
            let size = self.unsigned_varint(field)?;
            let value = self.sized(field, size.into())?;
            known(tag, &mut Reader::new(value, true))?;
        }
        Ok(())
    }

    /// Tagged fields of a struct that defines none: all are skipped.
    pub fn skip_tagged_fields(&mut self, field: &'static str) -> Result<()> {
        self.tagged_fields(field, |_, _| Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn classic(bytes: &[u8]) -> Reader {
        Reader::new(Bytes::copy_from_slice(bytes), false)
    }

    fn flexible(bytes: &[u8]) -> Reader {
        Reader::new(Bytes::copy_from_slice(bytes), true)
    }

    #[test]
    fn fixed_width_integers_are_big_endian_and_checked() {
        let mut r = classic(&[1, 2, 0, 0, 0, 3, 0xff]);
        assert_eq!(r.int16("a").unwrap(), 0x0102);
        assert_eq!(r.int32("b").unwrap(), 3);
        assert_eq!(r.int8("c").unwrap(), -1);
        assert_eq!(r.int64("d"), Err(DecodeError::Truncated { field: "d", needed: 8, remaining: 0 }));
        let mut r = classic(&[0xff, 0xfe, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 2]);
        assert_eq!(r.uint16("u").unwrap(), 0xfffe);
        assert_eq!(r.float64("f").unwrap(), 1.0);
        assert!(r.boolean("b").unwrap());
    }

    #[test]
    fn varints_follow_kafka_and_reject_overlong_encodings() {
        assert_eq!(flexible(&[0x96, 0x01]).unsigned_varint("v").unwrap(), 150);
        assert_eq!(flexible(&[0xff, 0xff, 0xff, 0xff, 0x0f]).unsigned_varint("v").unwrap(), u32::MAX);
        assert!(flexible(&[0xff, 0xff, 0xff, 0xff, 0x1f]).unsigned_varint("v").is_err());
        assert!(flexible(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]).unsigned_varint("v").is_err());
        assert!(flexible(&[0x80]).unsigned_varint("v").is_err());
        assert_eq!(flexible(&[0x01]).varint("v").unwrap(), -1);
        assert_eq!(flexible(&[0x02]).varint("v").unwrap(), 1);
        assert_eq!(flexible(&[0xff, 0xff, 0xff, 0xff, 0x0f]).varint("v").unwrap(), i32::MIN);
        let max = [0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(flexible(&max).varlong("v").unwrap(), i64::MAX);
        assert!(flexible(&[0xff; 10]).varlong("v").is_err());
    }

    #[test]
    fn strings_are_checked_against_the_remaining_bytes() {
        assert_eq!(classic(&[0, 2, b'h', b'i']).string("s").unwrap().as_str(), "hi");
        assert_eq!(classic(&[0xff, 0xff]).nullable_string("s").unwrap(), None);
        assert_eq!(classic(&[0xff, 0xff]).string("s"), Err(DecodeError::UnexpectedNull { field: "s" }));
        assert!(matches!(
            classic(&[0xff, 0xfe]).nullable_string("s"),
            Err(DecodeError::InvalidLength { length: -2, .. })
        ));
        assert!(matches!(
            classic(&[0x7f, 0xff, b'x']).string("s"),
            Err(DecodeError::InvalidLength { length: 32767, remaining: 1, .. })
        ));
        assert_eq!(classic(&[0, 1, 0xff]).string("s"), Err(DecodeError::InvalidUtf8 { field: "s" }));
        assert_eq!(flexible(&[3, b'h', b'i']).string("s").unwrap().as_str(), "hi");
        assert_eq!(flexible(&[0]).nullable_string("s").unwrap(), None);
        assert!(flexible(&[0xff, 0xff, 0xff, 0xff, 0x0f]).string("s").is_err());
        // The header's client id stays classic in a flexible reader.
        assert_eq!(flexible(&[0, 1, b'c']).classic_nullable_string("c").unwrap().unwrap().as_str(), "c");
    }

    #[test]
    fn bytes_are_zero_copy_slices() {
        let input = Bytes::from_static(&[0, 0, 0, 3, 1, 2, 3, 9]);
        let mut r = Reader::new(input.clone(), false);
        let b = r.bytes("b").unwrap();
        assert_eq!(&b[..], &[1, 2, 3]);
        assert_eq!(b.as_ptr(), input[4..].as_ptr());
        assert_eq!(r.remaining(), 1);
        assert_eq!(classic(&[0xff, 0xff, 0xff, 0xff]).nullable_bytes("b").unwrap(), None);
        assert_eq!(flexible(&[0]).nullable_bytes("b").unwrap(), None);
        assert_eq!(&flexible(&[2, 7]).bytes("b").unwrap()[..], &[7]);
        assert!(classic(&[0x7f, 0xff, 0xff, 0xff, 1]).bytes("b").is_err());
    }

    #[test]
    fn array_counts_are_checked_before_allocating() {
        let mut r = classic(&[0x7f, 0xff, 0xff, 0xff, 0, 0, 0, 1]);
        let err = r.array("topics", |r| r.int32("x")).unwrap_err();
        assert_eq!(err, DecodeError::InvalidLength { field: "topics", length: i32::MAX as i64, remaining: 4 });
        let mut r = flexible(&[0xfe, 0xff, 0xff, 0xff, 0x0f, 0]);
        assert!(matches!(r.array("topics", |r| r.int8("x")), Err(DecodeError::InvalidLength { .. })));
        let mut r = classic(&[0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]);
        assert_eq!(r.array("xs", |r| r.int32("x")).unwrap(), vec![1, 2]);
        assert_eq!(flexible(&[0]).nullable_array("xs", |r| r.int8("x")).unwrap(), None);
        assert_eq!(flexible(&[1]).array("xs", |r| r.int8("x")).unwrap(), Vec::<i8>::new());
    }

    #[test]
    fn tagged_fields_decode_known_tags_and_skip_the_rest() {
        // Two fields: tag 0 (a compact string "ab"), tag 7 (3 opaque bytes); then one more byte.
        let mut r = flexible(&[2, 0, 3, 3, b'a', b'b', 7, 3, 1, 2, 3, 42]);
        let mut seen = None;
        r.tagged_fields("tags", |tag, v| {
            if tag == 0 {
                seen = Some(v.string("tags.zero")?);
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(seen.unwrap().as_str(), "ab");
        assert_eq!(r.int8("next").unwrap(), 42);
        assert!(flexible(&[1, 0, 9, 1]).skip_tagged_fields("tags").is_err());
        assert!(flexible(&[0xff, 0xff, 0xff, 0xff, 0x0f]).skip_tagged_fields("tags").is_err());
        // A classic reader has no tagged fields and consumes nothing.
        let mut r = classic(&[5]);
        r.skip_tagged_fields("tags").unwrap();
        assert_eq!(r.remaining(), 1);
    }

    #[test]
    fn uuids_round_trip_through_their_text_form() {
        let raw: Vec<u8> = (0u8..16).collect();
        let id: String = flexible(&raw).uuid("id").unwrap();
        assert_eq!(id, "000102030405060708090a0b0c0d0e0f");
        assert!(flexible(&raw[..15]).uuid::<String>("id").is_err());
    }
}
