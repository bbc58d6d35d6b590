//! End to end: the four real binaries, a local site and an in-process collector. One user
//! request must be one trace across every service, and the edges Tempo would draw must all
//! be there.

mod bad_input;
mod faults;
mod helpers;
mod metrics;
mod pipeline;
mod replicas;
