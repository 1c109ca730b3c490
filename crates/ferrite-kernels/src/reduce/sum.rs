//! SUM over axes: float32 accumulates in float in input order; int32 and
//! int64 wrap on overflow. int8, uint8 and int16 are in `quantized_mean`.

use super::reducer::{build as build_reducer, ReduceOp};
use crate::api::*;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build_reducer(spec, ReduceOp::Sum)
}

#[cfg(test)]
mod tests {
    use super::super::reducer::tests::*;

    #[test]
    fn sums_match_numpy() {
        let (s, y) = run_f32(super::build, &x234(), &[2, 3, 4], &[0, 2], false);
        assert_eq!(s, vec![3]);
        assert_eq!(y, vec![6.0, 22.0, 38.0]);
        let (s, y) = run_i32(super::build, &[1, 2, 3, i32::MAX], &[2, 2], &[-2], true);
        assert_eq!(s, vec![1, 2]);
        assert_eq!(y, vec![4, 2i32.wrapping_add(i32::MAX)]);
        let (s, y) = run_i64(super::build, &[5, 6, 7], &[3], &[0], false);
        assert_eq!((s, y), (vec![], vec![18]));
        // Reducing an empty axis gives the identity.
        let (s, y) = run_f32(super::build, &[], &[3, 0], &[1], false);
        assert_eq!((s, y), (vec![3], vec![0.0; 3]));
    }
}
