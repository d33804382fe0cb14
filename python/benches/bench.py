#!/usr/bin/env python3
"""ndfiles against the Python readers of FITS, ASDF and Zarr, and against nd from Rust.

Cases (each timed with its open included, as a user runs it):
  fits_full    full read of a 256 MiB float32 FITS image
  fits_cutout  a 100x100 cutout of it
  fits_walk    every header of a 500-HDU FITS file
  zarr_full    full read of a 512 MiB zstd Zarr cube (float32, 128^3 chunks)
  asdf_full    full read of a 256 MiB float32 ASDF array

Peers: astropy (memmap on and off), fitsio, asdf, zarr-python; "rust" is nd from Rust
(`cargo run --release -p nd --example bench_read`, its own in-process timing). Rounds are
interleaved (round r runs every reader of every case before round r + 1), the median is
reported, and ratios are peer / ndfiles (> 1: ndfiles is faster) and ndfiles / rust.

A case whose ndfiles call takes less than 10 ms (the cutout) would be timed by one cold call per
round, mostly noise: there every reader, nd from Rust included, makes as many calls per round as
fill ~50 ms of ndfiles' time (at most 500), and the round's time of a reader is the median of
its calls (each call on its own clock, as `bench_read N` times each of its N calls). Those calls
are made in batches, the readers taking turns batch by batch, so that every reader meets the
same conditions on a machine whose speed drifts within a second (on 2-core VMs such calls
were seen to take 50 µs for a while, then 80 µs); nd from Rust runs as one `bench_read --serve`
process for the whole run, given its batches in turn with the others. During those cases the
thread making the calls, in this process and in `bench_read`, is pinned to one and the same CPU
(where the OS allows it): the two vCPUs of the VMs this was written on ran such calls at
speeds 1.5x apart for minutes at a time, so two readers left on different CPUs compared CPUs.

Usage (a release build of ndfiles in the venv: `maturin develop --release` in python/):
    pip install -r python/requirements-test.txt -r python/benches/requirements.txt
    cargo build --release -p nd --example bench_read
    python python/benches/bench.py [--rounds 5] [--data DIR] [--nd target/release/examples/bench_read]
                                   [--cases fits_cutout,fits_walk]
    python python/benches/bench.py --smoke      # tiny sizes, one round: checks the script runs

Every reader's result is compared with ndfiles' before timing; a difference stops the run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any, Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def sizes(smoke: bool) -> dict[str, Any]:
    if smoke:
        return {"image": (256, 256), "hdus": 20, "cube": (32, 32, 32), "cube_chunks": (16, 16, 16),
                "asdf": (256, 256), "cutout": (100, 100)}
    return {"image": (8192, 8192), "hdus": 500, "cube": (512, 512, 512),
            "cube_chunks": (128, 128, 128), "asdf": (8192, 8192), "cutout": (4000, 4000)}


def make_data(d: Path, sz: dict[str, Any]) -> dict[str, Path]:
    """Write the inputs once (kept between runs when the sizes match)."""
    from astropy.io import fits

    d.mkdir(parents=True, exist_ok=True)
    tag = "x".join(map(str, sz["image"]))
    paths = {
        "image": d / f"image-{tag}.fits",
        "hdus": d / f"hdus-{sz['hdus']}.fits",
        "cube": d / f"cube-{'x'.join(map(str, sz['cube']))}.zarr",
        "asdf": d / f"array-{'x'.join(map(str, sz['asdf']))}.asdf",
    }
    rng = np.random.default_rng(0)
    if not paths["image"].exists():
        fits.PrimaryHDU(rng.normal(size=sz["image"]).astype("f4")).writeto(paths["image"])
    if not paths["hdus"].exists():
        hdus = [fits.PrimaryHDU()]
        for i in range(sz["hdus"] - 1):
            h = fits.ImageHDU(np.full((10, 10), i, dtype="i2"), name=f"EXT{i}")
            for k in range(30):
                h.header[f"KEY{k}"] = (k * 1.5, f"card {k} of HDU {i + 1}")
            hdus.append(h)
        fits.HDUList(hdus).writeto(paths["hdus"])
    if not paths["cube"].exists():
        import zarr
        from numcodecs import Zstd

        z = zarr.open(str(paths["cube"]), mode="w", shape=sz["cube"], chunks=sz["cube_chunks"],
                      dtype="f4", compressor=Zstd(level=1))
        for i in range(0, sz["cube"][0], sz["cube_chunks"][0]):
            n = min(sz["cube_chunks"][0], sz["cube"][0] - i)
            z[i:i + n] = rng.normal(size=(n,) + tuple(sz["cube"][1:])).astype("f4")
    if not paths["asdf"].exists():
        import asdf

        asdf.AsdfFile({"data": rng.normal(size=sz["asdf"]).astype("f4")}).write_to(paths["asdf"])
    return paths


def readers(paths: dict[str, Path], sz: dict[str, Any], have_fitsio: bool) -> dict[str, dict[str, Callable[[], Any]]]:
    """case → reader name → a call that opens and reads (returning what it read)."""
    import asdf
    import zarr
    from astropy.io import fits

    import ndfiles

    y, x = sz["cutout"]
    cut = (slice(y, y + 100), slice(x, x + 100))
    img, hdus, cube, arr = (str(paths[k]) for k in ("image", "hdus", "cube", "asdf"))

    def astropy_full(memmap: bool):
        def run():
            with fits.open(img, memmap=memmap) as h:
                return np.array(h[0].data)
        return run

    def astropy_cut(memmap: bool):
        def run():
            with fits.open(img, memmap=memmap) as h:
                # .section reads only the rows needed; .data with memmap=True maps the file
                return np.array(h[0].data[cut] if memmap else h[0].section[cut])
        return run

    def astropy_walk():
        with fits.open(hdus) as h:
            return [hdu.header for hdu in h]

    def asdf_full(memmap: bool):
        def run():
            with asdf.open(arr, memmap=memmap, lazy_load=False) as af:
                return np.array(af["data"])
        return run

    out: dict[str, dict[str, Callable[[], Any]]] = {
        "fits_full": {
            "ndfiles": lambda: np.asarray(ndfiles.open(img)["0"]),
            "astropy memmap": astropy_full(True),
            "astropy no memmap": astropy_full(False),
        },
        "fits_cutout": {
            "ndfiles": lambda: ndfiles.open(img)["0"][cut],
            "astropy memmap": astropy_cut(True),
            "astropy no memmap": astropy_cut(False),
        },
        "fits_walk": {
            "ndfiles": lambda: ndfiles.open(hdus).metadata["hdus"],
            "astropy": astropy_walk,
        },
        "zarr_full": {
            "ndfiles": lambda: np.asarray(ndfiles.open(cube)["/"]),
            "zarr-python": lambda: zarr.open(cube, mode="r")[...],
        },
        "asdf_full": {
            "ndfiles": lambda: np.asarray(ndfiles.open(arr)["data"]),
            "asdf memmap": asdf_full(True),
            "asdf no memmap": asdf_full(False),
        },
    }
    if have_fitsio:
        import fitsio

        def fitsio_cut():
            with fitsio.FITS(img) as f:
                return f[0][cut]

        def fitsio_walk():
            with fitsio.FITS(hdus) as f:
                return [h.read_header() for h in f]

        out["fits_full"]["fitsio"] = lambda: fitsio.read(img)
        out["fits_cutout"]["fitsio"] = fitsio_cut
        out["fits_walk"]["fitsio"] = fitsio_walk
    return out


def rust_args(paths: dict[str, Path], sz: dict[str, Any]) -> dict[str, list[str]]:
    y, x = sz["cutout"]
    return {
        "fits_full": ["read", str(paths["image"]), "0"],
        "fits_cutout": ["cutout", str(paths["image"]), "0", f"{y}:{y + 100},{x}:{x + 100}"],
        "fits_walk": ["walk", str(paths["hdus"])],
        "zarr_full": ["read", str(paths["cube"]), "/"],
        "asdf_full": ["read", str(paths["asdf"]), "data"],
    }


class RustReader:
    """nd from Rust: one `bench_read --serve` process, asked for runs one at a time."""

    def __init__(self, exe: Path):
        self.proc = subprocess.Popen([str(exe), "--serve"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, bufsize=1)

    def run(self, n: int, args: list[str]) -> list[float]:
        """`n` timed calls; the seconds of each."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("\t".join([str(n), *args]) + "\n")
        self.proc.stdin.flush()
        times = []
        for line in self.proc.stdout:
            if line.strip() == "end":
                return times
            times.append(float(line.split()[0]))
        raise SystemExit(f"bench_read --serve stopped (exit {self.proc.wait()})")

    def pin(self, cpus: set[int]) -> None:
        """Run its calls on `cpus` (its main thread, which makes them)."""
        os.sched_setaffinity(self.proc.pid, cpus)

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait()


