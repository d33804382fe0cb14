"""What an astropy or xarray user meets beyond values: header metadata as astropy's cards, the
lenient reading of truncated files surfacing as Python warnings, rows of every table as
astropy's record arrays, ``Dataset``'s listing as ``hdul.info()``, Zarr fill values as
``xr.open_zarr`` masks them, and stubs that list what the package has."""

from __future__ import annotations

import ast
import inspect
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from astropy.io import fits

import ndfiles
from conftest import ROOT, TESTDATA, assert_same

FITS = TESTDATA / "fits"
DEFECTS = FITS / "defects"
LENIENT = {e["path"]: e for e in json.loads((DEFECTS / "lenient.json").read_text())}


def astropy_value(v):
    """A card value as nd's metadata gives it (JSON values)."""
    if isinstance(v, fits.card.Undefined):
        return None
    if isinstance(v, complex):
        return [v.real, v.imag]
    return v


def test_metadata_values_and_comments_are_astropys(fits_manifest):
    """Every card of every HDU astropy reads cleanly: keyword, value (of astropy's Python type:
    an int stays an int, a float a float) and comment."""
    n_cards = 0
    for rel in sorted(fits_manifest):
        path = FITS / rel
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                with fits.open(path) as hdul:
                    # a compressed image: astropy shows the image's header, nd's metadata the
                    # file's (the table's) cards
                    headers = [None if isinstance(h, fits.CompImageHDU) else h.header for h in hdul]
            except Exception:  # damaged on purpose
                continue
        if caught:  # astropy fixed something: its view is not the file's
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ndfiles.ReadWarning)
            meta = ndfiles.open(path).metadata
        assert len(meta["hdus"]) == len(headers), rel
        for hdu, header in zip(meta["hdus"], headers):
            if header is None:
                continue
            cards = list(header.cards)
            ours = hdu["cards"]
            assert [c["keyword"] for c in ours] == [c.keyword for c in cards], rel
            for got, card in zip(ours, cards):
                if card.keyword in ("COMMENT", "HISTORY", "") or card.keyword.startswith("HIERARCH"):
                    continue
                want = astropy_value(card.value)
                what = f"{rel} HDU {hdu['index']} {card.keyword}"
                if isinstance(want, int) and not isinstance(want, bool) and not -(2**63) <= want < 2**63:
                    want = str(want)  # beyond 64 bits: its digits (the metadata is JSON values)
                assert type(got["value"]) is type(want), what
                if isinstance(want, float) and np.isnan(want):
                    assert np.isnan(got["value"]), what
                else:
                    assert got["value"] == want, what
                assert (got["comment"] or "") == card.comment, what  # no "/": None, astropy ""
                n_cards += 1
    assert n_cards > 500, n_cards


@pytest.mark.parametrize("rel", sorted(LENIENT))
def test_truncated_files_warn_as_astropy_and_read_before_the_cut(rel):
    e = LENIENT[rel]
    path = FITS / rel
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        caught_at = inspect.currentframe().f_lineno + 1
        ds = ndfiles.open(path)
    ours = [str(w.message) for w in caught if issubclass(w.category, ndfiles.ReadWarning)]
    if e["warnings"]:  # astropy: "File may have been truncated"
        assert any("truncated" in m for m in ours), ours
        assert all(str(path) in m for m in ours), ours
        # each points at the line that called open, as warnings.warn(stacklevel=2) in a
        # Python open would
        here = [(w.filename, w.lineno) for w in caught if issubclass(w.category, ndfiles.ReadWarning)]
        assert set(here) == {(__file__, caught_at)}, here
    assert [h["name"] for h in ds.metadata["hdus"]] == [n or "" for n in e["names"]]
    for hdu, sec in e.get("sections", {}).items():
        arr = ds[hdu]
        rows = sec["rows"]
        # the rows astropy's section reads, ndfiles reads, with astropy's values
        assert_same(arr[:rows], np.array(sec["data"], dtype=sec["dtype"]), rel)
        # astropy's .data fails; so does reading past the cut, with nd's message
        assert not e["data_reads"][hdu]
        with pytest.raises(ndfiles.Error, match=path.name):
            np.asarray(arr)


