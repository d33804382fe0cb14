#!/usr/bin/env bash
# Every test of nd, as the README's set-up block and CI (.ci/run) run them:
#   1. the Rust workspace: cargo test --workspace
#   2. the Python package ndfiles (python/): a git-ignored venv (.venv-py/, or $ND_PY_VENV) with
#      the pinned packages of python/requirements-test.txt from PyPI, the extension built once
#      into it (maturin develop; dev profile, which reuses the crates step 1 built, or the release
#      profile with ND_PY_RELEASE=1), then pytest python/tests against astropy, asdf, zarr-python
#      and dask;
#   3. the same package with zarr-python 3 (a second venv, .venv-py-zarr3/ or $ND_PY3_VENV, from
#      python/requirements-test-zarr3.txt): pytest python/tests/zarr3 (Zarr v3 references,
#      VirtualiZarr parsers, Icechunk).
#   After 2 and 3, testdata/check_refs.py / check_refs_v3.py: `nd refs` of every FITS and ASDF
#   file of testdata read back through fsspec + zarr-python 2 / 3 (+ xarray, VirtualiZarr) and
#   compared with astropy / asdf.
#   4. bench/run.py --smoke: the benchmark driver on tiny data (values checked against nd's).
# Needs cargo, a C compiler and python3 (>= 3.10, with venv). Tests of URLs run when the loopback
# servers of .ci/servers.sh are up (CI starts them first) and are skipped otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

echo "== cargo test --workspace"
cargo test --workspace

echo "== python: venv and test requirements (${SECONDS}s so far)"
VENV=${ND_PY_VENV:-$ROOT/.venv-py}
PY=${PYTHON:-python3}
if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -m venv "$VENV" 2>/dev/null || {
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
        rm -rf "$VENV"
        "$PY" -m venv "$VENV"
    }
fi
"$VENV/bin/python" -m pip install -q --disable-pip-version-check -r python/requirements-test.txt

echo "== python: build ndfiles into $VENV (${SECONDS}s so far)"
PROFILE=()
[ -n "${ND_PY_RELEASE:-}" ] && PROFILE=(--release)
(cd python && VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH" \
    "$VENV/bin/maturin" develop -q "${PROFILE[@]}")

echo "== python: pytest python/tests (${SECONDS}s so far)"
"$VENV/bin/python" -m pytest python/tests -q -p no:cacheprovider --ignore=python/tests/zarr3

echo "== testdata/check_refs.py: nd refs of every FITS/ASDF file read through zarr-python 2 and xarray vs astropy/asdf (${SECONDS}s so far)"
"$VENV/bin/python" testdata/check_refs.py target/debug/nd

echo "== python: zarr-python 3 venv, ndfiles built into it, pytest python/tests/zarr3 (${SECONDS}s so far)"
VENV3=${ND_PY3_VENV:-$ROOT/.venv-py-zarr3}
[ -x "$VENV3/bin/python" ] || "$PY" -m venv "$VENV3"
"$VENV3/bin/python" -m pip install -q --disable-pip-version-check -r python/requirements-test-zarr3.txt
(cd python && VIRTUAL_ENV="$VENV3" PATH="$VENV3/bin:$PATH" \
    "$VENV3/bin/maturin" develop -q "${PROFILE[@]}")
"$VENV3/bin/python" -m pytest python/tests/zarr3 -q -p no:cacheprovider
echo "== testdata/check_refs_v3.py: the same with --zarr-format 3, zarr-python 3 and VirtualiZarr (${SECONDS}s so far)"
"$VENV3/bin/python" testdata/check_refs_v3.py target/debug/nd

echo "== bench/run.py --smoke: the benchmark's mechanism on tiny data (${SECONDS}s so far)"
# nd's timing binary (dev build), the Python peers of $VENV; peers not installed there (fitsio)
# or not built (bench/peers-rs: zarrs, fitsrs) are reported as skipped by name. Fails when a
# reader's values differ from nd's.
python3 bench/run.py --smoke --python "$VENV/bin/python" --data target/bench-smoke
