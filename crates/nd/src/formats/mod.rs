//! One backend per format: what `nd` needs from FITS, ASDF and Zarr, over their crates.

pub mod asdf;
mod asdf_mask;
pub mod fits;
mod fits_info;
pub mod npy;
pub(crate) mod packed;
pub mod zarr;

/// A count with its noun, singular for one: `1 block`, `3 blocks`, `0 items`.
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(super::count(1, "block"), "1 block");
        assert_eq!(super::count(0, "item"), "0 items");
        assert_eq!(super::count(12, "item"), "12 items");
    }
}
