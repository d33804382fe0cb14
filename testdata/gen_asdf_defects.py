"""Defective ASDF files for `nd verify`, with python asdf's verdict on each.

Writes testdata/asdf/defects/:
- base.asdf: a valid file python asdf writes (a 2x3 float32 array in a block, a 3-element int64
  array inline, no block index), the source of the others.
- <defect>.asdf: base.asdf with one field of the tree edited as YAML text (each defect is listed in
  DEFECTS below, one line each, and in spec-notes/asdf.md, "Verification").
- verdicts.json: what python asdf 6.0 makes of each file: `asdf.open` (which validates the tree
  against the schemas), `af.validate()`, and reading every array (`np.asarray`); the verdict is
  "error" when any of these raises, else "warning" when asdf warned (AsdfWarning), else "ok"; the
  category says why: "invalid" (the schema refused the tree), "unreadable" (python asdf could not
  convert a node and handed it back raw with a warning), "unknown_tag", "ok".
  crates/nd-cli/tests/verify.rs checks `nd verify` against it: an error for "invalid" and
  "unreadable" (nd reports an array it cannot read as an error), a warning for "unknown_tag",
  nothing for "ok" - except offset_negative and strides_zero, which break the schema (offset >= 0,
  strides non-zero) but python asdf reads without a word (the negative offset reads bytes from
  before the block): nd reports both as errors (spec-notes/asdf.md, "Verification").

Run from anywhere: python testdata/gen_asdf_defects.py
"""
import json
import os
import warnings

import numpy as np

import asdf

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "asdf", "defects")

# name: (what is wrong, text in base.asdf's tree, its replacement)
DEFECTS = {
    "shape_negative": ("ndarray shape with a negative extent", "shape: [2, 3]", "shape: [2, -3]"),
    "shape_string": ("ndarray shape a string", "shape: [2, 3]", "shape: '2x3'"),
    "shape_float": ("ndarray shape with a float extent", "shape: [2, 3]", "shape: [2, 3.5]"),
    "shape_too_big": ("ndarray shape larger than its block", "shape: [2, 3]", "shape: [4, 3]"),
    "datatype_unknown": ("ndarray datatype not an ASDF type", "datatype: float32", "datatype: float99"),
    "datatype_number": ("ndarray datatype a number", "datatype: float32", "datatype: 32"),
    "datatype_structured": ("structured datatype with a field of no type",
                            "datatype: float32",
                            "datatype: [{name: a, datatype: nope}]"),
    "datatype_ucs4_bad": ("ucs4 datatype without a length", "datatype: float32", "datatype: [ucs4]"),
    "byteorder": ("ndarray byteorder neither big nor little", "byteorder: little", "byteorder: middle"),
    "offset_negative": ("ndarray offset negative", "shape: [2, 3]", "offset: -8, shape: [2, 3]"),
    "offset_past_block": ("ndarray offset past the end of its block", "shape: [2, 3]",
                          "offset: 4000, shape: [2, 3]"),
    "strides_zero": ("ndarray strides with a zero", "shape: [2, 3]", "shape: [2, 3], strides: [0, 4]"),
    "strides_length": ("ndarray strides of the wrong length", "shape: [2, 3]",
                       "shape: [2, 3], strides: [12]"),
    "source_float": ("ndarray source a float", "source: 0", "source: 0.5"),
    "source_missing_block": ("ndarray source a block that does not exist", "source: 0", "source: 7"),
    "source_missing_file": ("ndarray source a file that does not exist", "source: 0",
                            "source: missing0000.asdf"),
    "source_and_data_absent": ("ndarray with neither source nor data", "source: 0, ", ""),
    "inline_ragged": ("inline data ragged", "data: [1, 2, 3]", "data: [[1, 2], [3]]"),
    "inline_shape": ("inline data not of its shape", "shape: [3]}", "shape: [4]}"),
    "inline_type": ("inline data a string where numbers belong", "data: [1, 2, 3]",
                    "data: [1, 'x', 3]"),
    "tag_unknown": ("a tag of no known schema", "meta: {a: 1}",
                    "meta: !<tag:example.org/custom/thing-1.0.0> {a: 1}"),
    "tag_core_version": ("an ndarray tag of a version the standard does not have",
                         "!core/ndarray-1.1.0 {source: 0", "!core/ndarray-9.9.9 {source: 0"),
    "tag_core_name": ("a core tag the standard does not have", "meta: {a: 1}",
                      "meta: !core/nothing-1.0.0 {a: 1}"),
}


