//! # nd-fits
//!
//! FITS files read exactly as astropy.io.fits reads them, and written so that astropy and
//! cfitsio accept them:
//!
//! - headers ([`Header`], [`Card`]): 80-column cards read free-format (astropy's rules), CONTINUE
//!   long strings, HIERARCH keywords, duplicates, raw text kept so headers round-trip byte for byte,
//!   lenient reading with warnings or strict reading;
//! - a lazy HDU list ([`Fits`]): opening reads the primary header only, later headers are read on
//!   demand by walking from header to header; `.fits.gz` files are decompressed transparently;
//! - images ([`FitsImage`], an [`nd_core::ArrayRead`]): astropy's physical values (BSCALE/BZERO,
//!   unsigned conventions, BLANK → NaN, astropy's result type), raw values, and region reads that
//!   fetch only the bytes the region covers;
//! - checksums ([`verify_checksums`]) and writing ([`FitsWriter`], [`FitsImageWriter`], [`append_image`]):
//!   images, binary tables ([`FitsWriter::add_bintable`]) and tile-compressed images
//!   ([`FitsWriter::add_compressed_image`]).
//!
//! ```no_run
//! use nd_core::{ArrayRead, Region};
//! let fits = nd_fits::Fits::open("image.fits")?;
//! let sci = fits.find("SCI", Some(1))?;
//! let img = fits.image(sci.index)?;
//! let cut = img.read_region(&Region::parse("10:20,100:200", img.shape())?)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod card;
pub mod checksum;
pub mod edit;
pub mod error;
pub mod fits;
#[doc(hidden)]
pub mod fuzzing;
mod hdu;
pub mod header;
mod header_raw;
pub mod image;
mod scale;
pub mod table;
pub mod tile;
pub mod verify;
pub mod write;
pub mod write_compressed;
pub mod write_table;
pub mod write_table_stream;

pub use card::{Card, Value};
pub use checksum::{verify_checksums, ChecksumReport, ChecksumStatus};
pub use error::{Error, Result};
pub use fits::{Fits, OpenOptions};
pub use hdu::{Hdu, HduKind};
pub use header::{Header, Strictness, Warning};
pub use image::{FitsImage, RandomGroups};
pub use scale::Scaling;
pub use table::{Column, ColumnArray, ColumnFormat, ColumnScaling, ColumnSel, Table};
pub use tile::quantize::Dither;
pub use tile::{Algorithm, CompressedImage, TileCodec, TileColumn, TileParams, TileSettings};
pub use verify::{verify, Issue, Severity};
pub use write::{append_image, FitsImageWriter, FitsWriter, ScaleSpec};
pub use write_compressed::{CompressOptions, Quantization};
pub use write_table::{ColumnData, ColumnValues, TableScale};
pub use write_table_stream::FitsTableWriter;
