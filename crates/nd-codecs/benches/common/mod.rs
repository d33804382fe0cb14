//! Test data shared by the benches.
#![allow(dead_code)]

/// `n` xorshift64 values from a fixed seed.
pub fn noise(n: usize) -> impl Iterator<Item = u64> {
    let mut s = 0x2545F4914F6CDD1Du64;
    (0..n).map(move |_| {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    })
}

/// `n` little-endian u16 values: a smooth image (rows of 4096) with a little noise.
pub fn noisy_u16_image(n: usize) -> Vec<u8> {
    noise(n)
        .enumerate()
        .flat_map(|(i, s)| {
            let v = ((i % 4096) as u16 / 4).wrapping_add(1000) + (s % 8) as u16;
            v.to_le_bytes()
        })
        .collect()
}
