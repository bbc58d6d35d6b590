//! The `main` of every Skein service.

use std::future::Future;
use std::process::ExitCode;

use crate::env::{Env, FromEnv, help_text, load};

/// Runs a service: prints `--help`, parses settings (exit 2 naming every bad variable), starts
/// telemetry (exit 2 on a bad `OTEL_*`), runs `serve` on the actix runtime until it returns
/// (SIGINT/SIGTERM drain the HTTP server), and flushes telemetry on every way out.
pub fn run<S, F, Fut>(name: &'static str, version: &'static str, about: &str, serve: F) -> ExitCode
where
    S: FromEnv,
    F: FnOnce(S) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    if std::env::args().skip(1).any(|a| a == "--help" || a == "-h") {
        println!("{}", help_text::<S>(about));
        return ExitCode::SUCCESS;
    }
    if let Some(arg) = std::env::args().nth(1) {
        eprintln!("{name}: unexpected argument {arg:?}; settings come from the environment, see --help");
        return ExitCode::from(2);
    }
    let settings = match load::<S>(Env::from_process()) {
        Ok(settings) => settings,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(2);
        }
    };
    let telemetry = match pkg_tracing::init(name, version) {
        Ok(guard) => guard,
        Err(e) => {
            eprintln!("{name}: {e}");
            return ExitCode::from(2);
        }
    };
    let result = actix_web::rt::System::new().block_on(serve(settings));
    let code = match &result {
        Ok(()) => {
            tracing::info!("{name} stopped");
            ExitCode::SUCCESS
        }
        Err(error) => {
            let chain: Vec<String> = error.chain().map(ToString::to_string).collect();
            tracing::error!(error.message = %error, error.cause_chain = %chain.join(": "), "{name} failed");
            ExitCode::FAILURE
        }
    };
    telemetry.shutdown();
    code
}
