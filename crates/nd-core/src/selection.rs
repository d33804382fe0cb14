//! Selections as numpy's basic indexing makes them: per axis an index (the axis is dropped) or
//! a slice with a step (negative steps too), `...` for the axes not named. The one parser of
//! region text for every command, format and the library ([`Selection::parse`]).
//!
//! Unlike numpy, which clamps slice bounds silently, the text form is strict, because a typo
//! should not give an empty or shifted cutout: a bound outside the axis, a slice that selects
//! nothing, a zero step or too many axes is an error naming the axis, its length and the bound.

use crate::error::{Error, Result};
use crate::shape::Region;

/// What one axis of a [`Selection`] takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AxisSelection {
    /// One index: the axis is dropped from the result (numpy's `a[3]`).
    Index(u64),
    /// `len` indices `start, start + step, …` (`step` may be negative; never 0); the axis stays.
    Slice {
        /// The first index taken.
        start: u64,
        /// The distance between taken indices.
        step: i64,
        /// How many indices are taken.
        len: u64,
    },
}

impl AxisSelection {
    /// The whole axis of length `n`.
    pub fn full(n: u64) -> Self {
        AxisSelection::Slice {
            start: 0,
            step: 1,
            len: n,
        }
    }

    /// The lowest and one past the highest index taken.
    pub fn bounds(&self) -> std::ops::Range<u64> {
        match *self {
            AxisSelection::Index(i) => i..i + 1,
            AxisSelection::Slice { start, step, len } => {
                if len == 0 {
                    start..start
                } else if step > 0 {
                    start..start + (len - 1) * step as u64 + 1
                } else {
                    start - (len - 1) * step.unsigned_abs()..start + 1
                }
            }
        }
    }
}

/// A numpy basic-indexing selection of an array: one [`AxisSelection`] per axis of the array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// One entry per axis of the array, in order.
    pub axes: Vec<AxisSelection>,
}

impl Selection {
    /// The whole array of `shape`.
    pub fn full(shape: &[u64]) -> Self {
        Selection {
            axes: shape.iter().map(|&n| AxisSelection::full(n)).collect(),
        }
    }

    /// Parse numpy-order text against `shape`: items separated by commas, each `i` (an index;
    /// negative counts from the end), `[start]:[stop][:step]`, or `...` (the axes not named).
    /// Fewer items than axes leave the last axes whole.
    ///
    /// # Errors
    /// [`Error::Shape`] naming the axis, its length and the bad item: an index or bound outside
    /// the axis, a slice selecting nothing, a zero step, text that is not a number, more items
    /// than axes, or two `...`.
    pub fn parse(text: &str, shape: &[u64]) -> Result<Selection> {
        let text = text.trim();
        let items: Vec<&str> = if text.is_empty() {
            vec![]
        } else {
            text.split(',').map(str::trim).collect()
        };
        let ellipses = items.iter().filter(|s| **s == "...").count();
        if ellipses > 1 {
            return Err(Error::Shape(format!(
                "region '{text}': more than one `...`"
            )));
        }
        let named = items.len() - ellipses;
        if named > shape.len() {
            return Err(Error::Shape(format!(
                "region '{text}' names {named} axes, the array has {} (shape {shape_s})",
                shape.len(),
                shape_s = crate::fmt_shape(shape.iter())
            )));
        }
        // expand `...` (or the missing tail) into whole axes
        let mut expanded: Vec<&str> = Vec::with_capacity(shape.len());
        for item in &items {
            if *item == "..." {
                expanded.extend(std::iter::repeat_n(":", shape.len() - named));
            } else {
                expanded.push(item);
            }
        }
        expanded.resize(shape.len(), ":");
        let axes = expanded
            .iter()
            .zip(shape)
            .enumerate()
            .map(|(axis, (item, &n))| parse_axis(item, axis, n))
            .collect::<Result<Vec<_>>>()?;
        Ok(Selection { axes })
    }

    /// The shape of the result: the slices' lengths (indexed axes dropped).
    pub fn shape(&self) -> Vec<u64> {
        self.axes
            .iter()
            .filter_map(|a| match a {
                AxisSelection::Index(_) => None,
                AxisSelection::Slice { len, .. } => Some(*len),
            })
            .collect()
    }

