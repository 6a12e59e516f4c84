//! One client connection: frames in, responses out, in request order.
//!
//! Requests are served one at a time per connection, like Kafka (which mutes a channel
//! while its request is in flight), with one exception: produce requests. A produce's
//! appends happen in request order, but an acks=all answer waits for the records to be
//! durable (the high watermark is the fsynced offset, see `partition/`), and Kafka's
//! one-at-a-time rule would then give every pipelined produce an fsync of its own. So while
//! up to [`PIPELINED_PRODUCES`] produce answers wait, the connection reads and appends the
//! next produce request, and one group-commit fsync covers them all. Any other request
//! first waits until every earlier answer has been sent, so it sees the connection exactly
//! as one-at-a-time serving would. Answers always leave in request order.
//!
//! A request that cannot be decoded closes the connection with a log line, as Kafka does;
//! the one exception is an ApiVersions request at a version we do not know, answered at v0
//! with UNSUPPORTED_VERSION so the client can retry with one we do (KIP-511).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tracing::{debug, info, warn};

use super::context::BrokerContext;
use super::handlers::{dispatch, Answer, Encoded};
use crate::protocol::{self, api_versions_response, encode_response, FrameReader, Request, RequestError};

/// The ApiVersions api key.
const API_VERSIONS: i16 = 18;

/// How many produce answers may wait for durability while the connection reads on: the
/// default `max.in.flight.requests.per.connection` of the Java client and librdkafka.
pub const PIPELINED_PRODUCES: usize = 5;

/// An answer not yet sent: ready, or waiting for its records to be durable.
type Waiting = Pin<Box<dyn Future<Output = Encoded> + Send>>;

/// Serving stopped: the peer closed, the socket failed, or a response could not be encoded
/// (each logged where it happened).
struct Closed;

/// Serves one connection until the peer closes it or sends something we cannot answer.
pub async fn serve<S>(ctx: Arc<BrokerContext>, stream: S, peer: String)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let max_bytes = usize::try_from(ctx.config.socket_request_max_bytes).unwrap_or(protocol::DEFAULT_MAX_REQUEST_BYTES);
    let mut frames = FrameReader::new(max_bytes);
    // Answers in request order; only the first can be sent next.
    let mut waiting: VecDeque<Waiting> = VecDeque::new();
    let _ = serve_frames(&ctx, &peer, &mut frames, &mut reader, &mut writer, &mut waiting).await;
    let _ = writer.shutdown().await;
}

async fn serve_frames<R, W>(
    ctx: &BrokerContext,
    peer: &str,
    frames: &mut FrameReader,
    reader: &mut R,
    writer: &mut W,
    waiting: &mut VecDeque<Waiting>,
) -> Result<(), Closed>
where
    R: AsyncRead + Unpin,
    W: AsyncWrite + Unpin,
{
    loop {
        let frame = match frames.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => {
                // Read on, but send the first waiting answer as soon as it is ready.
                let read = match waiting.front_mut() {
                    None => frames.fill(reader).await,
                    Some(first) => tokio::select! {
                        // Polled in order: an unbiased select draws from tokio's process-wide
                        // RNG, which the simulator does not seed. `fill` is cancel-safe.
                        biased;
                        answer = first => {
                            waiting.pop_front();
                            send(peer, writer, answer).await?;
                            continue;
                        }
                        read = frames.fill(reader) => read,
                    },
                };
                match read {
                    Ok(true) => continue,
                    Ok(false) => {
                        // The peer stopped sending; it may still read what it asked for.
                        return send_waiting(peer, writer, waiting, 0).await;
                    }
                    Err(error) => {
                        warn!(name: "connection_closed", peer = %peer, reason = %error);
                        return Err(Closed);
                    }
                }
            }
            Err(error) => {
                warn!(name: "connection_closed", peer = %peer, reason = %error);
                return Err(Closed);
            }
        };
        let (header, request) = match protocol::decode_request_frame(frame) {
            Ok(decoded) => decoded,
            Err(RequestError::Unsupported { api_key: API_VERSIONS, correlation_id, api_version }) => {
                debug!(name: "api_versions_unsupported", peer = %peer, api_version);
                let mut answer = api_versions_response();
                answer.error_code = protocol::UNSUPPORTED_VERSION;
                let encoded = encode_response(0, correlation_id, &answer, 0).map(Some);
                send_waiting(peer, writer, waiting, 0).await?;
                send(peer, writer, encoded).await?;
                continue;
            }
            Err(error) => {
                info!(name: "connection_closed", peer = %peer, reason = %error);
                return Err(Closed);
            }
        };
        // Only a produce is served while earlier answers wait, and only up to the limit.
        let may_wait = if matches!(request, Request::Produce(_)) { PIPELINED_PRODUCES - 1 } else { 0 };
        send_waiting(peer, writer, waiting, may_wait).await?;
        match dispatch(ctx, &header, request).await {
            Answer::Now(encoded) if waiting.is_empty() => send(peer, writer, encoded).await?,
            Answer::Now(encoded) => waiting.push_back(Box::pin(std::future::ready(encoded))),
            Answer::Later(answer) => waiting.push_back(answer),
        }
    }
}

/// Sends waiting answers, in order, until at most `keep` are left.
async fn send_waiting<W: AsyncWrite + Unpin>(
    peer: &str,
    writer: &mut W,
    waiting: &mut VecDeque<Waiting>,
    keep: usize,
) -> Result<(), Closed> {
    while waiting.len() > keep {
        let first = waiting.pop_front().expect("more than `keep` answers wait");
        send(peer, writer, first.await).await?;
    }
    Ok(())
}

/// Writes one encoded response (nothing for `None`, a produce with acks=0) and flushes.
async fn send<W: AsyncWrite + Unpin>(peer: &str, writer: &mut W, encoded: Encoded) -> Result<(), Closed> {
    let bytes: Option<Bytes> = encoded.map_err(|error| {
        warn!(name: "response_encoding_failed", peer = %peer, error = %error);
        Closed
    })?;
    if let Some(bytes) = bytes {
        if writer.write_all(&bytes).await.is_err() || writer.flush().await.is_err() {
            return Err(Closed);
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "connection_tests.rs"]
mod tests;
