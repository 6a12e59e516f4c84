//! How seedlog's controllers exchange the quorum's messages: seedlog's own framing over TCP,
//! not Kafka's KRaft wire APIs (docs/raft.md, "The driver"): only seedlog's controllers talk
//! to each other on the controller listener.
//!
//! Frame: `length: u32` big-endian, then that many bytes of JSON (`serde_json`) of a
//! [`WireFrame`] (the sender's id and a [`Message`]). A frame longer than
//! [`MAX_FRAME_BYTES`], or one that does not decode, closes the connection it came on (never
//! a panic, never an allocation sized by the peer beyond the cap).
//!
//! Between voters, connections are one-way: each voter keeps one outbound connection per
//! other voter (a [`PeerSender`] task) and writes its requests and responses to that voter
//! on it; what the voter says back arrives on its own outbound connection, accepted by this
//! node's listener ([`serve_inbound`]). An observer (a broker) has no listener and is in no
//! voter's peer list: a voter answers it on the connection its request came on
//! ([`ReturnPaths`]), and the observer's peer task reads those answers. A message to a node
//! that is not connected is dropped (Raft retries on its own timers), and the peer task
//! reconnects with a backoff doubling from [`RECONNECT_BACKOFF_MIN_MS`] to
//! [`RECONNECT_BACKOFF_MAX_MS`].
//!
//! The controller listener carries two protocols, told apart by the connection's first
//! byte: [`CHANNEL_RAFT`] for the quorum's messages, [`CHANNEL_CONTROLLER`] for brokers'
//! requests to the active controller, whose connections are handed whole to the
//! controller's server (Kafka, likewise, serves its KRaft and controller APIs on one
//! listener).
//!
//! Every write is flushed (madsim's simulated TCP delivers only on flush), and streams are
//! split with `tokio::io::split` (`into_split` does not exist in simulation).

use super::messages::{Message, NodeId};
use bytes::{BufMut, BytesMut};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
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
pub const CONNECT_TIMEOUT_MS: u64 = 1000;
/// The first byte of a connection that carries quorum messages.
pub const CHANNEL_RAFT: u8 = b'R';
/// The first byte of a connection that carries requests to the active controller.
pub const CHANNEL_CONTROLLER: u8 = b'C';

/// Connections on the controller listener that are not the quorum's: the stream (its
/// channel byte already read) and the peer's address.
pub type SideConnections = mpsc::Sender<(TcpStream, SocketAddr)>;

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

