//! The `quorum-state` file: one JSON line in Kafka's format, so Kafka's tools and habits apply.
//!
//! Written (by the shell) as a temp file, fsync, rename, directory fsync. seedlog writes v1
//! (`kraft.version` 0 has no directory ids, so `votedDirectoryId` is always the zero UUID):
//!
//! ```text
//! {"leaderId":1,"leaderEpoch":5,"votedId":2,"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAA","data_version":1}
//! ```
//!
//! It reads v1 and Kafka's v0 (`clusterId`, `appliedOffset`, `currentVoters`, ignored). −1
//! means none. A file that is not exactly this shape is an error that says what is wrong:
//! starting from a guessed state could let a node vote twice in an epoch.
//!
//! The crate has no JSON library among its dependencies, so this file holds a small strict
//! reader for the subset Kafka writes (objects, arrays, strings, integers, null, booleans).

use super::messages::{Epoch, NodeId};
use std::fmt;

/// Kafka's zero UUID in its base64 form: the directory id of every voter at `kraft.version` 0.
pub const ZERO_DIRECTORY_ID: &str = "AAAAAAAAAAAAAAAAAAAAAA";

/// The persisted election state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuorumStateRecord {
    pub leader_id: Option<NodeId>,
    pub leader_epoch: Epoch,
    pub voted_id: Option<NodeId>,
}

/// A `quorum-state` file that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumStateFileError(pub String);

impl fmt::Display for QuorumStateFileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad quorum-state file: {}", self.0)
    }
}

impl std::error::Error for QuorumStateFileError {}

fn err<T>(message: impl Into<String>) -> Result<T, QuorumStateFileError> {
    Err(QuorumStateFileError(message.into()))
}

impl QuorumStateRecord {
    /// The file's bytes: one JSON line, v1.
    pub fn encode(&self) -> Vec<u8> {
        format!(
            "{{\"leaderId\":{},\"leaderEpoch\":{},\"votedId\":{},\"votedDirectoryId\":\"{}\",\"data_version\":1}}\n",
            self.leader_id.unwrap_or(-1),
            self.leader_epoch,
            self.voted_id.unwrap_or(-1),
            ZERO_DIRECTORY_ID
        )
        .into_bytes()
    }

    /// Reads a file written by [`encode`](Self::encode) or by Kafka (v0 or v1).
    pub fn decode(bytes: &[u8]) -> Result<QuorumStateRecord, QuorumStateFileError> {
        let text = std::str::from_utf8(bytes).map_err(|_| QuorumStateFileError("not UTF-8".into()))?;
        let mut parser = Parser { bytes: text.as_bytes(), pos: 0 };
        parser.skip_ws();
        let value = parser.value(0)?;
        parser.skip_ws();
        if parser.pos != parser.bytes.len() {
            return err(format!("unexpected bytes after the JSON object at byte {}", parser.pos));
        }
        let Json::Object(fields) = value else { return err("the file is not a JSON object") };
        let version = match get(&fields, "data_version") {
            Some(Json::Int(v)) => *v,
            Some(_) => return err("data_version is not an integer"),
            None => return err("data_version is missing"),
        };
        let allowed: &[&str] = match version {
            0 => &["clusterId", "leaderId", "leaderEpoch", "votedId", "appliedOffset", "currentVoters", "data_version"],
            1 => &["leaderId", "leaderEpoch", "votedId", "votedDirectoryId", "data_version"],
            v => return err(format!("data_version {v} is not supported (0 and 1 are)")),
        };
        for (key, _) in &fields {
            if !allowed.contains(&key.as_str()) {
                return err(format!("unknown field {key:?} for data_version {version}"));
            }
        }
        if let Some(value) = get(&fields, "votedDirectoryId") {
            match value {
                Json::Str(s) if s == ZERO_DIRECTORY_ID => {}
                Json::Str(s) => {
                    return err(format!("votedDirectoryId {s:?} is not the zero UUID: directory ids need kraft.version 1, which seedlog does not support"))
                }
                _ => return err("votedDirectoryId is not a string"),
            }
        }
        let leader_epoch = int32(&fields, "leaderEpoch")?;
        if leader_epoch < 0 {
            return err(format!("leaderEpoch {leader_epoch} is negative"));
        }
        Ok(QuorumStateRecord {
            leader_id: optional_id(&fields, "leaderId")?,
            leader_epoch,
            voted_id: optional_id(&fields, "votedId")?,
        })
    }
}

