"""Defective FITS files: what nd reads leniently (as astropy does) and what `nd verify` reports.

Writes testdata/fits/defects/:
- lenient_*.fits: real-world defects astropy reads with a warning, and `lenient.json`, what
  astropy 8.0.2 does with each (HDUs listed, rows of a truncated image its `section` returns).
- broken_*.fits: one deliberate defect each (documented below and in spec-notes/fits.md,
  "Verification"), checked against fitsverify by testdata/check_fitsverify.py.

Sources are other committed fixtures (testdata/fits/gen/), so the output is deterministic.
Run from anywhere: python testdata/gen_fits_defects.py
"""
import json
import os
import warnings

import numpy as np
from astropy.io import fits

HERE = os.path.dirname(os.path.abspath(__file__))
GEN = os.path.join(HERE, "fits", "gen")
OUT = os.path.join(HERE, "fits", "defects")
BLOCK = 2880


def card(text):
    return text.ljust(80)[:80]


def kv(key, value, comment=None):
    """A fixed-format card (value right-justified to column 30, strings quoted)."""
    if isinstance(value, bool):
        v = ("T" if value else "F").rjust(20)
    elif isinstance(value, str):
        v = ("'" + value.replace("'", "''").ljust(8) + "'").ljust(20)
    else:
        v = str(value).rjust(20)
    text = f"{key:<8}= {v}"
    if comment:
        text += f" / {comment}"
    return card(text)


def header(cards):
    text = "".join(card(c) if len(c) != 80 else c for c in cards) + card("END")
    return (text + " " * ((-len(text)) % BLOCK)).encode("ascii")


def data(raw, pad=b"\0"):
    return raw + pad * ((-len(raw)) % BLOCK)


def read(name):
    with open(os.path.join(GEN, name), "rb") as f:
        return f.read()


def write(name, blob):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(blob)


def primary(extra=(), naxis=0, extend=True):
    cards = [kv("SIMPLE", True), kv("BITPIX", 8), kv("NAXIS", naxis)]
    if extend:
        cards.append(kv("EXTEND", True))
    return cards + list(extra)


def image_i16(extra=(), values=None, bitpix=16, first=None):
    """A 4x3 int16 primary image (cards, data bytes)."""
    v = np.arange(12, dtype=">i2") if values is None else values
    cards = first or [kv("SIMPLE", True), kv("BITPIX", bitpix), kv("NAXIS", 2),
                      kv("NAXIS1", 3), kv("NAXIS2", 4)]
    return cards + list(extra), v.tobytes()


