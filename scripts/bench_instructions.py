#!/usr/bin/env python3
"""Instructions per pipeline request, per service: repeatable where seconds are not.

Run through `scripts/bench.sh instructions` (it builds the release binaries). Each service runs
under valgrind's callgrind with instrumentation off; after a warm-up, instrumentation is turned
on in all four for a fixed number of sequential pipeline requests, then each dumps its counts.
The count covers every thread of the process (request workers, the SQLite worker, the OTLP
exporter) but only user-space instructions: kernel time (syscalls, thread hand-offs) is not in
it, which is what the CPU-time table of the load run adds.

`--before DIR`: also measure the services built in DIR (a release target dir of an older
commit) with the same harness, and print both. BENCH_INSTR_REQUESTS (200) sets the count.
"""
import datetime
import glob
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time

import bench
from bench import PAGE, PORTS, Receiver, Stack, log

REQUESTS = int(os.environ.get("BENCH_INSTR_REQUESTS", "200"))
WARMUP = 20
SERVICES = ["controller", "scraper", "analyzer", "scheduler"]
TOP = 8


def callgrind_control(*args):
    # vgdb names its pipes after $HOST and $USER as the process saw them: the services run with
    # HOST=127.0.0.1, so the control side must too, or it finds no pipe (and says nothing).
    env = dict(os.environ, HOST="127.0.0.1")
    out = subprocess.run(["callgrind_control", *args], check=True, capture_output=True, text=True, env=env)
    if "error" in out.stderr or "OK." not in out.stdout:
        raise RuntimeError(f"callgrind_control {' '.join(args)}: {out.stdout}{out.stderr}")


class Client:
    """One keep-alive connection to the controller, as the load runs' wrk has: a new
    connection per request would count accepts and connection setup too."""

    def __init__(self):
        self.conn = http.client.HTTPConnection("127.0.0.1", PORTS["controller"], timeout=120)
        self.body = json.dumps({"url": PAGE, "force": True})

    def scrape(self):
        self.conn.request("POST", "/api/v1/scrape", self.body, {"content-type": "application/json"})
        response = self.conn.getresponse()
        response.read()
        if response.status not in (200, 201):
            raise RuntimeError(f"POST /api/v1/scrape answered {response.status}")


def measure(bin_dir, tracing, outdir):
    """Instructions per request per service, and each service's dump file."""
    tag = "on" if tracing else "off"
    wrap = ["valgrind", "--tool=callgrind", "--instr-atstart=no", "--dump-instr=no",
            f"--callgrind-out-file={outdir}/{{name}}-{tag}.%p.callgrind"]
    receiver = Receiver(outdir) if tracing else None
    stack = Stack(tracing, outdir, wrap=wrap, bin_dir=bin_dir, ready_timeout=120.0)
    try:
        client = Client()
        for _ in range(WARMUP):
            client.scrape()
        for proc in stack.procs.values():
            callgrind_control("--instr=on", str(proc.pid))
        started = time.perf_counter()
        for _ in range(REQUESTS):
            client.scrape()
        # One export of the batch processor's 5 s schedule lands in the window. Both modes wait
        # alike: what runs by the clock (the job worker's poll, the scheduler's loop, timers)
        # must not count against tracing only.
        time.sleep(6)
        for proc in stack.procs.values():
            callgrind_control("--dump", str(proc.pid))
        log(f"    tracing {tag}: {REQUESTS} requests in {time.perf_counter() - started:.1f} s under callgrind")
        pids = {name: proc.pid for name, proc in stack.procs.items()}
    finally:
        stack.stop()
        if receiver:
            receiver.stop()
    result = {}
    for name in SERVICES:
        dumps = sorted(glob.glob(f"{outdir}/{name}-{tag}.{pids[name]}.callgrind*"))
        total, dump = 0, None
        for path in dumps:
            text = open(path).read()
            found = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
            if found and int(found.group(1)) > total:
                total, dump = int(found.group(1)), path
        result[name] = {"per_request": total / REQUESTS, "dump": dump}
    return result


