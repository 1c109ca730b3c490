//! REDUCE_MIN over axes; dtypes as REDUCE_MAX.

use super::reducer::{build as build_reducer, ReduceOp};
use crate::api::*;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build_reducer(spec, ReduceOp::Min)
}

#[cfg(test)]
mod tests {
    use super::super::reducer::tests::*;

    #[test]
    fn minima_match_numpy() {
        let (s, y) = run_f32(super::build, &x234(), &[2, 3, 4], &[0], true);
        assert_eq!(s, vec![1, 3, 4]);
        let want: Vec<f32> = (0..12).map(|v| v as f32 * 0.5 - 3.0).collect();
        assert_eq!(y, want);
        let (_, y) = run_i32(super::build, &[3, -8, 7, 2], &[4], &[-1], false);
        assert_eq!(y, vec![-8]);
        let (_, y) = run_f32(super::build, &[], &[0], &[0], true);
        assert_eq!(y, vec![f32::MAX]);
    }
}
