//! Compressor specs of `nd convert --compressor`: numcodecs configurations for Zarr and ASDF,
//! tile-compression options for FITS.

use crate::error::{Error, Result};
use serde_json::{json, Value};

/// A compressor spec (`none`, `zlib:6`, `gzip:6`, `bz2:9`, `zstd:3`, `lz4:1`, `blosc:lz4:5:shuffle`)
/// as a numcodecs JSON config (`null` for none).
pub fn parse_compressor(spec: &str) -> Result<Value> {
    let bad = |why: &str| Error::input(format!("--compressor '{spec}': {why}"));
    let parts: Vec<&str> = spec.trim().split(':').collect();
    let num = |i: usize, default: i64| -> Result<i64> {
        match parts.get(i) {
            None | Some(&"") => Ok(default),
            Some(s) => s.parse().map_err(|_| bad("a level must be an integer")),
        }
    };
    let v = match parts[0] {
        "none" | "raw" => Value::Null,
        "zlib" => json!({"id": "zlib", "level": num(1, 6)?}),
        "gzip" => json!({"id": "gzip", "level": num(1, 6)?}),
        "bz2" | "bzip2" => json!({"id": "bz2", "level": num(1, 9)?}),
        "zstd" => json!({"id": "zstd", "level": num(1, 3)?}),
        "lz4" => json!({"id": "lz4", "acceleration": num(1, 1)?}),
        "blosc" => {
            let cname = parts
                .get(1)
                .copied()
                .filter(|s| !s.is_empty())
                .unwrap_or("lz4");
            if !["blosclz", "lz4", "lz4hc", "snappy", "zlib", "zstd"].contains(&cname) {
                return Err(bad(
                    "blosc compressors are blosclz, lz4, lz4hc, snappy, zlib, zstd",
                ));
            }
            let shuffle = match parts.get(3).copied().unwrap_or("shuffle") {
                "noshuffle" | "0" => 0,
                "shuffle" | "1" | "" => 1,
                "bitshuffle" | "2" => 2,
                _ => return Err(bad("blosc shuffle is noshuffle, shuffle or bitshuffle")),
            };
            json!({"id": "blosc", "cname": cname, "clevel": num(2, 5)?, "shuffle": shuffle, "blocksize": 0})
        }
        _ => {
            return Err(bad(
                "unknown compressor (none, zlib, gzip, bz2, zstd, lz4, blosc)",
            ))
        }
    };
    if let Value::Object(_) = &v {
        nd_codecs::codec_from_config(&v).map_err(|e| bad(&e.to_string()))?;
    }
    Ok(v)
}

/// A tile-compression spec for FITS output: `none`, `rice` (`rice_1`), `gzip_1` (`gzip`), `gzip_2`,
/// `plio` (`plio_1`), each with `:`-separated options `q=LEVEL` (float quantization level,
/// astropy's `quantize_level`; negative = the step itself), `lossless` (floats stored exactly;
/// gzip only), `dither=none|1|2`, `seed=1..10000`, `level=0..9` (gzip level; a bare number too),
/// `blocksize=N` (RICE_1).
pub fn parse_fits_compressor(spec: &str) -> Result<Option<nd_fits::CompressOptions>> {
    use nd_fits::{Algorithm, CompressOptions, Dither, Quantization};
    let bad = |why: &str| Error::input(format!("--compressor '{spec}': {why}"));
    let mut parts = spec.trim().split(':');
    let algo = match parts.next().unwrap_or("").to_ascii_lowercase().as_str() {
        "none" | "raw" => {
            if parts.next().is_some() {
                return Err(bad("`none` takes no options"));
            }
            return Ok(None);
        }
        "rice" | "rice_1" => Algorithm::Rice,
        "gzip" | "gzip_1" => Algorithm::Gzip1,
        "gzip_2" => Algorithm::Gzip2,
        "plio" | "plio_1" => Algorithm::Plio,
        "hcompress" | "hcompress_1" => {
            return Err(bad(
                "HCOMPRESS_1 is read but not written; FITS output takes rice, gzip_1, gzip_2, plio or none",
            ))
        }
        _ => {
            return Err(bad(
                "FITS output is tile-compressed with rice, gzip_1 (gzip), gzip_2 or plio, or not at all (none)",
            ))
        }
    };
    let gzip = matches!(algo, Algorithm::Gzip1 | Algorithm::Gzip2);
    let mut o = CompressOptions::new(algo);
    let mut q = Quantization::default();
    let (mut lossless, mut quant_opt) = (false, false);
    for p in parts {
        let (k, v) = p.split_once('=').unwrap_or((p, ""));
        let k = k.trim().to_ascii_lowercase();
        let v = v.trim();
        match k.as_str() {
            "lossless" if v.is_empty() => {
                if !gzip {
                    return Err(bad("only gzip_1 and gzip_2 store floats losslessly (rice and plio quantize them)"));
                }
                lossless = true;
            }
            "q" | "quantize" | "quantize_level" => {
                let l: f32 = v
                    .parse()
                    .ok()
                    .filter(|l: &f32| l.is_finite() && *l != 0.0)
                    .ok_or_else(|| bad("q= takes a non-zero number (16: step = noise / 16; negative: the step itself)"))?;
                q.level = l;
                quant_opt = true;
            }
            "dither" => {
                q.dither = match v.to_ascii_lowercase().as_str() {
                    "none" | "no_dither" | "0" => Dither::None,
                    "1" | "subtractive_dither_1" => Dither::Subtractive1,
                    "2" | "subtractive_dither_2" => Dither::Subtractive2,
                    _ => return Err(bad("dither= is none, 1 or 2")),
                };
                quant_opt = true;
            }
            "seed" => {
                q.seed = v
                    .parse()
                    .ok()
                    .filter(|s| (1..=10000).contains(s))
                    .ok_or_else(|| bad("seed= is 1 ..= 10000"))?;
                quant_opt = true;
            }
            "level" if gzip => {
                o.gzip_level = v
                    .parse()
                    .ok()
                    .filter(|l| *l <= 9)
                    .ok_or_else(|| bad("level= is 0 ..= 9"))?;
            }
            _ if gzip && v.is_empty() && k.parse::<u32>().is_ok() => {
                o.gzip_level = k
                    .parse()
                    .ok()
                    .filter(|l| *l <= 9)
                    .ok_or_else(|| bad("a gzip level is 0 ..= 9"))?;
            }
            "blocksize" if algo == Algorithm::Rice => {
                o.blocksize = v
                    .parse()
                    .ok()
                    .filter(|b| *b > 0)
                    .ok_or_else(|| bad("blocksize= takes a positive integer"))?;
            }
            _ => {
                return Err(bad(&format!(
                    "unknown option '{p}' (q=LEVEL, dither=none|1|2, seed=N{}{})",
                    if gzip { ", lossless, level=N" } else { "" },
                    if algo == Algorithm::Rice {
                        ", blocksize=N"
                    } else {
                        ""
                    }
                )))
            }
        }
    }
    if lossless && quant_opt {
        return Err(bad(
            "`lossless` and quantization options exclude each other",
        ));
    }
    o.quantize = if lossless { None } else { Some(q) };
    Ok(Some(o))
}
