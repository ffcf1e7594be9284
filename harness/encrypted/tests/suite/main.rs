//! The crate's tests in one binary: packing.

mod common;
mod packing;