/// The bytes of `frame` on the wire (any JSON-serialisable frame: the quorum's
/// [`WireFrame`]s and the controller channel's requests share the framing).
pub fn encode_frame<T: Serialize>(frame: &T) -> BytesMut {
    let json = serde_json::to_vec(frame).expect("frames always serialize");
    let mut buf = BytesMut::with_capacity(4 + json.len());
    buf.put_u32(json.len() as u32);
    buf.put_slice(&json);
    buf
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub async fn read_frame<T: DeserializeOwned, R: AsyncRead + Unpin>(reader: &mut R) -> Result<Option<T>, FrameError> {
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
pub async fn write_frame<T: Serialize, W: AsyncWrite + Unpin>(writer: &mut W, frame: &T) -> std::io::Result<()> {
    writer.write_all(&encode_frame(frame)).await?;
    writer.flush().await
}

/// Tasks that are aborted when this is dropped: whoever holds it owns them.
#[derive(Debug, Default)]
pub struct OwnedTasks(Vec<JoinHandle<()>>);

impl From<JoinHandle<()>> for OwnedTasks {
    fn from(task: JoinHandle<()>) -> Self {
        OwnedTasks(vec![task])
    }
}

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
    /// Starts the task that keeps a connection from `local_id` to `address`, writes what is
    /// queued, and forwards what the peer answers on it (to an observer) to `inbound`;
    /// returns the queue and the task (owned by the caller).
    pub fn start(
        local_id: NodeId,
        address: SocketAddr,
        inbound: mpsc::Sender<(NodeId, Message)>,
    ) -> (PeerSender, JoinHandle<()>) {
        let (queue, receiver) = mpsc::channel(PEER_QUEUE);
        let task = crate::runtime::spawn(run_peer(local_id, address, receiver, inbound));
        (PeerSender { queue }, task)
    }

    /// Queues `message`; dropped if the queue is full or the task is gone.
    pub fn send(&self, message: Message) {
        let _ = self.queue.try_send(message);
    }
}

async fn run_peer(
    local_id: NodeId,
    address: SocketAddr,
    mut queue: mpsc::Receiver<Message>,
    inbound: mpsc::Sender<(NodeId, Message)>,
) {
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
        let (read, mut write) = tokio::io::split(stream);
        // What the peer answers on this connection (only an observer is answered here).
        let _answers = OwnedTasks::from(crate::runtime::spawn(forward_frames(read, address, inbound.clone())));
        if write.write_all(&[CHANNEL_RAFT]).await.is_err() {
            continue;
        }
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

/// Forwards each frame read from `read` to `inbound`, until the stream ends or fails.
async fn forward_frames<R: AsyncRead + Unpin>(mut read: R, peer: SocketAddr, inbound: mpsc::Sender<(NodeId, Message)>) {
    loop {
        match read_frame::<WireFrame, _>(&mut read).await {
            Ok(Some(frame)) => {
                if inbound.send((frame.from, frame.message)).await.is_err() {
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
}

/// The way back to nodes that connected to this one but are not its peers (observers): the
/// queue into the writer of the latest connection from each.
#[derive(Debug, Clone, Default)]
pub struct ReturnPaths(Arc<Mutex<BTreeMap<NodeId, mpsc::Sender<Message>>>>);

impl ReturnPaths {
    /// Queues `message` for `to` if it has a live connection here; otherwise it is dropped.
    pub fn send(&self, to: NodeId, message: Message) {
        let paths = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(queue) = paths.get(&to) {
            let _ = queue.try_send(message);
        }
    }

    /// Makes `queue` the way back to `from`, unless it already is. Called for every frame, so
    /// the way back is always the connection `from` used last: an older one may be dead
    /// without this node knowing (a restarted observer's old connection, or one a network
    /// partition held and released late).
    fn register(&self, from: NodeId, queue: &mpsc::Sender<Message>) {
        let mut paths = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !paths.get(&from).is_some_and(|current| current.same_channel(queue)) {
            paths.insert(from, queue.clone());
        }
    }
}

/// Accepts connections on `listener`. A quorum connection's frames go, tagged with their
/// sender, to `inbound`, and its sender becomes reachable through `returns`; a controller
/// connection is handed to `side` (closed if there is none). Runs until aborted (its
/// connection tasks go with it) or `inbound` closes.
pub async fn serve_inbound(
    listener: TcpListener,
    local_id: NodeId,
    inbound: mpsc::Sender<(NodeId, Message)>,
    returns: ReturnPaths,
    side: Option<SideConnections>,
) {
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
        let (sender, returns, side) = (inbound.clone(), returns.clone(), side.clone());
        connections.push(crate::runtime::spawn(async move {
            let mut stream = stream;
            let mut channel = [0u8; 1];
            if stream.read_exact(&mut channel).await.is_err() {
                return;
            }
            match channel[0] {
                CHANNEL_RAFT => serve_raft_connection(stream, peer, local_id, sender, returns).await,
                CHANNEL_CONTROLLER => {
                    if let Some(side) = side {
                        let _ = side.send((stream, peer)).await;
                    }
                }
                other => tracing::warn!(name: "raft_connection_refused", peer = %peer, channel = other),
            }
        }));
        if inbound.is_closed() {
            return;
        }
    }
}

/// One inbound quorum connection: frames in, and (once its sender is known) a writer for
/// the answers to a sender that is not a peer.
async fn serve_raft_connection(
    stream: TcpStream,
    peer: SocketAddr,
    local_id: NodeId,
    inbound: mpsc::Sender<(NodeId, Message)>,
    returns: ReturnPaths,
) {
    let (mut read, mut write) = tokio::io::split(stream);
    let (queue, mut answers) = mpsc::channel::<Message>(PEER_QUEUE);
    let _writer = OwnedTasks::from(crate::runtime::spawn(async move {
        while let Some(message) = answers.recv().await {
            if write_frame(&mut write, &WireFrame { from: local_id, message }).await.is_err() {
                return;
            }
        }
    }));
    loop {
        match read_frame::<WireFrame, _>(&mut read).await {
            Ok(Some(frame)) => {
                returns.register(frame.from, &queue);
                if inbound.send((frame.from, frame.message)).await.is_err() {
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
}
