//! Trace and span ids: random, never zero, from a generator per thread.
//!
//! The ids only need to be unique and uniformly spread (the ratio sampler reads a trace id's low
//! half as its random number), not secret: a wyrand generator seeded once per thread from the
//! standard library's per-process random keys does that in a few instructions, with no lock
//! and no system call per id.

use std::cell::Cell;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher as _, Hasher as _};

use opentelemetry::trace::{SpanId, TraceId};

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

/// A different seed on every thread: `RandomState` keys are random per process and advance on
/// every `new()`; the thread's id is mixed in for good measure.
fn seed() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(std::process::id().into());
    std::hash::Hash::hash(&std::thread::current().id(), &mut hasher);
    hasher.finish()
}

/// wyrand: one add and one 64×64→128 multiply per number.
fn next_u64() -> u64 {
    STATE.with(|state| {
        let x = state.get().wrapping_add(0xa076_1d64_78bd_642f);
        state.set(x);
        let product = u128::from(x) * u128::from(x ^ 0xe703_7ed1_a0b4_28db);
        ((product >> 64) as u64) ^ (product as u64)
    })
}

pub(crate) fn new_span_id() -> SpanId {
    loop {
        let id = next_u64();
        if id != 0 {
            return SpanId::from_bytes(id.to_be_bytes());
        }
    }
}

pub(crate) fn new_trace_id() -> TraceId {
    loop {
        let id = (u128::from(next_u64()) << 64) | u128::from(next_u64());
        if id != 0 {
            return TraceId::from_bytes(id.to_be_bytes());
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn ids_are_valid_and_do_not_repeat_within_or_across_threads() {
        let draw = || (0..10_000).map(|_| (new_trace_id(), new_span_id())).collect::<Vec<_>>();
        let here = draw();
        let there = std::thread::spawn(draw).join().unwrap();
        let traces: HashSet<_> = here.iter().chain(&there).map(|(t, _)| *t).collect();
        let spans: HashSet<_> = here.iter().chain(&there).map(|(_, s)| *s).collect();
        assert_eq!((traces.len(), spans.len()), (20_000, 20_000), "every id distinct");
        assert!(!traces.contains(&TraceId::INVALID) && !spans.contains(&SpanId::INVALID));
    }

    #[test]
    fn the_low_half_of_trace_ids_is_spread_evenly_enough_for_the_ratio_sampler() {
        // The ratio sampler keeps a trace when its low 63 bits fall under ratio × 2^63: with
        // 20,000 ids, a quarter should land under the quarter mark, give or take a few percent.
        let under = (0..20_000)
            .filter(|_| {
                let low = u64::from_be_bytes(new_trace_id().to_bytes()[8..].try_into().unwrap()) >> 1;
                low < (1u64 << 61)
            })
            .count();
        assert!((4_500..5_500).contains(&under), "{under} of 20000 under the quarter mark");
    }
}
