//! Matrix products: FULLY_CONNECTED, BATCH_MATMUL, and the GEMM they share.

use crate::registry::Registration;

/// This family's registry lines.
pub static OPS: &[Registration] = &[];
