//! Tile-compressed images (a BINTABLE with ZIMAGE = T): the image presented as astropy's
//! `CompImageHDU` presents it — its header rebuilt from the Z keywords, its data decoded tile by
//! tile (RICE_1, GZIP_1, GZIP_2, PLIO_1, HCOMPRESS_1, NOCOMPRESS, and the GZIP_COMPRESSED_DATA /
//! UNCOMPRESSED_DATA fallbacks), unquantized with cfitsio's dither sequence, then scaled by the
//! image's BSCALE/BZERO/BLANK. A region decodes only the tiles it touches, in parallel.
//! See `spec-notes/fits-tile-compression.md`.
//!
//! Here: `header` reads the Z keywords ([`Algorithm`], [`image_header`]); `compressed` opens a
//! [`CompressedImage`] and reads regions; `decode` turns one tile into physical values, `codec` decodes
//! one integer tile from its bytes alone ([`TileCodec`]), `values` one tile of any kind into
//! physical values from its bytes and its own parameters ([`TileSettings`]); a file
//! per algorithm (`rice`, `plio`, `hcompress`; `quantize` for cfitsio's quantization).

pub mod hcompress;
pub mod plio;
pub mod quantize;
pub mod rice;

mod codec;
mod compressed;
mod decode;
mod header;
mod values;

pub use codec::TileCodec;
pub use compressed::CompressedImage;
pub use header::{image_header, Algorithm};
pub use values::{TileColumn, TileParams, TileSettings};
