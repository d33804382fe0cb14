//! nd-fits (in progress).
