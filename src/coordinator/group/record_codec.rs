//! The binary form of [`GroupRecord`]s in `__consumer_offsets`, byte for byte as Apache Kafka
//! 4.1 writes them (GROUPS-AND-TRANSACTIONS.md §2.7), and the bounded decoding of what Kafka
//! or seedlog wrote.
//!
//! A key is an int16 *record type* followed by the key struct at version 0; a value is an
//! int16 version followed by the value struct at that version; a null value is a tombstone.
//! The schemas are Kafka's `group-coordinator/src/main/resources/common/message/*.json`:
//!
//! | type | key {fields} | value versions (flexible) | written |
//! |---|---|---|---|
//! | 0, 1 | OffsetCommitKey {group, topic, partition: int32} | OffsetCommitValue 0–4 (4+) | key 1, value 4 |
//! | 2 | GroupMetadataKey {group} | GroupMetadataValue 0–4 (4+) | value 3 |
//! | 3– | KIP-848 and share/streams group records | — | decoded as `None` |
//!
//! OffsetCommitValue: offset int64, leaderEpoch int32 (v3+, else −1), metadata string,
//! commitTimestamp int64, expireTimestamp int64 (v1 only), topicId uuid (v4+, tagged field 0).
//! Kafka 4.1's `GroupCoordinatorRecordHelpers.offsetCommitValueVersion` writes v1 when the
//! commit carries an explicit expiry and v4 otherwise; seedlog has no explicit expiry and
//! writes v4 with no tagged fields — exactly Kafka's bytes for a commit without a topic id.
//! A decoded expireTimestamp or topicId is dropped ([`OffsetCommitValue`] has neither).
//!
//! GroupMetadataValue: protocolType string, generation int32, protocol string?, leader
//! string?, currentStateTimestamp int64 (v2+, else −1), members [memberId, groupInstanceId
//! string? (v3+), clientId, clientHost, rebalanceTimeout int32 (v1+, else −1), sessionTimeout
//! int32, subscription bytes, assignment bytes]. Kafka 4.1's `newGroupMetadataRecord` writes v3
//! (classic encodings) although v4 (compact encodings, tagged fields) exists; so does seedlog.
//!
//! Decoding goes through the project's bounded [`Reader`]: every length and count is checked
//! against the bytes left before anything is allocated, and every error names the field.
//! Trailing bytes after a key or value are an error.

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::records::{GroupMetadataValue, GroupRecord, MemberMetadata, OffsetCommitValue};
use crate::protocol::{DecodeError, Reader};

/// Record type (key version) of an offset commit as written before Kafka 0.10 (same layout).
pub const LEGACY_OFFSET_COMMIT_KEY: i16 = 0;
/// Record type (key version) of an offset commit.
pub const OFFSET_COMMIT_KEY: i16 = 1;
/// Record type (key version) of a classic group's metadata.
pub const GROUP_METADATA_KEY: i16 = 2;
/// The OffsetCommitValue version Kafka 4.1 writes for a commit without an explicit expiry.
pub const OFFSET_COMMIT_VALUE_VERSION: i16 = 4;
/// The GroupMetadataValue version Kafka 4.1 writes.
pub const GROUP_METADATA_VALUE_VERSION: i16 = 3;
/// The highest value version of either record Kafka 4.1 knows.
const HIGHEST_VALUE_VERSION: i16 = 4;
/// The first flexible version of both values.
const FIRST_FLEXIBLE_VALUE_VERSION: i16 = 4;

