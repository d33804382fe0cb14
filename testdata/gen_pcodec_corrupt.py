"""Corrupt pcodec streams decoded by the reference (pcodec 0.3.6, numcodecs' PCodec backend).

Layout of testdata/pcodec_corrupt/:
  index.json        list of cases: {"name", "input", "dtype", "decoded"}; "decoded" is null when
                    pcodec refuses the stream, else the file of the values it returns
  <name>.pco        the corrupt standalone stream (a copy of the fuzz seed it came from)
  <name>.dec        the values pcodec returns, little-endian

The streams are fuzz findings (fuzz/corpus/codec_more/regression_*): pco 0.4 decodes some
corrupt streams to wrong values without an error (in release builds; its debug builds stop on a
debug assertion). nd must return what the reference returns, byte for byte.
"""
import json
import os

import numpy as np
from pcodec import standalone

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "..", "fuzz", "corpus", "codec_more")

# name -> fuzz seed
CASES = {
    # FloatQuant mode: a secondary latent wider than the k bits it should fill
    "floatquant_k_bits": "regression_pco_floatquant_k_bits",
}


def generate(outdir):
    index = []
    for name, seed in CASES.items():
        with open(os.path.join(SEEDS, seed), "rb") as f:
            data = f.read()
        with open(os.path.join(outdir, name + ".pco"), "wb") as f:
            f.write(data)
        case = {"name": name, "input": name + ".pco", "dtype": None, "decoded": None}
        try:
            values = standalone.simple_decompress(data)
        except Exception:  # pcodec refuses the stream
            values = None
        if values is not None:
            le = values.astype(values.dtype.newbyteorder("<"))
            case["dtype"] = le.dtype.str
            case["decoded"] = name + ".dec"
            with open(os.path.join(outdir, name + ".dec"), "wb") as f:
                f.write(le.tobytes())
        index.append(case)
    with open(os.path.join(outdir, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    out = os.path.join(HERE, "pcodec_corrupt")
    os.makedirs(out, exist_ok=True)
    generate(out)
