use std::process::ExitCode;

use skein_scheduler::{ABOUT, Application, Settings};

fn main() -> ExitCode {
    pkg_service::run("scheduler", env!("CARGO_PKG_VERSION"), ABOUT, |settings: Settings| async move {
        Application::build(settings).await?.run_until_stopped().await
    })
}
