#!/usr/bin/env bash
# Peak memory of every `nd convert` path beside its budget (issue: bounded memory on every path).
#   bash bench/convert-memory.sh [SIZE_MIB] [BUDGET_MIB]     (defaults 1024 and 256)
# Generates, in a scratch directory: a SIZE_MIB float32 FITS image (smooth values plus noise,
# rounded: compressible like real images), its .fits.gz, and a FITS table of SIZE_MIB; then runs
# each conversion path with the release `nd`, sampling /proc/PID/status, and prints per path the
# peak anonymous memory (heap, stacks: what --budget-mib bounds), the peak RSS (mapped source
# pages included: page cache the kernel can drop) and the wall time. Not run by CI (it
# takes minutes); needs python3 with numpy (the test venv .venv-py has it).
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE=${1:-1024}
BUDGET=${2:-256}
PY=${PYTHON:-.venv-py/bin/python}
cargo build -q --release --bin nd
ND=$(pwd)/target/release/nd
W=$(mktemp -d "${TMPDIR:-/tmp}/nd-convert-memory.XXXXXX")
trap 'rm -rf "$W"' EXIT
"$PY" - "$W" "$SIZE" <<'PY'
import sys, numpy as np
w, size = sys.argv[1], int(sys.argv[2])
cols = 8192
rows = size * 2**20 // (4 * cols)
def header(cards):
    h = "".join(f"{c:<80}" for c in cards + ["END"])
    return (h + " " * (-len(h) % 2880)).encode()
rng = np.random.default_rng(1)
with open(f"{w}/image.fits", "wb") as f:
    f.write(header(["SIMPLE  =                    T", "BITPIX  =                  -32",
                    "NAXIS   =                    2", f"NAXIS1  = {cols:>20}", f"NAXIS2  = {rows:>20}"]))
    x = np.arange(cols, dtype=np.float32)[None, :]
    for r in range(0, rows, 256):
        n = min(256, rows - r)
        y = np.arange(r, r + n, dtype=np.float32)[:, None]
        b = np.sin(x / 300) * np.cos(y / 200) * 1000 + rng.normal(0, 5, (n, cols))
        f.write(np.round(b, 1).astype(">f4").tobytes())
    f.write(b"\0" * (-(rows * cols * 4) % 2880))
nrows = size * 2**20 // 16
with open(f"{w}/table.fits", "wb") as f:
    f.write(header(["SIMPLE  =                    T", "BITPIX  =                    8",
                    "NAXIS   =                    0", "EXTEND  =                    T"]))
    f.write(header(["XTENSION= 'BINTABLE'", "BITPIX  =                    8", "NAXIS   =                    2",
                    "NAXIS1  =                   16", f"NAXIS2  = {nrows:>20}", "PCOUNT  =                    0",
                    "GCOUNT  =                    1", "TFIELDS =                    2", "TTYPE1  = 'T'",
                    "TFORM1  = 'D'", "TTYPE2  = 'XY'", "TFORM2  = '2E'", "EXTNAME = 'EVENTS'"]))
    dt = np.dtype([("T", ">f8"), ("XY", ">f4", (2,))])
    for r in range(0, nrows, 1 << 20):
        n = min(1 << 20, nrows - r)
        a = np.zeros(n, dt)
        a["T"] = np.arange(r, r + n)
        a["XY"] = rng.normal(0, 1, (n, 2))
        f.write(a.tobytes())
    f.write(b"\0" * (-(nrows * 16) % 2880))
PY
gzip -1 -k "$W/image.fits"
run() { # name, then the nd arguments
    local name=$1; shift
    [ "$1" = convert ] && set -- "$@" -q
    local t0 anon=0 hwm=0 rc=0 k v _
    t0=$(date +%s.%N)
    "$ND" "$@" >/dev/null 2>"$W/err" &
    local pid=$!
    # sample the child's anonymous memory (heap, stacks: what the budget bounds) and its peak
    # RSS (VmHWM: mapped file pages included, which the kernel can drop at will)
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
        printf '| %-40s | failed (exit %s): %s |||\n' "$name" "$rc" "$(tail -1 "$W/err")"
        return
    fi
    printf '| %-40s | %5s MiB | %5s MiB | %6.1f s |\n' "$name" "$((anon / 1024))" "$((hwm / 1024))" "$wall"
}
echo "nd convert, ${SIZE} MiB inputs, --budget-mib $BUDGET, $(nproc) cores, commit $(git rev-parse --short HEAD)"
echo "| path | peak anonymous memory | peak RSS (with mapped files) | wall |"
echo "|---|---|---|---|"
B=(--budget-mib "$BUDGET")
run "FITS -> Zarr v2 zstd:1" convert "$W/image.fits" "$W/a.zarr" --compressor zstd:1 "${B[@]}"
run "FITS -> Zarr v3 sharded zstd:1" convert "$W/image.fits" "$W/s.zarr" --zarr-format 3 --shards 1024,8192 --chunks 256,1024 --compressor zstd:1 "${B[@]}"
run "FITS -> ASDF (plain block)" convert "$W/image.fits" "$W/a.asdf" "${B[@]}"
run "FITS -> ASDF (chunked zstd:1)" convert "$W/image.fits" "$W/z.asdf" --compressor zstd:1 "${B[@]}"
run "FITS -> tile-compressed FITS (rice)" convert "$W/image.fits" "$W/rice.fits" --compressor rice "${B[@]}"
run "FITS -> tile-compressed FITS (rice), 1 GiB budget" convert "$W/image.fits" "$W/rice.fits" --compressor rice --force --budget-mib 1024
run "FITS.gz -> Zarr v2 zstd:1" convert "$W/image.fits.gz" "$W/g.zarr" --compressor zstd:1 "${B[@]}"
run "Zarr v2 -> FITS" convert "$W/a.zarr" "$W/b1.fits" "${B[@]}"
run "Zarr v3 sharded -> FITS" convert "$W/s.zarr" "$W/b2.fits" "${B[@]}"
run "ASDF -> FITS" convert "$W/a.asdf" "$W/b3.fits" "${B[@]}"
run "tile-compressed FITS -> Zarr v2" convert "$W/rice.fits" "$W/r.zarr" --compressor zstd:1 "${B[@]}"
run "FITS table -> Zarr v2" convert "$W/table.fits" "$W/t.zarr" "${B[@]}"
run "FITS table -> ASDF" convert "$W/table.fits" "$W/t.asdf" "${B[@]}"
run "FITS table -> FITS" convert "$W/table.fits" "$W/t.fits" "${B[@]}"
run "Zarr v2 table -> FITS" convert "$W/t.zarr" "$W/t2.fits" "${B[@]}"
run "stat FITS.gz (nan-aware, whole image)" stat "$W/image.fits.gz" 0 "${B[@]}"
