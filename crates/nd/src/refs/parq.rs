//! A reference set in kerchunk's parquet layout, the one fsspec's `LazyReferenceMapper` reads
//! lazily (`fsspec.filesystem("reference", fo="out.parq")`): a directory holding `.zmetadata`
//! (`{"metadata": {key: metadata document}, "record_size": N}`) and, per array, files
//! `ARRAY/refs.K.parq` with the columns `path` (string, null for inline or missing chunks),
//! `offset`, `size` (int64) and `raw` (binary, the inline bytes). Row `r` of file `K` is the
//! chunk whose C-order number in the array's chunk grid is `K·N + r`
//! (`spec-notes/virtual-zarr.md`, "Parquet layout").

use super::{Ref, RefSet};
use crate::error::{Error, Result};
use arrow_array::{ArrayRef, BinaryArray, Int64Array, RecordBatch, StringArray};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// References per parquet file (kerchunk's and fsspec's default).
pub const RECORD_SIZE: u64 = 10_000;

/// Whether `dst` names the parquet layout (`.parq` or `.parquet`).
pub fn is_parquet_path(dst: &str) -> bool {
    let d = dst.trim_end_matches('/');
    d.ends_with(".parq") || d.ends_with(".parquet")
}

/// One row: (path, offset, size, raw).
type Row = (Option<String>, i64, i64, Option<Vec<u8>>);

/// One array's chunk rows by chunk number.
type Rows = BTreeMap<u64, Row>;

/// Per array (its Zarr path): its number of chunks and its rows.
type Arrays = BTreeMap<String, (u64, Rows)>;

/// Write `set` (Zarr v2) as kerchunk's parquet layout into the directory `dst`, built under a
/// temporary name and renamed into place. An existing `dst` is replaced only with `force` and
/// only when it is itself a parquet reference set (holds `.zmetadata`); never a file, link or
/// other directory. A destination overlapping one of `sources` is refused.
///
/// # Errors
/// [`Error::Input`] for a Zarr v3 set (fsspec's lazy reader parses v2 chunk keys `i.j`), a
/// refused destination, or metadata that is not what nd writes; [`Error::Output`] when writing
/// fails.
pub fn write_parquet(set: &RefSet, dst: &str, force: bool, sources: &[&str]) -> Result<()> {
    use nd_core::io::{existing, Existing};
    if set.refs.contains_key("zarr.json") {
        return Err(Error::input(format!(
            "{dst}: the parquet layout holds Zarr v2 references (fsspec's lazy reader parses \
             chunk keys `i.j`); write Zarr v3 references as JSON"
        )));
    }
    crate::export::check_overlap(dst, sources)?;
    let path = Path::new(dst);
    let refuse = |what: String| Error::input(format!("{dst}: {what}; nothing was written"));
    let replace = match existing(path).map_err(|e| Error::input(e.to_string()))? {
        Existing::Nothing => false,
        Existing::Dir if force && path.join(".zmetadata").is_file() => true,
        Existing::Dir if force => {
            return Err(refuse(
                "is a directory that is not a parquet reference set (no .zmetadata)".into(),
            ))
        }
        Existing::Dir => return Err(refuse("exists (use --force to replace it)".into())),
        other => {
            return Err(refuse(format!(
                "is {}, which nd does not replace",
                other.describe()
            )))
        }
    };
    let out_err = |e: &dyn std::fmt::Display| Error::Output {
        context: dst.to_string(),
        source: std::io::Error::other(e.to_string()),
    };
    let building = nd_core::io::TempDir::new(path).map_err(|e| out_err(&e))?;
    let (metadata, arrays) = layout(set)?;
    let zmeta = json!({"metadata": metadata, "record_size": RECORD_SIZE});
    let text = serde_json::to_vec(&zmeta).map_err(|e| Error::input(e.to_string()))?;
    std::fs::write(building.path().join(".zmetadata"), text).map_err(|e| out_err(&e))?;
    for (array, (nchunks, rows)) in &arrays {
        let dir = building.path().join(array);
        std::fs::create_dir_all(&dir).map_err(|e| out_err(&e))?;
        let nfiles = nchunks.div_ceil(RECORD_SIZE);
        for k in 0..nfiles {
            let lo = k * RECORD_SIZE;
            let hi = (lo + RECORD_SIZE).min(*nchunks);
            let file = dir.join(format!("refs.{k}.parq"));
            write_record(&file, lo..hi, rows).map_err(|e| out_err(&e))?;
        }
    }
    building.commit(replace).map_err(|e| out_err(&e))
}