def top_functions(dump, count=TOP):
    """The functions with the most instructions of their own (self cost), as (share, name)."""
    out = subprocess.run(["callgrind_annotate", "--inclusive=no", "--threshold=100", dump],
                         capture_output=True, text=True, check=True).stdout
    rows = []
    for line in out.splitlines():
        found = re.match(r"^\s*([\d,]+) \(\s*([\d.]+)%\)\s+(.*)$", line)
        if found and "PROGRAM TOTALS" not in line and "file:function" not in line:
            rows.append((float(found.group(2)), shorten(found.group(3))))
    return rows[:count]


def shorten(symbol):
    """`file:function [binary]` → the function path, without generics' and closures' noise."""
    symbol = re.sub(r"\s*\[[^\]]*\]$", "", symbol)
    symbol = symbol.split(":", 1)[1] if re.match(r"^[^:]*\.(rs|c|h|S):", symbol) or symbol.startswith("???:") else symbol
    symbol = re.sub(r"<[^<>]*>", "", re.sub(r"<[^<>]*>", "", symbol))
    return symbol[:110]


def main():
    args = sys.argv[1:]
    before_dir = args[args.index("--before") + 1] if "--before" in args else None
    outdir = tempfile.mkdtemp(prefix="skein-instructions-")
    site = bench.start_site()
    runs = {}
    try:
        builds = [("after", bench.BIN)] + ([("before", before_dir)] if before_dir else [])
        for label, bin_dir in builds:
            for tracing in (False, True):
                log(f"{label}: {bin_dir}, tracing {'on' if tracing else 'off'}")
                os.makedirs(f"{outdir}/{label}", exist_ok=True)
                runs[(label, tracing)] = measure(bin_dir, tracing, f"{outdir}/{label}")
    finally:
        site.terminate()
    table = report(runs, before_dir is not None)
    print(table)
    print(f"callgrind dumps: {outdir}")
    write_section(table, before_dir)


def write_section(table, before_dir):
    """Keeps the figures in BENCHMARKS.md between their own markers (bench.py keeps them)."""
    against = f" The \"before\" columns are the build in `{before_dir}`." if before_dir else ""
    section = f"""<!-- instructions:start -->
## Instructions per request ({datetime.date.today().isoformat()})

`scripts/bench.sh instructions`: each service under callgrind, one keep-alive client, a fixed
number of sequential pipeline requests; the same count on every run, where CPU seconds drift
±15 %.{against}

{table}
<!-- instructions:end -->
"""
    path = os.path.join(bench.ROOT, "BENCHMARKS.md")
    doc = open(path).read() if os.path.exists(path) else "# Skein benchmarks\n"
    doc = re.sub(r"<!-- instructions:start -->.*<!-- instructions:end -->\n", "", doc, flags=re.S)
    with open(path, "w") as f:
        f.write(doc.rstrip() + "\n\n" + section)
    print("updated BENCHMARKS.md")


def report(runs, with_before):
    lines = [f"Instructions per pipeline request (callgrind, {REQUESTS} sequential `POST /api/v1/scrape` "
             f"after {WARMUP} warm-up requests; user space, all threads):", ""]
    head = "| service | tracing off | tracing on |" + (" before, off | before, on |" if with_before else "")
    lines += [head, "|" + " --- |" * (head.count("|") - 1)]
    for name in SERVICES + ["total"]:
        def cell(label, tracing):
            run = runs[(label, tracing)]
            value = sum(r["per_request"] for r in run.values()) if name == "total" else run[name]["per_request"]
            return f"{value / 1e3:,.0f} k"
        row = f"| {name} | {cell('after', False)} | {cell('after', True)} |"
        if with_before:
            row += f" {cell('before', False)} | {cell('before', True)} |"
        lines.append(row)
    for label in ["after"] + (["before"] if with_before else []):
        for name in SERVICES[:3]:
            dump = runs[(label, False)][name]["dump"]
            lines += ["", f"Top of the {name}'s profile ({label}, tracing off; self instructions):", ""]
            lines += [f"- {share:.1f} % `{fn}`" for share, fn in top_functions(dump)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
