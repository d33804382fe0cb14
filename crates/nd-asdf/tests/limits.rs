//! A file over a lowered `nd_core::Limits` is refused with the limit's own error, saying what and
//! where; the same file opens with the defaults.
use nd_asdf::{ArrayOptions, AsdfFile, AsdfWriter, Error};
use nd_core::{ArrayBuf, Limits, MemSource};
use std::sync::Arc;

fn three_blocks() -> Vec<u8> {
    let mut w = AsdfWriter::new();
    for name in ["a", "b", "c"] {
        let a = ArrayBuf::from_vec(vec![4], &[1u32, 2, 3, 4]).unwrap();
        w.add_array(name, &a, ArrayOptions::default()).unwrap();
    }
    w.to_bytes().unwrap()
}

fn open(bytes: &[u8], limits: Limits) -> nd_asdf::Result<AsdfFile> {
    AsdfFile::from_source_with(Arc::new(MemSource::new(bytes.to_vec())), limits)
}

#[test]
fn blocks_over_the_limit_are_refused() {
    let b = three_blocks();
    let max = |n| Limits {
        blocks: n,
        ..Limits::default()
    };
    assert_eq!(open(&b, max(3)).unwrap().blocks().len(), 3);
    match open(&b, max(2)) {
        Err(Error::Core(nd_core::Error::LimitExceeded {
            limit,
            value,
            max,
            at,
        })) => {
            assert_eq!((limit, value, max), ("blocks", 3, 2));
            assert!(
                at.starts_with("<memory") && at.contains("block 2 at byte"),
                "{at}"
            );
        }
        r => panic!("{:?}", r.map(|_| ())),
    }
}

#[test]
fn tree_depth_and_nodes_over_the_limit_are_refused() {
    let b = three_blocks();
    let f = open(&b, Limits::default()).unwrap();
    assert!(f.tree().get_path("a").is_some());
    let shallow = Limits {
        tree_depth: 2,
        ..Limits::default()
    };
    assert!(matches!(open(&b, shallow), Err(Error::TooDeep(2))));
    let few = Limits {
        tree_nodes: 10,
        ..Limits::default()
    };
    assert!(matches!(
        open(&b, few),
        Err(Error::AliasBudget { budget: 10 })
    ));
}
