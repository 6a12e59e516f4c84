//! One connection to a broker, with pipelining.
//!
//! Many requests may be in flight at once (up to `max_in_flight`). A writer sends each
//! request frame and flushes it (the simulated TcpStream delivers only on flush); a reader
//! task reads response frames and hands each to the request it answers. Kafka brokers answer
//! in request order, so the in-flight requests form a queue and every response must carry
//! the correlation id of the queue's head; anything else breaks the connection. A request
//! that gets no answer within the request timeout closes the connection (as Kafka's clients
//! do): after that nothing on the stream can be trusted to line up.
//!
//! Invariants: a frame is written whole or the connection is closed; a pending request is
//! answered exactly once (a response, or the error that closed the connection).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::protocol::{Encodable, Request, StrBytes};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadHalf};
use tokio::sync::{oneshot, OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use tracing::debug;

use super::api_versions::{ApiVersionTable, API_VERSIONS_FIRST_TRY};
use super::error::{code, ClientError, Result};
use super::framing::{self, DEFAULT_MAX_RESPONSE_BYTES};

/// How a connection behaves.
#[derive(Debug, Clone)]
pub struct ConnectionConfig {
    /// The `client.id` sent in every request header.
    pub client_id: String,
    /// Requests in flight at once on this connection (Kafka's
    /// `max.in.flight.requests.per.connection`).
    pub max_in_flight: usize,
    /// How long a request may wait for its response (including waiting for a free slot).
    pub request_timeout: Duration,
    /// How long connecting and negotiating versions may take.
    pub connect_timeout: Duration,
    /// The largest response frame accepted.
    pub max_response_bytes: usize,
}

impl Default for ConnectionConfig {
    fn default() -> Self {
        ConnectionConfig {
            client_id: "seedlog-client".to_owned(),
            max_in_flight: 5,
            request_timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            max_response_bytes: DEFAULT_MAX_RESPONSE_BYTES,
        }
    }
}

type BoxedWriter = Box<dyn AsyncWrite + Send + Unpin>;

/// One connection to one broker. Cheap to share behind an `Arc`; closing happens on the
/// first error, on [`Connection::close`], or when the last handle is dropped.
pub struct Connection {
    peer: String,
    config: ConnectionConfig,
    shared: Arc<Shared>,
    writer: tokio::sync::Mutex<BoxedWriter>,
    versions: OnceLock<ApiVersionTable>,
    reader: JoinHandle<()>,
}

struct Shared {
    state: Mutex<State>,
    slots: Arc<Semaphore>,
}

#[derive(Default)]
struct State {
    next_correlation_id: i32,
    pending: VecDeque<Pending>,
    closed: Option<ClientError>,
}

struct Pending {
    correlation_id: i32,
    api_key: ApiKey,
    api_version: i16,
    reply: oneshot::Sender<Result<Bytes>>,
    _slot: OwnedSemaphorePermit,
}

impl Connection {
    /// Connects to `host:port` and negotiates API versions.
    pub async fn connect(address: &str, config: ConnectionConfig) -> Result<Connection> {
        let connect_timeout = config.connect_timeout;
        let connected = tokio::time::timeout(connect_timeout, async {
            let stream = tokio::net::TcpStream::connect(address)
                .await
                .map_err(|e| ClientError::Connection(format!("connect to {address}: {e}")))?;
            let _ = stream.set_nodelay(true);
            let connection = Connection::from_stream(stream, address.to_owned(), config);
            connection.negotiate_versions().await?;
            Ok(connection)
        })
        .await;
        connected.unwrap_or_else(|_| Err(ClientError::Timeout(format!("connect to {address}"))))
    }

    /// Wraps an open byte stream without negotiating versions (see
    /// [`Connection::negotiate_versions`]). Spawns the reader task on the current runtime.
    pub fn from_stream<S>(stream: S, peer: String, config: ConnectionConfig) -> Connection
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (read_half, write_half) = tokio::io::split(stream);
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            slots: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
        });
        let reader = crate::runtime::spawn(read_responses(read_half, shared.clone(), config.max_response_bytes));
        let writer: BoxedWriter = Box::new(write_half);
        Connection { peer, config, shared, writer: tokio::sync::Mutex::new(writer), versions: OnceLock::new(), reader }
    }

    /// The address this connection was opened to.
    pub fn peer(&self) -> &str {
        &self.peer
    }

    /// Whether the connection is closed (it never reopens; connect anew).
    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed.is_some()
    }

    /// Requests written and not yet answered.
    pub fn in_flight(&self) -> usize {
        self.shared.lock().pending.len()
    }

    /// Closes the connection, failing every request in flight with [`ClientError::Closed`].
    pub fn close(&self) {
        self.shared.close(ClientError::Closed);
        self.reader.abort();
    }

    /// The version agreed for `api_key`: the highest both sides support.
    pub fn version(&self, api_key: ApiKey) -> Result<i16> {
        let table = self
            .versions
            .get()
            .ok_or_else(|| ClientError::Config(format!("versions not negotiated with {}", self.peer)))?;
        table.pick(api_key).ok_or_else(|| ClientError::unsupported_api(api_key))
    }

    /// The negotiated table, if [`Connection::negotiate_versions`] ran.
    pub fn versions(&self) -> Option<&ApiVersionTable> {
        self.versions.get()
    }

    /// Sends `request` at `version` and waits for its response.
    pub async fn send<R: Request>(&self, request: &R, version: i16) -> Result<R::Response> {
        let api_key = api_key_of::<R>()?;
        let body = self.send_encodable(api_key, version, request, true).await?;
        framing::decode_body(api_key, version, body.unwrap_or_default())
    }

    /// Sends `request` at the negotiated version; returns the version used and the response.
    pub async fn send_negotiated<R: Request>(&self, request: &R) -> Result<(i16, R::Response)> {
        let version = self.version(api_key_of::<R>()?)?;
        Ok((version, self.send(request, version).await?))
    }

    /// Sends a request the broker does not answer (Produce with acks=0); returns once the
    /// frame is flushed.
    pub async fn send_without_response<R: Request>(&self, request: &R, version: i16) -> Result<()> {
        let api_key = api_key_of::<R>()?;
        self.send_encodable(api_key, version, request, false).await.map(|_| ())
    }

    /// Asks the broker for its API versions and records the agreed table. Tries
    /// ApiVersions v3; a broker that does not know it answers UNSUPPORTED_VERSION in a v0
    /// body listing its own range, and the client retries at the broker's highest version.
    pub async fn negotiate_versions(&self) -> Result<()> {
        let mut version = API_VERSIONS_FIRST_TRY;
        for _ in 0..2 {
            let request = ApiVersionsRequest::default()
                .with_client_software_name(StrBytes::from_static_str("seedlog"))
                .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
            let body = self.send_encodable(ApiKey::ApiVersions, version, &request, true).await?;
            let body = body.unwrap_or_default();
            let response: ApiVersionsResponse = framing::decode_body(ApiKey::ApiVersions, version, body.clone())
                .or_else(|_| framing::decode_body(ApiKey::ApiVersions, 0, body))?;
            match response.error_code {
                code::NONE => {
                    let table = ApiVersionTable::from_response(&response);
                    debug!(name: "client_versions_negotiated", peer = %self.peer, api_versions = version);
                    let _ = self.versions.set(table);
                    return Ok(());
                }
                code::UNSUPPORTED_VERSION => {
                    let table = ApiVersionTable::from_response(&response);
                    let broker_max = table.broker_range(ApiKey::ApiVersions).map_or(0, |(_, max)| max);
                    version = broker_max.clamp(0, API_VERSIONS_FIRST_TRY);
                }
                other => return Err(ClientError::kafka(other, format!("ApiVersions to {}", self.peer))),
            }
        }
        Err(ClientError::unsupported_api(ApiKey::ApiVersions))
    }

    /// Writes one request frame; with `expect_response`, waits for and returns the
    /// response body (header stripped).
    async fn send_encodable<E: Encodable>(
        &self,
        api_key: ApiKey,
        api_version: i16,
        body: &E,
        expect_response: bool,
    ) -> Result<Option<Bytes>> {
        let timeout = self.config.request_timeout;
        let what = format!("{api_key:?} v{api_version} to {}", self.peer);
        let slot = match tokio::time::timeout(timeout, self.shared.slots.clone().acquire_owned()).await {
            Ok(Ok(slot)) => slot,
            Ok(Err(_)) => return Err(self.closed_error()),
            Err(_) => return Err(ClientError::Timeout(format!("{what}: no free in-flight slot"))),
        };
        // The write is bounded too: a peer that stopped reading (frozen, or cut off without a
        // reset) must not hold this request, and every later one, forever.
        let written =
            tokio::time::timeout(timeout, self.write_request(api_key, api_version, body, expect_response, slot));
        let reply = match written.await {
            Ok(reply) => reply?,
            Err(_) => {
                let error = ClientError::Timeout(format!("{what}: the request could not be written"));
                self.shared.close(error.clone());
                self.reader.abort();
                return Err(error);
            }
        };
        let Some(reply) = reply else { return Ok(None) };
        match tokio::time::timeout(timeout, reply).await {
            Ok(Ok(result)) => result.map(Some),
            Ok(Err(_)) => Err(self.closed_error()),
            Err(_) => {
                let error = ClientError::Timeout(what);
                self.shared.close(error.clone());
                self.reader.abort();
                Err(error)
            }
        }
    }

    async fn write_request<E: Encodable>(
        &self,
        api_key: ApiKey,
        api_version: i16,
        body: &E,
        expect_response: bool,
        slot: OwnedSemaphorePermit,
    ) -> Result<Option<oneshot::Receiver<Result<Bytes>>>> {
        let mut writer = self.writer.lock().await;
        // Ids are taken and pending entries queued under the writer lock, so the queue's
        // order is the order of frames on the wire. Encoding happens outside the state lock
        // the reader task needs.
        let correlation_id = {
            let mut state = self.shared.lock();
            if let Some(error) = &state.closed {
                return Err(error.clone());
            }
            let id = state.next_correlation_id;
            state.next_correlation_id = id.wrapping_add(1);
            id
        };
        let frame = framing::encode_request(api_key, api_version, correlation_id, &self.config.client_id, body)?;
        let receiver = {
            let mut state = self.shared.lock();
            if let Some(error) = &state.closed {
                return Err(error.clone());
            }
            expect_response.then(|| {
                let (reply, receiver) = oneshot::channel();
                state.pending.push_back(Pending { correlation_id, api_key, api_version, reply, _slot: slot });
                receiver
            })
        };
        // Closes the connection if this future is dropped mid-write (a torn frame).
        let mut guard = CloseOnDrop(Some(&self.shared));
        let written = async {
            writer.write_all(&frame).await?;
            writer.flush().await
        }
        .await;
        guard.0 = None;
        if let Err(error) = written {
            let error = ClientError::Connection(format!("write to {}: {error}", self.peer));
            self.shared.close(error.clone());
            return Err(error);
        }
        Ok(receiver)
    }

    fn closed_error(&self) -> ClientError {
        self.shared.lock().closed.clone().unwrap_or(ClientError::Closed)
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.shared.close(ClientError::Closed);
        self.reader.abort();
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("peer", &self.peer).field("closed", &self.is_closed()).finish()
    }
}

