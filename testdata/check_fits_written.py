#!/usr/bin/env python3
"""Check the files nd-fits wrote (testdata/fits/written/, made by
`cargo run -p nd-fits --example write_fits -- testdata/fits/written`) with astropy:
values equal the intended arrays (.npy next to each file; scaled data within BSCALE/2, NaN kept),
header cards read back, verify('exception') passes, and CHECKSUM/DATASUM are valid where present.

Usage: .venv/bin/python testdata/check_fits_written.py [dir]
"""
import glob
import os
import sys
import warnings

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyUserWarning


def main(d):
    # Any astropy warning (bad card, failed checksum, verify problem) fails the check.
    warnings.simplefilter("error", AstropyUserWarning)
    warnings.simplefilter("error", fits.verify.VerifyWarning)
    n = 0
    for path in sorted(glob.glob(os.path.join(d, "*.fits"))):
        base = path[:-5]
        with fits.open(path, checksum=True) as hdul:
            hdul.verify("exception")
            for i, hdu in enumerate(hdul):
                if "CHECKSUM" in hdu.header:
                    assert hdu.verify_checksum() == 1, (path, i, "CHECKSUM")
                    assert hdu.verify_datasum() == 1, (path, i, "DATASUM")
                npy = f"{base}.{i}.npy"
                if not os.path.exists(npy):
                    assert hdu.data is None or i == 0, (path, i, "no expected array")
                    continue
                want = np.load(npy)
                got = hdu.data
                assert got.shape == want.shape, (path, i, got.shape, want.shape)
                if "BSCALE" in hdu.header and hdu.header["BSCALE"] != 1:
                    tol = abs(hdu.header["BSCALE"]) / 2 * 1.0001
                    assert np.array_equal(np.isnan(got), np.isnan(want)), (path, i)
                    ok = ~np.isnan(want)
                    assert np.all(np.abs(got[ok] - want[ok]) <= tol), (path, i)
                else:
                    assert got.dtype.name == want.dtype.name, (path, i, got.dtype, want.dtype)
                    assert np.array_equal(got, want, equal_nan=want.dtype.kind == "f"), (path, i)
                n += 1
            if os.path.basename(path) == "all_dtypes.fits":
                h = hdul[0].header
                assert h["LONGSTR"].startswith("A long string written by nd-fits") and h["LONGSTR"].endswith("ends here.")
                assert "'quotes'" in h["LONGSTR"]
                assert h.comments["LONGSTR"] == "long string"
                assert h["ESO DET CHIP NAME"] == "CCD 1"
                assert h["ESO TEL AIRM"] == 1.25
                assert h["CPLX"] == complex(1.5, -2.0)
                assert h["BIGINT"] == 123456789012345678901
                assert h["FLAG"] is True
                assert h["UNDEF"] is None or h["UNDEF"] is fits.card.UNDEFINED
                assert [hdu.name for hdu in hdul] == ["U8", "I8", "I16", "U16", "I32", "U32", "I64", "U64", "F32", "F64"]
            if os.path.basename(path) == "streamed.fits":
                assert [hdu.name for hdu in hdul] == ["PRIMARY", "APPENDED", "STREAMAPP"]
    assert n >= 14, n
    print(f"astropy read {n} arrays from {d}: values, cards, verify() and checksums OK")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "fits", "written"))
