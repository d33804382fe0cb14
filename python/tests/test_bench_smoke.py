"""The benchmark script runs (tiny inputs, one round): every reader reads what ndfiles reads
(the script stops otherwise) and every case has a time."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "benches" / "bench.py"


def test_bench_smoke(tmp_path):
    spec = importlib.util.spec_from_file_location("nd_bench", BENCH)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    medians = bench.main(["--smoke", "--data", str(tmp_path), "--nd", str(tmp_path / "absent")])
    assert set(medians) == {"fits_full", "fits_cutout", "fits_walk", "zarr_full", "asdf_full"}
    for case, ms in medians.items():
        assert ms["ndfiles"] > 0, case
        assert len(ms) >= 2, (case, ms)  # ndfiles and at least one peer