fn get<'a>(fields: &'a [(String, Json)], key: &str) -> Option<&'a Json> {
    fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
}

fn int32(fields: &[(String, Json)], key: &str) -> Result<i32, QuorumStateFileError> {
    match get(fields, key) {
        Some(Json::Int(v)) => i32::try_from(*v).or_else(|_| err(format!("{key} {v} does not fit in an int32"))),
        Some(_) => err(format!("{key} is not an integer")),
        None => err(format!("{key} is missing")),
    }
}

fn optional_id(fields: &[(String, Json)], key: &str) -> Result<Option<NodeId>, QuorumStateFileError> {
    match int32(fields, key)? {
        -1 => Ok(None),
        id if id >= 0 => Ok(Some(id)),
        id => err(format!("{key} {id} is neither a node id nor -1")),
    }
}

/// The JSON values Kafka's quorum-state files use.
#[derive(Debug)]
enum Json {
    Null,
    Bool,
    Int(i64),
    Str(String),
    Array,
    Object(Vec<(String, Json)>),
}

/// Nesting beyond this is not a quorum-state file (v0's `currentVoters` needs depth 2).
const MAX_DEPTH: usize = 8;

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn skip_ws(&mut self) {
        while self.pos < self.bytes.len() && matches!(self.bytes[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn expect(&mut self, byte: u8) -> Result<(), QuorumStateFileError> {
        self.skip_ws();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            err(format!("expected '{}' at byte {}", byte as char, self.pos))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, QuorumStateFileError> {
        if depth > MAX_DEPTH {
            return err("nested too deeply");
        }
        self.skip_ws();
        match self.peek() {
            Some(b'{') => self.object(depth),
            Some(b'[') => self.array(depth),
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(b'-' | b'0'..=b'9') => self.integer(),
            Some(b'n') => self.literal("null", Json::Null),
            Some(b't') => self.literal("true", Json::Bool),
            Some(b'f') => self.literal("false", Json::Bool),
            Some(c) => err(format!("unexpected '{}' at byte {}", c as char, self.pos)),
            None => err("the file ends inside the JSON value (empty or truncated)"),
        }
    }

    fn literal(&mut self, word: &str, value: Json) -> Result<Json, QuorumStateFileError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            err(format!("unexpected token at byte {}", self.pos))
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, QuorumStateFileError> {
        self.expect(b'{')?;
        let mut fields: Vec<(String, Json)> = Vec::new();
        self.skip_ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Json::Object(fields));
        }
        loop {
            self.skip_ws();
            let key = self.string()?;
            if fields.iter().any(|(k, _)| *k == key) {
                return err(format!("field {key:?} appears twice"));
            }
            self.expect(b':')?;
            let value = self.value(depth + 1)?;
            fields.push((key, value));
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Json::Object(fields));
                }
                _ => return err(format!("expected ',' or '}}' at byte {}", self.pos)),
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Json, QuorumStateFileError> {
        self.expect(b'[')?;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Json::Array);
        }
        loop {
            self.value(depth + 1)?;
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Json::Array);
                }
                _ => return err(format!("expected ',' or ']' at byte {}", self.pos)),
            }
        }
    }

    fn string(&mut self) -> Result<String, QuorumStateFileError> {
        if self.peek() != Some(b'"') {
            return err(format!("expected a string at byte {}", self.pos));
        }
        self.pos += 1;
        let mut out = String::new();
        loop {
            let Some(c) = self.peek() else { return err("unterminated string") };
            self.pos += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let Some(e) = self.peek() else { return err("unterminated escape") };
                    self.pos += 1;
                    out.push(match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'n' => '\n',
                        b't' => '\t',
                        b'r' => '\r',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        _ => return err(format!("unsupported escape at byte {}", self.pos - 1)),
                    });
                }
                c if c < 0x20 => return err(format!("control character in a string at byte {}", self.pos - 1)),
                _ => {
                    // Copy one UTF-8 character whole (the input is valid UTF-8).
                    let start = self.pos - 1;
                    let len = match c {
                        0x00..=0x7f => 1,
                        0xc0..=0xdf => 2,
                        0xe0..=0xef => 3,
                        _ => 4,
                    };
                    self.pos = start + len;
                    let s = std::str::from_utf8(&self.bytes[start..self.pos])
                        .map_err(|_| QuorumStateFileError("bad UTF-8".into()))?;
                    out.push_str(s);
                }
            }
        }
    }

    fn integer(&mut self) -> Result<Json, QuorumStateFileError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        if matches!(self.peek(), Some(b'.' | b'e' | b'E')) {
            return err(format!("a number at byte {start} is not an integer"));
        }
        let text = std::str::from_utf8(&self.bytes[start..self.pos]).expect("ASCII digits");
        text.parse::<i64>().map(Json::Int).or_else(|_| err(format!("bad integer {text:?} at byte {start}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_v1() {
        let record = QuorumStateRecord { leader_id: Some(3), leader_epoch: 7, voted_id: None };
        let bytes = record.encode();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "{\"leaderId\":3,\"leaderEpoch\":7,\"votedId\":-1,\"votedDirectoryId\":\"AAAAAAAAAAAAAAAAAAAAAA\",\"data_version\":1}\n"
        );
        assert_eq!(QuorumStateRecord::decode(&bytes).unwrap(), record);
    }

    #[test]
    fn reads_kafka_v0() {
        let v0 = br#"{"clusterId":"","leaderId":-1,"leaderEpoch":4,"votedId":2,"appliedOffset":0,"currentVoters":[{"voterId":1},{"voterId":2}],"data_version":0}"#;
        let record = QuorumStateRecord::decode(v0).unwrap();
        assert_eq!(record, QuorumStateRecord { leader_id: None, leader_epoch: 4, voted_id: Some(2) });
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let cases: &[(&[u8], &str)] = &[
            (b"", "truncated"),
            (br#"{"leaderId":1,"leaderEpoch":2,"votedId":-1,"data_version":1"#, "expected ','"),
            (br#"{"leaderId":1,"leaderEpoch":2,"data_version":1}"#, "votedId is missing"),
            (br#"{"leaderId":1,"leaderEpoch":-2,"votedId":-1,"data_version":1}"#, "negative"),
            (br#"{"leaderId":1,"leaderEpoch":2,"votedId":-1,"data_version":7}"#, "not supported"),
            (br#"{"leaderId":1,"leaderEpoch":2.5,"votedId":-1,"data_version":1}"#, "not an integer"),
            (br#"{"leaderId":1,"leaderEpoch":2,"votedId":-1,"extra":0,"data_version":1}"#, "unknown field"),
            (br#"{"leaderId":1,"leaderEpoch":2,"votedId":-1,"votedDirectoryId":"AAAAAAAAAAAAAAAAAAAAAQ","data_version":1}"#, "zero UUID"),
            (br#"{"leaderId":1,"leaderId":1,"leaderEpoch":2,"votedId":-1,"data_version":1}"#, "twice"),
            (br#"{"leaderId":-5,"leaderEpoch":2,"votedId":-1,"data_version":1}"#, "neither a node id"),
            (br#"[1]"#, "not a JSON object"),
        ];
        for (bytes, expected) in cases {
            let error = QuorumStateRecord::decode(bytes).expect_err(&String::from_utf8_lossy(bytes));
            assert!(error.to_string().contains(expected), "{error} should mention {expected:?}");
        }
    }
}
