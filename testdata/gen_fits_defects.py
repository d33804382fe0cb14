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


def bintable_cards(cols, nrows, rows, heap=b"", extra=(), pcount=None):
    """The header cards of a binary table with `cols` = [(TTYPE, TFORM, [(key, value)])]; a
    TTYPE of None leaves the column unnamed."""
    naxis1 = len(rows) // nrows
    cards = [kv("XTENSION", "BINTABLE"), kv("BITPIX", 8), kv("NAXIS", 2), kv("NAXIS1", naxis1),
             kv("NAXIS2", nrows), kv("PCOUNT", len(heap) if pcount is None else pcount),
             kv("GCOUNT", 1), kv("TFIELDS", len(cols))]
    for k, (name, form, more) in enumerate(cols, 1):
        if name is not None:
            cards.append(kv(f"TTYPE{k}", name))
        cards.append(kv(f"TFORM{k}", form))
        cards += [kv(f"{key}{k}", v) for key, v in more]
    return cards + list(extra)


def bintable(cols, nrows, rows, heap=b"", extra=(), pcount=None):
    """A primary header and a binary table (see bintable_cards)."""
    cards = bintable_cards(cols, nrows, rows, heap, extra, pcount)
    return header(primary()) + header(cards) + data(rows + heap)


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


def ext_image(extra=(), first=None, raw=None):
    """An IMAGE extension (4x3 int16) after a data-less primary header."""
    cards = first or [kv("XTENSION", "IMAGE"), kv("BITPIX", 16), kv("NAXIS", 2),
                      kv("NAXIS1", 3), kv("NAXIS2", 4), kv("PCOUNT", 0), kv("GCOUNT", 1)]
    raw = np.arange(12, dtype=">i2").tobytes() if raw is None else raw
    return header(primary()) + image_file(cards + list(extra), raw)


def ascii_table(extra=()):
    """A primary header and a two-column ASCII table (I4 at 1, A4 at 6)."""
    rows = [b"  12 abcd ", b"  -3 xy   "]
    cards = [kv("XTENSION", "TABLE"), kv("BITPIX", 8), kv("NAXIS", 2), kv("NAXIS1", 10),
             kv("NAXIS2", len(rows)), kv("PCOUNT", 0), kv("GCOUNT", 1), kv("TFIELDS", 2),
             kv("TTYPE1", "N"), kv("TFORM1", "I4"), kv("TBCOL1", 1),
             kv("TTYPE2", "S"), kv("TFORM2", "A4"), kv("TBCOL2", 6)] + list(extra)
    return header(primary()) + header(cards) + data(b"".join(rows), b" ")


# One line each: the defect of every broken_*.fits written by broken_families() (listed in
# spec-notes/fits.md, "Verification", too).
FAMILIES = {}


def defect(name, what, blob):
    FAMILIES[name] = what
    write(name, blob)