def test_truncated_fits_in_xarray_warns_and_stays_lazy():
    path = DEFECTS / "lenient_trunc_image.fits"
    sec = LENIENT["defects/lenient_trunc_image.fits"]["sections"]["1"]
    with pytest.warns(ndfiles.ReadWarning, match="truncated"):
        ds = xr.open_dataset(path, engine="ndfiles")
    sci = ds["SCI"]
    assert_same(sci[: sec["rows"]].values, np.array(sec["data"], dtype=sec["dtype"]))
    with pytest.raises(ndfiles.Error, match="lenient_trunc_image"):
        sci.values


def test_a_clean_file_gives_no_warning(cube_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ndfiles.open(cube_path)
        xr.open_dataset(cube_path, engine="ndfiles")


def test_pickled_arrays_reopen_without_warning_again():
    import pickle

    with pytest.warns(ndfiles.ReadWarning):
        arr = ndfiles.open(DEFECTS / "lenient_trunc_image.fits")["1"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = pickle.loads(pickle.dumps(arr))
    assert_same(again[:3], arr[:3])


def table_hdus(manifest):
    for rel, entry in sorted(manifest.items()):
        for h in entry["hdus"]:
            if h.get("astropy_class") in ("BinTableHDU", "TableHDU"):
                yield rel, h["index"]


def same_field(got: np.ndarray, want, what: str) -> None:
    """A field of ndfiles' rows against astropy's field of ``data[a:b]``."""
    if got.dtype == object:  # variable-length: one array per row
        assert len(got) == len(want), what
        for g, w in zip(got, want):
            w = np.asarray(w)
            if w.dtype.kind == "U":  # astropy: a chararray of single characters
                assert str(g) == "".join(c if c else " " for c in w.tolist()).rstrip(), what
            else:
                assert_same(np.asarray(g), w, what)
        return
    w = np.asarray(want)
    if w.dtype.kind == "U":  # astropy's chararray strips trailing blanks when an item is taken
        assert got.dtype == w.dtype, what
        assert [str(x) for x in got.ravel()] == [str(want[i]).rstrip("\x00") for i in np.ndindex(w.shape)], what
        return
    assert_same(got, w, what)


def test_rows_of_every_table_are_astropys_records(fits_manifest):
    """``table[a:b]`` against astropy's ``hdul[n].data[a:b]`` for every table of the testdata
    (scaled, unsigned, bool and bit, TDIM, strings, variable-length, ASCII), as a record array
    with attribute and ``field`` access as astropy's ``FITS_rec``."""
    n_tables = 0
    for rel, index in table_hdus(fits_manifest):
        path = FITS / rel
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                hdul = fits.open(path)
                data = hdul[index].data
            except Exception:  # damaged on purpose: astropy refuses it
                continue
            t = ndfiles.open(path)[str(index)]
        if data is None or len(data) == 0:
            hdul.close()
            continue
        n = len(data)
        for key in (slice(None), slice(1, min(n, 4)), slice(None, None, 2), slice(-2, None), slice(None, None, -3)):
            rows = t[key]
            assert isinstance(rows, np.recarray), (rel, key)
            want = data[key]
            assert len(rows) == len(want), (rel, key)
            for k, c in enumerate(t.columns):
                field = rows.dtype.names[k]
                same_field(rows[field], want[c], f"{rel}[{index}] {key} {c}")
                if rows.dtype[field] == object:
                    continue
                assert_same(rows.field(k), rows[field])
                if field.isidentifier() and not hasattr(np.recarray, field):
                    assert_same(getattr(rows, field), rows[field])  # astropy's data.NAME
        row = t[n - 1]
        assert isinstance(row, np.record)
        hdul.close()
        n_tables += 1
    assert n_tables >= 15, n_tables


def test_repr_lists_hdus_as_hdul_info(fits_manifest):
    """``repr(ds)`` is ``hdul.info()``'s table (``nd info``'s listing): per HDU its number,
    name, version, type (astropy's class), card count."""
    import io

    n = 0
    for rel in ["gen/mef.fits", "astropy/test0.fits", "astropy/tb.fits", "gen/bt_all.fits"]:
        path = FITS / rel
        buf = io.StringIO()
        with fits.open(path) as hdul:
            hdul.info(output=buf)
            want = [(h.name, h.ver, type(h).__name__, len(h.header)) for h in hdul]
        lines = repr(ndfiles.open(path)).splitlines()
        assert lines[0].startswith("Filename: ") and str(path) in lines[0]
        assert lines[1].split() == buf.getvalue().splitlines()[1].split(), rel
        for i, (line, (name, ver, kind, cards)) in enumerate(zip(lines[2:], want)):
            want_parts = [str(i), name, str(ver), kind, str(cards)] if name else [str(i), str(ver), kind, str(cards)]
            assert line.split()[: len(want_parts)] == want_parts, (rel, line)
            n += 1
    assert n > 8


def zarr_group_of(store: Path, tmp: Path) -> Path:
    """A root-array store as the array ``a`` of a group, with dimension names: what
    ``xr.open_zarr`` opens."""
    out = tmp / (store.name + ".group.zarr")
    shutil.copytree(store, out / "a")
    (out / ".zgroup").write_text('{"zarr_format": 2}')
    zarray = json.loads((out / "a" / ".zarray").read_text())
    attrs_path = out / "a" / ".zattrs"
    attrs = json.loads(attrs_path.read_text()) if attrs_path.exists() else {}
    attrs["_ARRAY_DIMENSIONS"] = [f"d{i}" for i in range(len(zarray["shape"]))]
    attrs_path.write_text(json.dumps(attrs))
    return out


def numeric_stores() -> list[Path]:
    """The ``fill_*`` and ``dtype_*`` stores of numbers (bool, integers, floats, complex): the
    fill values CF masking applies to."""
    out = []
    for p in sorted((TESTDATA / "zarr" / "stores").iterdir()):
        if not p.name.startswith(("fill_", "dtype_")) or not (p / ".zarray").exists():
            continue
        dtype = json.loads((p / ".zarray").read_text())["dtype"]
        if isinstance(dtype, str) and np.dtype(dtype).kind in "biufc":
            out.append(p)
    return out


@pytest.mark.parametrize("store", numeric_stores(), ids=lambda p: p.name)
@pytest.mark.parametrize("mask_and_scale", [True, False])
def test_zarr_fill_value_masks_as_open_zarr(store, mask_and_scale, tmp_path):
    group = zarr_group_of(store, tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = xr.open_zarr(group, consolidated=False, mask_and_scale=mask_and_scale).load()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = xr.open_dataset(group, engine="ndfiles", mask_and_scale=mask_and_scale).load()
    xr.testing.assert_identical(got, want)
    assert got["a"].dtype == want["a"].dtype
    g, w = got["a"].encoding.get("_FillValue"), want["a"].encoding.get("_FillValue")
    assert (g is None) == (w is None)
    if w is not None:  # masked: the mark is in the encoding, as open_zarr puts it
        assert np.asarray(g).dtype == np.asarray(w).dtype
        assert np.array_equal(g, w, equal_nan=np.asarray(w).dtype.kind in "fc")
    if mask_and_scale and w is not None and np.dtype(want["a"].encoding["dtype"]).kind in "iu":
        assert got["a"].dtype.kind == "f"  # integers with a fill value become floats


def test_array_attrs_are_the_xarray_attributes(cube_path):
    ds = ndfiles.open(cube_path)
    arr = ds["SCI"]
    ds.close()  # attributes stay reachable, as the values
    x = xr.open_dataset(cube_path, engine="ndfiles")
    assert arr.attrs == x["SCI"].attrs
    assert arr.attrs["CTYPE1"].startswith("RA")


def stub_names(path: Path) -> dict[str, set[str]]:
    """The top-level names of a ``.pyi`` and the members of its classes."""
    tree = ast.parse(path.read_text())
    out: dict[str, set[str]] = {"": set()}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            out[""].add(node.name)
        if isinstance(node, ast.ClassDef):
            out[node.name] = {
                n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            }
    return out


@pytest.mark.parametrize("module", ["ndfiles", "ndfiles._ndfiles"])
def test_stubs_list_every_public_name(module):
    """Every public function, class and method of the package is in its stub, and the stub names
    nothing the package lacks."""
    import importlib

    mod = importlib.import_module(module)
    pyi = ROOT / "python" / "ndfiles" / ("__init__.pyi" if module == "ndfiles" else "_ndfiles.pyi")
    stubs = stub_names(pyi)
    public = {
        n for n in (getattr(mod, "__all__", None) or dir(mod))
        if not n.startswith("_") and (isinstance(getattr(mod, n), type) or callable(getattr(mod, n)))
    }
    assert public == stubs[""], (module, public ^ stubs[""])
    for cls in public:
        obj = getattr(mod, cls)
        if not isinstance(obj, type) or issubclass(obj, BaseException):
            continue
        # its own members and those it inherits from the package (ndfiles.Array's base class in
        # Rust), but for the base's constructor (ndfiles.open makes datasets)
        own = set(vars(obj)).union(*(
            set(vars(c)) - {"__new__"} for c in obj.__mro__[1:] if c.__module__.startswith("ndfiles")
        ))
        # and, in the private module, the methods ndfiles' Python calls (`_read_box`, ...)
        private = module == "ndfiles._ndfiles"
        members = {
            n for n in own
            if not n.startswith("_")
            or private and not n.startswith("__")
            or n in ("__getitem__", "__array__", "__len__", "__iter__", "__contains__", "__enter__", "__exit__", "__reduce__", "__new__")
        }
        assert members == stubs.get(cls, set()), (module, cls, members ^ stubs.get(cls, set()))


def test_fits_metadata_built_directly_is_the_facades():
    """The dict built card by card equals the facade's JSON converted, keys in the same order,
    for every FITS file of the testdata (damaged ones too: same dict or same error)."""
    n = 0
    for path in sorted(FITS.rglob("*.fits*")):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ds = ndfiles.open(path)
            except ndfiles.Error:
                continue
        try:
            want = ds._metadata(direct=False)
        except ndfiles.Error as e:
            with pytest.raises(ndfiles.Error) as got:
                ds._metadata()
            assert str(got.value) == str(e)
            continue
        got = ds._metadata()
        assert json.dumps(got, allow_nan=True) == json.dumps(want, allow_nan=True), path
        assert got == want, path
        n += 1
    assert n > 100, n


def test_card_fixes_warn_when_the_header_is_read_as_astropy():
    # astropy opens broken_bad_value.fits without a warning and warns when the header's cards
    # are read; ndfiles too: at open only what the file's structure shows, the card's fix with
    # the metadata
    path = DEFECTS / "broken_bad_value.fits"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with fits.open(path) as hdul:
            opened = len(caught)
            repr(hdul[0].header)
            astropy_msgs = [str(w.message) for w in caught[opened:]]
    assert opened == 0 and any("BADVAL" in m for m in astropy_msgs), astropy_msgs
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds = ndfiles.open(path)
    with pytest.warns(ndfiles.ReadWarning, match="unparsable value for 'BADVAL'"):
        ds.metadata
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ds.metadata  # once each
    with pytest.warns(ndfiles.ReadWarning, match="BADVAL"):
        xr.open_dataset(path, engine="ndfiles")


@pytest.mark.parametrize(
    "path",
    [DEFECTS / "broken_blank_float.fits", DEFECTS / "broken_blank_string.fits",
     DEFECTS.parent / "gen" / "blank_float_ignored.fits"],
    ids=lambda p: p.name,
)
def test_an_ignored_blank_warns_at_open_as_astropy(path):
    # astropy warns when it opens an image HDU whose BLANK it ignores (floating-point data, or
    # not an integer), in these words; ndfiles at open too, and reads the same values
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with fits.open(path) as hdul:
            want = [str(w.message) for w in caught if "BLANK" in str(w.message)]
            data = hdul[0].data
    assert want
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = ndfiles.open(path)
    got = [str(w.message).split("HDU 0: ", 1)[1] for w in caught
           if issubclass(w.category, ndfiles.ReadWarning)]
    assert got == want
    np.testing.assert_array_equal(ds["0"][...], data)
