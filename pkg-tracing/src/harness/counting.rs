//! The count-only receiver of load runs (`trace-view --count`, `scripts/bench.sh`): spans are
//! counted per `service.name` by walking the request's protobuf, nothing decoded into
//! structs. Decoding every span into opentelemetry-proto's types cost the stand-in collector
//! ~4 µs of CPU per span, taken from the two cores the measured services run on.

use std::convert::Infallible;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Buf as _;
use tonic::body::Body;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::http;
use tonic::server::{Grpc, NamedService, UnaryService};
use tonic::{Request, Response, Status};

use crate::otlp::EXPORT_PATH;
use crate::otlp::wire::{Field, Reader};

/// Told each resource's service name and how many spans it sent.
pub(super) type OnSpans = Arc<dyn Fn(&str, u64) + Send + Sync>;

/// The spans in an `ExportTraceServiceRequest`, per resource: `(service.name, count)`.
pub(super) fn count_spans(request: &[u8], on_spans: &dyn Fn(&str, u64)) -> Result<(), &'static str> {
    let mut request = Reader::new(request);
    while let Some(field) = request.next_field()? {
        let Field::Len(1, resource_spans) = field else { continue };
        let (mut service, mut spans) = ("", 0u64);
        let mut resource_spans = Reader::new(resource_spans);
        while let Some(field) = resource_spans.next_field()? {
            match field {
                Field::Len(1, resource) => service = service_name(resource)?.unwrap_or(service),
                Field::Len(2, scope_spans) => {
                    let mut scope_spans = Reader::new(scope_spans);
                    while let Some(field) = scope_spans.next_field()? {
                        spans += u64::from(matches!(field, Field::Len(2, _)));
                    }
                }
                _ => {}
            }
        }
        on_spans(if service.is_empty() { "unknown" } else { service }, spans);
    }
    Ok(())
}

/// `Resource.attributes` (1) → `KeyValue { key: "service.name", value: AnyValue { string (1) } }`.
fn service_name(resource: &[u8]) -> Result<Option<&str>, &'static str> {
    let mut resource = Reader::new(resource);
    while let Some(field) = resource.next_field()? {
        let Field::Len(1, key_value) = field else { continue };
        let (mut key, mut value) = (&[][..], None);
        let mut key_value = Reader::new(key_value);
        while let Some(field) = key_value.next_field()? {
            match field {
                Field::Len(1, k) => key = k,
                Field::Len(2, any_value) => {
                    let mut any_value = Reader::new(any_value);
                    while let Some(field) = any_value.next_field()? {
                        if let Field::Len(1, text) = field {
                            value = Some(std::str::from_utf8(text).map_err(|_| "service.name is not UTF-8")?);
                        }
                    }
                }
                _ => {}
            }
        }
        if key == b"service.name" && value.is_some() {
            return Ok(value);
        }
    }
    Ok(None)
}

/// The TraceService, served with a codec that hands the handler the request's bytes.
#[derive(Clone)]
pub(super) struct CountingService(pub(super) OnSpans);

impl NamedService for CountingService {
    const NAME: &'static str = "opentelemetry.proto.collector.trace.v1.TraceService";
}

impl tonic::codegen::Service<http::Request<Body>> for CountingService {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = std::pin::Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let on_spans = Arc::clone(&self.0);
        Box::pin(async move {
            if request.uri().path() != EXPORT_PATH {
                return Ok(Status::unimplemented("only TraceService/Export is served").into_http());
            }
            Ok(Grpc::new(RawBytes).unary(Count(on_spans), request).await)
        })
    }
}

struct Count(OnSpans);

impl UnaryService<Vec<u8>> for Count {
    type Response = ();
    type Future = std::future::Ready<Result<Response<()>, Status>>;

    fn call(&mut self, request: Request<Vec<u8>>) -> Self::Future {
        let counted =
            count_spans(request.get_ref(), &*self.0).map(|()| Response::new(())).map_err(|problem| {
                Status::invalid_argument(format!("not an ExportTraceServiceRequest: {problem}"))
            });
        std::future::ready(counted)
    }
}

/// Requests as bytes; the answer is an empty `ExportTraceServiceResponse` (zero bytes: all
/// spans accepted).
#[derive(Debug, Clone, Copy)]
struct RawBytes;

impl Codec for RawBytes {
    type Encode = ();
    type Decode = Vec<u8>;
    type Encoder = Self;
    type Decoder = Self;

    fn encoder(&mut self) -> Self {
        *self
    }

    fn decoder(&mut self) -> Self {
        *self
    }
}

impl Encoder for RawBytes {
    type Item = ();
    type Error = Status;

    fn encode(&mut self, (): (), _dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        Ok(())
    }
}

impl Decoder for RawBytes {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut bytes = vec![0; src.remaining()];
        src.copy_to_slice(&mut bytes);
        Ok(Some(bytes))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message as _;

    use super::*;

    fn resource_spans(service: Option<&str>, spans_per_scope: &[usize]) -> ResourceSpans {
        let string = |s: &str| AnyValue { value: Some(any_value::Value::StringValue(s.into())) };
        let mut attributes =
            vec![KeyValue { key: "host.name".into(), value: Some(string("box")), ..KeyValue::default() }];
        if let Some(service) = service {
            attributes.push(KeyValue {
                key: "service.name".into(),
                value: Some(string(service)),
                ..KeyValue::default()
            });
        }
        ResourceSpans {
            resource: Some(Resource { attributes, ..Resource::default() }),
            scope_spans: spans_per_scope
                .iter()
                .map(|&n| ScopeSpans {
                    spans: vec![Span { name: "s".into(), ..Span::default() }; n],
                    ..ScopeSpans::default()
                })
                .collect(),
            schema_url: String::new(),
        }
    }

    #[test]
    fn spans_are_counted_per_resource_by_its_service_name() {
        let request = ExportTraceServiceRequest {
            resource_spans: vec![
                resource_spans(Some("controller"), &[3, 2]),
                resource_spans(Some("analyzer"), &[6]),
                resource_spans(None, &[1]),
            ],
        };
        let seen = Mutex::new(Vec::new());
        count_spans(&request.encode_to_vec(), &|service, n| {
            seen.lock().unwrap().push((service.to_owned(), n))
        })
        .unwrap();
        assert_eq!(
            seen.into_inner().unwrap(),
            [("controller".to_owned(), 5), ("analyzer".to_owned(), 6), ("unknown".to_owned(), 1)]
        );
        let bytes = request.encode_to_vec();
        assert!(count_spans(&bytes[..bytes.len() - 3], &|_, _| {}).is_err(), "a cut request is refused");
    }
}
