//! nd-codecs (in progress).
