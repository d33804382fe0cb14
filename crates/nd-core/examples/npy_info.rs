//! Print the type, shape and first values of an `.npy` file.
use nd_core::{npy, DataType};

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "testdata/npy/example.npy".into());
    match npy::read_npy(&path) {
        Ok(a) => {
            println!("{path}: {} {:?}", a.dtype(), a.shape());
            if *a.dtype() == DataType::Float32 {
                if let Ok(v) = a.as_slice::<f32>() {
                    println!("first values: {:?}", &v[..v.len().min(8)]);
                }
            }
        }
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(2);
        }
    }
}
