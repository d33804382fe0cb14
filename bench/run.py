#!/usr/bin/env python3
"""nd against its peers, side by side in the same run: the benchmark of issue 21.

    python3 bench/run.py [--rounds 7] [--data DIR] [--tasks fits_f32,zarr_zstd,...]
    python3 bench/run.py --smoke          # tiny data, 1 round: checks that the mechanism works
    python3 bench/run.py --scaling [--sizes 64,256,1024,4096] [--threads 1,2]
                                          # conversion and reduction against size (bench/scaling.py)

What it does:
  1. a venv with the Python peers (bench/requirements.txt, PyPI) in bench/.venv, unless
     --python names an interpreter that already has them;
  2. builds nd's timing binary (`cargo build --release -p nd --example bench_read`; dev profile
     with --smoke) and the Rust peers zarrs and fitsrs (bench/peers-rs, its own workspace; not
     in --smoke unless --rust-peers), and ndfiles into bench/.venv (`maturin develop --release`;
     not with --smoke or --python);
  3. writes the datasets deterministically (bench/gen.py, with the reference libraries);
  4. per task: one warm-up `cat` of the input (hot page cache), then ROUNDS interleaved rounds:
     each round runs every reader once, in a rotated order, each in its own process. A reader's
     time is its own clock around open + full read (after imports); `cat` (of the file, or of
     every file of a Zarr store) is timed by this script around the process and is the floor.
     Peak RSS of each process comes from wait4's rusage (ru_maxrss);
  5. writes a Markdown report (bench/RESULTS.md; --smoke: DATA/RESULTS.md) with the commit, the
     machine, its load, medians, min-max spread, ratios (peer time / nd time: > 1 means nd is
     faster; their min-max over the rounds) and peak RSS. Readers that are not installed are
     listed as skipped, by name. A reader whose check value (sum of the values) differs from
     nd's is marked.
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import platform
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"

# task -> (dataset, nd selector, readers besides nd and cat)
TASKS: dict[str, tuple[str, str, list[str]]] = {
    "fits_f32": ("f32.fits", "0", ["ndfiles", "astropy", "fitsio", "fitsrs", "floor"]),
    "fits_i16": ("i16s.fits", "0", ["ndfiles", "astropy", "fitsio", "fitsrs"]),
    "fits_walk": ("many.fits", "", ["ndfiles", "astropy", "fitsio", "fitsrs"]),
    "zarr_zstd": ("zstd.zarr", "/", ["ndfiles", "zarr-python", "zarrs", "zarrs-hp"]),
    "zarr_blosc": ("blosc.zarr", "/", ["ndfiles", "zarr-python", "zarrs", "zarrs-hp"]),
    "zarr_raw": ("raw.zarr", "/", ["ndfiles", "zarr-python", "zarrs", "zarrs-hp"]),
    "asdf_plain": ("plain.asdf", "data", ["ndfiles", "asdf", "floor"]),
    "asdf_zlib": ("zlib.asdf", "data", ["ndfiles", "asdf"]),
    "asdf_many": ("many.asdf", "", ["ndfiles", "asdf"]),
    "fits_cutout": ("f32.fits", "0", ["astropy", "fitsio"]),
    "fits_cutout_http": ("f32.fits", "0", ["astropy", "fitsio"]),
    "zarr_cutout": ("zstd.zarr", "/", ["zarr-python", "zarrs"]),
    "zarr_write": ("raw.zarr", "/", ["zarr-python", "zarrs"]),
    "fits_convert": ("cube.fits", "0", ["nd-1t", "astropy+zarr"]),
}
# a header walk or a cutout does not read the whole file: no `cat` floor
NO_CAT = {"fits_walk", "asdf_many", "fits_cutout", "fits_cutout_http", "zarr_cutout", "zarr_write",
          "fits_convert"}
# tasks that write a Zarr store (under the data directory, removed after each run; read back once
# per reader by zarr-python for the check)
WRITES = {"zarr_write": "written.zarr", "fits_convert": "converted.zarr"}
# fits_convert's chunks (the README's conversion benchmark; larger than the smoke cube: one chunk)
CONVERT_CHUNKS = "64,256,256"
# the 100 x 100 cutout of the cutout tasks (rows, columns; given to bench/peers.py), and the
# smoke data's (its image is 64 x 64)
CUTOUT = "4000:4100,4000:4100"
SMOKE_CUTOUT = "20:40,20:40"
# the Zarr cutout: 64³ across 4 chunks of 64 x 256 x 256 (smoke: chunks 8 x 16 x 16)
ZARR_CUTOUT, SMOKE_ZARR_CUTOUT = "100:164,200:264,300:364", "3:11,10:20,12:28"
# bytes the cutout needs: 100 rows of 100 float32 (the floor the byte counts are compared with)
CUTOUT_BYTES = 100 * 100 * 4
NOTES = {
    "fits_i16": "fitsrs does not apply BSCALE/BZERO: its time and check are for the raw int16.",
    "fits_f32": ("astropy returns big-endian float32 (no byte swap); the others native order. "
                 "floor: the file's bytes read into fresh memory of its size (huge-page advice, from a "
                 "2 MiB boundary) by "
                 "one thread per core, 4 MiB positional reads taken in turn, nothing parsed or swapped "
                 "(bench/peers-rs): the least a reader handing out new memory does, where `cat` "
                 "reuses one small buffer and so pays no first touch of fresh pages."),
    "asdf_plain": "floor: as for fits_f32.",
    "fits_walk": ("nd and fitsrs: open and count the HDUs (every header read and parsed, data "
                  "units skipped); astropy: every `hdu.header`; fitsio: every `read_header()`; "
                  "ndfiles: the `metadata` dict of every header."),
    "asdf_many": ("Open, then read every array whole and keep it; each reader's clock stops after "
                  "the last read (the sums and the file's close come after), as asdf's is."),
    "zarr_zstd": "zarrs-hp: zarrs with GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (huge pages).",
    "fits_cutout": (f"Open + read rows and columns {CUTOUT} (100 x 100 float32, {CUTOUT_BYTES} "
                    "bytes of data in 100 runs of 400 bytes) of the 8192² image. Bytes: nd, what its "
                    "FITS reader asks its byte source for (header blocks included; a memory map "
                    "answers without system calls, so it is counted at the source); astropy "
                    "(`.section`, memmap=False) and fitsio, what the process read through read/pread "
                    "meanwhile (/proc/self/io rchar). The floor is the header plus the rows' bytes; "
                    "nd's goal: no more than one 2880-byte block per run."),
    "zarr_cutout": f"Open + read {ZARR_CUTOUT} (64³ uint16) of the zstd store (nd reads it as float32).",
    "zarr_write": ("The raw store's values, read whole before the clock starts, written into a new "
                   "store with the same chunks, zstd level 1 (a Zarr v2 write of 512 MiB). nd: as "
                   "`nd convert` writes (built under a temporary name, one sync of the tree and a "
                   "rename at the end: durable); zarr-python (DirectoryStore) and zarrs "
                   "(FilesystemStore) do not sync. The output is removed after each run."),
    "fits_convert": ("The 1 GiB float32 cube (256 x 1024 x 1024) written as a Zarr v2 store, chunks "
                     f"{CONVERT_CHUNKS}, zstd level 3: nd is `nd --threads 2 convert` (nd-1t: "
                     "`--threads 1`), timed around the process, durable (one sync of the tree, a "
                     "rename); astropy+zarr is astropy's memory map written by zarr-python 2 "
                     "(`z[...] = data`, one thread, no sync), timed after its imports. Both write a root array. Each store is "
                     "read back by zarr-python for the check (first round) and removed after each run."),
    "fits_cutout_http": ("The same cutout from nginx on loopback (.ci/servers.sh). Bytes and "
                         "requests: what the server's access log says it sent ($body_bytes_sent, "
                         "multipart framing included) during the reader's process. astropy: "
                         "`fits.open(url, use_fsspec=True)` with fsspec's defaults; fitsio: cfitsio's "
                         "own http driver."),
}
PY_READERS = {"ndfiles", "astropy", "fitsio", "asdf", "zarr-python", "astropy+zarr"}
RS_PEERS = BENCH / "peers-rs"


def sh(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, **kw)


def out(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def venv_python(args) -> str:
    if args.python:
        return args.python
    venv = BENCH / ".venv"
    py = venv / "bin" / "python"
    if not py.exists():
        sh([sys.executable, "-m", "venv", str(venv)])
    stamp = venv / ".requirements"
    req = (BENCH / "requirements.txt").read_text()
    if not stamp.exists() or stamp.read_text() != req:
        sh([str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r",
            str(BENCH / "requirements.txt")])
        stamp.write_text(req)
    return str(py)


def build(args, py: str) -> tuple[Path, Path | None]:
    """nd's timing binary (the `nd` command beside it: fits_convert runs it), the Rust peers and
    (not --smoke, in the script's own venv) ndfiles, release builds all."""
    profile = "dev" if args.smoke else "release"
    maturin = Path(py).parent / "maturin"
    if not args.smoke and not args.python and maturin.exists():
        # an editable install whose extension the tests (scripts/test-all.sh) may have left as a
        # dev build beside python/ndfiles: built again here, so that ndfiles is timed as shipped
        venv = str(Path(py).parent.parent)
        env = dict(os.environ, VIRTUAL_ENV=venv, PATH=f"{venv}/bin:{os.environ.get('PATH', '')}")
        sh([str(maturin), "develop", "-q", "--release"], cwd=ROOT / "python", env=env)
    sh(["cargo", "build", "-q", "--profile", profile, "-p", "nd", "--example", "bench_read",
        "-p", "nd-cli", "--bin", "nd"], cwd=ROOT)
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    nd = target / ("debug" if args.smoke else "release") / "examples" / "bench_read"
    peers = RS_PEERS / "target" / "release" / "nd-bench-peers"
    if not args.smoke or args.rust_peers:
        sh(["cargo", "build", "-q", "--release", "--manifest-path", str(RS_PEERS / "Cargo.toml")])
    return nd, (peers if peers.exists() else None)


def extra_arg(task: str, data: Path, smoke: bool) -> str:
    """What a task gives every reader after the path: a cutout's region, a write's destination."""
    if task.startswith("fits_cutout"):
        return SMOKE_CUTOUT if smoke else CUTOUT
    if task == "zarr_cutout":
        return SMOKE_ZARR_CUTOUT if smoke else ZARR_CUTOUT
    if task in WRITES:
        return str(data / WRITES[task])
    return ""


def command(reader: str, task: str, path: Path, py: str, nd: Path, peers: Path | None, cut: str):
    """(argv, extra env, how the time is taken) or a reason to skip; `cut`: extra_arg's."""
    sel = TASKS[task][1]
    if task == "fits_convert" and reader in ("nd", "nd-1t"):
        cli = nd.parent.parent / "nd"  # target/<profile>/nd, beside examples/bench_read
        threads = "1" if reader == "nd-1t" else "2"
        return [str(cli), "--threads", threads, "convert", "-q", "--array", sel, str(path), cut, "--compressor",
                "zstd:3", "--chunks", CONVERT_CHUNKS], {}, "wall"
    if task == "fits_convert" and reader in PY_READERS:
        return [py, str(BENCH / "peers.py"), reader, task, str(path), cut, CONVERT_CHUNKS], {}, "json"
    if reader == "nd":
        verb = {"fits_walk": "hdus", "asdf_many": "touch"}.get(task, "full")
        if task.startswith("fits_cutout") or task == "zarr_cutout":
            return [str(nd), "1", "cutout", str(path), sel, cut], {}, "nd"
        if task == "zarr_write":
            return [str(nd), "1", "zarr-write", str(path), cut], {}, "nd"
        return [str(nd), "1", verb, str(path)] + ([sel] if sel else []), {}, "nd"
    if reader == "cat":
        files = sorted(str(p) for p in path.rglob("*") if p.is_file()) if path.is_dir() else [str(path)]
        return ["cat", *files], {}, "wall"
    if reader in PY_READERS:
        return [py, str(BENCH / "peers.py"), reader, task, str(path)] + ([cut] if cut else []), {}, "json"
    if reader in ("zarrs", "zarrs-hp", "fitsrs", "floor"):
        if peers is None:
            return f"bench/peers-rs not built (cargo build --release --manifest-path {RS_PEERS.relative_to(ROOT)}/Cargo.toml)"
        env = {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1"} if reader == "zarrs-hp" else {}
        kind = task if task in ("zarr_cutout", "zarr_write") or not reader.startswith("zarrs") else "zarr"
        return [str(peers), reader.removesuffix("-hp"), kind, str(path)] + ([cut] if cut else []), env, "json"
    return f"unknown reader {reader}"


def readback(store: Path, py: str) -> float | None:
    """The sum of a written Zarr array's values, as zarr-python reads them (None if it fails)."""
    r = run_once([py, str(BENCH / "peers.py"), "zarr-python", "zarr_raw", str(store)], {}, "json")
    c = r.get("check")
    return c if c == c else None  # NaN: no values


def http_server(data: Path) -> dict | str:
    """The CI's loopback nginx (.ci/servers.sh; started here, owned by this process, when its
    env file is absent) serving DATA under /bench/: its base URL and access log, or why not."""
    envf = ROOT / "target" / "nd-test-servers.env"
    if not envf.exists():
        env = dict(os.environ, ND_SERVERS_OWNER_PID=str(os.getpid()))
        r = subprocess.run(["bash", str(ROOT / ".ci" / "servers.sh")], cwd=ROOT, env=env,
                           capture_output=True, text=True, check=False)
        if r.returncode != 0 or not envf.exists():
            return "the loopback servers did not start (bash .ci/servers.sh): " + (r.stderr.strip().splitlines() or ["?"])[-1]
    cfg = dict(line.split("=", 1) for line in envf.read_text().splitlines() if "=" in line)
    link = Path(cfg["ND_TEST_HTTP_ROOT"]) / "bench"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(data.resolve(), target_is_directory=True)
    return {"url": cfg["ND_TEST_HTTP_URL"] + "/bench", "log": Path(cfg["ND_TEST_HTTP_LOG"])}


def served(log: Path, since: int) -> tuple[int, int]:
    """Requests and response body bytes the access log (format `nd` of
    testdata/remote/nginx.conf.in: the last field is $body_bytes_sent) recorded after byte `since`."""
    with open(log, "rb") as f:
        f.seek(since)
        lines = f.read().decode(errors="replace").splitlines()
    return len(lines), sum(int(x.rsplit(" ", 1)[-1]) for x in lines if x.rsplit(" ", 1)[-1].isdigit())


def run_once(argv: list[str], env: dict, how: str) -> dict:
    """Run one reader process; its time, check value and peak RSS (bytes)."""
    e = dict(os.environ, **env)
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL if how == "wall" else subprocess.PIPE,
                         stderr=subprocess.PIPE, env=e)
    stdout = p.stdout.read() if p.stdout else b""
    stderr = p.stderr.read()
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    code = os.waitstatus_to_exitcode(status)
    rss = ru.ru_maxrss * 1024
    if how == "json" and code == 3:
        return {"skipped": json.loads(stdout).get("skipped", "not installed")}
    if code != 0:
        return {"error": (stderr.decode(errors="replace").strip().splitlines() or [f"exit {code}"])[-1]}
    if how == "wall":
        return {"seconds": wall, "rss": rss, "check": None}
    if how == "nd":
        secs, check, *extra = stdout.decode().split()
        r = {"seconds": float(secs), "check": float(check), "rss": rss}
        r.update({k: int(v) for k, v in (x.split("=", 1) for x in extra)})
        return r
    d = json.loads(stdout)
    r = {"seconds": d["seconds"], "check": d["check"], "rss": rss}
    if "bytes" in d:
        r["bytes"] = d["bytes"]
    return r


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        mem = f"{int(Path('/proc/meminfo').read_text().split()[1]) / 2**20:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    thp = ""
    try:
        thp = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text().strip()
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "memory": mem, "kernel": platform.release(),
            "thp": thp, "first_touch": first_touch_us(), "damon": damon_pageout()}


