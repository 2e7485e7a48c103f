//! The journal (under construction).
#![warn(missing_docs)]
