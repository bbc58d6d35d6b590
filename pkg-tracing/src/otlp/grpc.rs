//! The export call: one unary gRPC request per batch, its body the spans [`super::batch`]
//! encoded as they ended, its answer read for a partial success (spans the collector refused).

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Buf as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http::uri::PathAndQuery;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::Endpoint;
use tonic::{Request, Status};

use super::EXPORT_PATH;
use super::encode::{EncodedResource, EncodedScope, SpanEntries, request};
use super::framed::{Framed, FramedChannel};
use super::wire::{Field, Reader};

/// While a collector keeps refusing spans, say so at most this often.
const REPEAT_REFUSAL_WARNING_EVERY: Duration = Duration::from_secs(60);

pub(crate) struct OtlpExporter {
    client: tonic::client::Grpc<FramedChannel>,
    metadata: MetadataMap,
    resource: EncodedResource,
    scope: EncodedScope,
    /// Seconds since the epoch of the last "spans refused" warning.
    last_refusal_warning: AtomicU64,
}

impl fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OtlpExporter")
    }
}

impl OtlpExporter {
    /// A lazily connecting client for `endpoint` (`http://host:port`). Must be called inside a
    /// Tokio runtime: the channel's worker is spawned on it. `headers` are sent with every
    /// export (`OTEL_EXPORTER_OTLP_HEADERS`, already checked by the config); `timeout` bounds
    /// each export, connection included.
    pub(crate) fn new(
        endpoint: &str,
        headers: &[(String, String)],
        timeout: Duration,
    ) -> Result<Self, String> {
        let endpoint =
            Endpoint::from_shared(endpoint.to_owned()).map_err(|e| format!("not a gRPC endpoint: {e}"))?;
        if endpoint.uri().scheme_str() == Some("https") {
            return Err("https:// needs TLS, which Skein's OTLP exporter is built without; use http:// \
                        (a collector on the same network or a sidecar)"
                .to_owned());
        }
        let mut metadata = MetadataMap::new();
        for (name, value) in headers {
            let key =
                MetadataKey::from_bytes(name.as_bytes()).map_err(|e| format!("header {name:?}: {e}"))?;
            let value =
                MetadataValue::try_from(value.as_str()).map_err(|e| format!("header {name:?}: {e}"))?;
            metadata.append(key, value);
        }
        let channel = endpoint.timeout(timeout).connect_timeout(timeout).connect_lazy();
        Ok(Self {
            client: tonic::client::Grpc::new(FramedChannel(channel)),
            metadata,
            resource: EncodedResource::default(),
            scope: EncodedScope::default(),
            last_refusal_warning: AtomicU64::new(0),
        })
    }

    fn warn_of_refusal(&self, refusal: &PartialSuccess, sent: usize) {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let last = self.last_refusal_warning.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= REPEAT_REFUSAL_WARNING_EVERY.as_secs()
            && self
                .last_refusal_warning
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                rejected_spans = refusal.rejected_spans,
                sent_spans = sent,
                reason = %refusal.error_message,
                "the collector refused spans (repeated at most once a minute)"
            );
        }
    }
}

impl OtlpExporter {
    /// Sends `entries` as one `ExportTraceServiceRequest`. A refusal of some spans by the
    /// collector (a partial success) is a warning, not a failure: the request arrived.
    pub(crate) async fn export(&self, entries: SpanEntries) -> OTelSdkResult {
        let sent = entries.len();
        let body = Framed::new(request(&self.resource, &self.scope, entries)).ok_or_else(|| {
            OTelSdkError::InternalFailure("the batch is larger than a gRPC message can be (4 GiB)".into())
        })?;
        let mut request = Request::new(());
        *request.metadata_mut() = self.metadata.clone();
        request.extensions_mut().insert(body);
        let mut client = self.client.clone();
        client
            .ready()
            .await
            .map_err(|e| OTelSdkError::InternalFailure(format!("collector unreachable: {e}")))?;
        let answer = client
            .unary(request, PathAndQuery::from_static(EXPORT_PATH), PreEncoded)
            .await
            .map_err(|status| OTelSdkError::InternalFailure(describe(&status)))?;
        let refusal = answer.into_inner();
        if refusal.rejected_spans > 0 || !refusal.error_message.is_empty() {
            self.warn_of_refusal(&refusal, sent);
        }
        Ok(())
    }

