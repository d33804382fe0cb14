//! `nd convert 'f.fits[SCI][101:200,1:50]' out.zarr`: the array a cfitsio extended filename
//! selects is converted alone, as its section. A [`Cutout`] wraps the source's backend and
//! opens that one array as the selection; everything else passes through.
//!
//! cfitsio updates the WCS of a section it copies (`fits_copy_image_section`); so does nd, in the
//! FITS cards carried as metadata: `CRPIXn` becomes `(CRPIXn - first) / step + 1` and `CDELTn`
//! and the `CDi_n` column of axis `n` are multiplied by the step (negative for a reversed
//! axis), `n` being the FITS axis.

use crate::backend::{ArrayEntry, Backend, ConvertPlan, Finding};
use crate::error::Result;
use nd_core::{ArrayRead, AxisSelection, Selection};
use serde_json::Value;
use std::io::Write;
use std::sync::Arc;

/// A backend whose array `selector` reads as `selection`.
pub(super) struct Cutout<'a> {
    pub(super) inner: &'a dyn Backend,
    pub(super) selector: String,
    pub(super) selection: Option<Selection>,
}

impl Backend for Cutout<'_> {
    fn format(&self) -> &'static str {
        self.inner.format()
    }
    fn arrays(&self) -> Result<Vec<ArrayEntry>> {
        self.inner.arrays()
    }
    fn open_array(&self, selector: &str) -> Result<Box<dyn ArrayRead>> {
        let arr = self.inner.open_array(selector)?;
        match &self.selection {
            Some(sel) if selector == self.selector => {
                let view = nd_ops::SelectionView::new(Arc::<dyn ArrayRead>::from(arr), sel.clone())
                    .map_err(|e| crate::Error::input(format!("{selector}: {e}")))?;
                Ok(Box::new(view))
            }
            _ => Ok(arr),
        }
    }
    fn info_human(&self, w: &mut dyn Write) -> std::io::Result<()> {
        self.inner.info_human(w)
    }
    fn metadata(&self) -> Result<Value> {
        self.inner.metadata()
    }
    fn native(&self) -> crate::Native<'_> {
        self.inner.native()
    }
    fn convert_plan(&self) -> Result<ConvertPlan> {
        let mut plan = self.inner.convert_plan()?;
        if let Some(sel) = &self.selection {
            for item in &mut plan.items {
                // as `run` finds the single array's metadata: by selector or name
                if item.selector == self.selector || item.name == self.selector {
                    if let Some(Value::Array(cards)) = item.meta.get_mut("fits_header") {
                        section_wcs(cards, sel);
                    }
                }
            }
        }
        Ok(plan)
    }
    fn verify(&self) -> Result<Vec<Finding>> {
        self.inner.verify()
    }
}

/// Adjust the WCS cards (80-character strings) for a section (numpy-order `sel`).
fn section_wcs(cards: &mut [Value], sel: &Selection) {
    let ndim = sel.axes.len();
    // per FITS axis n (1-based): (first pixel 1-based, step); an indexed axis keeps step 1
    let axis = |n: usize| -> Option<(f64, f64)> {
        let np = ndim.checked_sub(n)?;
        match sel.axes.get(np)? {
            AxisSelection::Index(i) => Some((*i as f64 + 1.0, 1.0)),
            AxisSelection::Slice { start, step, .. } => Some((*start as f64 + 1.0, *step as f64)),
        }
    };
    for c in cards.iter_mut() {
        let Some(text) = c.as_str() else { continue };
        let Ok((h, _)) = nd_fits::Header::from_bytes(&padded(text)) else {
            continue;
        };
        let Some(card) = h.cards().first() else {
            continue;
        };
        let key = card.keyword().to_string();
        let Some(v) = h.get_float(&key) else { continue };
        let digits = |p: &str| key.strip_prefix(p).and_then(|d| d.parse::<usize>().ok());
        let new = if let Some((first, step)) = digits("CRPIX").and_then(axis) {
            (v - first) / step + 1.0
        } else if let Some((_, step)) = digits("CDELT").and_then(axis) {
            v * step
        } else if let Some((_, step)) = key
            .strip_prefix("CD")
            .and_then(|r| r.split_once('_'))
            .and_then(|(_, j)| j.parse::<usize>().ok())
            .and_then(axis)
        {
            v * step
        } else {
            continue;
        };
        if new == v {
            continue;
        }
        let comment = card.comment().map(str::to_string);
        if let Ok(nc) = nd_fits::Card::new(&key, nd_fits::Value::Float(new), comment.as_deref()) {
            *c = Value::String(nc.raw().to_string());
        }
    }
}

fn padded(card: &str) -> Vec<u8> {
    let mut b = card.as_bytes().to_vec();
    b.resize(80, b' ');
    let mut end = b"END".to_vec();
    end.resize(80, b' ');
    b.extend_from_slice(&end);
    b
}
