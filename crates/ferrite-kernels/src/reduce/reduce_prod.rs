//! REDUCE_PROD over axes (float32 in float, int32/int64 wrapping).

use super::reducer::{build as build_reducer, ReduceOp};
use crate::api::*;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build_reducer(spec, ReduceOp::Prod)
}

#[cfg(test)]
mod tests {
    use super::super::reducer::tests::*;

    #[test]
    fn products_match_numpy() {
        let (s, y) = run_f32(super::build, &x234(), &[2, 3, 4], &[2], false);
        assert_eq!(s, vec![2, 3]);
        assert_eq!(y, vec![22.5, 0.0, 7.5, 189.0, 1072.5, 3570.0]);
        let (_, y) = run_i32(super::build, &[2, 3, 4, 5], &[2, 2], &[0, 1], false);
        assert_eq!(y, vec![120]);
        let (_, y) = run_i64(super::build, &[], &[0, 2], &[0], false);
        assert_eq!(y, vec![1, 1]);
    }
}
