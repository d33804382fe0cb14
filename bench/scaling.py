#!/usr/bin/env python3
"""Conversion and reduction against data size and threads (issue 21, deliver 5): run by
`python3 bench/run.py --scaling [--sizes 64,256,1024,4096] [--threads 1,2] [--rounds N]`.

For each size (MiB) a float32 FITS cube of 1024 x 1024 planes (bench/gen.py `scale-<N>M.fits`,
written a plane at a time) is
  - converted to Zarr v2 with zstd level 1: `nd --threads T convert IN OUT.zarr --compressor zstd:1`
    (the output goes beside the input and is removed after each run);
  - reduced along its plane axis: `nd --threads T stat IN 0 --axis 0 --stat mean -o OUT.npy`
    (a 1024 x 1024 result: every value of the input is read once).
Each run is timed around the process (wall clock; hot page cache: the input is read once with
`cat` before), and its memory sampled from /proc/PID/status every 20 ms: peak RSS (VmHWM, which
counts the pages of memory-mapped inputs too) and peak anonymous memory (RssAnon: heap and stacks,
what --budget-mib bounds). The report gives seconds (median over the rounds, min-max), MB/s
(input bytes / median seconds) and seconds per GiB: a cost linear in the size shows as a flat
s/GiB column, bounded memory as a flat RSS column. Both use the default --budget-mib (256).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import threading
import time
from pathlib import Path

from run import BENCH, ROOT, machine, out, sh

JOBS = {
    "convert": "FITS -> Zarr v2 zstd:1",
    "stat-axis": "stat --axis 0 --stat mean",
}


def sampled(argv: list[str]) -> dict:
    """Run argv; wall seconds, peak RSS and peak anonymous memory (bytes), or an error."""
    peak = {"VmHWM:": 0, "RssAnon:": 0}
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    done = threading.Event()

    def watch() -> None:
        status = Path(f"/proc/{p.pid}/status")
        while not done.is_set():
            try:
                for line in status.read_text().splitlines():
                    f = line.split()
                    if f and f[0] in peak:
                        peak[f[0]] = max(peak[f[0]], int(f[1]) * 1024)  # kB
            except (OSError, ValueError, IndexError):
                pass
            done.wait(0.02)

    w = threading.Thread(target=watch, daemon=True)
    w.start()
    stderr = p.stderr.read() if p.stderr else b""
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    done.set()
    w.join()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        return {"error": (stderr.decode(errors="replace").strip().splitlines() or [f"exit {code}"])[-1]}
    return {"seconds": wall, "rss": max(peak["VmHWM:"], ru.ru_maxrss * 1024), "anon": peak["RssAnon:"]}


def command(nd: Path, job: str, threads: int, src: Path, work: Path) -> list[str]:
    base = [str(nd), "--threads", str(threads)]
    if job == "convert":
        return base + ["convert", str(src), str(work / "out.zarr"), "--compressor", "zstd:1", "-q"]
    return base + ["stat", str(src), "0", "--axis", "0", "--stat", "mean", "-o", str(work / "out.npy")]


def main(args, py: str) -> int:
    smoke = args.smoke
    sizes = [int(x) for x in (args.sizes or ("1,2" if smoke else "64,256,1024,4096")).split(",") if x]
    threads = [int(x) for x in (args.threads or "1,2").split(",") if x]
    data = args.data or Path("/tmp/nd-bench-smoke" if smoke else "/tmp/nd-bench")
    out_path = args.out or (data / "SCALING.md" if smoke else BENCH / "SCALING.md")
    profile = "dev" if smoke else "release"
    sh(["cargo", "build", "-q", "--profile", profile, "-p", "nd-cli", "--bin", "nd"], cwd=ROOT)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    nd = target / ("debug" if smoke else "release") / "nd"
    names = [f"scale-{s}M.fits" for s in sizes]
    sh([py, str(BENCH / "gen.py"), str(data), "--only", ",".join(names)] + (["--smoke"] if smoke else []))
    load0 = os.getloadavg()[0]
    rows = []
    for size, name in zip(sizes, names):
        src = data / name
        nbytes = src.stat().st_size
        subprocess.run(["cat", str(src)], stdout=subprocess.DEVNULL, check=True)  # hot page cache
        for job in JOBS:
            for t in threads:
                runs = []
                err = None
                for _ in range(args.rounds):
                    work = data / f"scaling-work-{os.getpid()}"
                    shutil.rmtree(work, ignore_errors=True)
                    work.mkdir(parents=True)
                    try:
                        r = sampled(command(nd, job, t, src, work))
                    finally:
                        shutil.rmtree(work, ignore_errors=True)
                    if "error" in r:
                        err = r["error"]
                        break
                    runs.append(r)
                row = {"size": size, "job": job, "threads": t, "bytes": nbytes, "runs": runs, "error": err}
                rows.append(row)
                print(f"scaling: {size} MiB {job} threads {t}: "
                      + (f"error {err}" if err else f"{statistics.median(x['seconds'] for x in runs):.3f} s"),
                      flush=True)
    load1 = os.getloadavg()[0]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(report(rows, args, load0, load1))
    print(f"wrote {out_path}")
    return 1 if any(r["error"] for r in rows) else 0


def report(rows: list[dict], args, load0: float, load1: float) -> str:
    m = machine()
    L = [f"# nd conversion and reduction against size and threads ({'smoke run: the numbers mean nothing' if args.smoke else 'issue 21, deliver 5'})", ""]
    L.append(f"- commit: `{out(['git', '-C', str(ROOT), 'describe', '--always', '--dirty'])}`; "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {args.rounds} round(s) per row; hot page cache")
    L.append(f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory']}, Linux {m['kernel']}, THP `{m['thp']}`")
    L.append(f"- load average (1 min) at start {load0:.2f}, at end {load1:.2f}"
             + (" — **the machine was loaded: times are inflated and noisy**" if max(load0, load1) > 1 else ""))
    L.append("- re-run: `python3 bench/run.py --scaling` (sizes `--sizes 64,256,1024,4096` MiB, "
             "threads `--threads 1,2`; inputs under /tmp/nd-bench, about 5.4 GiB, and the largest output beside them)")
    L += ["", "Seconds: wall clock of the `nd` process (median, min-max). MB/s: input MB (10^6 bytes) / median "
          "seconds. s/GiB: median seconds per GiB of input (flat when the cost is linear). Peak RSS "
          "includes the memory-mapped input's pages (page cache the kernel can drop); peak anonymous "
          "memory is heap and stacks, what --budget-mib (256) bounds.", ""]
    for job, title in JOBS.items():
        L += [f"## {title}", "",
              "| size MiB | threads | median s | min-max s | MB/s | s/GiB | peak RSS MiB | peak anonymous MiB |",
              "|---|---|---|---|---|---|---|---|"]
        for r in (r for r in rows if r["job"] == job):
            if r["error"]:
                L.append(f"| {r['size']} | {r['threads']} | error: {r['error']} |||||||")
                continue
            ts = [x["seconds"] for x in r["runs"]]
            med = statistics.median(ts)
            rss = max(x["rss"] for x in r["runs"]) / 2**20
            anon = max(x["anon"] for x in r["runs"]) / 2**20
            L.append(f"| {r['size']} | {r['threads']} | {med:.3f} | {min(ts):.3f}-{max(ts):.3f} | "
                     f"{r['bytes'] / 1e6 / med:.0f} | {med / (r['bytes'] / 2**30):.2f} | {rss:.0f} | {anon:.0f} |")
        L.append("")
    return "\n".join(L)
