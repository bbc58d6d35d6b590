//! Skein's OTLP/gRPC span export: each span's attributes written as OTLP bytes as they are
//! recorded ([`attributes`]), the span encoded around them ([`encode`]) on the thread that ended it and queued as bytes ([`batch`]), each batch sent as
//! `opentelemetry.proto.collector.trace.v1.TraceService/Export` over tonic ([`grpc`]). It replaces opentelemetry-otlp's exporter, which cost more CPU per span
//! on its export thread than the span cost where it was recorded (BENCHMARKS.md, "Tracing's
//! share under load").

pub(crate) mod attributes;
mod batch;
mod encode;
mod framed;
mod grpc;
pub(crate) mod settings;
pub(crate) mod wire;

pub(crate) use batch::{BatchSettings, EncodingProcessor};
pub(crate) use encode::{put_event, put_key_value, put_link};
pub(crate) use grpc::OtlpExporter;

/// The gRPC method spans are exported to (and the test collectors serve).
pub(crate) const EXPORT_PATH: &str = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
