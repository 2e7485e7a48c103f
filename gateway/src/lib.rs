//! matchd gateway (under construction).
#![warn(missing_docs)]
