//! REDUCE_ALL over axes of a bool tensor (true when nothing is reduced).

use super::reducer::{build as build_reducer, ReduceOp};
use crate::api::*;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build_reducer(spec, ReduceOp::All)
}

#[cfg(test)]
mod tests {
    use super::super::reducer::tests::*;
    use crate::api::DType;

    #[test]
    fn all_over_rows_and_columns() {
        let x = [1u8, 1, 1, 1, 0, 1];
        let (s, y) = run_op(super::build, DType::Bool, &x, &[2, 3], &[-1], true).unwrap();
        assert_eq!((s, y), (vec![2, 1], vec![1, 0]));
        let (_, y) = run_op(super::build, DType::Bool, &x, &[2, 3], &[0], false).unwrap();
        assert_eq!(y, vec![1, 0, 1]);
        let (_, y) = run_op(super::build, DType::Bool, &[], &[0, 2], &[0], false).unwrap();
        assert_eq!(y, vec![1, 1]);
    }
}
