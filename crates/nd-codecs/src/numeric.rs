//! Numeric casts with numpy semantics (in progress).
