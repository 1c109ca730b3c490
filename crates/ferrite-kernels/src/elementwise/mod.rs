//! Elementwise arithmetic, comparisons, logic, selection, casts and math
//! over broadcast inputs, plus the broadcasting and vectorised-math helpers
//! the activation family shares.

use crate::registry::{reg, Registration};

pub mod add_n;
pub mod arith;
pub mod binary;
pub mod broadcast;
pub mod cast;
pub mod compare;
pub mod logical;
pub mod math;
pub mod quantized_arith;
pub mod quantized_mul;
pub mod select;
pub mod unary;

/// This family's registry lines.
pub static OPS: &[Registration] = &[
    reg("ABS", 1, 5, unary::build_abs),
    reg("ADD", 1, 5, binary::build_add),
    reg("ADD_N", 1, 1, add_n::build),
    reg("CAST", 1, 7, cast::build),
    reg("CEIL", 1, 1, unary::build_ceil),
    reg("COS", 1, 1, unary::build_cos),
    reg("DIV", 1, 2, binary::build_div),
    reg("EQUAL", 1, 4, compare::build_equal),
    reg("EXP", 1, 2, unary::build_exp),
    reg("FLOOR", 1, 1, unary::build_floor),
    reg("FLOOR_DIV", 1, 3, arith::build_floor_div),
    reg("FLOOR_MOD", 1, 2, arith::build_floor_mod),
    reg("GREATER", 1, 2, compare::build_greater),
    reg("GREATER_EQUAL", 1, 3, compare::build_greater_equal),
    reg("LESS", 1, 3, compare::build_less),
    reg("LESS_EQUAL", 1, 2, compare::build_less_equal),
    reg("LOG", 1, 2, unary::build_log),
    reg("LOGICAL_AND", 1, 1, logical::build_and),
    reg("LOGICAL_NOT", 1, 1, logical::build_not),
    reg("LOGICAL_OR", 1, 1, logical::build_or),
    reg("MAXIMUM", 1, 4, arith::build_maximum),
    reg("MINIMUM", 1, 4, arith::build_minimum),
    reg("MUL", 1, 7, binary::build_mul),
    reg("NEG", 1, 1, unary::build_neg),
    reg("NOT_EQUAL", 1, 3, compare::build_not_equal),
    reg("POW", 1, 1, arith::build_pow),
    reg("ROUND", 1, 1, unary::build_round),
    reg("RSQRT", 1, 2, unary::build_rsqrt),
    reg("SELECT", 1, 4, select::build_select),
    reg("SELECT_V2", 1, 2, select::build_select_v2),
    reg("SIGN", 1, 2, unary::build_sign),
    reg("SIN", 1, 1, unary::build_sin),
    reg("SQRT", 1, 1, unary::build_sqrt),
    reg("SQUARE", 1, 1, unary::build_square),
    reg("SQUARED_DIFFERENCE", 1, 2, arith::build_squared_difference),
    reg("SUB", 1, 5, binary::build_sub),
];

#[cfg(test)]
mod tests {
    #[test]
    fn table_is_alphabetical() {
        let names: Vec<&str> = super::OPS.iter().map(|r| r.op).collect();
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(names, sorted);
    }
}
