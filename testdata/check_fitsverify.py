"""Run fitsverify (cfitsio's FITS checker) on every FITS file under testdata/ and compare its
error and warning counts with testdata/fits/fitsverify.json, which a Rust test
(crates/nd-cli/tests/verify.rs) compares with `nd verify --json`.

  python testdata/check_fitsverify.py           # compare; exit 1 on a difference
  python testdata/check_fitsverify.py --write   # record the counts

fitsverify runs with -H (ESO HIERARCH cards checked too, as nd checks them).
fitsverify prints "Verification found W warning(s) and E error(s)"; when it gives up on a file
("Abort Verification: Fatal Error") the file is recorded with "fatal": true and one error.
Needs the fitsverify program (Debian package fitsverify); without it, prints why and exits 0.
"""
import json
import os
import re
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
RECORD = os.path.join(HERE, "fits", "fitsverify.json")


def fits_files():
    out = []
    for root, _, files in os.walk(HERE):
        for f in files:
            if f.endswith((".fits", ".fits.gz", ".fit", ".fts")):
                out.append(os.path.relpath(os.path.join(root, f), HERE))
    return sorted(out)


def counts(rel):
    text = subprocess.run(["fitsverify", "-H", os.path.join(HERE, rel)], capture_output=True,
                          text=True).stdout
    m = re.search(r"Verification found (\d+) warning\(s\) and (\d+) error\(s\)", text)
    if m:
        return {"warnings": int(m.group(1)), "errors": int(m.group(2))}
    if "Abort Verification: Fatal Error" in text:
        return {"warnings": 0, "errors": 1, "fatal": True}
    raise SystemExit(f"{rel}: unexpected fitsverify output:\n{text}")


def main():
    if shutil.which("fitsverify") is None:
        print("SKIPPED check_fitsverify: no fitsverify program (apt-get install fitsverify)")
        return 0
    version = subprocess.run(["fitsverify", "-h"], capture_output=True, text=True).stdout
    m = re.search(r"fitsverify (\d+\.\d+)", version)
    got = {"fitsverify": m.group(1) if m else "?", "files": {f: counts(f) for f in fits_files()}}
    if "--write" in sys.argv:
        with open(RECORD, "w") as f:
            json.dump(got, f, indent=1, sort_keys=True)
            f.write("\n")
        print(f"recorded {len(got['files'])} files")
        return 0
    with open(RECORD) as f:
        want = json.load(f)
    bad = [k for k in sorted(set(got["files"]) | set(want["files"]))
           if got["files"].get(k) != want["files"].get(k)]
    for k in bad:
        print(f"{k}: fitsverify now {got['files'].get(k)}, recorded {want['files'].get(k)}")
    print(f"{len(got['files'])} files, {len(bad)} differences")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
