//! ARG_MIN: the index of the first smallest value along one axis; shares
//! ARG_MAX's kernel with the comparison reversed.

use crate::api::*;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    super::arg_max::build_arg(spec, false)
}

#[cfg(test)]
mod tests {
    use super::super::arg_max::tests::run_arg;
    use crate::api::DType;

    #[test]
    fn first_index_of_the_minimum() {
        // [2,2,3] over axis 1 (inner 3): per column the first smaller row.
        let x = [3i32, 1, 4, 1, 5, 4, 2, 7, 1, 8, 2, 0];
        let b: &[u8] = bytemuck::cast_slice(&x);
        let (s, y) = run_arg(super::build, DType::Int32, b, &[2, 2, 3], 1, DType::Int64).unwrap();
        assert_eq!((s, y), (vec![2, 3], vec![1, 0, 0, 0, 1, 1]));
        let f = [f32::NAN, 1.0, 0.5, 0.5];
        let b: &[u8] = bytemuck::cast_slice(&f);
        // A leading NaN is never replaced (no value compares below it).
        let (_, y) = run_arg(super::build, DType::Float32, b, &[2, 2], 1, DType::Int32).unwrap();
        assert_eq!(y, vec![0, 0]);
    }
}
