//! What opening costs on a remote-like source: bytes read, counted with `CountingSource`.
use nd_asdf::{AsdfFile, AsdfWriter, IndexStatus, Node};
use nd_core::{ArrayBuf, ArrayRead, ByteSource, CountingSource, MemSource};

use std::sync::Arc;

/// A file with some metadata of `meta_bytes`, two small arrays and a big last block.
fn file(meta_bytes: usize, big: usize, index: bool) -> Vec<u8> {
    let mut w = AsdfWriter::new();
    w.block_index = index;
    w.checksums = false;
    let words: Vec<Node> = (0..meta_bytes / 12)
        .map(|i| Node::str(format!("w{i:08}")))
        .collect();
    w.set("meta/words", Node::new(nd_asdf::Value::Seq(words.into())))
        .unwrap();
    for name in ["a", "b"] {
        let a = ArrayBuf::from_vec(vec![100], &vec![1.5f64; 100]).unwrap();
        w.add_array(name, &a, Default::default()).unwrap();
    }
    let big = ArrayBuf::from_vec(vec![big as u64], &vec![7u8; big]).unwrap();
    w.add_array("big", &big, Default::default()).unwrap();
    w.to_bytes().unwrap()
}

fn open_counting(bytes: Vec<u8>) -> (AsdfFile, Arc<CountingSource<MemSource>>) {
    let src = Arc::new(CountingSource::new(MemSource::new(bytes)));
    let f = AsdfFile::from_source(src.clone()).unwrap();
    (f, src)
}

#[test]
fn open_reads_a_bounded_tail_not_the_last_block() {
    let big = 24 << 20;
    for (meta, index) in [
        (0usize, true),
        (300_000, true),
        (0, false),
        (300_000, false),
    ] {
        let (f, src) = open_counting(file(meta, big, index));
        let tree_end = f.layout().tree.clone().unwrap().end;
        let read = src.bytes_read();
        eprintln!(
            "meta {meta} index {index}: tree ends at {tree_end}, read {read} bytes in {} reads",
            src.reads()
        );
        assert_eq!(f.blocks().len(), 3);
        if index {
            assert_eq!(f.layout().index, IndexStatus::Used);
        } else {
            assert_eq!(f.layout().index, IndexStatus::Absent);
        }
        // the tree (read once, at most one 256 KiB step past its end), the 3 block headers (+ 4
        // bytes after each when scanning), a
        // 64 KiB tail for the index: never the 24 MiB last block
        assert!(
            read <= tree_end.max(8192) + (256 << 10) + nd_asdf::layout::INDEX_TAIL + 3 * (54 + 4),
            "meta {meta} index {index}: read {read} bytes, tree ends at {tree_end}"
        );
        if meta == 0 {
            assert!(
                read <= 8192 + nd_asdf::layout::INDEX_TAIL + 3 * (54 + 4),
                "{read}"
            );
        }
        assert!(read < src.len() / 20);
        // the values still come out right
        let a = f.array("a").unwrap().read_all().unwrap();
        assert_eq!(a.as_slice::<f64>().unwrap(), &[1.5; 100][..]);
        let b = f.array("big").unwrap();
        assert_eq!(b.shape(), &[big as u64]);
    }
}

#[test]
fn a_long_index_is_still_found() {
    // 8000 blocks: the index is longer than the first 64 KiB tail, so the search grows
    let mut w = AsdfWriter::new();
    w.checksums = false;
    for i in 0..8000u32 {
        let a = ArrayBuf::from_vec(vec![1], &[i]).unwrap();
        w.add_array(&format!("a{i}"), &a, Default::default())
            .unwrap();
    }
    let bytes = w.to_bytes().unwrap();
    let (f, src) = open_counting(bytes);
    assert_eq!(f.layout().index, IndexStatus::Used);
    assert_eq!(f.blocks().len(), 8000);
    let index_len = src.len() - f.layout().index_offset.unwrap();
    assert!(index_len > nd_asdf::layout::INDEX_TAIL, "{index_len}");
    let v = f.array("a7999").unwrap().read_all().unwrap();
    assert_eq!(v.as_slice::<u32>().unwrap(), &[7999]);
}
