//! Size-prefixed framing: every Kafka request and response is a 4-byte big-endian size
//! followed by that many bytes.
//!
//! The size is untrusted. A negative size, or one above `socket.request.max.bytes`, is an
//! error before anything is allocated, and the frame buffer grows only as bytes actually
//! arrive (reads start at 4 KiB and at most double what has arrived), so a client that
//! claims 100 MiB and sends 10 bytes costs a few KiB, not 100 MiB.
//!
//! [`FrameReader`] keeps what it has read in its own buffer, so a read abandoned halfway
//! (a `select!` that took another branch) loses nothing: the broker reads the next request
//! while it waits for an earlier one's answer (see `broker::connection`).
//!
//! Writing does not flush: a connection writes its pipelined responses with
//! [`write_frame`] (or `write_all` of an encoded response, which carries its own size
//! prefix) and then calls `flush()` once. The caller must flush — in simulation madsim's
//! TcpStream delivers nothing until it does, and in production a `BufWriter` holds it back.

use std::fmt;
use std::io;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Kafka's default `socket.request.max.bytes` (100 MiB).
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 104_857_600;

/// The first read of a frame body is at most this large; later reads at most double it.
const FIRST_READ_BYTES: usize = 4096;

/// A frame whose size prefix is negative or above the limit. Carried inside the
/// `io::Error` (kind `InvalidData`) that [`FrameReader`] returns; find it with
/// `err.get_ref().and_then(|e| e.downcast_ref::<FrameSizeError>())`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameSizeError {
    /// The size prefix as sent (big-endian int32).
    pub size: i32,
    pub max_bytes: usize,
}

impl fmt::Display for FrameSizeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "frame size {} is invalid (socket.request.max.bytes is {})", self.size, self.max_bytes)
    }
}

impl std::error::Error for FrameSizeError {}

/// Reads size-prefixed frames from a stream.
///
/// Invariants:
/// - `buffer` holds the bytes read and not yet returned, starting at a frame's size prefix;
/// - it holds at most the front frame (4 bytes if its size has not arrived) and 4 KiB more:
///   reads are sized by what has arrived, never by an unchecked prefix.
#[derive(Debug)]
pub struct FrameReader {
    buffer: BytesMut,
    max_bytes: usize,
}

impl FrameReader {
    /// A reader of frames of at most `max_bytes` (`socket.request.max.bytes`).
    pub fn new(max_bytes: usize) -> FrameReader {
        FrameReader { buffer: BytesMut::new(), max_bytes }
    }

    /// Reads the next frame and returns its contents without the size prefix. Cancel-safe.
    ///
    /// `Ok(None)` on a clean end of stream between frames; an end of stream inside a frame is
    /// `UnexpectedEof`; a bad size is `InvalidData` wrapping [`FrameSizeError`].
    pub async fn read_frame<R: AsyncRead + Unpin>(&mut self, reader: &mut R) -> io::Result<Option<Bytes>> {
        loop {
            if let Some(frame) = self.next_frame()? {
                return Ok(Some(frame));
            }
            if !self.fill(reader).await? {
                return Ok(None);
            }
        }
    }

    /// The next frame among the bytes already read, if they hold a whole one.
    pub fn next_frame(&mut self) -> io::Result<Option<Bytes>> {
        let Some(len) = self.frame_len()? else { return Ok(None) };
        if self.buffer.len() < 4 + len {
            return Ok(None);
        }
        let mut frame = self.buffer.split_to(4 + len);
        frame.advance(4);
        Ok(Some(frame.freeze()))
    }

    /// Reads more of the stream into the buffer: `Ok(false)` at a clean end of stream (no
    /// partial frame held). Cancel-safe: what a read returns is kept even if the caller
    /// stops waiting right after.
    pub async fn fill<R: AsyncRead + Unpin>(&mut self, reader: &mut R) -> io::Result<bool> {
        let held = self.buffer.len();
        let want = match self.frame_len()? {
            // A whole frame is held: take it first (this keeps the buffer to one frame).
            Some(len) if held >= 4 + len => return Ok(true),
            // At most double what has arrived: the size prefix is a claim, not a fact.
            Some(len) => (4 + len - held).min(held.max(FIRST_READ_BYTES)).max(FIRST_READ_BYTES),
            None => FIRST_READ_BYTES,
        };
        self.buffer.reserve(want);
        if reader.read_buf(&mut (&mut self.buffer).limit(want)).await? > 0 {
            self.check_invariants();
            return Ok(true);
        }
        match self.frame_len()? {
            None if held == 0 => Ok(false),
            None => Err(io::Error::new(io::ErrorKind::UnexpectedEof, "end of stream in a frame size")),
            Some(len) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("end of stream after {} of {len} frame bytes", held - 4),
            )),
        }
    }

    fn check_invariants(&self) {
        let front = 4 + self.frame_len().ok().flatten().unwrap_or(0);
        assert!(self.buffer.len() <= front + FIRST_READ_BYTES, "{} bytes held, front frame {front}", self.buffer.len());
    }

    /// The size of the frame at the front, once its prefix has arrived; an error if the
    /// prefix is negative or above the limit.
    fn frame_len(&self) -> io::Result<Option<usize>> {
        let Some(prefix) = self.buffer.first_chunk::<4>() else { return Ok(None) };
        let size = i32::from_be_bytes(*prefix);
        match usize::try_from(size) {
            Ok(len) if len <= self.max_bytes => Ok(Some(len)),
            _ => Err(io::Error::new(io::ErrorKind::InvalidData, FrameSizeError { size, max_bytes: self.max_bytes })),
        }
    }
}

