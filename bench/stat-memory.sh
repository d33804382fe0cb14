#!/usr/bin/env bash
# Peak memory of the order statistics of `nd stat` beside the budget (issue #19: median,
# percentiles, sigma clipping, histograms out of core, within --budget-mib on a 1 GiB cube).
#   bash bench/stat-memory.sh [SIZE_MIB] [BUDGET_MIB]     (defaults 1024 and 256)
# Generates, in a scratch directory, a SIZE_MIB float32 FITS cube (planes of 1024 x 1024:
# a smooth sky plus noise, 0.1% NaN, 0.1% hot pixels), then runs each statistic with the release
# `nd`, sampling /proc/PID/status, and prints the peak anonymous memory (heap, stacks: what
# --budget-mib bounds), the peak RSS (mapped file pages included) and the wall time. Not run by
# CI (it takes minutes); needs python3 with numpy (PYTHON=…).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1024}
BUDGET=${2:-256}
PY=${PYTHON:-.venv-py/bin/python}
cargo build -q --release --bin nd
ND=$(pwd)/target/release/nd
W=$(mktemp -d "${TMPDIR:-/tmp}/nd-stat-memory.XXXXXX")
trap 'rm -rf "$W"' EXIT
"$PY" - "$W" "$SIZE" <<'PY'
import sys, numpy as np
w, size = sys.argv[1], int(sys.argv[2])
n = 1024
planes = max(1, size * 2**20 // (4 * n * n))
cards = ["SIMPLE  =                    T", "BITPIX  =                  -32", "NAXIS   =                    3",
         f"NAXIS1  = {n:>20}", f"NAXIS2  = {n:>20}", f"NAXIS3  = {planes:>20}", "END"]
h = "".join(f"{c:<80}" for c in cards)
rng = np.random.default_rng(1)
x = np.arange(n, dtype=np.float32)
sky = (np.sin(x[None, :] / 150) * np.cos(x[:, None] / 90) * 50 + 1000).astype(np.float32)
with open(f"{w}/cube.fits", "wb") as f:
    f.write((h + " " * (-len(h) % 2880)).encode())
    for p in range(planes):
        b = sky + rng.normal(0, 10, (n, n)).astype(np.float32)
        m = rng.random((n, n))
        b[m < 0.001] = np.nan
        b[m > 0.999] = 1e5
        f.write(b.astype(">f4").tobytes())
    f.write(b"\0" * (-(planes * n * n * 4) % 2880))
PY
run() { # name, then the nd arguments
    local name=$1; shift
    local t0 anon=0 hwm=0 rc=0 k v _
    t0=$(date +%s.%N)
    "$ND" "$@" >/dev/null 2>"$W/err" &
    local pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        while read -r k v _; do
            case $k in
                RssAnon:) [ "$v" -gt "$anon" ] && anon=$v ;;
                VmHWM:) [ "$v" -gt "$hwm" ] && hwm=$v ;;
            esac
        done < "/proc/$pid/status" 2>/dev/null || true
        sleep 0.02
    done
    wait "$pid" || rc=$?
    local wall; wall=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { print b - a }')
    if [ "$rc" != 0 ]; then
        printf '| %-44s | failed (exit %s): %s |||\n' "$name" "$rc" "$(tail -1 "$W/err")"
        return
    fi
    printf '| %-44s | %5s MiB | %5s MiB | %6.1f s |\n' "$name" "$((anon / 1024))" "$((hwm / 1024))" "$wall"
}
echo "nd stat, a ${SIZE} MiB float32 cube, --budget-mib $BUDGET, $(nproc) cores, commit $(git rev-parse --short HEAD)"
echo "| statistic | peak anonymous memory | peak RSS (with mapped files) | wall |"
echo "|---|---|---|---|"
B=(--budget-mib "$BUDGET")
C="$W/cube.fits"
run "plain (count, min, max, mean, std, sum)" stat "$C" 0 "${B[@]}"
run "--median" stat "$C" 0 --median "${B[@]}"
run "--percentile 1,50,99.9" stat "$C" 0 --percentile 1,50,99.9 "${B[@]}"
run "--sigma-clip" stat "$C" 0 --sigma-clip "${B[@]}"
run "--hist 1000" stat "$C" 0 --hist 1000 "${B[@]}"
run "--axis 0 --stat median (-> 1024 x 1024)" stat "$C" 0 --axis 0 --stat median -o "$W/med.npy" "${B[@]}"
run "--axis 1,2 --stat clipped_mean" stat "$C" 0 --axis 1,2 --stat clipped_mean -o "$W/cm.npy" "${B[@]}"
