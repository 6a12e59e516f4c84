//! How seedlog's controllers exchange the quorum's messages: seedlog's own framing over TCP,
//! not Kafka's KRaft wire APIs (docs/raft.md, "The driver"): only seedlog's controllers talk
//! to each other on the controller listener.
//!
//! Frame: `length: u32` big-endian, then that many bytes of JSON (`serde_json`) of a
//! [`WireFrame`] (the sender's id and a [`Message`]). A frame longer than
//! [`MAX_FRAME_BYTES`], or one that does not decode, closes the connection it came on (never
//! a panic, never an allocation sized by the peer beyond the cap).
//!
//! Connections are one-way: each node keeps one outbound connection per peer (a
//! [`PeerSender`] task) and writes its requests and responses to that peer on it; what the
//! peer says back arrives on the peer's own outbound connection, accepted by this node's
//! listener ([`serve_inbound`]). A message to a peer that is not connected is dropped (Raft
//! retries on its own timers), and the peer task reconnects with a backoff doubling from
//! [`RECONNECT_BACKOFF_MIN_MS`] to [`RECONNECT_BACKOFF_MAX_MS`].
//!
//! Every write is flushed (madsim's simulated TCP delivers only on flush), and streams are
//! split with `tokio::io::split` (`into_split` does not exist in simulation).

use super::messages::{Message, NodeId};
use bytes::{BufMut, BytesMut};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The largest frame a controller accepts (16 MiB: a Fetch response carries at most
/// `fetch_max_bytes`, 8 MiB by default, which JSON at most doubles for typical payloads).
pub const MAX_FRAME_BYTES: usize = 16 << 20;
/// Messages queued for one peer; more are dropped (Raft retries).
pub const PEER_QUEUE: usize = 1024;
pub const RECONNECT_BACKOFF_MIN_MS: u64 = 50;
pub const RECONNECT_BACKOFF_MAX_MS: u64 = 1000;
/// A connect that takes longer fails (a real network may never answer).
const CONNECT_TIMEOUT_MS: u64 = 1000;

/// What travels in one frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireFrame {
    pub from: NodeId,
    pub message: Message,
}

/// Why a frame was refused (the connection is then closed).
#[derive(Debug)]
pub enum FrameError {
    Io(std::io::Error),
    TooLarge(usize),
    Undecodable(serde_json::Error),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Io(e) => write!(f, "{e}"),
            FrameError::TooLarge(n) => write!(f, "frame of {n} bytes exceeds the {MAX_FRAME_BYTES}-byte cap"),
            FrameError::Undecodable(e) => write!(f, "undecodable frame: {e}"),
        }
    }
}

/// The bytes of `frame` on the wire.
pub fn encode_frame(frame: &WireFrame) -> BytesMut {
    let json = serde_json::to_vec(frame).expect("quorum messages always serialize");
    let mut buf = BytesMut::with_capacity(4 + json.len());
    buf.put_u32(json.len() as u32);
    buf.put_slice(&json);
    buf
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub async fn read_frame<R: AsyncRead + Unpin>(reader: &mut R) -> Result<Option<WireFrame>, FrameError> {
    let mut len = [0u8; 4];
    match reader.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(FrameError::Io(e)),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME_BYTES {
        return Err(FrameError::TooLarge(len));
    }
    let mut body = vec![0u8; len];
    reader.read_exact(&mut body).await.map_err(FrameError::Io)?;
    serde_json::from_slice(&body).map(Some).map_err(FrameError::Undecodable)
}

/// Writes one frame and flushes it.
pub async fn write_frame<W: AsyncWrite + Unpin>(writer: &mut W, frame: &WireFrame) -> std::io::Result<()> {
    writer.write_all(&encode_frame(frame)).await?;
    writer.flush().await
}

/// Tasks that are aborted when this is dropped: whoever holds it owns them.
#[derive(Debug, Default)]
pub struct OwnedTasks(Vec<JoinHandle<()>>);

impl OwnedTasks {
    pub fn push(&mut self, task: JoinHandle<()>) {
        self.0.retain(|t| !t.is_finished());
        self.0.push(task);
    }
}

impl Drop for OwnedTasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// The queue into one peer's connection task.
#[derive(Debug, Clone)]
pub struct PeerSender {
    queue: mpsc::Sender<Message>,
}

impl PeerSender {
    /// Starts the task that keeps a connection from `local_id` to `address` and writes what
    /// is queued; returns the queue and the task (owned by the caller).
    pub fn start(local_id: NodeId, address: SocketAddr) -> (PeerSender, JoinHandle<()>) {
        let (queue, receiver) = mpsc::channel(PEER_QUEUE);
        let task = crate::runtime::spawn(run_peer(local_id, address, receiver));
        (PeerSender { queue }, task)
    }

    /// Queues `message`; dropped if the queue is full or the task is gone.
    pub fn send(&self, message: Message) {
        let _ = self.queue.try_send(message);
    }
}

async fn run_peer(local_id: NodeId, address: SocketAddr, mut queue: mpsc::Receiver<Message>) {
    let mut backoff_ms = RECONNECT_BACKOFF_MIN_MS;
    loop {
        let connect = tokio::time::timeout(Duration::from_millis(CONNECT_TIMEOUT_MS), TcpStream::connect(address));
        let stream = match connect.await {
            Ok(Ok(stream)) => stream,
            _ => {
                // Unreachable: what was queued meanwhile is dropped (Raft retries).
                while queue.try_recv().is_ok() {}
                tokio::time::sleep(Duration::from_millis(backoff_ms)).await;
                while queue.try_recv().is_ok() {}
                backoff_ms = (backoff_ms * 2).min(RECONNECT_BACKOFF_MAX_MS);
                continue;
            }
        };
        backoff_ms = RECONNECT_BACKOFF_MIN_MS;
        let _ = stream.set_nodelay(true);
        let (_read, mut write) = tokio::io::split(stream);
        loop {
            let Some(message) = queue.recv().await else { return };
            let frame = WireFrame { from: local_id, message };
            if let Err(error) = write_frame(&mut write, &frame).await {
                tracing::debug!(name: "raft_peer_disconnected", peer = %address, error = %error);
                break;
            }
        }
    }
}

/// Accepts connections on `listener` and forwards every frame, tagged with its sender, to
/// `inbound`. Runs until aborted (its connection tasks go with it) or `inbound` closes.
pub async fn serve_inbound(listener: TcpListener, inbound: mpsc::Sender<(NodeId, Message)>) {
    let mut connections = OwnedTasks::default();
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(10)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let sender = inbound.clone();
        connections.push(crate::runtime::spawn(async move {
            let (mut read, _write) = tokio::io::split(stream);
            loop {
                match read_frame(&mut read).await {
                    Ok(Some(frame)) => {
                        if sender.send((frame.from, frame.message)).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => return,
                    Err(error) => {
                        tracing::warn!(name: "raft_frame_refused", peer = %peer, error = %error);
                        return;
                    }
                }
            }
        }));
        if inbound.is_closed() {
            return;
        }
    }
}