/// Writes `payload` with its size prefix. Does not flush (see the module docs).
pub async fn write_frame<W: AsyncWrite + Unpin>(writer: &mut W, payload: &[u8]) -> io::Result<()> {
    let size = i32::try_from(payload.len())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "frame larger than 2 GiB"))?;
    writer.write_all(&size.to_be_bytes()).await?;
    writer.write_all(payload).await
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R, max_bytes: usize) -> io::Result<Option<Bytes>> {
        FrameReader::new(max_bytes).read_frame(reader).await
    }

    async fn read_all(input: &[u8], max_bytes: usize) -> Vec<io::Result<Option<Bytes>>> {
        let mut reader = input;
        let mut frames = FrameReader::new(max_bytes);
        let mut out = Vec::new();
        loop {
            let result = frames.read_frame(&mut reader).await;
            let stop = !matches!(result, Ok(Some(_)));
            out.push(result);
            if stop {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn frames_round_trip_and_clean_eof_is_none() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"hello").await.unwrap();
        write_frame(&mut wire, b"").await.unwrap();
        let big = vec![7u8; 100_000];
        write_frame(&mut wire, &big).await.unwrap();
        let frames = read_all(&wire, DEFAULT_MAX_REQUEST_BYTES).await;
        assert_eq!(frames.len(), 4);
        assert_eq!(&frames[0].as_ref().unwrap().as_ref().unwrap()[..], b"hello");
        assert_eq!(frames[1].as_ref().unwrap().as_ref().unwrap().len(), 0);
        assert_eq!(&frames[2].as_ref().unwrap().as_ref().unwrap()[..], &big[..]);
        assert!(frames[3].as_ref().unwrap().is_none());
    }

    #[tokio::test]
    async fn oversized_and_negative_sizes_are_refused_before_reading_the_body() {
        for prefix in [0x8000_0000u32, 0xffff_ffff, 0x7fff_ffff, 1001] {
            let mut reader = &prefix.to_be_bytes()[..];
            let err = read_frame(&mut reader, 1000).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
            let inner = err.get_ref().and_then(|e| e.downcast_ref::<FrameSizeError>()).unwrap();
            assert_eq!(inner.size, prefix as i32);
        }
    }

    #[tokio::test]
    async fn eof_inside_a_frame_is_unexpected() {
        for input in [&[0u8, 0][..], &[0, 0, 0, 5, 1, 2][..]] {
            let err = read_frame(&mut &input[..], 1000).await.unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        }
    }

    #[tokio::test]
    async fn the_buffer_grows_with_the_data_not_the_claim() {
        // The frame claims 100 MiB; the stream ends after 10 bytes. The reads it made must
        // have asked for a few KiB, not the claimed size.
        let mut input = (DEFAULT_MAX_REQUEST_BYTES as u32).to_be_bytes().to_vec();
        input.extend_from_slice(&[1; 10]);
        let mut probe = Probe { data: &input, largest_read: 0, most_per_read: usize::MAX };
        let err = read_frame(&mut probe, DEFAULT_MAX_REQUEST_BYTES).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(probe.largest_read <= FIRST_READ_BYTES, "{}", probe.largest_read);
    }

    /// A stream over `data` that hands out at most `most_per_read` bytes per read and
    /// remembers the largest read asked for.
    struct Probe<'a> {
        data: &'a [u8],
        largest_read: usize,
        most_per_read: usize,
    }

    impl AsyncRead for Probe<'_> {
        fn poll_read(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
            buf: &mut tokio::io::ReadBuf<'_>,
        ) -> std::task::Poll<io::Result<()>> {
            self.largest_read = self.largest_read.max(buf.remaining());
            let n = buf.remaining().min(self.data.len()).min(self.most_per_read);
            buf.put_slice(&self.data[..n]);
            self.data = &self.data[n..];
            std::task::Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn frames_arriving_a_byte_at_a_time_come_out_whole() {
        let mut wire = Vec::new();
        for payload in [&b"one"[..], b"", b"three"] {
            write_frame(&mut wire, payload).await.unwrap();
        }
        let mut frames = FrameReader::new(1000);
        let mut trickle = Probe { data: &wire, largest_read: 0, most_per_read: 1 };
        for payload in [&b"one"[..], b"", b"three"] {
            assert_eq!(&frames.read_frame(&mut trickle).await.unwrap().unwrap()[..], payload);
        }
        assert!(frames.read_frame(&mut trickle).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_read_abandoned_halfway_loses_nothing() {
        let mut wire = Vec::new();
        write_frame(&mut wire, b"hello world").await.unwrap();
        let (mut client, mut server) = tokio::io::duplex(1024);
        let mut frames = FrameReader::new(1000);
        client.write_all(&wire[..7]).await.unwrap();
        let abandoned = tokio::time::timeout(std::time::Duration::from_millis(10), frames.read_frame(&mut server));
        assert!(abandoned.await.is_err(), "half a frame is not a frame");
        client.write_all(&wire[7..]).await.unwrap();
        assert_eq!(&frames.read_frame(&mut server).await.unwrap().unwrap()[..], b"hello world");
    }
}