/// The `.zmetadata` documents and, per array, its number of chunks and its chunk rows.
fn layout(set: &RefSet) -> Result<(Map<String, Value>, Arrays)> {
    let mut metadata = Map::new();
    let mut arrays = Arrays::new();
    for (k, r) in &set.refs {
        let (dir, name) = k.rsplit_once('/').unwrap_or(("", k));
        if let Ref::Json(v) = r {
            if !name.starts_with(".z") {
                return Err(Error::input(format!(
                    "{k}: a metadata document under a chunk key"
                )));
            }
            metadata.insert(k.clone(), v.clone());
            if name == ".zarray" {
                let grid = grid(v).ok_or_else(|| {
                    Error::input(format!("{k}: shape and chunks are not lists of sizes"))
                })?;
                arrays.entry(dir.to_string()).or_default().0 = grid.iter().product::<u64>();
            }
        }
    }
    for (k, r) in &set.refs {
        let (dir, name) = k.rsplit_once('/').unwrap_or(("", k));
        let row = match r {
            Ref::Json(_) => continue,
            Ref::Bytes(b) => (None, 0, 0, Some(b.clone())),
            Ref::Range {
                file,
                offset,
                length,
            } => {
                let url = set.urls.get(*file).cloned();
                let off = i64::try_from(*offset).map_err(|_| Error::input("offset over 2^63"))?;
                let len = i64::try_from(*length).map_err(|_| Error::input("length over 2^63"))?;
                (url, off, len, None)
            }
        };
        let Some(Value::Object(z)) = metadata.get(&format!("{dir}/.zarray")) else {
            return Err(Error::input(format!("{k}: a chunk outside every array")));
        };
        let grid = grid(&Value::Object(z.clone())).unwrap_or_default();
        let number = chunk_number(name, &grid)
            .ok_or_else(|| Error::input(format!("{k}: not a chunk key of grid {grid:?}")))?;
        if dir.is_empty() {
            return Err(Error::input(format!(
                "{k}: a root array has no field directory in the parquet layout"
            )));
        }
        arrays
            .entry(dir.to_string())
            .or_default()
            .1
            .insert(number, row);
    }
    Ok((metadata, arrays))
}

/// Chunks per axis of a `.zarray` (`[1]` for a 0-d array, as fsspec counts).
fn grid(z: &Value) -> Option<Vec<u64>> {
    let shape: Vec<u64> = z["shape"]
        .as_array()?
        .iter()
        .map(Value::as_u64)
        .collect::<Option<_>>()?;
    let chunks: Vec<u64> = z["chunks"]
        .as_array()?
        .iter()
        .map(Value::as_u64)
        .collect::<Option<_>>()?;
    if shape.len() != chunks.len() || chunks.contains(&0) {
        return None;
    }
    let g: Vec<u64> = shape
        .iter()
        .zip(&chunks)
        .map(|(s, c)| s.div_ceil(*c))
        .collect();
    Some(if g.is_empty() { vec![1] } else { g })
}

/// The C-order number of chunk key `i.j.k` in `grid`.
fn chunk_number(key: &str, grid: &[u64]) -> Option<u64> {
    let idx: Vec<u64> = key
        .split('.')
        .map(|p| p.parse().ok())
        .collect::<Option<_>>()?;
    if idx.len() != grid.len() || idx.iter().zip(grid).any(|(i, g)| i >= g) {
        return None;
    }
    Some(idx.iter().zip(grid).fold(0, |n, (i, g)| n * g + i))
}