def pin(server: RustReader | None, cpus: set[int]) -> None:
    """This thread, and nd from Rust's, to run on `cpus`."""
    os.sched_setaffinity(0, cpus)
    if server is not None:
        server.pin(cpus)


# batches of calls per round in which the readers of a case take turns (see the docstring)
BATCHES = 12


def calls_per_round(fn: Callable[[], Any], smoke: bool) -> int:
    """How many calls of a case each reader makes per round: 1 for calls of 10 ms or more,
    else enough to fill ~50 ms of ndfiles' time (at most 500; 2 in smoke mode, to keep the
    path exercised)."""
    t0 = time.perf_counter()
    fn()
    t = time.perf_counter() - t0
    if t >= 0.01:
        return 1
    return 2 if smoke else max(1, min(500, int(0.05 / max(t, 1e-6))))


def check_same(case: str, name: str, got: Any, want: Any) -> None:
    if case == "fits_walk":
        assert len(got) == len(want), (case, name, len(got), len(want))
        return
    g, w = np.asarray(got), np.asarray(want)
    if g.shape != w.shape or not np.array_equal(g.astype(w.dtype.newbyteorder("=")), w, equal_nan=True):
        raise SystemExit(f"{case}: {name} read other values than ndfiles")


def main(argv: list[str] | None = None) -> dict[str, dict[str, float]]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--data", type=Path, default=ROOT / "target" / "bench-data")
    p.add_argument("--nd", type=Path, default=ROOT / "target" / "release" / "examples" / "bench_read",
                   help="the bench_read example (nd from Rust); skipped when absent")
    p.add_argument("--smoke", action="store_true", help="tiny inputs, one round")
    p.add_argument("--json", type=Path, help="also write the medians here")
    p.add_argument("--cases", help="comma-separated cases to run (default: all)")
    a = p.parse_args(argv)
    rounds = 1 if a.smoke else a.rounds
    sz = sizes(a.smoke)
    warnings.simplefilter("ignore")
    paths = make_data(a.data / ("smoke" if a.smoke else "full"), sz)
    try:
        import fitsio  # noqa: F401
        have_fitsio = True
    except ImportError:
        have_fitsio = False
        print("(fitsio not installed: pip install -r python/benches/requirements.txt)", file=sys.stderr)
    cases = readers(paths, sz, have_fitsio)
    if a.cases:
        wanted = a.cases.split(",")
        unknown = sorted(set(wanted) - set(cases))
        if unknown:
            raise SystemExit(f"unknown cases {unknown}; cases: {', '.join(cases)}")
        cases = {c: rs for c, rs in cases.items() if c in wanted}
    rust = {c: r for c, r in rust_args(paths, sz).items() if c in cases} if a.nd.exists() else {}
    if not rust:
        print(f"({a.nd} not built: no nd-from-Rust times)", file=sys.stderr)
    # every reader once, untimed: same values as ndfiles, and the page cache warm for all
    for case, rs in cases.items():
        want = rs["ndfiles"]()
        for name, fn in rs.items():
            check_same(case, name, fn(), want)
    calls = {case: calls_per_round(rs["ndfiles"], a.smoke) for case, rs in cases.items()}
    times: dict[str, dict[str, list[float]]] = {c: {n: [] for n in rs} for c, rs in cases.items()}
    for c in rust:
        times[c]["rust"] = []
    server = RustReader(a.nd) if rust else None
    every_cpu = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        for _ in range(rounds):
            for case, rs in cases.items():
                n = calls[case]
                batches = min(n, BATCHES)
                pinned = n > 1 and every_cpu is not None
                if pinned:  # see the docstring: short calls, every reader on one CPU
                    pin(server, {min(every_cpu)})
                each: dict[str, list[float]] = {name: [] for name in times[case]}
                for b in range(batches):
                    k = n // batches + (b < n % batches)  # calls of this batch
                    for name, fn in rs.items():
                        for _ in range(k):
                            t0 = time.perf_counter()
                            got = fn()
                            each[name].append(time.perf_counter() - t0)
                            # freed after the clock stops, as nd from Rust drops its result
                            del got
                    if server is not None and case in rust:
                        each["rust"].extend(server.run(k, rust[case]))
                if pinned:
                    pin(server, every_cpu)
                for name, ts in each.items():
                    times[case][name].append(statistics.median(ts))
    finally:
        if server is not None:
            server.close()
    if any(n > 1 for n in calls.values()):
        print("calls per round: " + ", ".join(f"{c} {n}" for c, n in calls.items() if n > 1))
    medians = {c: {n: statistics.median(v) for n, v in ts.items()} for c, ts in times.items()}
    print(report(medians, rounds))
    if a.json:
        a.json.write_text(json.dumps(medians, indent=1))
    return medians


def report(medians: dict[str, dict[str, float]], rounds: int) -> str:
    lines = [f"median of {rounds} interleaved rounds; ratio = reader / ndfiles (> 1: ndfiles faster); "
             "rust: ndfiles / nd from Rust", "",
             "| case | reader | median (ms) | ratio |", "|---|---|---:|---:|"]
    for case, ms in medians.items():
        nd = ms["ndfiles"]
        for name, t in ms.items():
            if name == "ndfiles":
                ratio = "1"
            elif name == "rust":
                ratio = f"ndfiles/rust {nd / t:.2f}"
            else:
                ratio = f"{t / nd:.2f}"
            lines.append(f"| {case} | {name} | {t * 1e3:.4g} | {ratio} |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
