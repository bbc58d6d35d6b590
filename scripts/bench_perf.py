#!/usr/bin/env python3
"""Where the pipeline's CPU time goes, by time: a system-wide `perf` profile under load.

Run through `scripts/bench.sh perf [on|off|down]` (it builds the release binaries and installs
perf). One stack in the given mode (default off) under wrk; `perf record -e cpu-clock -a`
samples every core for 10 s of it. Prints the time split by thread and binary (how much is the
kernel: wake-ups, context switches, loopback TCP; how much each service's own code and libc)
and the top symbols of the kernel and of each service.

Time, not instructions: callgrind (`scripts/bench.sh instructions`) counts each iteration of a
`rep stosb`/`rep movsb` as an instruction, so a 3 KB memset weighs 3,000 instructions though it
takes a fraction of a microsecond, and it does not see the kernel at all. This VM has no
hardware counters, so `cpu-clock` (a timer) is the event; samples taken while interrupts are
off land on the instruction that turns them back on (`_raw_spin_unlock_irqrestore`): read the
kernel's symbols as a group. Environment: BENCH_PERF_SECONDS (10), BENCH_CONNECTIONS (16).
"""
import os
import signal
import subprocess
import sys
import tempfile
import time

import bench
from bench import PAGE, PORTS, Receiver, Stack, log, post_json, wrk

SECONDS = int(os.environ.get("BENCH_PERF_SECONDS", "10"))
TOP = 12


def report(data, *args):
    out = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio", *args],
                         capture_output=True, text=True, check=True).stdout
    return [line for line in out.splitlines() if line.strip() and not line.startswith("#")]


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "off"
    if mode not in bench.MODES:
        sys.exit(f"bench_perf: the mode is one of {', '.join(bench.MODES)}, not {mode!r}")
    workdir = tempfile.mkdtemp(prefix="skein-perf-")
    lua = bench.scrape_lua(workdir)
    site = bench.start_site()
    receiver = stack = None
    data = os.path.join(workdir, "perf.data")
    url = f"http://127.0.0.1:{PORTS['controller']}/api/v1/scrape"
    try:
        receiver = Receiver(workdir) if mode == "on" else None
        stack = Stack(mode != "off", workdir, mode=mode)
        for _ in range(10):
            post_json(PORTS["controller"], "/api/v1/scrape", {"url": PAGE, "force": True})
        wrk(url, lua, seconds=3)  # warm: connection pools, SQLite pages, allocator arenas
        perf = subprocess.Popen(["perf", "record", "-e", "cpu-clock", "-F", "999", "-a", "-o", data],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)
        run = wrk(url, lua, seconds=SECONDS)
        perf.send_signal(signal.SIGINT)
        perf.wait()
    finally:
        if stack:
            stack.stop()
        if receiver:
            receiver.stop()
        site.terminate()
    log(f"tracing {mode}: {run['rps']:.0f} req/s while sampled ({SECONDS} s, every core)\n")
    log("time by thread and binary (swapper in the kernel is idle time):")
    for line in report(data, "--sort", "comm,dso")[:TOP]:
        log(f"  {line.strip()}")
    log("\ntime by binary:")
    for line in report(data, "--sort", "dso")[:8]:
        log(f"  {line.strip()}")
    for dso in ["[kernel.kallsyms]", "controller", "scraper", "analyzer", "libc.so.6"]:
        log(f"\ntop of {dso}:")
        for line in report(data, "--dso", dso, "--sort", "sym")[:8]:
            log(f"  {line.strip()}")
    log(f"\nperf data: {data}")


if __name__ == "__main__":
    main()
