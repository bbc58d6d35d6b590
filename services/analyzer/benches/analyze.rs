//! Analyzer throughput on 1 MB of English prose, in-process (no HTTP, no JSON): the figure
//! issue 14's "≥ 100 MB/s per core" target is about. Prints MB/s (median of timed rounds); run under `valgrind --tool=callgrind` with `--rounds 1` for an
//! instruction count that does not drift with the machine's load.
//!
//! `cargo bench -p skein-analyzer --bench analyze [-- --rounds N]`

use std::time::Instant;

use skein_analyzer::analysis;

fn main() {
    let rounds = std::env::args()
        .skip_while(|a| a != "--rounds")
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(12usize);
    let prose = prose(1_000_000);
    let mut seconds = Vec::with_capacity(rounds);
    let mut words = 0;
    for _ in 0..rounds {
        let started = Instant::now();
        let analysis = std::hint::black_box(analysis::analyze(std::hint::black_box(&prose)));
        seconds.push(started.elapsed().as_secs_f64());
        words = analysis.counts.words;
    }
    // The first rounds build the lazy tables and warm the caches.
    let timed = if seconds.len() > 2 { &mut seconds[2..] } else { &mut seconds[..] };
    timed.sort_by(f64::total_cmp);
    let median = timed[timed.len() / 2];
    println!(
        "analyzer, {} bytes of English prose ({words} words): {:.1} MB/s (median of {} rounds, {:.2} ms each)",
        prose.len(),
        prose.len() as f64 / 1e6 / median,
        timed.len(),
        median * 1e3
    );
}

/// The benchmark page's text repeated to `len` bytes, as `scripts/bench.py` builds it: tags
/// replaced by spaces, white space collapsed.
fn prose(len: usize) -> String {
    let page = include_str!("../../../config/demo-site/tracing-basics.html");
    let mut text = String::with_capacity(page.len());
    let mut in_tag = false;
    for c in page.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                text.push(' ');
            }
            _ if in_tag => {}
            _ => text.push(c),
        }
    }
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ") + " ";
    let mut prose = text.repeat(len / text.len() + 1);
    let mut end = len;
    while !prose.is_char_boundary(end) {
        end -= 1;
    }
    prose.truncate(end);
    prose
}