def first_touch_us() -> float:
    """Microseconds to fault in one fresh 4 KiB page of anonymous memory (median of 3 passes over
    64 MiB): what every reader pays per page of new memory it writes. On a VM whose host has
    taken back the guest's free memory it is several times what bare metal pays.

    Measured in a forked child: the 64 MiB would otherwise raise this script's peak RSS, which
    every reader it starts inherits (see `harness_rss_mib`)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(r)
            n = 64 << 20
            per_page = []
            for _ in range(3):
                m = mmap.mmap(-1, n)
                t = time.perf_counter()
                m[::4096] = b"\1" * (n // 4096)
                per_page.append((time.perf_counter() - t) / (n // 4096) * 1e6)
                m.close()
            os.write(w, repr(median(per_page)).encode())
        finally:
            os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        got = f.read()
    os.waitpid(pid, 0)
    try:
        return float(got)
    except ValueError:
        return float("nan")


def harness_rss_mib() -> float:
    """This script's peak RSS. A reader's peak RSS (wait4's ru_maxrss) is at least this: Linux
    counts, at a process's exec, the peak of the address space it had before, and a reader
    started by `subprocess` (vfork) had this script's until then."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def damon_pageout() -> str:
    """Whether a running DAMON scheme pages out memory left idle (page cache included), and after
    how long: a file not read for that long is no longer in the page cache, and the memory freed
    goes back to the host, so a later first touch costs more."""
    for k in sorted(Path("/sys/kernel/mm/damon/admin/kdamonds").glob("[0-9]*")):
        try:
            if (k / "state").read_text().strip() != "on":
                continue
            for ctx in sorted((k / "contexts").glob("[0-9]*")):
                aggr_us = int((ctx / "monitoring_attrs/intervals/aggr_us").read_text())
                for sch in sorted((ctx / "schemes").glob("[0-9]*")):
                    if (sch / "action").read_text().strip() == "pageout":
                        age = int((sch / "access_pattern/age/min").read_text())
                        return f"pages out memory idle for {age * aggr_us / 1e6:.0f} s or more"
        except (OSError, ValueError):
            continue
    return ""


def versions(py: str) -> str:
    code = ("import importlib.metadata as m\n"
            "for n in ['numpy','astropy','fitsio','asdf','zarr','numcodecs','ndfiles']:\n"
            "  try: print(n, m.version(n))\n"
            "  except Exception: print(n, '-')\n")
    return ", ".join(out([py, "-c", code]).splitlines())


def span(xs: list[int]) -> str:
    """A count's median, with its min-max when the rounds differ."""
    if not xs:
        return ""
    m = int(median(xs))
    return f"{m}" if min(xs) == max(xs) else f"{m} ({min(xs)}-{max(xs)})"


def fmt_s(x: float) -> str:
    return f"{x:.4f}" if x == x else "-"


def settle(quiet: float = 0.5, most: float = 180.0) -> float:
    """Wait until the 1-minute load average is below `quiet` (at most `most` seconds): the
    builds and the data generation just before leave it high for a minute or two, and the
    first tasks would be timed on a busy machine (and with fragmented memory: huge pages then
    come late). Gives the seconds waited."""
    t = time.monotonic()
    while os.getloadavg()[0] >= quiet and time.monotonic() - t < most:
        time.sleep(5)
    return time.monotonic() - t


def report(results: dict, args, meta: dict) -> str:
    L = [f"# nd against its peers ({'smoke run, tiny data: the numbers mean nothing' if args.smoke else 'issue 21 benchmark'})", ""]
    L.append(f"- commit: `{meta['commit']}`; {meta['date']}; {args.rounds} interleaved rounds per task, "
             "each reader in its own process, in rotated order; hot page cache")
    m = meta["machine"]
    L.append(f"- machine: {m['cpu']}, {m['cores']} cores, {m['memory']}, Linux {m['kernel']}, THP `{m['thp']}`; "
             f"first touch of fresh memory {m['first_touch']:.2f} µs per 4 KiB page"
             + (f"; DAMON {m['damon']}" if m["damon"] else ""))
    L.append(f"- load average (1 min) at start {meta['load0']:.2f} (after waiting {meta['settled']:.0f} s "
             f"for the builds' load to settle), at end {meta['load1']:.2f}"
             # at the end the load includes the benchmark's own readers (about 1 on 2 cores)
             + (" — **the machine was loaded: absolute times are inflated and noisy**"
                if meta['load0'] > 1 or meta['load1'] > 2 else ""))
    L.append(f"- Python peers: {meta['versions']}")
    L.append(f"- re-run: `{meta['cmdline']}`")
    L.append("")
    L.append("How to re-run for issue 21's acceptance: on a quiet machine (load average below 0.5, "
             "nothing else running), `python3 bench/run.py --rounds 9` twice; each run rewrites this file "
             "(keep both). The first run makes bench/.venv and writes the datasets (about 5 GiB under "
             "/tmp/nd-bench; `--data DIR` elsewhere); later runs reuse them. Conversion and reduction "
             "against size and threads: `python3 bench/run.py --scaling` (bench/SCALING.md). "
             "What each task measures and how bytes are counted: bench/README.md.")
    L.append("")
    L.append("Time: each reader's own clock around open + full read (cat: wall time of the process). "
             "Ratio = peer median / nd median (> 1: nd faster); 'ratio range' = min-max of the per-round ratios. "
             "RSS: peak resident set of the reader's process (Python peers include the interpreter and imports); "
             f"none reads below this script's own peak, {harness_rss_mib():.0f} MiB, which Linux counts for a process "
             "started from it (the address space it had until its exec).")
    for task, rows in results.items():
        L += ["", f"## {task} ({TASKS[task][0]})", ""]
        if task in NOTES:
            L += [NOTES[task], ""]
        counted = any("bytes" in r for r in rows.values())
        L.append("| reader | median s | min-max s | ratio peer/nd | ratio range | peak RSS MiB | check |"
                 + (" bytes read | reads / requests |" if counted else ""))
        L.append("|---|---|---|---|---|---|---|" + ("---|---|" if counted else ""))
        nd = rows.get("nd", {})
        nd_med = median(nd.get("times", []))
        skipped = []
        for reader, r in rows.items():
            if "skipped" in r:
                skipped.append(f"{reader} ({r['skipped']})")
                continue
            if "error" in r:
                L.append(f"| {reader} | error: {r['error']} | | | | | |")
                continue
            ts = r["times"]
            med = median(ts)
            ratio = med / nd_med if reader != "nd" and nd_med == nd_med else float("nan")
            per = [a / b for a, b in zip(r["times"], nd.get("times", [])) if b > 0] if reader != "nd" else []
            rr = f"{min(per):.2f}-{max(per):.2f}" if per else ""
            rss = median([x / 2**20 for x in r["rss"]])
            check = r.get("check_ok", "")
            extra = ""
            if counted:
                # bytes and requests do not depend on load: the median, and the range if they vary
                extra = "".join(f" {span(r.get(k, []))} |" for k in ("bytes", "requests"))
            L.append(f"| {reader} | {fmt_s(med)} | {fmt_s(min(ts))}-{fmt_s(max(ts))} | "
                     f"{'' if reader == 'nd' else f'{ratio:.2f}x'} | {rr} | {rss:.0f} | {check} |" + extra)
        one = rows.get("nd-1t", {}).get("times", [])
        for reader, r in rows.items():
            if one and reader not in ("nd", "nd-1t", "cat") and r.get("times"):
                per = [a / b for a, b in zip(r["times"], one) if b > 0]
                L += ["", f"{reader} against nd on one thread (nd-1t): {median(r['times']) / median(one):.2f}x "
                      f"(per round {min(per):.2f}-{max(per):.2f})."]
        if skipped:
            L += ["", "Skipped: " + "; ".join(skipped)]
    L.append("")
    return "\n".join(L)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--smoke", action="store_true", help="tiny data, 1 round, dev build")
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument("--data", type=Path, default=None, help="dataset directory (default /tmp/nd-bench[-smoke])")
    ap.add_argument("--tasks", default="", help="comma-separated subset of: " + ", ".join(TASKS))
    ap.add_argument("--python", default="", help="an interpreter that has bench/requirements.txt (default: make bench/.venv)")
    ap.add_argument("--rust-peers", action="store_true", help="build and time zarrs and fitsrs in --smoke too")
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--scaling", action="store_true",
                    help="instead: conversion and axis reduction against size and threads (bench/scaling.py; "
                         "report bench/SCALING.md)")
    ap.add_argument("--sizes", default="", help="--scaling: input sizes in MiB (default 64,256,1024,4096; smoke 1,2)")
    ap.add_argument("--threads", default="", help="--scaling: thread counts (default 1,2)")
    args = ap.parse_args(argv)
    if args.scaling:
        import scaling  # bench/scaling.py, beside this file

        args.rounds = args.rounds or (1 if args.smoke else 3)
        return scaling.main(args, venv_python(args))
    args.rounds = args.rounds or (1 if args.smoke else 7)
    data = args.data or Path("/tmp/nd-bench-smoke" if args.smoke else "/tmp/nd-bench")
    out_path = args.out or (data / "RESULTS.md" if args.smoke else BENCH / "RESULTS.md")
    tasks = [t for t in args.tasks.split(",") if t] or list(TASKS)
    for t in tasks:
        if t not in TASKS:
            ap.error(f"unknown task {t}")

    py = venv_python(args)
    nd, peers = build(args, py)
    need = sorted({TASKS[t][0] for t in tasks})
    sh([py, str(BENCH / "gen.py"), str(data), "--only", ",".join(need)] + (["--smoke"] if args.smoke else []))
    settled = 0.0 if args.smoke else settle()

    meta = {
        "commit": out(["git", "-C", str(ROOT), "describe", "--always", "--dirty"]),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": machine(),
        "load0": os.getloadavg()[0],
        "settled": settled,
        "versions": versions(py),
        "cmdline": "python3 bench/run.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])),
    }
    results: dict[str, dict[str, dict]] = {}
    http = None
    if any(t.endswith("_http") for t in tasks):
        # the smoke run uses the servers when they are up (CI starts them) and starts none
        up = (ROOT / "target" / "nd-test-servers.env").exists()
        http = http_server(data) if up or not args.smoke else "the loopback servers are not up (bash .ci/servers.sh)"
    for task in tasks:
        path = data / TASKS[task][0]
        log = None
        if task.endswith("_http"):
            if isinstance(http, str):
                results[task] = {"nd": {"skipped": http}}
                continue
            path, log = f"{http['url']}/{TASKS[task][0]}", http["log"]
        readers = ["nd", *TASKS[task][2]] + ([] if task in NO_CAT else ["cat"])
        rows: dict[str, dict] = {}
        cmds = {}
        for r in readers:
            c = command(r, task, path, py, nd, peers, extra_arg(task, data, args.smoke))
            if isinstance(c, str):
                rows[r] = {"skipped": c}
            else:
                cmds[r] = c
                rows[r] = {"times": [], "rss": [], "checks": []}
        if "cat" in cmds:  # warm the page cache
            run_once(*cmds["cat"])
        active = list(cmds)
        for k in range(args.rounds):
            order = active[k % len(active):] + active[:k % len(active)]
            for r in order:
                if "times" not in rows[r]:
                    continue
                since = log.stat().st_size if log else 0
                res = run_once(*cmds[r])
                if task in WRITES:
                    written = data / WRITES[task]
                    if "seconds" in res:
                        # the check: the store read back (once per reader), not the values sent
                        res["check"] = rows[r]["checks"][0] if rows[r]["checks"] else readback(written, py)
                        if res["check"] is None:
                            res = {"error": f"zarr-python could not read back {written.name}"}
                    shutil.rmtree(written, ignore_errors=True)
                if log and "seconds" in res:
                    # what crossed the wire, by the server's count (nd's own is a cross-check)
                    res["requests"], res["bytes"] = served(log, since)
                if "seconds" in res:
                    rows[r]["times"].append(res["seconds"])
                    rows[r]["rss"].append(res["rss"])
                    rows[r]["checks"].append(res["check"])
                    for k in ("bytes", "requests"):
                        if k in res:
                            rows[r].setdefault(k, []).append(res[k])
                else:
                    rows[r] = res
        want = rows.get("nd", {}).get("checks", [None])[:1]
        for r, row in rows.items():
            cs = [c for c in row.get("checks", []) if c is not None]
            if r == "nd" or not cs or not want or want[0] is None:
                continue
            tol = 1e-6 * max(1.0, abs(want[0]))
            row["check_ok"] = "same" if all(abs(c - want[0]) <= tol for c in cs) else f"differs ({cs[0]:.6g})"
        results[task] = rows
        line = ", ".join(f"{r} {median(v['times']):.4f}s" if "times" in v else f"{r} {'skipped' if 'skipped' in v else 'error'}"
                         for r, v in rows.items())
        print(f"{task}: {line}", flush=True)
    meta["load1"] = os.getloadavg()[0]
    text = report(results, args, meta)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(text)
    print(f"wrote {out_path}")
    errors = [f"{t}/{r}: {v['error']}" for t, rows in results.items() for r, v in rows.items() if "error" in v]
    bad = [f"{t}/{r}: {v['check_ok']}" for t, rows in results.items() for r, v in rows.items()
           if str(v.get("check_ok", "")).startswith("differs") and not (t == "fits_i16" and r == "fitsrs")]
    for e in errors + bad:
        print(f"bench: {e}", file=sys.stderr)
    return 1 if errors or bad or "error" in results.get(tasks[0], {}).get("nd", {}) else 0


if __name__ == "__main__":
    sys.exit(main())
