"""What `asdftool info` prints for the ASDF files of the test data (those it reads), kept in
testdata/tree/asdftool_info.json so that crates/nd/tests/tree.rs can compare `nd tree`'s
structure with it (node names, nesting, scalar values).

Run through testdata/generate.py (`generate.py tree`) after the ASDF files exist.
"""
import glob
import io
import json
import os
import warnings
from contextlib import redirect_stdout

import asdf

HERE = os.path.dirname(os.path.abspath(__file__))


def generate(outdir):
    out = {}
    warnings.simplefilter("ignore")
    for path in sorted(glob.glob(os.path.join(HERE, "asdf", "py", "*.asdf"))):
        rel = os.path.relpath(path, HERE)
        buf = io.StringIO()
        try:
            with asdf.open(path, lazy_load=True, memmap=False) as af, redirect_stdout(buf):
                af.info(max_rows=None, max_cols=None, show_values=True)
        except Exception as e:  # a deliberately broken file: nothing to compare
            print(f"skip {rel}: {e}")
            continue
        out[rel] = buf.getvalue()
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "asdftool_info.json"), "w") as f:
        json.dump({"generator": "testdata/gen_tree.py", "asdf": asdf.__version__, "files": out}, f, indent=1)