def write_base(path):
    af = asdf.AsdfFile({
        "data": np.arange(6, dtype="<f4").reshape(2, 3),
        "small": np.array([1, 2, 3], dtype="<i8"),
        "meta": {"a": 1},
    })
    af.set_array_storage(af.tree["small"], "inline")
    af.write_to(path, include_block_index=False)


def walk(node):
    if isinstance(node, dict):
        for v in node.values():
            yield from walk(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            yield from walk(v)
    elif isinstance(node, np.ndarray) or type(node).__name__ == "NDArrayType":
        yield node


def verdict(path):
    error = None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with asdf.open(path, lazy_load=False, memmap=False) as af:
                af.validate()
                for a in walk(af.tree):
                    np.asarray(a)
        except Exception as e:  # noqa: BLE001 - any failure is the verdict
            error = f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"
    warned = sorted({str(w.message).splitlines()[0][:200] for w in caught
                     if issubclass(w.category, asdf.exceptions.AsdfWarning)})
    # messages name files relative to the repository, not where it is checked out
    here = os.path.dirname(HERE)
    error = error and error.replace(here + os.sep, "")
    warned = [w.replace(here + os.sep, "") for w in warned]
    # what python asdf did: the schema refused the tree ("invalid"), a node could not be
    # converted and was handed back raw with a warning ("unreadable"), a tag is not one it
    # knows ("unknown_tag"), or nothing ("ok")
    if error and error.startswith("ValidationError"):
        category = "invalid"
    elif error or any("failed to convert" in w for w in warned):
        category = "unreadable"
    elif warned:
        category = "unknown_tag"
    else:
        category = "ok"
    return {"verdict": "error" if error else ("warning" if warned else "ok"),
            "category": category, "error": error, "warnings": warned}


def main():
    os.makedirs(OUT, exist_ok=True)
    base = os.path.join(OUT, "base.asdf")
    write_base(base)
    raw = open(base, "rb").read()
    end = raw.index(b"\n...\n") + 5
    tree, blocks = raw[:end].decode(), raw[end:]
    # python asdf writes each ndarray as a block-style mapping; make them one flow mapping each
    # so that the edits below are one-line substitutions
    lines = tree.split("\n")
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("!core/ndarray-1.1.0"):
            indent = len(lines[i + 1]) - len(lines[i + 1].lstrip())
            fields = []
            j = i + 1
            while j < len(lines) and len(lines[j]) - len(lines[j].lstrip()) == indent:
                fields.append(lines[j].strip())
                j += 1
            out.append(line.rstrip() + " {" + ", ".join(fields) + "}")
            i = j
        else:
            out.append(line)
            i += 1
    tree = "\n".join(out)
    with open(base, "wb") as f:
        f.write(tree.encode() + blocks)
    assert verdict(base)["verdict"] == "ok", verdict(base)
    record = {"base.asdf": {"what": "valid", **verdict(base)}}
    for name, (what, old, new) in DEFECTS.items():
        assert tree.count(old) >= 1, (name, old, tree)
        path = os.path.join(OUT, f"{name}.asdf")
        with open(path, "wb") as f:
            f.write(tree.replace(old, new, 1).encode() + blocks)
        record[f"{name}.asdf"] = {"what": what, **verdict(path)}
    with open(os.path.join(OUT, "verdicts.json"), "w") as f:
        json.dump(record, f, indent=1, sort_keys=True)
        f.write("\n")
    for k, v in record.items():
        print(f"{k:32} {v['verdict']:8} {v['error'] or '; '.join(v['warnings'])}")


if __name__ == "__main__":
    main()
