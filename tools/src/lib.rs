//! matchd tools (under construction).
#![warn(missing_docs)]