/// One `refs.K.parq`: the rows of chunk numbers `range` (a missing chunk: all null / zero).
fn write_record(
    file: &Path,
    range: std::ops::Range<u64>,
    rows: &Rows,
) -> std::result::Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let n = (range.end - range.start) as usize;
    let (mut path, mut offset, mut size, mut raw) = (
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
        Vec::with_capacity(n),
    );
    for c in range {
        match rows.get(&c) {
            Some((p, o, s, r)) => {
                path.push(p.as_deref());
                offset.push(*o);
                size.push(*s);
                raw.push(r.as_deref());
            }
            None => {
                path.push(None);
                offset.push(0);
                size.push(0);
                raw.push(None);
            }
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("path", DataType::Utf8, true),
        Field::new("offset", DataType::Int64, false),
        Field::new("size", DataType::Int64, false),
        Field::new("raw", DataType::Binary, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(path)),
        Arc::new(Int64Array::from(offset)),
        Arc::new(Int64Array::from(size)),
        Arc::new(BinaryArray::from(raw)),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let f = std::fs::File::create(file)?;
    let mut w = ArrowWriter::try_new(f, schema, Some(props))?;
    w.write(&batch)?;
    w.close()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_numbers_are_c_order() {
        assert_eq!(chunk_number("0.0", &[3, 4]), Some(0));
        assert_eq!(chunk_number("1.2", &[3, 4]), Some(6));
        assert_eq!(chunk_number("2.3", &[3, 4]), Some(11));
        assert_eq!(chunk_number("3.0", &[3, 4]), None);
        assert_eq!(chunk_number("0", &[1]), Some(0));
        assert_eq!(chunk_number("x", &[1]), None);
        assert_eq!(
            grid(&json!({"shape": [10, 7], "chunks": [4, 7]})),
            Some(vec![3, 1])
        );
        assert_eq!(grid(&json!({"shape": [], "chunks": []})), Some(vec![1]));
        assert!(is_parquet_path("a/out.parq/") && !is_parquet_path("out.json"));
    }

    /// The columns of one `refs.K.parq`, read back with the parquet crate's reader.
    fn read_back(file: &Path) -> Vec<Row> {
        use arrow_array::Array;
        use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
        let f = std::fs::File::open(file).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(f)
            .unwrap()
            .build()
            .unwrap();
        let mut out = Vec::new();
        for batch in reader {
            let b = batch.unwrap();
            let names: Vec<&str> = b
                .schema_ref()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect();
            assert_eq!(names, ["path", "offset", "size", "raw"]);
            let path = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
            let off = b.column(1).as_any().downcast_ref::<Int64Array>().unwrap();
            let size = b.column(2).as_any().downcast_ref::<Int64Array>().unwrap();
            let raw = b.column(3).as_any().downcast_ref::<BinaryArray>().unwrap();
            for i in 0..b.num_rows() {
                out.push((
                    (!path.is_null(i)).then(|| path.value(i).to_string()),
                    off.value(i),
                    size.value(i),
                    (!raw.is_null(i)).then(|| raw.value(i).to_vec()),
                ));
            }
        }
        out
    }

    #[test]
    fn writes_zmetadata_and_one_row_per_chunk_in_c_order() {
        let mut refs = BTreeMap::new();
        refs.insert(".zgroup".to_string(), Ref::Json(json!({"zarr_format": 2})));
        refs.insert(
            "g/a/.zarray".to_string(),
            Ref::Json(json!({"shape": [3, 4], "chunks": [2, 2], "dtype": "<i2"})),
        );
        refs.insert(
            "g/.zgroup".to_string(),
            Ref::Json(json!({"zarr_format": 2})),
        );
        for (k, off) in [("0.0", 100), ("1.1", 300), ("0.1", 200)] {
            refs.insert(
                format!("g/a/{k}"),
                Ref::Range {
                    file: 0,
                    offset: off,
                    length: 8,
                },
            );
        }
        refs.insert("g/a/1.0".to_string(), Ref::Bytes(vec![1, 2, 3]));
        let set = RefSet {
            urls: vec!["/d/f.fits".into()],
            refs,
            skipped: vec![],
            needs_nd_codec: vec![],
        };
        let dir = tempfile::tempdir().unwrap();
        let dst = dir.path().join("r.parq");
        let dst = dst.to_str().unwrap();
        write_parquet(&set, dst, false, &[]).unwrap();
        let z: Value =
            serde_json::from_slice(&std::fs::read(Path::new(dst).join(".zmetadata")).unwrap())
                .unwrap();
        assert_eq!(z["record_size"], RECORD_SIZE);
        assert_eq!(z["metadata"]["g/a/.zarray"]["chunks"], json!([2, 2]));
        let rows = read_back(&Path::new(dst).join("g/a/refs.0.parq"));
        let f = Some("/d/f.fits".to_string());
        assert_eq!(
            rows,
            [
                (f.clone(), 100, 8, None),
                (f.clone(), 200, 8, None),
                (None, 0, 0, Some(vec![1, 2, 3])),
                (f, 300, 8, None),
            ]
        );
        // an existing set is replaced only with force; a plain directory never
        assert!(write_parquet(&set, dst, false, &[]).is_err());
        write_parquet(&set, dst, true, &[]).unwrap();
        let plain = dir.path().join("plain.parq");
        std::fs::create_dir(&plain).unwrap();
        assert!(write_parquet(&set, plain.to_str().unwrap(), true, &[]).is_err());
        // Zarr v3 references are refused
        let v3 = super::super::to_v3(&set).unwrap();
        let e = write_parquet(
            &v3,
            dir.path().join("v3.parq").to_str().unwrap(),
            false,
            &[],
        );
        assert!(e.unwrap_err().to_string().contains("Zarr v2"));
    }
}