    /// The smallest region holding every selected element (one range per array axis).
    pub fn bounding_region(&self) -> Region {
        Region::new(self.axes.iter().map(AxisSelection::bounds).collect())
    }

    /// True when the selection is a plain box: every step 1 (indexed axes allowed).
    pub fn is_box(&self) -> bool {
        self.axes.iter().all(|a| match a {
            AxisSelection::Index(_) => true,
            AxisSelection::Slice { step, .. } => *step == 1,
        })
    }
}

impl Region {
    /// Parse numpy-order region text (`a:b,c:d`; `:` or nothing for a whole axis, `a` for one
    /// index, negative numbers from the end, `...`) against an array shape, with
    /// [`Selection::parse`]'s rules; an index keeps its axis (with length 1), since a
    /// region is a box.
    ///
    /// # Errors
    /// As [`Selection::parse`], and [`Error::Shape`] for a step other than 1 (a region has
    /// none: use a [`Selection`]).
    pub fn parse(spec: &str, shape: &[u64]) -> Result<Region> {
        let sel = Selection::parse(spec, shape)?;
        if !sel.is_box() {
            return Err(Error::Shape(format!(
                "region '{spec}': steps need a selection, not a region"
            )));
        }
        Ok(sel.bounding_region())
    }
}

/// One item of region text for an axis of length `n`.
fn parse_axis(item: &str, axis: usize, n: u64) -> Result<AxisSelection> {
    let bad = |why: String| Error::Shape(format!("axis {axis} (length {n}): '{item}': {why}"));
    let num = |s: &str| -> Result<Option<i64>> {
        let s = s.trim();
        if s.is_empty() {
            return Ok(None);
        }
        s.parse::<i64>()
            .map(Some)
            .map_err(|_| bad(format!("'{s}' is not an integer")))
    };
    let len = i64::try_from(n).map_err(|_| bad("axis too long".into()))?;
    let parts: Vec<&str> = item.split(':').collect();
    if parts.len() == 1 {
        let i = num(parts[0])?.ok_or_else(|| bad("an empty index".into()))?;
        let k = if i < 0 { i + len } else { i };
        if !(0..len).contains(&k) {
            return Err(bad(format!("index {i} is outside the axis")));
        }
        return Ok(AxisSelection::Index(k as u64));
    }
    if parts.len() > 3 {
        return Err(bad("a slice is start:stop:step".into()));
    }
    let step = match parts.get(2) {
        Some(s) => num(s)?.unwrap_or(1),
        None => 1,
    };
    if step == 0 {
        return Err(bad("the step is 0".into()));
    }
    // a bound may name any position from -len to len (numpy would clamp beyond; we refuse)
    let bound = |v: Option<i64>| -> Result<Option<i64>> {
        match v {
            None => Ok(None),
            Some(b) if b < -len || b > len => Err(bad(format!("bound {b} is outside the axis"))),
            Some(b) => Ok(Some(if b < 0 { b + len } else { b })),
        }
    };
    let (start, stop) = (bound(num(parts[0])?)?, bound(num(parts[1])?)?);
    // numpy's defaults: forward 0..len, backward len-1 down to the start (exclusive -1)
    // in i128: a step near ±2^63 must not overflow (it takes one index)
    let (first, count) = if step > 0 {
        let a = start.unwrap_or(0);
        let b = stop.unwrap_or(len);
        let (a128, b128, s128) = (i128::from(a), i128::from(b), i128::from(step));
        (
            a,
            if b > a {
                (b128 - a128 + s128 - 1) / s128
            } else {
                0
            },
        )
    } else {
        let a = start.map_or(len - 1, |s| s.min(len - 1));
        let b = stop.unwrap_or(-1);
        let (a128, b128, s128) = (i128::from(a), i128::from(b), -i128::from(step));
        (
            a,
            if a > b {
                (a128 - b128 + s128 - 1) / s128
            } else {
                0
            },
        )
    };
    if count == 0 {
        return Err(bad(if step > 0 {
            "selects nothing (a reversed range needs a negative step, e.g. 20:10:-1)".into()
        } else {
            "selects nothing".into()
        }));
    }
    Ok(AxisSelection::Slice {
        start: first as u64,
        step,
        len: count as u64, // ok: 1 ..= len
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The indices numpy takes for `range(n)[slice]`, by brute force.
    fn numpy_like(sel: &AxisSelection) -> Vec<u64> {
        match *sel {
            AxisSelection::Index(i) => vec![i],
            AxisSelection::Slice { start, step, len } => (0..len)
                .map(|k| (start as i64 + k as i64 * step) as u64)
                .collect(),
        }
    }

    #[test]
    fn steps_near_the_integer_limits_take_one_index() {
        // found while writing the selection fuzz target: `b - a + step - 1` overflowed
        let s = Selection::parse("0:10:9223372036854775807", &[10]).unwrap();
        assert_eq!(numpy_like(&s.axes[0]), vec![0]);
        let s = Selection::parse("::-9223372036854775808", &[10]).unwrap();
        assert_eq!(numpy_like(&s.axes[0]), vec![9]);
        let s = Selection::parse("3::-9223372036854775807", &[10]).unwrap();
        assert_eq!(numpy_like(&s.axes[0]), vec![3]);
    }

    #[test]
    fn items_select_what_numpy_selects() {
        // (item, axis length, numpy's indices) — checked against python's range(n)[item]
        let cases: &[(&str, u64, &[u64])] = &[
            (":", 5, &[0, 1, 2, 3, 4]),
            ("1:4", 5, &[1, 2, 3]),
            ("-2:", 5, &[3, 4]),
            ("::2", 5, &[0, 2, 4]),
            ("1::3", 8, &[1, 4, 7]),
            ("::-1", 5, &[4, 3, 2, 1, 0]),
            ("4:1:-1", 5, &[4, 3, 2]),
            ("-1:-4:-2", 6, &[5, 3]),
            (":2:-1", 5, &[4, 3]),
            ("3::-2", 5, &[3, 1]),
            ("0:5", 5, &[0, 1, 2, 3, 4]),
            ("-5:", 5, &[0, 1, 2, 3, 4]),
        ];
        for &(item, n, want) in cases {
            let s = parse_axis(item, 0, n).unwrap();
            assert_eq!(numpy_like(&s), want, "{item} on {n}");
            let b = s.bounds();
            assert_eq!(b.start, *want.iter().min().unwrap(), "{item}");
            assert_eq!(b.end, *want.iter().max().unwrap() + 1, "{item}");
        }
        assert_eq!(parse_axis("-1", 0, 5).unwrap(), AxisSelection::Index(4));
        assert_eq!(parse_axis("2", 0, 5).unwrap(), AxisSelection::Index(2));
    }

    #[test]
    fn mistakes_name_the_axis_its_length_and_the_bound() {
        let shape = [32, 64, 64];
        for (text, words) in [
            ("40:50", "axis 0 (length 32): '40:50': bound 40 is outside"),
            ("20:10", "selects nothing"),
            ("5:5", "selects nothing"),
            ("32", "index 32 is outside"),
            ("-33", "index -33 is outside"),
            ("::0", "the step is 0"),
            ("x:2", "'x' is not an integer"),
            ("1,2,3,4", "names 4 axes, the array has 3"),
            ("...,1,...", "more than one"),
            ("1:2:3:4", "start:stop:step"),
        ] {
            let e = Selection::parse(text, &shape).unwrap_err().to_string();
            assert!(e.contains(words), "{text}: {e}");
        }
    }

    #[test]
    fn ellipsis_and_missing_axes_are_whole() {
        let shape = [4, 5, 6];
        let s = Selection::parse("...,2", &shape).unwrap();
        assert_eq!(s.shape(), vec![4, 5]);
        assert_eq!(s.bounding_region().ranges, vec![0..4, 0..5, 2..3]);
        let s = Selection::parse("1", &shape).unwrap();
        assert_eq!(s.shape(), vec![5, 6]);
        let s = Selection::parse("::2,...,::-3", &shape).unwrap();
        assert_eq!(s.shape(), vec![2, 5, 2]);
        assert!(!s.is_box());
        assert_eq!(s.bounding_region().ranges, vec![0..3, 0..5, 2..6]);
        assert_eq!(
            Selection::parse("", &shape).unwrap(),
            Selection::full(&shape)
        );
        assert_eq!(
            Selection::parse("...", &[]).unwrap().shape(),
            Vec::<u64>::new()
        );
    }
}
