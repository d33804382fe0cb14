//! nd-ops (in progress).
