//! Operator kernels. Each op lives in one file of its family module and is
//! registered with one line in that family's `OPS` table. Kernels see typed
//! slices and shapes only; they know nothing of models, graphs or
//! interpreters.

pub mod api;
pub mod common;
pub mod parallel;
pub mod registry;
pub mod strings;

pub mod activation;
pub mod conv;
pub mod elementwise;
pub mod image;
pub mod linalg;
pub mod pool;
pub mod quant;
pub mod reduce;
pub mod rnn;
pub mod shape;
pub mod tf;

pub use api::*;
pub use parallel::Parallel;
