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

/// A JSON object of `entries`, their values moved in. (`serde_json::json!` serialises each value
/// it is given by reference: a `Value` or a `Vec` of them is copied whole, level by level, which
/// for a file's metadata built bottom up copies every card or node once per level.)
pub(crate) fn json_object<const N: usize>(
    entries: [(&str, serde_json::Value); N],
) -> serde_json::Value {
    serde_json::Value::Object(
        entries
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn json_object_is_what_json_builds() {
        let cards = vec![serde_json::json!({"keyword": "A", "value": 1})];
        assert_eq!(
            super::json_object([("cards", cards.clone().into()), ("index", 3.into())]),
            serde_json::json!({"cards": cards, "index": 3})
        );
    }

    #[test]
    fn counts_are_singular_for_one() {
        assert_eq!(super::count(1, "block"), "1 block");
        assert_eq!(super::count(0, "item"), "0 items");
        assert_eq!(super::count(12, "item"), "12 items");
    }
}
