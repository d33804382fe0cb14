//! `nd tree`: the whole structure of a file or store, drawn as `asdftool info` draws a tree.

use crate::{open, CliError, CliResult};
use std::io::Write;

/// The examples of `nd tree --help` (and of the README, where the tests run them).
pub const EXAMPLES: &str = "Examples:
  nd tree testdata/asdf/py/tags.asdf
  nd tree testdata/asdf/py/compressed_lz4.asdf --path history --max-depth 2
  nd tree testdata/fits/astropy/btable.fits
  nd tree testdata/zarr/hier.zarr --path g1 --json

ASDF: the tree in file order as asdftool info draws it, a tagged node named by its tag, an
ndarray in one line. FITS: HDUs, and the columns of tables with TFORM, unit and the numpy type
read. Zarr: groups and arrays by name with their attributes (@key). `nd info --json` carries
the same tree under `tree`.";

/// Arguments of `nd tree`.
#[derive(clap::Args)]
#[command(after_help = EXAMPLES)]
pub struct TreeArgs {
    /// File or store.
    path: String,
    /// Show only the part at this path: an ASDF tree path (`meta/list`), a Zarr group or
    /// array (`g1/g2`), a FITS HDU index (`1`).
    #[arg(long = "path", value_name = "NODE")]
    node: Option<String>,
    /// Levels shown below the top (deeper ones are summarised as `… (N more)`).
    #[arg(long)]
    max_depth: Option<usize>,
    /// Leave Zarr attributes out of the drawing.
    #[arg(long)]
    no_attrs: bool,
    /// One JSON object: `name`, `path`, `kind`, `tag`, `value`, `detail`, `attributes`,
    /// `children` (nested).
    #[arg(long)]
    json: bool,
}

/// Run `nd tree`.
pub fn run(a: TreeArgs, out: &mut dyn Write) -> CliResult<()> {
    let ds = open(&a.path)?;
    let tree = ds.tree()?;
    let node = match &a.node {
        Some(p) => tree
            .find(p)
            .ok_or_else(|| CliError::input(format!("{}: no node at path '{p}'", a.path)))?,
        None => &tree,
    };
    let werr = CliError::output;
    if a.json {
        writeln!(out, "{}", node.to_json(a.max_depth)).map_err(werr)?;
    } else {
        out.write_all(node.render(a.max_depth, !a.no_attrs).as_bytes())
            .map_err(werr)?;
    }
    for w in ds.warnings() {
        eprintln!("nd: warning: {}: {w}", a.path);
    }
    Ok(())
}
