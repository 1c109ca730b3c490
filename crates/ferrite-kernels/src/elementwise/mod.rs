//! Elementwise arithmetic, comparisons and math over broadcast inputs.

use crate::registry::{reg, Registration};

pub mod binary;

/// This family's registry lines.
pub static OPS: &[Registration] = &[
    reg("ADD", 1, 5, binary::build_add),
    reg("DIV", 1, 2, binary::build_div),
    reg("MUL", 1, 7, binary::build_mul),
    reg("SUB", 1, 5, binary::build_sub),
];
