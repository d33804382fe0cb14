//! Write the files of testdata/fits/written/ with nd-fits (checked by astropy in
//! testdata/check_fits_written.py). Each image's intended values go next to it as `.npy`.
//!
//! Usage: cargo run -p nd-fits --example write_fits -- testdata/fits/written

use nd_core::{ArrayBuf, ArrayWrite, DataType, Region};
use nd_fits::{Card, FitsImageWriter, FitsWriter, ScaleSpec, Value};
use std::path::Path;

fn values<T: nd_core::Element + Copy>(shape: &[u64], f: impl Fn(usize) -> T) -> ArrayBuf {
    let n: u64 = shape.iter().product();
    let v: Vec<T> = (0..n as usize).map(f).collect();
    ArrayBuf::from_vec(shape.to_vec(), &v).unwrap()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "testdata/fits/written".into());
    let dir = Path::new(&dir);
    std::fs::create_dir_all(dir)?;
    let save = |name: &str, a: &ArrayBuf| nd_core::npy::write_npy(dir.join(name), a);

    // 1. Every dtype, one HDU each, with checksums and user cards.
    let shape = [5u64, 7];
    let arrays: Vec<(&str, ArrayBuf)> = vec![
        ("u8", values(&shape, |i| (i * 7 % 256) as u8)),
        ("i8", values(&shape, |i| (i as i64 * 11 % 256 - 128) as i8)),
        (
            "i16",
            values(&shape, |i| (i as i64 * 1877 % 65536 - 32768) as i16),
        ),
        ("u16", values(&shape, |i| (i * 1877 % 65536) as u16)),
        (
            "i32",
            values(&shape, |i| {
                (i as i64 * 122_949_829 % (1 << 32) - (1 << 31)) as i32
            }),
        ),
        (
            "u32",
            values(&shape, |i| (i as u64 * 122_949_829 % (1 << 32)) as u32),
        ),
        (
            "i64",
            values(&shape, |i| i64::MIN + (i as i64) * 263_882_790_666_239),
        ),
        (
            "u64",
            values(&shape, |i| u64::MAX - (i as u64) * 527_765_581_332_479),
        ),
        ("f32", values(&shape, |i| (i as f32 - 10.0) * 0.37)),
        (
            "f64",
            values(&shape, |i| {
                if i == 3 {
                    f64::NAN
                } else {
                    (i as f64) * 1e-3 - 0.5
                }
            }),
        ),
    ];
    let mut w = FitsWriter::create(dir.join("all_dtypes.fits"));
    w.set_checksums(true);
    for (k, (name, a)) in arrays.iter().enumerate() {
        let mut cards = vec![
            Card::new("EXTNAME", name.to_uppercase().as_str(), Some("dtype"))?,
            Card::new("OBJECT", "NGC 1234", None)?,
        ];
        if k == 0 {
            cards.push(Card::new(
                "LONGSTR",
                "A long string written by nd-fits that does not fit on one card, so it continues \
                 on CONTINUE cards; it has 'quotes' in it and ends here.",
                Some("long string"),
            )?);
            cards.push(Card::new(
                "HIERARCH ESO DET CHIP NAME",
                "CCD 1",
                Some("hierarch"),
            )?);
            cards.push(Card::new("HIERARCH ESO TEL AIRM", 1.25, None)?);
            cards.push(Card::new(
                "CPLX",
                Value::Complex(1.5, -2.0),
                Some("complex"),
            )?);
            cards.push(Card::new(
                "BIGINT",
                Value::BigInt("123456789012345678901".into()),
                None,
            )?);
            cards.push(Card::new("FLAG", true, None)?);
            cards.push(Card::new("UNDEF", Value::Undefined, Some("no value"))?);
            cards.push(Card::commentary(
                "HISTORY",
                "written by nd-fits write_fits example",
            )?);
        }
        w.add_image(a, &cards)?;
        save(&format!("all_dtypes.{k}.npy"), a)?;
    }
    w.finish()?;

    // 2. Empty primary + scaled extension (float data stored as int16 with BLANK).
    let f = values(&[4, 6], |i| {
        if i % 5 == 0 {
            f32::NAN
        } else {
            i as f32 * 0.25 - 2.0
        }
    });
    let mut w = FitsWriter::create(dir.join("scaled.fits"));
    w.add_empty_primary(&[Card::new("ORIGIN", "nd-fits", None)?])?;
    w.add_image_scaled(
        &f,
        ScaleSpec {
            bitpix: 16,
            bscale: 0.01,
            bzero: 3.0,
            blank: Some(-32768),
        },
        &[Card::new("EXTNAME", "SCALED", None)?],
    )?;
    w.finish()?;
    save("scaled.1.npy", &f)?;

    // 3. Streamed writer, regions written in parallel, then an appended extension.
    let shape = [6u64, 40, 50];
    let full = values(&shape, |i| (i * 13 % 65536) as u16);
    let sw = FitsImageWriter::create(
        dir.join("streamed.fits"),
        DataType::UInt16,
        &shape,
        &[],
        true,
    )?;
    std::thread::scope(|s| {
        for z in 0..6u64 {
            let (sw, full) = (&sw, &full);
            s.spawn(move || {
                let r = Region::new(vec![z..z + 1, 0..40, 0..50]);
                let n = 40 * 50 * 2;
                let bytes = &full.bytes()[(z as usize) * n..(z as usize + 1) * n];
                sw.write_region(&r, bytes).unwrap();
            });
        }
    });
    sw.finish()?;
    save("streamed.0.npy", &full)?;
    let ext = values(&[3, 3], |i| i as f64 * 2.5);
    nd_fits::append_image(
        dir.join("streamed.fits"),
        &ext,
        &[Card::new("EXTNAME", "APPENDED", None)?],
        true,
    )?;
    save("streamed.1.npy", &ext)?;
    let sw = FitsImageWriter::append(
        dir.join("streamed.fits"),
        DataType::Int8,
        &[2, 5],
        &[Card::new("EXTNAME", "STREAMAPP", None)?],
        true,
    )?;
    let i8s = values(&[2, 5], |i| i as i8 - 5);
    sw.write_region(&Region::new(vec![0..2, 0..5]), i8s.bytes())?;
    sw.finish()?;
    save("streamed.2.npy", &i8s)?;
    println!("wrote {}", dir.display());
    Ok(())
}