struct CloseOnDrop<'a>(Option<&'a Shared>);

impl Drop for CloseOnDrop<'_> {
    fn drop(&mut self) {
        if let Some(shared) = self.0.take() {
            shared.close(ClientError::Connection("request cancelled mid-write".into()));
        }
    }
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks the connection closed (first reason wins) and fails every pending request.
    fn close(&self, error: ClientError) {
        let (pending, reason) = {
            let mut state = self.lock();
            let reason = state.closed.get_or_insert(error).clone();
            (std::mem::take(&mut state.pending), reason)
        };
        for request in pending {
            let _ = request.reply.send(Err(reason.clone()));
        }
        self.slots.close();
    }
}

/// The reader task: matches each response frame to the head of the pending queue.
async fn read_responses<S: AsyncRead>(mut reader: ReadHalf<S>, shared: Arc<Shared>, max_bytes: usize) {
    let error = loop {
        let frame = match framing::read_frame(&mut reader, max_bytes).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break ClientError::Connection("closed by the broker".into()),
            Err(error) => break error,
        };
        let correlation_id = match framing::peek_correlation_id(&frame) {
            Ok(id) => id,
            Err(error) => break error,
        };
        let head = shared.lock().pending.pop_front();
        let Some(request) = head else {
            break ClientError::Protocol(format!("response {correlation_id} with no request in flight"));
        };
        if request.correlation_id != correlation_id {
            let expected = request.correlation_id;
            shared.lock().pending.push_front(request);
            break ClientError::Protocol(format!("response {correlation_id} while expecting {expected}"));
        }
        let body = framing::strip_response_header(request.api_key, request.api_version, frame);
        let _ = request.reply.send(body); // the caller may have given up: fine
    };
    debug!(name: "client_connection_closed", error = %error);
    shared.close(error);
}

fn api_key_of<R: Request>() -> Result<ApiKey> {
    ApiKey::try_from(R::KEY).map_err(|_| ClientError::Config(format!("unknown api key {}", R::KEY)))
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