def broken_families():
    """One file for every check family of fitsverify (mandatory keywords, fixed format,
    characters, END and fill, duplicates, deprecated and reserved keywords, WCS, table column
    keywords, heap, file size, HIERARCH, checksums)."""
    ok, raw = image_i16()
    simple, bitpix, naxis, naxis1, naxis2 = ok
    xt = [kv("XTENSION", "IMAGE"), kv("BITPIX", 16), kv("NAXIS", 2), kv("NAXIS1", 3),
          kv("NAXIS2", 4), kv("PCOUNT", 0), kv("GCOUNT", 1)]
    # mandatory keywords: order and values
    defect("broken_naxis_order.fits", "primary: NAXIS1 before NAXIS",
           image_file([simple, bitpix, naxis1, naxis, naxis2], raw))
    defect("broken_bitpix_value.fits", "primary: BITPIX = 12 (not 8, 16, 32, 64, -32, -64)",
           image_file([simple, kv("BITPIX", 12), naxis, naxis1, naxis2], raw))
    defect("broken_naxis_extra.fits", "primary: NAXIS3 in a header with NAXIS = 2",
           image_file(ok + [kv("NAXIS3", 1)], raw))
    defect("broken_gcount_order.fits", "IMAGE extension: GCOUNT before PCOUNT",
           ext_image(first=xt[:5] + [xt[6], xt[5]]))
    defect("broken_pcount_missing.fits", "IMAGE extension without PCOUNT",
           ext_image(first=xt[:5] + [xt[6]]))
    rows = np.arange(8, dtype=">f4").tobytes()
    tcards = bintable_cards([("A", "4E", [])], 2, rows)
    defect("broken_tfields_order.fits", "BINTABLE: TFIELDS after TTYPE1 and TFORM1",
           header(primary()) + header(tcards[:7] + tcards[8:] + [tcards[7]]) + data(rows))
    defect("broken_tfields_missing.fits", "BINTABLE without TFIELDS",
           header(primary()) + header(tcards[:7] + tcards[8:]) + data(rows))
    defect("broken_extend_false.fits", "EXTEND = F in a file with an extension",
           header(primary()[:3] + [kv("EXTEND", False)]) + image_file(xt, raw))
    defect("broken_pcount_in_primary.fits", "primary (not random groups) with PCOUNT and GCOUNT",
           image_file(ok + [kv("PCOUNT", 0), kv("GCOUNT", 1)], raw))
    defect("broken_simple_in_extension.fits", "IMAGE extension with SIMPLE, EXTEND and BLOCKED",
           ext_image([kv("SIMPLE", True), kv("EXTEND", True), kv("BLOCKED", True)]))
    defect("broken_table_keys_in_image.fits", "image with TFIELDS, THEAP, TFORM1 and TTYPE1",
           image_file(ok + [kv("TFIELDS", 1), kv("THEAP", 0), kv("TFORM1", "E"),
                            kv("TTYPE1", "X")], raw))
    defect("broken_groups_keys_in_extension.fits", "IMAGE extension with PTYPE1 and GROUPS",
           ext_image([kv("PTYPE1", "U"), kv("GROUPS", True)]))
    # mandatory cards in fixed format
    defect("broken_simple_free_format.fits", "SIMPLE = T in column 11, not 30",
           image_file([card("SIMPLE  = T")] + ok[1:], raw))
    defect("broken_naxis1_free_format.fits", "NAXIS1 left-justified in column 11",
           image_file([simple, bitpix, naxis, card("NAXIS1  = 3"), naxis2], raw))
    defect("broken_xtension_free_format.fits", "XTENSION value starting in column 13",
           header(primary()) + image_file([card("XTENSION=   'IMAGE   '")] + xt[1:], raw))
    defect("broken_xtension_short.fits", "XTENSION = 'IMAGE' (closing quote before column 20)",
           header(primary()) + image_file([card("XTENSION= 'IMAGE'")] + xt[1:], raw))
    defect("broken_gcount_free_format.fits", "GCOUNT = 1 in column 11",
           ext_image(first=xt[:6] + [card("GCOUNT  = 1")]))
    defect("broken_tfields_free_format.fits", "TFIELDS = 1 in column 11",
           header(primary()) + header(tcards[:7] + [card("TFIELDS = 1")] + tcards[8:])
           + data(rows))
    # characters in keywords, values and comments
    defect("broken_keyword_indented.fits", "keyword name not left-justified (' OBJECT')",
           image_file(ok + [card(" OBJECT = 'M31     '")], raw))
    defect("broken_keyword_chars.fits", "keyword names with '.' and a blank inside",
           image_file(ok + [card("OBJ.NAME= 'M31     '"), card("OBJ NAME= 'M31     '")], raw))
    defect("broken_null_byte.fits", "a NUL byte in a comment",
           image_file(ok + [kv("OBJECT", "M31", "a\0b")], raw))
    defect("broken_string_control.fits", "a control character (0x01) inside a string value",
           image_file(ok + [kv("OBJECT", "M3\x011")], raw))
    defect("broken_commentary_control.fits", "a DEL (0x7f) in a COMMENT card",
           image_file(ok + [card("COMMENT a\x7fb")], raw))
    defect("broken_lowercase_exponent.fits", "a number with a lower-case exponent (1.5e3)",
           image_file(ok + [card("VALUE   =                1.5e3")], raw))
    defect("broken_unclosed_string.fits", "a string value without its closing quote",
           image_file(ok + [card("OBJECT  = 'M31")], raw))
    defect("broken_bad_logical.fits", "a logical value written TRUE",
           image_file(ok + [card("FLAG    = TRUE")], raw))
    defect("broken_bad_number.fits", "a number with a letter inside (12x4)",
           image_file(ok + [card("NUMBER  = 12x4")], raw))
    defect("broken_complex_value.fits", "a complex value without its closing parenthesis",
           image_file(ok + [card("CPLX    = (1.0, 2.0")], raw))
    defect("broken_unknown_type.fits", "a value of no FITS type (an unquoted word)",
           image_file(ok + [card("WORD    = hello / comment")], raw))
    # END and fill
    body = b"".join(card(c).encode() for c in ok)
    defect("broken_no_end.fits", "a header without END (data follows directly)",
           body + b" " * (BLOCK - len(body)) + data(raw))
    h = bytearray(header(ok))
    end = len(ok) * 80
    h[end + 10:end + 11] = b"X"
    defect("broken_end_chars.fits", "END card with a non-blank byte in column 11",
           bytes(h) + data(raw))
    defect("broken_ascii_fill.fits", "ASCII table data fill of NULs instead of blanks",
           ascii_table()[:-1] + b"\0")
    # duplicate, deprecated and reserved keywords
    defect("broken_duplicate_mandatory.fits", "BITPIX twice (again after NAXISn)",
           image_file(ok + [kv("BITPIX", 16)], raw))
    defect("broken_epoch_string.fits", "EPOCH (deprecated) holding a string",
           image_file(ok + [kv("EPOCH", "J2000")], raw))
    defect("broken_reserved_types.fits",
           "EXTNAME a number, EXTVER a string, EQUINOX a string, OBJECT a logical",
           ext_image([kv("EXTNAME", 5), kv("EXTVER", "a"), kv("EQUINOX", "J2000"),
                      kv("OBJECT", True)]))
    defect("broken_date.fits", "DATE-OBS not a date; DATE in the old dd/mm/yy form",
           image_file(ok + [kv("DATE-OBS", "yesterday"), kv("DATE", "01/02/03")], raw))
    defect("broken_scaling.fits", "BSCALE = 0, BZERO a string, DATAMAX a string, BUNIT a number",
           image_file(ok + [kv("BSCALE", 0.0), kv("BZERO", "1"), kv("DATAMAX", "x"),
                            kv("BUNIT", 3)], raw))
    defect("broken_blank_string.fits", "BLANK holding a string",
           image_file(ok + [kv("BLANK", "-1")], raw))
    defect("broken_duplicate_extension.fits", "two IMAGE extensions with the same EXTNAME",
           header(primary()) + image_file(xt + [kv("EXTNAME", "SCI")], raw)
           + image_file(xt + [kv("EXTNAME", "SCI")], raw))
    defect("broken_inherit.fits", "INHERIT in an extension while the primary holds data",
           image_file([simple, bitpix, naxis, naxis1, naxis2, kv("EXTEND", True)], raw)
           + image_file(xt + [kv("INHERIT", True)], raw))
    # WCS keywords
    defect("broken_wcs_types.fits",
           "CRPIX1 a string, CTYPE2 a number, CDELT1 = 0, CRVAL3 beyond NAXIS, RADESYS unknown",
           image_file(ok + [kv("CRPIX1", "1"), kv("CRPIX2", 1.0), kv("CRVAL1", 0.0),
                            kv("CRVAL2", 0.0), kv("CRVAL3", 0.0), kv("CTYPE1", "RA---TAN"),
                            kv("CTYPE2", 5), kv("CDELT1", 0.0), kv("RADESYS", "XYZ")], raw))
    defect("broken_wcs_matrix.fits", "PCi_j with CDi_j and CROTA2; CRDER1 < 0; SPECSYS unknown",
           image_file(ok + [kv("PC1_1", 1.0), kv("CD1_1", 1.0), kv("CROTA2", 0.0),
                            kv("CRDER1", -1.0), kv("SPECSYS", "NOWHERE")], raw))
    defect("broken_wcs_alternate.fits",
           "WCSAXESA after CRPIX1A; CRPIX3A beyond WCSAXESA; CUNIT1B a number",
           image_file(ok + [kv("CRPIX1A", 1.0), kv("WCSAXESA", 2), kv("CRPIX3A", 1.0),
                            kv("CUNIT1B", 1)], raw))
    # table column keywords
    cols3 = [("F", "E", []), ("B", "B", []), ("S", "4A", [])]
    rows3 = b"".join(np.float32(i).byteswap().tobytes() + bytes([i]) + b"abcd"
                     for i in range(2))
    defect("broken_tnull_float.fits", "TNULL1 on an E column; TNULL2 = 300 on a B column",
           bintable([(n, f, m) for n, f, m in cols3], 2, rows3,
                    extra=[kv("TNULL1", -1), kv("TNULL2", 300)]))
    cols4 = [("S", "4A", [("TSCAL", 2.0)]), ("L", "L", [("TSCAL", 2.0)]),
             ("X", "8X", [("TSCAL", 2.0)]), ("T", "4A", [("TZERO", 1.0)]),
             ("Z", "J", [("TSCAL", 0.0)])]
    rows4 = b"".join(b"abcdT\x80wxyz" + np.int32(i).byteswap().tobytes() for i in range(2))
    defect("broken_tscal_columns.fits", "TSCAL on A, L and X columns; TZERO on A; TSCAL = 0",
           bintable(cols4, 2, rows4))
    defect("broken_ascii_keywords.fits", "ASCII table: TSCAL2 and TZERO2 on an A field, TDIM1, THEAP",
           ascii_table([kv("TSCAL2", 2.0), kv("TZERO2", 1.0), kv("TDIM1", "(4)"),
                        kv("THEAP", 0)]))
    cols5 = [("A", "E", [("TDISP", "Q5")]), ("B", "E", [("TDISP", "I5")]),
             ("C", "E", [("TDISP", "F5.7")]), ("D", "J", [("TDISP", "A4")]),
             ("E", "E", [("TDISP", "E6.3")])]
    rows5 = np.arange(10, dtype=">i4").tobytes()
    defect("broken_tdisp.fits", "TDISPn: unknown code Q, I on an E column, F5.7, A on J, E6.3",
           bintable(cols5, 2, rows5))
    defect("broken_tdim_forms.fits", "TDIM1 malformed '(2,a)'; TDIM2 with a leading blank",
           bintable([("A", "4E", [("TDIM", "(2,a)")]), ("B", "4E", [("TDIM", " (2,2)")])],
                    2, rows + rows))
    defect("broken_tdim_short.fits", "TDIM1 = (2,1) for a 4E column (fewer than the repeat)",
           bintable([("A", "4E", [("TDIM", "(2,1)")])], 2, rows))
    defect("broken_tform_chars.fits", "TFORM2 = '2Jx' (a lower-case letter); TFORM1 ' E'",
           bintable([("A", " E", []), ("B", "2Jx", [])], 2, np.arange(6, dtype=">i4").tobytes()))
    defect("broken_theap_no_pcount.fits", "THEAP with PCOUNT = 0",
           bintable([("A", "4E", [])], 2, rows, extra=[kv("THEAP", 32)]))
    defect("broken_column_names.fits", "columns named 'a' and 'A'; a column without TTYPE",
           bintable([("a", "E", []), ("A", "E", []), (None, "E", [])], 2,
                    np.arange(6, dtype=">f4").tobytes()))
    defect("broken_column_index.fits", "TTYPE3, TUNIT3 and TDISP3 with TFIELDS = 1",
           bintable([("A", "4E", [])], 2, rows,
                    extra=[kv("TTYPE3", "Z"), kv("TUNIT3", "m"), kv("TDISP3", "F5.2")]))
    defect("broken_vla_form.fits", "TFORM1 = '2PE(4)' (repeat 2 for a descriptor)",
           bintable([("V", "2PE(4)", [])], 2, np.zeros(4, dtype=">i4").tobytes()
                    + np.zeros(4, dtype=">i4").tobytes()))
    defect("broken_ascii_width.fits", "TFORM1 = '5A2' (rAw: the repeat 5 not a multiple of the width 2)",
           bintable([("S", "5A2", [])], 2, b"abcdeABCDE"))
    # binary table rows longer than the columns: cfitsio refuses the HDU (BAD_ROW_WIDTH),
    # astropy steps through the rows by the column widths (spec-notes/differential.md)
    defect("broken_row_width.fits", "NAXIS1 = 20 while the TFORMn widths sum to 16 (4E)",
           bintable([("A", "4E", [])], 2, np.arange(10, dtype=">f4").tobytes()))
    # data size against the file size
    defect("broken_data_short.fits", "an image data unit 100 bytes short of NAXIS1 x NAXIS2",
           header([simple, bitpix, naxis, kv("NAXIS1", 100), kv("NAXIS2", 100)])
           + b"\0" * (2 * BLOCK))
    defect("broken_extra_hdu_bytes.fits", "a whole block of zeros after the last HDU",
           image_file(ok, raw) + b"\0" * BLOCK)
    # HIERARCH (checked as fitsverify -H does)
    defect("broken_hierarch.fits",
           "HIERARCH: a lower-case token, no '=', a bad value, the same name twice",
           image_file(ok + [card("HIERARCH ESO det = 1"), card("HIERARCH ESO NOVALUE"),
                            card("HIERARCH ESO V = 1.5e3"), card("HIERARCH ESO A B = 1"),
                            card("HIERARCH ESO A  B = 2")], raw))
    # checksums
    with fits.open(os.path.join(GEN, "checksum_ok.fits")) as h:
        ok_sum = h[0].header.get("CHECKSUM") is not None
    assert ok_sum
    blob = bytearray(read("checksum_ok.fits"))
    blob[-1] ^= 1
    defect("broken_checksum_fill.fits", "a flipped bit in the last fill byte (DATASUM stale)",
           bytes(blob))
    # a tile-compressed image whose descriptor points past the heap
    rice = bytearray(read("c_rice_1.fits"))
    with fits.open(os.path.join(GEN, "c_rice_1.fits"), disable_image_compression=True) as h:
        off = h[1]._data_offset
        assert h[1].columns[0].name == "COMPRESSED_DATA" and h[1].columns[0].format.startswith("1P")
    # the first cell is the descriptor (count, offset) of the first tile
    rice[off + 4:off + 8] = (10 ** 8).to_bytes(4, "big")
    defect("broken_tile_descriptor.fits",
           "tile-compressed image whose first descriptor points far past the heap",
           bytes(rice))


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
    broken_families()
    with open(os.path.join(OUT, "lenient.json"), "w") as f:
        json.dump(entries, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
