//! Garbage on the wire leaves the broker running: a Metadata request claiming i32::MAX
//! topics, a frame claiming 2 GiB, random bytes, a truncated request. After each, a fresh
//! connection still gets an ApiVersions answer.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)] // test scaffolding: a real process, real sockets

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{free_port, scratch_dir, BrokerProcess};

/// ApiVersions v0 over a fresh connection: the broker answers with correlation id 7.
fn api_versions_answers(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // size, api_key 18, version 0, correlation id 7, client id null
    let request = [0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 7, 0xff, 0xff];
    if stream.write_all(&request).is_err() {
        return false;
    }
    let mut head = [0u8; 8];
    stream.read_exact(&mut head).is_ok() && head[4..8] == [0, 0, 0, 7]
}

/// ApiVersions at a version from the future: answered at v0 with UNSUPPORTED_VERSION (35)
/// and the broker's own ranges, so the client can retry (KIP-511).
fn too_new_api_versions_is_answered_with_unsupported_version(port: u16) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // size, api_key 18, version 99, correlation id 9, client id null, tagged fields none
    stream.write_all(&[0, 0, 0, 11, 0, 18, 0, 99, 0, 0, 0, 9, 0xff, 0xff, 0]).unwrap();
    let mut head = [0u8; 10];
    stream.read_exact(&mut head).unwrap();
    assert_eq!(head[4..8], [0, 0, 0, 9], "correlation id");
    assert_eq!(i16::from_be_bytes([head[8], head[9]]), 35, "UNSUPPORTED_VERSION");
}

/// Sends `bytes` on a fresh connection and gives the broker a moment to act on them.
fn send_garbage(port: u16, bytes: &[u8]) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let _ = stream.write_all(bytes);
    stream.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let mut sink = [0u8; 1024];
    let _ = stream.read(&mut sink);
}

#[test]
fn garbage_requests_leave_the_broker_running() {
    let dir = scratch_dir("garbage");
    let mut broker = BrokerProcess::start(&dir, free_port());
    assert!(api_versions_answers(broker.port));
    too_new_api_versions_is_answered_with_unsupported_version(broker.port);

    // Metadata v1: header, then a topics array claiming i32::MAX entries.
    let mut metadata = vec![0, 3, 0, 1, 0, 0, 0, 1, 0xff, 0xff];
    metadata.extend_from_slice(&i32::MAX.to_be_bytes());
    let mut frame = (metadata.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&metadata);
    send_garbage(broker.port, &frame);
    assert!(api_versions_answers(broker.port), "after a Metadata claiming i32::MAX topics");

    // Metadata v9 (flexible): a compact array claiming u32::MAX - 1 entries.
    let mut metadata = vec![0, 3, 0, 9, 0, 0, 0, 2, 0xff, 0xff, 0];
    metadata.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
    let mut frame = (metadata.len() as i32).to_be_bytes().to_vec();
    frame.extend_from_slice(&metadata);
    send_garbage(broker.port, &frame);
    assert!(api_versions_answers(broker.port), "after a compact array claiming 4 billion entries");

    // A frame claiming 2 GiB, then a negative size.
    send_garbage(broker.port, &[0x7f, 0xff, 0xff, 0xff, 1, 2, 3]);
    send_garbage(broker.port, &[0xff, 0xff, 0xff, 0xfe]);
    assert!(api_versions_answers(broker.port), "after oversized and negative frame sizes");

    // Pseudo-random bytes, seeded, in many shapes.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    for round in 0..200 {
        let len = 1 + (round * 37) % 300;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        send_garbage(broker.port, &bytes);
    }
    assert!(api_versions_answers(broker.port), "after random bytes");
    assert!(broker.child.try_wait().unwrap().is_none(), "the broker exited");
    drop(broker);
    let _ = std::fs::remove_dir_all(&dir);
}
