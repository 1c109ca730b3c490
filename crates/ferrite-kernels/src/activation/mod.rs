//! Activations and normalisations: RELU family, LOGISTIC, TANH, SOFTMAX, ...
//! Elementwise loops, broadcasting and the vectorised exp/sigmoid/tanh come
//! from `crate::elementwise`.

use crate::registry::{reg, Registration};

pub mod l2_norm;
pub mod pointwise;
pub mod prelu;
pub mod quantized;
pub mod quantized_log_softmax;
pub mod quantized_softmax;
pub mod quantized_softmax_int16;
pub mod sigmoid;
pub mod softmax;

/// This family's registry lines.
pub static OPS: &[Registration] = &[
    reg("ELU", 1, 1, pointwise::build_elu),
    reg("GELU", 1, 2, pointwise::build_gelu),
    reg("HARD_SWISH", 1, 1, pointwise::build_hard_swish),
    reg("L2_NORMALIZATION", 1, 2, l2_norm::build),
    reg("LEAKY_RELU", 1, 2, pointwise::build_leaky_relu),
    reg("LOGISTIC", 1, 3, pointwise::build_logistic),
    reg("LOG_SOFTMAX", 1, 2, softmax::build_log_softmax),
    reg("PRELU", 1, 1, prelu::build),
    reg("RELU", 1, 3, pointwise::build_relu),
    reg("RELU6", 1, 3, pointwise::build_relu6),
    reg("RELU_0_TO_1", 1, 1, pointwise::build_relu_0_to_1),
    reg("RELU_N1_TO_1", 1, 1, pointwise::build_relu_n1_to_1),
    reg("SOFTMAX", 1, 3, softmax::build_softmax),
    reg("TANH", 1, 3, pointwise::build_tanh),
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
