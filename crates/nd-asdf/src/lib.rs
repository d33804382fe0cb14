//! nd-asdf (in progress).
