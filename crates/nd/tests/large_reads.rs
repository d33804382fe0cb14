//! Reads of 4 MiB and more: the facade's ndarray starts on a 2 MiB boundary inside its vector
//! (`nd_core::buf::zeroed_values`), and its values, shape and regions are those of the file.

use std::io::Write;

/// A C-order little-endian float32 `.npy` of `rows` x `cols`, value `r * cols + c`.
fn npy_f32(path: &std::path::Path, rows: usize, cols: usize) -> Vec<f32> {
    let values: Vec<f32> = (0..rows * cols).map(|i| i as f32).collect();
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let mut header = dict.into_bytes();
    // magic (6) + version (2) + length (2) + header + newline: a multiple of 64
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(b' ');
    }
    header.push(b'\n');
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(b"\x93NUMPY\x01\x00").unwrap();
    f.write_all(&(header.len() as u16).to_le_bytes()).unwrap();
    f.write_all(&header).unwrap();
    for v in &values {
        f.write_all(&v.to_le_bytes()).unwrap();
    }
    values
}

#[test]
fn large_reads_start_on_a_huge_page_and_hold_the_files_values() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.npy");
    let (rows, cols) = (1500, 1000); // 6 MB of float32
    let want = npy_f32(&path, rows, cols);
    let ds = nd::open(path.to_str().unwrap()).unwrap();
    let arr = ds.array("data").unwrap();

    let a = arr.read_ndarray::<f32>().unwrap();
    assert_eq!(a.shape(), &[rows, cols]);
    assert_eq!(a.as_ptr() as usize % (2 << 20), 0);
    assert_eq!(a.as_slice().unwrap(), &want[..]);
    // the vector holds more than the values, which start at the offset
    let (vec, offset) = a.into_raw_vec_and_offset();
    let offset = offset.unwrap();
    assert!(vec.len() >= offset + want.len());
    assert_eq!(&vec[offset..offset + want.len()], &want[..]);

    // converted while read (float32 to float64): the same values
    let d = arr.read_ndarray::<f64>().unwrap();
    assert_eq!(d.as_ptr() as usize % (2 << 20), 0);
    assert!(d.iter().zip(&want).all(|(&x, &w)| x == f64::from(w)));

    // a region of 4 MiB and more, and a small one (no padding)
    let region = arr.region("100:1300,0:1000").unwrap();
    let r = arr.read_region_ndarray::<f32>(&region).unwrap();
    assert_eq!(r.shape(), &[1200, 1000]);
    assert_eq!(r[[0, 0]], want[100 * cols]);
    assert_eq!(r[[1199, 999]], want[1299 * cols + 999]);
    let small = arr.region("3:5,7:9").unwrap();
    let s = arr.read_region_ndarray::<f32>(&small).unwrap();
    assert_eq!(
        s.into_raw_vec_and_offset(),
        (
            vec![
                want[3 * cols + 7],
                want[3 * cols + 8],
                want[4 * cols + 7],
                want[4 * cols + 8]
            ],
            Some(0)
        )
    );
}
