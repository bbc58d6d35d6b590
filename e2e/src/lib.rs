//! Starts Skein the way a person does — the four release-shaped binaries, wired by environment
//! variables — around an in-process OTLP collector and a local web site, for end-to-end tests.

mod counting_site;
mod site;
mod stack;

pub use counting_site::CountingSite;
pub use site::Site;
pub use stack::{PATIENCE, Stack, StackEnv, binary, start_service, wait_ready};
