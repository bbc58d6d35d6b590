//! The process: resident memory, CPU seconds, open file descriptors and start time, read from
//! `/proc/self` at each scrape (Linux; elsewhere the series are simply absent).

use std::fs;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric as _};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// The auxiliary vector keys for the clock tick rate and the page size (`<elf.h>`).
const AT_PAGESZ: u64 = 6;
const AT_CLKTCK: u64 = 17;

#[derive(Debug, Default)]
pub struct ProcessCollector;

impl Collector for ProcessCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some(sample) = ProcessSample::read() else { return Ok(()) };
        let rss = ConstGauge::new(sample.resident_bytes as f64);
        rss.encode(encoder.encode_descriptor(
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            None,
            rss.metric_type(),
        )?)?;
        let cpu = ConstCounter::new(sample.cpu_seconds);
        cpu.encode(encoder.encode_descriptor(
            "process_cpu_seconds",
            "User and system CPU time spent in seconds",
            None,
            cpu.metric_type(),
        )?)?;
        if let Some(fds) = sample.open_fds {
            let fds = ConstGauge::new(fds as i64);
            fds.encode(encoder.encode_descriptor(
                "process_open_fds",
                "Open file descriptors",
                None,
                fds.metric_type(),
            )?)?;
        }
        if let Some(start) = sample.start_time_seconds {
            let start = ConstGauge::new(start);
            start.encode(encoder.encode_descriptor(
                "process_start_time_seconds",
                "Start time of the process since the Unix epoch in seconds",
                None,
                start.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

/// One reading of `/proc/self`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessSample {
    pub resident_bytes: u64,
    pub cpu_seconds: f64,
    pub open_fds: Option<u64>,
    pub start_time_seconds: Option<f64>,
}

impl ProcessSample {
    pub fn read() -> Option<Self> {
        let (clock_ticks, page_size) = auxv_values();
        let stat = fs::read_to_string("/proc/self/stat").ok()?;
        let fields = stat_fields(&stat)?;
        // Fields after the command, counted from `state` (field 3 of proc(5)) as index 0.
        let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok());
        let cpu_seconds = (ticks(11)? + ticks(12)?) as f64 / clock_ticks as f64;
        let rss_pages = ticks(21)?;
        let start_time_seconds =
            ticks(19).zip(boot_time()).map(|(start, boot)| boot as f64 + start as f64 / clock_ticks as f64);
        let open_fds = fs::read_dir("/proc/self/fd").ok().map(|dir| dir.count() as u64);
        Some(Self { resident_bytes: rss_pages * page_size, cpu_seconds, open_fds, start_time_seconds })
    }
}

/// The fields of `/proc/self/stat` after `(comm)`: the command may hold spaces and parentheses,
/// so split after its last `)`.
fn stat_fields(stat: &str) -> Option<Vec<&str>> {
    let (_, rest) = stat.rsplit_once(')')?;
    Some(rest.split_whitespace().collect())
}

/// `btime` of `/proc/stat`: when the machine booted, in seconds since the epoch.
fn boot_time() -> Option<u64> {
    let stat = fs::read_to_string("/proc/stat").ok()?;
    stat.lines().find_map(|l| l.strip_prefix("btime ")).and_then(|v| v.trim().parse().ok())
}

/// The clock tick rate and page size from the auxiliary vector the kernel gave the process:
/// what `sysconf` would answer, without a C library binding. Linux's usual values otherwise.
fn auxv_values() -> (u64, u64) {
    let (mut clock_ticks, mut page_size) = (100, 4096);
    if let Ok(auxv) = fs::read("/proc/self/auxv") {
        for pair in auxv.chunks_exact(16) {
            let key = u64::from_ne_bytes(pair[..8].try_into().unwrap_or_default());
            let value = u64::from_ne_bytes(pair[8..].try_into().unwrap_or_default());
            match key {
                AT_CLKTCK if value > 0 => clock_ticks = value,
                AT_PAGESZ if value > 0 => page_size = value,
                _ => {}
            }
        }
    }
    (clock_ticks, page_size)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_may_hold_parentheses_and_spaces() {
        let fields = stat_fields("42 (a (b) c) S 1 2 3").unwrap();
        assert_eq!(fields, ["S", "1", "2", "3"]);
    }

    #[test]
    fn this_process_reads_sensibly() {
        let sample = ProcessSample::read().expect("/proc/self is readable on Linux");
        assert!(sample.resident_bytes > 1 << 20, "{sample:?}");
        assert!(sample.open_fds.unwrap() >= 3, "{sample:?}");
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
        let start = sample.start_time_seconds.unwrap();
        assert!(start <= now + 1.0 && start > now - 86_400.0 * 365.0, "{start} vs {now}");
    }
}