/// Why a record could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodecError {
    /// A field does not decode (truncated, bad length, bad UTF-8, unexpected null, ...).
    Field(DecodeError),
    /// A value version this record type does not have.
    UnsupportedValueVersion { record: &'static str, version: i16 },
    /// Bytes left over after the key or value struct.
    TrailingBytes { field: &'static str, remaining: usize },
    /// A string too long for its int16 length prefix (Kafka's serializer refuses it too).
    StringTooLong { field: &'static str, length: usize },
    /// A bytes field or array too long for its int32 length prefix.
    TooLong { field: &'static str, length: usize },
}

impl From<DecodeError> for CodecError {
    fn from(e: DecodeError) -> Self {
        CodecError::Field(e)
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodecError::Field(e) => write!(f, "{e}"),
            CodecError::UnsupportedValueVersion { record, version } => {
                write!(f, "{record}: unsupported value version {version}")
            }
            CodecError::TrailingBytes { field, remaining } => {
                write!(f, "{field}: {remaining} bytes left over")
            }
            CodecError::StringTooLong { field, length } => {
                write!(f, "{field}: string of {length} bytes exceeds {}", i16::MAX)
            }
            CodecError::TooLong { field, length } => write!(f, "{field}: {length} exceeds {}", i32::MAX),
        }
    }
}

impl std::error::Error for CodecError {}

type Result<T> = std::result::Result<T, CodecError>;

/// The key and value (`None` for a tombstone) of `record`, as Kafka 4.1 writes them.
///
/// Fails only on a string longer than 32767 bytes or a bytes field over 2 GiB, which no
/// classic-version field can carry (Kafka's serializer throws for them).
pub fn encode(record: &GroupRecord) -> Result<(Bytes, Option<Bytes>)> {
    match record {
        GroupRecord::OffsetCommit { group_id, topic, partition, value } => {
            let mut key = Writer::new(false);
            key.int16(OFFSET_COMMIT_KEY);
            key.string("group", group_id)?;
            key.string("topic", topic)?;
            key.int32(*partition);
            let value = value.as_ref().map(encode_offset_commit_value).transpose()?;
            Ok((key.finish(), value))
        }
        GroupRecord::GroupMetadata { group_id, value } => {
            let mut key = Writer::new(false);
            key.int16(GROUP_METADATA_KEY);
            key.string("group", group_id)?;
            let value = value.as_ref().map(encode_group_metadata_value).transpose()?;
            Ok((key.finish(), value))
        }
    }
}

fn encode_offset_commit_value(value: &OffsetCommitValue) -> Result<Bytes> {
    let version = OFFSET_COMMIT_VALUE_VERSION;
    let mut w = Writer::new(version >= FIRST_FLEXIBLE_VALUE_VERSION);
    w.int16(version);
    w.int64(value.offset);
    w.int32(value.leader_epoch);
    w.string("metadata", &value.metadata)?;
    w.int64(value.commit_timestamp_ms);
    // No expireTimestamp (v1 only); topicId (tag 0) is absent: seedlog keeps none.
    w.no_tagged_fields();
    Ok(w.finish())
}

fn encode_group_metadata_value(value: &GroupMetadataValue) -> Result<Bytes> {
    let version = GROUP_METADATA_VALUE_VERSION;
    let mut w = Writer::new(version >= FIRST_FLEXIBLE_VALUE_VERSION);
    w.int16(version);
    w.string("protocolType", &value.protocol_type)?;
    w.int32(value.generation_id);
    w.nullable_string("protocol", value.protocol_name.as_deref())?;
    w.nullable_string("leader", value.leader.as_deref())?;
    w.int64(value.current_state_timestamp_ms);
    w.length("members", value.members.len())?;
    for member in &value.members {
        w.string("members[].memberId", &member.member_id)?;
        w.nullable_string("members[].groupInstanceId", member.group_instance_id.as_deref())?;
        w.string("members[].clientId", &member.client_id)?;
        w.string("members[].clientHost", &member.client_host)?;
        w.int32(member.rebalance_timeout_ms);
        w.int32(member.session_timeout_ms);
        w.bytes("members[].subscription", &member.subscription)?;
        w.bytes("members[].assignment", &member.assignment)?;
        w.no_tagged_fields();
    }
    w.no_tagged_fields();
    Ok(w.finish())
}

/// The record a key and value (`None`: tombstone) hold; `Ok(None)` for a record type this
/// codec does not know (KIP-848 and later groups), which a loader skips.
pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<Option<GroupRecord>> {
    let mut k = Reader::new(Bytes::copy_from_slice(key), false);
    let record_type = k.int16("key.version")?;
    match record_type {
        LEGACY_OFFSET_COMMIT_KEY | OFFSET_COMMIT_KEY => {
            let group_id = k.string("key.group")?.to_string();
            let topic = k.string("key.topic")?.to_string();
            let partition = k.int32("key.partition")?;
            finished(&k, "key")?;
            let value = value.map(decode_offset_commit_value).transpose()?;
            Ok(Some(GroupRecord::OffsetCommit { group_id, topic, partition, value }))
        }
        GROUP_METADATA_KEY => {
            let group_id = k.string("key.group")?.to_string();
            finished(&k, "key")?;
            let value = value.map(decode_group_metadata_value).transpose()?;
            Ok(Some(GroupRecord::GroupMetadata { group_id, value }))
        }
        _ => Ok(None),
    }
}

/// The value version and a reader in that version's mode.
fn value_reader(value: &[u8], record: &'static str) -> Result<(i16, Reader)> {
    let mut r = Reader::new(Bytes::copy_from_slice(value), false);
    let version = r.int16("value.version")?;
    if !(0..=HIGHEST_VALUE_VERSION).contains(&version) {
        return Err(CodecError::UnsupportedValueVersion { record, version });
    }
    Ok((version, Reader::new(r.into_rest(), version >= FIRST_FLEXIBLE_VALUE_VERSION)))
}

fn finished(r: &Reader, field: &'static str) -> Result<()> {
    match r.remaining() {
        0 => Ok(()),
        remaining => Err(CodecError::TrailingBytes { field, remaining }),
    }
}

fn decode_offset_commit_value(value: &[u8]) -> Result<OffsetCommitValue> {
    let (version, mut r) = value_reader(value, "OffsetCommitValue")?;
    let offset = r.int64("value.offset")?;
    let leader_epoch = if version >= 3 { r.int32("value.leaderEpoch")? } else { -1 };
    let metadata = r.string("value.metadata")?.to_string();
    let commit_timestamp_ms = r.int64("value.commitTimestamp")?;
    if version == 1 {
        // The explicit expiry of pre-2.1 commits; seedlog expires by retention alone.
        r.int64("value.expireTimestamp")?;
    }
    // Tag 0 is the topicId (v4+), which seedlog does not keep: every tag is skipped.
    r.skip_tagged_fields("value._tagged_fields")?;
    finished(&r, "value")?;
    Ok(OffsetCommitValue { offset, leader_epoch, metadata, commit_timestamp_ms })
}

fn decode_group_metadata_value(value: &[u8]) -> Result<GroupMetadataValue> {
    let (version, mut r) = value_reader(value, "GroupMetadataValue")?;
    let protocol_type = r.string("value.protocolType")?.to_string();
    let generation_id = r.int32("value.generation")?;
    let protocol_name = r.nullable_string("value.protocol")?.map(|s| s.to_string());
    let leader = r.nullable_string("value.leader")?.map(|s| s.to_string());
    let current_state_timestamp_ms = if version >= 2 { r.int64("value.currentStateTimestamp")? } else { -1 };
    let members = r.array("value.members", |r| decode_member(r, version))?;
    r.skip_tagged_fields("value._tagged_fields")?;
    finished(&r, "value")?;
    Ok(GroupMetadataValue { protocol_type, generation_id, protocol_name, leader, current_state_timestamp_ms, members })
}

fn decode_member(r: &mut Reader, version: i16) -> std::result::Result<MemberMetadata, DecodeError> {
    let member_id = r.string("value.members[].memberId")?.to_string();
    let group_instance_id =
        if version >= 3 { r.nullable_string("value.members[].groupInstanceId")?.map(|s| s.to_string()) } else { None };
    let client_id = r.string("value.members[].clientId")?.to_string();
    let client_host = r.string("value.members[].clientHost")?.to_string();
    let rebalance_timeout_ms = if version >= 1 { r.int32("value.members[].rebalanceTimeout")? } else { -1 };
    let session_timeout_ms = r.int32("value.members[].sessionTimeout")?;
    let subscription = r.bytes("value.members[].subscription")?.to_vec();
    let assignment = r.bytes("value.members[].assignment")?.to_vec();
    r.skip_tagged_fields("value.members[]._tagged_fields")?;
    Ok(MemberMetadata {
        member_id,
        group_instance_id,
        client_id,
        client_host,
        rebalance_timeout_ms,
        session_timeout_ms,
        subscription,
        assignment,
    })
}

/// Appends Kafka primitives; classic or flexible (compact lengths, tagged fields) as the
/// struct's version is.
struct Writer {
    buf: BytesMut,
    flexible: bool,
}

impl Writer {
    fn new(flexible: bool) -> Self {
        Writer { buf: BytesMut::new(), flexible }
    }

    fn finish(self) -> Bytes {
        self.buf.freeze()
    }

    fn int16(&mut self, v: i16) {
        self.buf.put_i16(v);
    }

    fn int32(&mut self, v: i32) {
        self.buf.put_i32(v);
    }

    fn int64(&mut self, v: i64) {
        self.buf.put_i64(v);
    }

    fn unsigned_varint(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.buf.put_u8((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.buf.put_u8(v as u8);
    }

    /// A compact length: N + 1, 0 being null.
    fn compact_length(&mut self, field: &'static str, length: Option<usize>) -> Result<()> {
        match length {
            None => self.unsigned_varint(0),
            Some(n) => match u32::try_from(n).ok().and_then(|n| n.checked_add(1)) {
                Some(n) if n <= i32::MAX as u32 => self.unsigned_varint(n),
                _ => return Err(CodecError::TooLong { field, length: n }),
            },
        }
        Ok(())
    }

    fn nullable_string(&mut self, field: &'static str, s: Option<&str>) -> Result<()> {
        if self.flexible {
            self.compact_length(field, s.map(str::len))?;
        } else {
            match s {
                None => self.int16(-1),
                Some(s) => match i16::try_from(s.len()) {
                    Ok(n) => self.int16(n),
                    Err(_) => return Err(CodecError::StringTooLong { field, length: s.len() }),
                },
            }
        }
        if let Some(s) = s {
            self.buf.put_slice(s.as_bytes());
        }
        Ok(())
    }

    fn string(&mut self, field: &'static str, s: &str) -> Result<()> {
        self.nullable_string(field, Some(s))
    }

    /// The length of a bytes field or the count of an array.
    fn length(&mut self, field: &'static str, n: usize) -> Result<()> {
        if self.flexible {
            return self.compact_length(field, Some(n));
        }
        match i32::try_from(n) {
            Ok(n) => self.int32(n),
            Err(_) => return Err(CodecError::TooLong { field, length: n }),
        }
        Ok(())
    }

    fn bytes(&mut self, field: &'static str, b: &[u8]) -> Result<()> {
        self.length(field, b.len())?;
        self.buf.put_slice(b);
        Ok(())
    }

    /// An empty tagged-field section (nothing in classic mode).
    fn no_tagged_fields(&mut self) {
        if self.flexible {
            self.unsigned_varint(0);
        }
    }
}
