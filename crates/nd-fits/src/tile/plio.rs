//! PLIO_1: IRAF pixel lists (line lists of 16-bit instruction words), decoded as cfitsio's
//! `pl_l2pi` decodes them. Word layout in `spec-notes/fits-tile-compression.md`.

/// Decode a line list (`words`, as signed 16-bit values) into `out.len()` pixels.
pub fn decode(words: &[i16], out: &mut [i32]) -> Result<(), String> {
    let w = |i: usize| -> Result<i32, String> {
        // 1-based word index, as in the IRAF description.
        words
            .get(i.wrapping_sub(1))
            .map(|&v| v as i32)
            .ok_or_else(|| {
                format!(
                    "PLIO_1: word {i} is past the end of the {}-word list",
                    words.len()
                )
            })
    };
    out.fill(0);
    let npix = out.len() as i64;
    if words.len() < 3 {
        return Err("PLIO_1: line list shorter than its header".into());
    }
    let (lllen, first) = if w(3)? > 0 {
        (w(3)? as i64, 4usize)
    } else {
        let len = ((w(5)? as i64) << 15) + w(4)? as i64;
        let first = w(2)? as i64 + 1;
        if first < 1 {
            return Err(format!("PLIO_1: bad header length {}", first - 1));
        }
        (len, first as usize)
    };
    if npix <= 0 || lllen <= 0 {
        return Ok(());
    }
    if lllen as usize > words.len() {
        return Err(format!(
            "PLIO_1: the list claims {lllen} words but has {}",
            words.len()
        ));
    }
    let (xs, xe) = (1i64, npix);
    let mut op: i64 = 1;
    let mut x1: i64 = 1;
    let mut pv: i64 = 1;
    let mut ip = first;
    let mut put = |op: i64, v: i64| -> Result<(), String> {
        let slot = out
            .get_mut((op - 1) as usize)
            .ok_or_else(|| "PLIO_1: output overrun".to_string())?;
        *slot = v as i32;
        Ok(())
    };
    while ip <= lllen as usize {
        let word = w(ip)?;
        let opcode = word / 4096; // C division: negative words give negative opcodes (ignored)
        let data = (word & 4095) as i64;
        match opcode {
            0 | 4 | 5 => {
                let x2 = x1 + data - 1;
                let i1 = x1.max(xs);
                let i2 = x2.min(xe);
                let np = i2 - i1 + 1;
                if np > 0 {
                    let otop = op + np - 1;
                    for i in op..=otop {
                        put(i, if opcode == 4 { pv } else { 0 })?;
                    }
                    if opcode == 5 && i2 == x2 {
                        put(otop, pv)?;
                    }
                    op = otop + 1;
                }
                x1 = x2 + 1;
            }
            1 => {
                pv = ((w(ip + 1)? as i64) << 12) + data;
                ip += 1;
            }
            2 => pv += data,
            3 => pv -= data,
            6 | 7 => {
                if opcode == 6 {
                    pv += data;
                } else {
                    pv -= data;
                }
                if x1 >= xs && x1 <= xe {
                    put(op, pv)?;
                    op += 1;
                }
                x1 += 1;
            }
            _ => {}
        }
        if x1 > xe {
            break;
        }
        ip += 1;
    }
    Ok(())
}

/// Encode pixels (0 ≤ v < 2^24) as a line list in the old three-word-header format, which
/// `decode` (and cfitsio) read back. Runs of zeros, runs of one value, single values.
pub fn encode(px: &[i32]) -> Result<Vec<i16>, String> {
    if px.iter().any(|&v| !(0..(1 << 24)).contains(&v)) {
        return Err("PLIO_1: pixel values must lie in 0 .. 2^24".into());
    }
    let mut ll: Vec<i16> = vec![0, 7, 0, 0, 0, 0, 0];
    // New-format header: ll[2] = header length 7, ll[3] = -100 marks it, ll[4..5] = length.
    let mut pv: i64 = 1;
    let mut i = 0usize;
    let n = px.len();
    let push_run = |ll: &mut Vec<i16>, op: i16, mut len: usize| {
        while len > 0 {
            let k = len.min(4095);
            ll.push((op << 12) | k as i16);
            len -= k;
        }
    };
    while i < n {
        let v = px[i] as i64;
        let mut j = i;
        while j < n && px[j] as i64 == v {
            j += 1;
        }
        let run = j - i;
        if v == 0 {
            push_run(&mut ll, 0, run);
        } else {
            if v != pv {
                let d = v - pv;
                if d.abs() < 4096 && d != 0 {
                    ll.push(((if d > 0 { 2 } else { 3 }) << 12) | d.abs() as i16);
                } else {
                    ll.push((1 << 12) | (v & 4095) as i16);
                    ll.push((v >> 12) as i16);
                }
                pv = v;
            }
            push_run(&mut ll, 4, run);
        }
        i = j;
    }
    let len = ll.len();
    ll[0] = 0;
    ll[1] = 7;
    ll[2] = -100;
    ll[3] = (len & 0x7fff) as i16;
    ll[4] = (len >> 15) as i16;
    Ok(ll)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let px: Vec<i32> = (0..5000)
            .map(|i| match i % 300 {
                0..=99 => 0,
                100..=199 => 7,
                _ => (i * 31) % 70000,
            })
            .collect();
        let ll = encode(&px).unwrap();
        let mut out = vec![0i32; px.len()];
        decode(&ll, &mut out).unwrap();
        assert_eq!(out, px);
        assert!(decode(&ll[..ll.len() / 2], &mut out).is_err());
    }
}
