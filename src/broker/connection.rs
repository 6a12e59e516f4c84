//! One client connection: frames in, responses out, in request order.
//!
//! Requests are served one at a time per connection, like Kafka (which mutes a channel
//! while its request is in flight): clients pipeline, the answers leave in order. A request
//! that cannot be decoded closes the connection with a log line, as Kafka does; the one
//! exception is an ApiVersions request at a version we do not know, answered at v0 with
//! UNSUPPORTED_VERSION so the client can retry with one we do (KIP-511).

use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tracing::{debug, info, warn};

use super::context::BrokerContext;
use super::handlers::dispatch;
use crate::protocol::{self, api_versions_response, encode_response, read_frame, RequestError, UNSUPPORTED_VERSION};

/// The ApiVersions api key.
const API_VERSIONS: i16 = 18;

/// Serves one connection until the peer closes it or sends something we cannot answer.
pub async fn serve<S>(ctx: Arc<BrokerContext>, stream: S, peer: String)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let max_bytes = usize::try_from(ctx.config.socket_request_max_bytes).unwrap_or(protocol::DEFAULT_MAX_REQUEST_BYTES);
    loop {
        let frame = match read_frame(&mut reader, max_bytes).await {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(error) => {
                warn!(name: "connection_closed", peer = %peer, reason = %error);
                break;
            }
        };
        let response = match protocol::decode_request_frame(frame) {
            Ok((header, request)) => match dispatch(&ctx, &header, request).await {
                Ok(response) => response,
                Err(error) => {
                    warn!(name: "response_encoding_failed", peer = %peer, api_key = ?header.api_key, error = %error);
                    break;
                }
            },
            Err(RequestError::Unsupported { api_key: API_VERSIONS, correlation_id, api_version }) => {
                debug!(name: "api_versions_unsupported", peer = %peer, api_version);
                let mut answer = api_versions_response();
                answer.error_code = UNSUPPORTED_VERSION;
                match encode_response(0, correlation_id, &answer, 0) {
                    Ok(bytes) => Some(bytes),
                    Err(_) => break,
                }
            }
            Err(error) => {
                info!(name: "connection_closed", peer = %peer, reason = %error);
                break;
            }
        };
        if let Some(bytes) = response {
            if writer.write_all(&bytes).await.is_err() || writer.flush().await.is_err() {
                break;
            }
        }
    }
    let _ = writer.shutdown().await;
}
