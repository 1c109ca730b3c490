//! REDUCE_ANY over axes of a bool tensor (false when nothing is reduced).

use super::reducer::{build as build_reducer, ReduceOp};
use crate::api::*;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build_reducer(spec, ReduceOp::Any)
}

#[cfg(test)]
mod tests {
    use super::super::reducer::tests::*;
    use crate::api::{DType, KernelError};

    #[test]
    fn any_over_rows_and_columns() {
        let x = [0u8, 1, 0, 0, 0, 0];
        let (s, y) = run_op(super::build, DType::Bool, &x, &[2, 3], &[1], false).unwrap();
        assert_eq!((s, y), (vec![2], vec![1, 0]));
        let (_, y) = run_op(super::build, DType::Bool, &x, &[2, 3], &[0], false).unwrap();
        assert_eq!(y, vec![0, 1, 0]);
        let (_, y) = run_op(super::build, DType::Bool, &[], &[2, 0], &[1], false).unwrap();
        assert_eq!(y, vec![0, 0]);
        let r = run_op(super::build, DType::Float32, &[0; 4], &[1], &[0], false);
        assert!(matches!(r, Err(KernelError::Unsupported(_))));
    }
}
