#!/usr/bin/env python3
"""Write nd's test files with the reference libraries (astropy, asdf, zarr-python 2, numcodecs).

Usage: .venv/bin/python testdata/generate.py [fits|asdf|zarr|codecs ...]

Each format has its own module beside this script (gen_<name>.py, with a `generate(outdir)`
function). Versions are pinned in testdata/requirements.txt. The output is committed so that
`cargo test` needs no Python; keep it small (a few MB in all).
"""
import importlib
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PARTS = ["codecs", "fits", "asdf", "zarr", "example", "stats", "tree", "pcodec_corrupt"]


def main(argv):
    sys.path.insert(0, HERE)
    wanted = argv or PARTS
    for name in wanted:
        path = os.path.join(HERE, f"gen_{name}.py")
        if not os.path.exists(path):
            print(f"skip {name}: no gen_{name}.py yet")
            continue
        mod = importlib.import_module(f"gen_{name}")
        out = os.path.join(HERE, name)
        os.makedirs(out, exist_ok=True)
        mod.generate(out)
        print(f"wrote {name} into {out}")


if __name__ == "__main__":
    main(sys.argv[1:])
