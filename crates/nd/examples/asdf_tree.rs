//! Walk an ASDF file's tree (tags kept) and read one of its arrays as `ArrayD<f64>`, whatever
//! its stored type.
//!
//! ```sh
//! cargo run -p nd --example asdf_tree -- file.asdf [tree/path/of/array]
//! ```

use nd::ndarray::ArrayD;
use serde_json::Value;

/// Print the tree, one line per node, tags in angle brackets.
fn walk(key: &str, node: &Value, depth: usize) {
    let pad = "  ".repeat(depth);
    let (tag, value) = match node.get("!").and_then(Value::as_str) {
        Some(tag) => (format!(" <{tag}>"), &node["value"]),
        None => (String::new(), node),
    };
    match value {
        Value::Object(map) => {
            println!("{pad}{key}{tag}");
            for (k, v) in map {
                walk(k, v, depth + 1);
            }
        }
        Value::Array(items) => {
            println!("{pad}{key}{tag} [{}]", items.len());
            for (i, v) in items.iter().enumerate().take(8) {
                walk(&i.to_string(), v, depth + 1);
            }
        }
        scalar => println!("{pad}{key}{tag}: {scalar}"),
    }
}

fn main() -> Result<(), nd::Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let default = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/asdf/py/compressed_zlib.asdf"
    );
    let path = args.first().map_or(default, String::as_str);
    let ds = nd::open(path)?;
    walk("(root)", &ds.metadata()?["tree"], 0);
    let selector = match args.get(1) {
        Some(s) => s.clone(),
        None => ds
            .arrays()?
            .first()
            .map(|a| a.path.clone())
            .ok_or_else(|| nd::Error::input(format!("{path}: no arrays")))?,
    };
    let values: ArrayD<f64> = ds.array(&selector)?.read_ndarray()?;
    println!(
        "{selector}: shape {:?}, sum {}",
        values.shape(),
        values.iter().filter(|v| !v.is_nan()).sum::<f64>()
    );
    Ok(())
}