    /// Who made the spans, encoded once for every request: the service's resource, and the
    /// instrumentation scope (`skein`, the service's version).
    pub(crate) fn set_origin(&mut self, resource: &Resource, scope_name: &str, scope_version: &str) {
        self.resource = EncodedResource::new(resource);
        self.scope = EncodedScope::new(scope_name, scope_version);
    }
}

/// The status's code and message, then its causes (the connection's error when there is one).
fn describe(status: &Status) -> String {
    let head = format!("{:?}: {}", status.code(), status.message());
    match std::error::Error::source(status) {
        Some(cause) => format!("{head}: {}", crate::cause_chain(cause)),
        None => head,
    }
}

/// `ExportTraceServiceResponse.partial_success`: what the collector accepted but did not keep.
#[derive(Debug, Default, PartialEq)]
struct PartialSuccess {
    rejected_spans: i64,
    error_message: String,
}

impl PartialSuccess {
    fn decode(response: &[u8]) -> Result<Self, &'static str> {
        let mut partial = Self::default();
        let mut outer = Reader::new(response);
        while let Some(field) = outer.next_field()? {
            if let Field::Len(1, message) = field {
                let mut inner = Reader::new(message);
                while let Some(field) = inner.next_field()? {
                    match field {
                        Field::Varint(1, rejected) => partial.rejected_spans = rejected as i64,
                        Field::Len(2, text) => {
                            partial.error_message = String::from_utf8_lossy(text).into_owned()
                        }
                        _ => {}
                    }
                }
            }
        }
        Ok(partial)
    }
}

/// The request's body is the batch itself ([`Framed`], sent by [`FramedChannel`]): tonic
/// encodes an empty message in its place. The answer is read by [`PartialSuccess::decode`].
#[derive(Debug, Clone, Copy)]
struct PreEncoded;

impl Codec for PreEncoded {
    type Encode = ();
    type Decode = PartialSuccess;
    type Encoder = Self;
    type Decoder = Self;

    fn encoder(&mut self) -> Self::Encoder {
        *self
    }

    fn decoder(&mut self) -> Self::Decoder {
        *self
    }
}

impl Encoder for PreEncoded {
    type Item = ();
    type Error = Status;

    fn encode(&mut self, (): (), _: &mut EncodeBuf<'_>) -> Result<(), Status> {
        Ok(())
    }
}

impl Decoder for PreEncoded {
    type Item = PartialSuccess;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<PartialSuccess>, Status> {
        let bytes = src.copy_to_bytes(src.remaining());
        PartialSuccess::decode(&bytes).map(Some).map_err(|problem| {
            Status::internal(format!(
                "the collector's answer is not an ExportTraceServiceResponse: {problem}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::wire::{put_len_prefix, put_opt_bytes, put_opt_varint};

    #[test]
    fn a_partial_success_is_read_from_the_answer() {
        let mut inner = Vec::new();
        put_opt_varint(&mut inner, 1, 3);
        put_opt_bytes(&mut inner, 2, b"rate limited");
        let mut answer = Vec::new();
        put_len_prefix(&mut answer, 1, inner.len());
        answer.extend_from_slice(&inner);
        assert_eq!(
            PartialSuccess::decode(&answer),
            Ok(PartialSuccess { rejected_spans: 3, error_message: "rate limited".into() })
        );
        assert_eq!(PartialSuccess::decode(&[]), Ok(PartialSuccess::default()), "an empty answer: all kept");
        assert!(PartialSuccess::decode(&answer[..answer.len() - 2]).is_err());
    }
}