def lenient(record):
    # A data unit cut short by the end of the file: the image HDU 1 of mef.fits (float32, no
    # scaling) loses its last 1000 bytes; the HDUs after it are gone.
    mef = read("mef.fits")
    with fits.open(os.path.join(GEN, "mef.fits")) as h:
        sci_off = h[1]._data_offset
        sci_len = h[1]._data_size
    write("lenient_trunc_image.fits", mef[: sci_off + sci_len - 1000])
    record("lenient_trunc_image.fits", image_hdus=[1])
    # The last data unit of a binary table cut in the middle of its rows.
    bt = read("bt_all.fits")
    with fits.open(os.path.join(GEN, "bt_all.fits")) as h:
        off, size = h[1]._data_offset, h[1]._data_size
    write("lenient_trunc_table.fits", bt[: off + size // 2])
    record("lenient_trunc_table.fits")
    # An IRIS-like ASCII table: the last column is an A field that ends before the end of the
    # row (TBCOL + width - 1 < NAXIS1); astropy widens it to the end of the row.
    rows = [b"  12 abcdEFGH", b"  -3 xy  ZZ  "]
    cards = [kv("XTENSION", "TABLE"), kv("BITPIX", 8), kv("NAXIS", 2), kv("NAXIS1", 13),
             kv("NAXIS2", len(rows)), kv("PCOUNT", 0), kv("GCOUNT", 1), kv("TFIELDS", 2),
             kv("TTYPE1", "N"), kv("TFORM1", "I4"), kv("TBCOL1", 1),
             kv("TTYPE2", "S"), kv("TFORM2", "A4"), kv("TBCOL2", 6)]
    write("lenient_ascii_last_field.fits",
          header(primary()) + header(cards) + data(b"".join(rows), b" "))
    record("lenient_ascii_last_field.fits", column=(1, "S"))


def image_file(cards, raw, extra_hdus=b"", pad=b"\0", fill=None):
    blob = header(cards) + data(raw, pad)
    if fill is not None:
        blob = blob[: len(header(cards)) + len(raw)] + fill * (len(blob) - len(header(cards)) - len(raw))
    return blob + extra_hdus


def broken():
    """One defect per file; fitsverify's verdicts are recorded by check_fitsverify.py."""
    ok_cards, raw = image_i16()
    # BITPIX value not right-justified to column 30 (mandatory keywords are fixed-format).
    c = list(ok_cards)
    c[1] = card("BITPIX  = 16")
    write("broken_bitpix_free_format.fits", image_file(c, raw))
    # A keyword with a lower-case letter (only A-Z 0-9 - _ are legal).
    write("broken_keyword_lowercase.fits", image_file(ok_cards + [card("Object  = 'M31     '")], raw))
    # A tab character in a comment (header text must be printable ASCII, 32-126).
    write("broken_tab_in_comment.fits", image_file(ok_cards + [kv("OBJECT", "M31", "a\tb")], raw))
    # Bytes after END in the header block that are not spaces.
    h = bytearray(header(ok_cards))
    h[-10:] = b"XXXXXXXXXX"
    write("broken_header_fill.fits", bytes(h) + data(raw))
    # Data fill (after the last data byte) that is not zero.
    write("broken_data_fill.fits", image_file(ok_cards, raw, fill=b"\x01"))
    # The same keyword twice.
    write("broken_duplicate_keyword.fits",
          image_file(ok_cards + [kv("OBJECT", "M31"), kv("OBJECT", "M32")], raw))
    # Deprecated keywords (EPOCH, BLOCKED).
    write("broken_deprecated.fits", image_file(
        [ok_cards[0], ok_cards[1], ok_cards[2], ok_cards[3], ok_cards[4], kv("BLOCKED", True),
         kv("EPOCH", 2000.0)], raw))
    # SIMPLE = F.
    c = list(ok_cards)
    c[0] = kv("SIMPLE", False)
    write("broken_simple_false.fits", image_file(c, raw))
    # BLANK with BITPIX = -32.
    fc, fraw = image_i16(values=np.arange(12, dtype=">f4"), bitpix=-32)
    write("broken_blank_float.fits", image_file(fc + [kv("BLANK", -1)], fraw))
    # A keyword with an empty value (null) and one whose value cannot be parsed.
    write("broken_null_value.fits", image_file(ok_cards + [card("UNDEF   =")], raw))
    write("broken_bad_value.fits", image_file(ok_cards + [card("BADVAL  = 12 34")], raw))
    # An IMAGE extension with GCOUNT = 2 and PCOUNT = 1 (must be 1 and 0), after a primary.
    ext = [kv("XTENSION", "IMAGE"), kv("BITPIX", 16), kv("NAXIS", 2), kv("NAXIS1", 3),
           kv("NAXIS2", 4)]
    write("broken_image_pcount_gcount.fits", header(primary()) + image_file(
        ext + [kv("PCOUNT", 1), kv("GCOUNT", 2)], raw + b"\0" * 26))
    # An extension without EXTEND = T in the primary header (allowed, a warning at most).
    write("broken_no_extend.fits", header(primary(extend=False)) + image_file(
        ext + [kv("PCOUNT", 0), kv("GCOUNT", 1)], raw))
    # An unregistered XTENSION value.
    write("broken_xtension.fits", header(primary()) + image_file(
        [kv("XTENSION", "FOOBAR")] + ext[1:] + [kv("PCOUNT", 0), kv("GCOUNT", 1)], raw))
    # Binary tables: TDIM that does not match the repeat count; THEAP inside the rows; a
    # descriptor reaching past the heap; BSCALE in a table header.
    def bintable(cols, nrows, rows, heap=b"", extra=()):
        naxis1 = len(rows) // nrows
        cards = [kv("XTENSION", "BINTABLE"), kv("BITPIX", 8), kv("NAXIS", 2), kv("NAXIS1", naxis1),
                 kv("NAXIS2", nrows), kv("PCOUNT", len(heap)), kv("GCOUNT", 1),
                 kv("TFIELDS", len(cols))]
        for k, (name, form, more) in enumerate(cols, 1):
            cards += [kv(f"TTYPE{k}", name), kv(f"TFORM{k}", form)]
            cards += [kv(f"{key}{k}", v) for key, v in more]
        cards += list(extra)
        return header(primary()) + header(cards) + data(rows + heap)
    rows = np.arange(8, dtype=">f4").tobytes()
    write("broken_tdim.fits", bintable([("A", "4E", [("TDIM", "(2,3)")])], 2, rows))
    write("broken_theap.fits", bintable([("A", "4E", [])], 2, rows, heap=b"\0" * 8,
                                        extra=[kv("THEAP", 8)]))
    desc = np.array([[2, 0], [3, 6]], dtype=">i4").tobytes()
    write("broken_vla_past_heap.fits", bintable([("V", "PI(3)", [])], 2, desc,
                                                heap=np.arange(4, dtype=">i2").tobytes()))
    write("broken_bscale_in_table.fits", bintable([("A", "4E", [])], 2, rows,
                                                  extra=[kv("BSCALE", 2.0)]))
    write("broken_ttype_chars.fits", bintable([("A B", "4E", [])], 2, rows))
    # A tile-compressed image with a corrupt tile (bytes of its compressed stream flipped).
    rice = bytearray(read("c_rice_1.fits"))
    with fits.open(os.path.join(GEN, "c_rice_1.fits"), disable_image_compression=True) as h:
        off = h[1]._data_offset + h[1]._theap + 10
    for k in range(off, off + 40):
        rice[k] ^= 0xA5
    write("broken_tile_corrupt.fits", bytes(rice))


def record_astropy(entries):
    def record(name, image_hdus=(), column=None):
        path = os.path.join(OUT, name)
        e = {"path": f"defects/{name}", "warnings": []}
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with fits.open(path, memmap=False) as h:
                e["n_hdus"] = len(h)
                e["names"] = [x.name for x in h]
                for i in image_hdus:
                    # The most leading rows astropy's section reads, and their values.
                    rows = h[i].shape[0]
                    k = 0
                    while k < rows:
                        try:
                            h[i].section[0:k + 1]
                        except Exception:
                            break
                        k += 1
                    e.setdefault("sections", {})[str(i)] = {
                        "rows": k, "data": h[i].section[0:k].tolist(),
                        "dtype": str(h[i].section[0:k].dtype)}
                    try:
                        h[i].data
                        e.setdefault("data_reads", {})[str(i)] = True
                    except Exception:
                        e.setdefault("data_reads", {})[str(i)] = False
                if column:
                    i, c = column
                    e["column"] = {"hdu": i, "name": c,
                                   "astropy": [x.decode() if isinstance(x, bytes) else str(x)
                                               for x in h[i].data[c]]}
        e["warnings"] = sorted({str(w.message) for w in caught
                                if "truncated" in str(w.message)})
        entries.append(e)
    return record


def main():
    os.makedirs(OUT, exist_ok=True)
    entries = []
    lenient(record_astropy(entries))
    broken()
    with open(os.path.join(OUT, "lenient.json"), "w") as f:
        json.dump(entries, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
