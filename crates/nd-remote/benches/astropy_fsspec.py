"""Remote FITS reads: nd-remote against astropy + fsspec, same file on the same loopback nginx.

Needs the servers of `.ci/servers.sh` and the 64 MiB file the `formats` tests (or the criterion
bench) write. Run from the repository root:

    bash .ci/servers.sh
    cargo build --release -p nd-remote --example remote_read
    .venv/bin/python crates/nd-remote/benches/astropy_fsspec.py

For each tool and read it prints the median in-process time (open + read, fresh file object each
time) and, for one cold run, the requests and response bytes nginx logged for the file: the same
server-side count for both tools.
"""
import json
import os
import statistics
import subprocess
import sys
import time

import fsspec  # noqa: F401  (astropy's use_fsspec path)
from astropy.io import fits

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../../.."))
ENV = dict(
    line.strip().split("=", 1)
    for line in open(os.path.join(ROOT, "target/nd-test-servers.env"))
    if "=" in line
)
REL = "gen/big-f32-4096x4096.fits"
URL = f"{ENV['ND_TEST_HTTP_URL']}/{REL}"
LOG = ENV["ND_TEST_HTTP_LOG"]
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
EXAMPLE = os.path.join(TARGET, "release/examples/remote_read")
REPEAT = 5


def log_mark():
    return os.path.getsize(LOG)


def log_since(mark):
    time.sleep(0.2)  # nginx writes the line when the response is done
    with open(LOG, "rb") as f:
        f.seek(mark)
        lines = [l.decode().split() for l in f.read().splitlines()]
    mine = [l for l in lines if len(l) >= 5 and l[1] == f"/{REL}"]
    return len(mine), sum(int(l[-1]) for l in mine)


def astropy_read(region):
    t = time.perf_counter()
    with fits.open(URL, use_fsspec=True, lazy_load_hdus=True) as h:
        a = h[0].section[region]
    return time.perf_counter() - t, a


def nd_read(region_text, batched=False):
    args = [EXAMPLE, URL, region_text, "1"] + (["--ranges"] if batched else [])
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    if not os.path.exists(EXAMPLE):
        sys.exit(f"build the example first: cargo build --release -p nd-remote --example remote_read ({EXAMPLE})")
    cases = [
        ("cutout 100x100", (slice(2000, 2100), slice(1000, 1100)), "2000:2100,1000:1100"),
        ("full 64 MiB", (slice(None), slice(None)), ":,:"),
    ]
    rows = []
    for name, region, text in cases:
        # astropy + fsspec
        mark = log_mark()
        _, a = astropy_read(region)
        reqs, nbytes = log_since(mark)
        times = [astropy_read(region)[0] for _ in range(REPEAT)]
        rows.append((name, "astropy 8 + fsspec (default readahead cache)", statistics.median(times), reqs, nbytes))
        assert a.shape == ((100, 100) if "cutout" in name else (4096, 4096))
        variants = [("nd-remote (plain read)", False)]
        if "cutout" in name:
            variants.append(("nd-remote (read_ranges batch)", True))
        for label, batched in variants:
            mark = log_mark()
            nd_read(text, batched)
            reqs, nbytes = log_since(mark)
            times = [nd_read(text, batched)["seconds"] for _ in range(REPEAT)]
            rows.append((name, label, statistics.median(times), reqs, nbytes))
    print(f"| read | reader | median time (s) | requests | bytes sent by nginx |")
    print("|---|---|---|---|---|")
    for name, who, t, r, b in rows:
        print(f"| {name} | {who} | {t:.4f} | {r} | {b:,} |")


if __name__ == "__main__":
    main()
