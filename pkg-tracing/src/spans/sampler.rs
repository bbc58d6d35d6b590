//! The sampling decision for a new span, by the rules of `OTEL_TRACES_SAMPLER` as the
//! OpenTelemetry SDK applies them (a unit test compares with the SDK's samplers).

use opentelemetry::trace::{SpanContext, TraceFlags, TraceId, TraceState};

use crate::config::SamplerConfig;

/// What a span is given: whether it is sampled, its flags and its trace state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Decision {
    pub(crate) flags: TraceFlags,
    pub(crate) trace_state: TraceState,
}

impl Decision {
    #[cfg(test)]
    pub(crate) fn sampled(&self) -> bool {
        self.flags.is_sampled()
    }
}

/// Decides for a span in `trace_id` whose parent is `parent` (`None` for a root). A sampled
/// span keeps its parent's other flags, a dropped one has none (as the SDK builds them); both
/// keep the parent's trace state.
pub(crate) fn decide(sampler: SamplerConfig, parent: Option<&SpanContext>, trace_id: TraceId) -> Decision {
    let sampled = match sampler {
        SamplerConfig::AlwaysOn => true,
        SamplerConfig::AlwaysOff => false,
        SamplerConfig::TraceIdRatio(ratio) => ratio_keeps(ratio, trace_id),
        SamplerConfig::ParentBasedAlwaysOn => parent.is_none_or(SpanContext::is_sampled),
        SamplerConfig::ParentBasedAlwaysOff => parent.is_some_and(SpanContext::is_sampled),
        SamplerConfig::ParentBasedTraceIdRatio(ratio) => match parent {
            Some(parent) => parent.is_sampled(),
            None => ratio_keeps(ratio, trace_id),
        },
    };
    let trace_state = parent.map(|p| p.trace_state().clone()).unwrap_or_default();
    let flags = if sampled {
        parent.map_or(TraceFlags::default(), SpanContext::trace_flags).with_sampled(true)
    } else {
        TraceFlags::default()
    };
    Decision { flags, trace_state }
}

/// The SDK's `TraceIdRatioBased`: the trace id's low 63 bits against `ratio` × 2^63, so every
/// service keeps or drops the same traces.
fn ratio_keeps(ratio: f64, trace_id: TraceId) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    let bound = (ratio.max(0.0) * (1u64 << 63) as f64) as u64;
    let low = u64::from_be_bytes(trace_id.to_bytes()[8..].try_into().unwrap_or_default());
    (low >> 1) < bound
}

#[cfg(test)]
mod tests {
    use opentelemetry::Context;
    use opentelemetry::trace::{SpanId, SpanKind, TraceContextExt as _};
    use opentelemetry_sdk::trace::{Sampler, SamplingDecision, ShouldSample as _};

    use super::*;

    fn sdk(config: SamplerConfig) -> Sampler {
        match config {
            SamplerConfig::AlwaysOn => Sampler::AlwaysOn,
            SamplerConfig::AlwaysOff => Sampler::AlwaysOff,
            SamplerConfig::TraceIdRatio(r) => Sampler::TraceIdRatioBased(r),
            SamplerConfig::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            SamplerConfig::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
            SamplerConfig::ParentBasedTraceIdRatio(r) => {
                Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(r)))
            }
        }
    }

    #[test]
    fn every_sampler_decides_as_the_sdks_for_roots_and_local_and_remote_parents() {
        let samplers = [
            SamplerConfig::AlwaysOn,
            SamplerConfig::AlwaysOff,
            SamplerConfig::TraceIdRatio(0.0),
            SamplerConfig::TraceIdRatio(0.3),
            SamplerConfig::TraceIdRatio(1.0),
            SamplerConfig::ParentBasedAlwaysOn,
            SamplerConfig::ParentBasedAlwaysOff,
            SamplerConfig::ParentBasedTraceIdRatio(0.5),
        ];
        let state: TraceState = "k=v".parse().unwrap();
        let mut kept = 0;
        for config in samplers {
            for n in 0..400u128 {
                let trace_id = TraceId::from_bytes(
                    (n.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835)).to_be_bytes(),
                );
                let parents = [
                    None,
                    Some(SpanContext::new(
                        trace_id,
                        SpanId::from(7),
                        TraceFlags::SAMPLED,
                        true,
                        state.clone(),
                    )),
                    Some(SpanContext::new(
                        trace_id,
                        SpanId::from(7),
                        TraceFlags::default(),
                        true,
                        state.clone(),
                    )),
                    Some(SpanContext::new(
                        trace_id,
                        SpanId::from(7),
                        TraceFlags::new(0x03),
                        false,
                        TraceState::default(),
                    )),
                    Some(SpanContext::new(
                        trace_id,
                        SpanId::from(7),
                        TraceFlags::default(),
                        false,
                        TraceState::default(),
                    )),
                ];
                for parent in parents {
                    let cx = parent
                        .clone()
                        .map_or_else(Context::new, |p| Context::new().with_remote_span_context(p));
                    let theirs =
                        sdk(config).should_sample(Some(&cx), trace_id, "span", &SpanKind::Internal, &[], &[]);
                    let ours = decide(config, parent.as_ref(), trace_id);
                    let sdk_sampled = theirs.decision == SamplingDecision::RecordAndSample;
                    assert_eq!(ours.sampled(), sdk_sampled, "{config:?} {parent:?}");
                    assert_eq!(ours.trace_state, theirs.trace_state, "{config:?} {parent:?}");
                    let parent_flags =
                        parent.as_ref().map_or(TraceFlags::default(), SpanContext::trace_flags);
                    let expected =
                        if sdk_sampled { parent_flags.with_sampled(true) } else { TraceFlags::default() };
                    assert_eq!(ours.flags, expected);
                    kept += usize::from(sdk_sampled);
                }
            }
        }
        // Neither all kept nor all dropped: the comparison covered both answers.
        assert!(kept > 2_000 && kept < 14_000, "{kept}");
    }
}
