//! Every statement a store runs for a request is a CLIENT span that Tempo draws as a database
//! node: `db.system.name`, `db.namespace`, `peer.service` = `<service>-db`, and for a server
//! database (PostgreSQL) `server.address` / `server.port`.

use tracing::Span;
use tracing::field::Empty;

/// Names the database in spans.
#[derive(Debug, Clone)]
pub struct DbSpans {
    system: &'static str,
    namespace: String,
    peer_service: String,
    /// Host and port of a database server; `None` for an embedded database.
    server: Option<(String, u16)>,
}

impl DbSpans {
    /// An embedded SQLite database of `service`: it shows as `<service>-db`.
    pub fn new(service: &str) -> Self {
        Self {
            system: "sqlite",
            namespace: service.to_owned(),
            peer_service: format!("{service}-db"),
            server: None,
        }
    }

    /// A PostgreSQL database `namespace` at `host:port`, owned by `service`. The map still
    /// shows `<service>-db`: the node is the service's store, whichever engine holds it.
    pub fn postgres(service: &str, namespace: &str, host: &str, port: u16) -> Self {
        Self {
            system: "postgresql",
            namespace: namespace.to_owned(),
            peer_service: format!("{service}-db"),
            server: Some((host.to_owned(), port)),
        }
    }

    /// `sqlite` or `postgresql` (semantic conventions' `db.system.name`).
    pub fn system(&self) -> &'static str {
        self.system
    }

    /// A CLIENT span for one statement, named `OPERATION collection` (semantic conventions).
    pub fn span(&self, operation: &'static str, collection: &'static str) -> Span {
        let span = tracing::info_span!(
            "db",
            otel.name = %format_args!("{operation} {collection}"),
            otel.kind = "client",
            otel.status_code = Empty,
            db.system.name = self.system,
            db.namespace = %self.namespace,
            db.operation.name = operation,
            db.collection.name = collection,
            peer.service = %self.peer_service,
            service.peer.name = %self.peer_service,
            server.address = Empty,
            server.port = Empty,
        );
        if let Some((host, port)) = &self.server {
            span.record("server.address", host.as_str());
            span.record("server.port", i64::from(*port));
        }
        span
    }
}

/// Runs `query` inside `span`, marking the span failed if it fails.
pub async fn traced<T, E, F>(span: Span, query: F) -> Result<T, E>
where
    F: Future<Output = Result<T, E>>,
    E: std::error::Error + 'static,
{
    use tracing::Instrument as _;
    let result = query.instrument(span.clone()).await;
    if let Err(error) = &result {
        pkg_tracing::record_error(&span, "db_error", error);
    }
    result
}
