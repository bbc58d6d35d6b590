use std::process::ExitCode;

use skein_controller::{ABOUT, Application, Settings};

fn main() -> ExitCode {
    pkg_service::run("controller", env!("CARGO_PKG_VERSION"), ABOUT, |settings: Settings| async move {
        Application::build(settings).await?.run_until_stopped().await
    })
}
