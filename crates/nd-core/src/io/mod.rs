//! Format-neutral file-system IO written once: positional reads and writes of a file on every
//! platform ([`positional`]), reads converted while still in cache ([`in_cache`]), a byte range of a source as a bounded stream ([`reader`]), the contiguous byte runs of a region ([`runs`]), where a write may go ([`destination`]) and how it gets there
//! without a half-written result ([`temp`]).
//!
//! Every writer of the workspace follows the same rules:
//! - a destination that is, contains or lies inside one of the sources is refused
//!   ([`check_no_overlap`]), after resolving symbolic links, `.`, `..` and hard links;
//! - what is already at a destination is looked at before anything replaces it ([`existing`]):
//!   symbolic links, FIFOs, devices and sockets are never replaced by a regular file;
//! - output is built under a temporary name beside the destination (`.NAME.nd-tmp-PID-N`,
//!   [`temp_path`]) and renamed into place when complete, so a destination appears complete or
//!   not at all ([`TempDir`] for directory stores).

pub mod destination;
pub mod in_cache;
pub mod positional;
pub mod reader;
pub mod runs;
pub mod temp;

pub use destination::{check_no_overlap, existing, Existing};
pub use in_cache::{read_converting, IN_CACHE_BYTES};
pub use positional::{read_exact_at, read_runs_new, write_all_at};
pub use reader::SourceReader;
pub use runs::{coalesce, region_runs, RunPlan, MAX_RUNS_PER_BATCH};
pub use temp::{
    is_temp_name, remove_live_temps, remove_live_temps_and_stop, stale_temps, stale_temps_of,
    temp_path, wait_for_cleanup, TempDir, TempFile, TEMP_MARKER,
};
