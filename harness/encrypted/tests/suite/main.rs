//! The crate's tests in one binary: packing, the matrix products on plain and native, their
//! operation counts against the closed forms and HETAL's table, the softmax, training steps.

mod common;
mod compact;
mod counts;
mod matmul;
mod packing;
mod softmax;
mod step;
mod training;
