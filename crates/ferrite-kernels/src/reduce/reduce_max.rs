//! REDUCE_MAX over axes: float32, int32, int64, and int8/uint8/int16 when
//! in and out share quantization. An empty reduction gives the lowest
//! finite value, as in LiteRT.

use super::reducer::{build as build_reducer, ReduceOp};
use crate::api::*;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build_reducer(spec, ReduceOp::Max)
}

#[cfg(test)]
mod tests {
    use super::super::reducer::tests::*;
    use crate::api::DType;

    #[test]
    fn maxima_match_numpy() {
        let (s, y) = run_f32(super::build, &x234(), &[2, 3, 4], &[1], false);
        assert_eq!(s, vec![2, 4]);
        assert_eq!(y, vec![1.0, 1.5, 2.0, 2.5, 7.0, 7.5, 8.0, 8.5]);
        let (_, y) = run_f32(super::build, &[], &[0, 2], &[0], false);
        assert_eq!(y, vec![f32::MIN; 2]);
        // A NaN replaces the running maximum and the next value replaces
        // it (LiteRT's MaxOp), so only a trailing NaN survives.
        let (_, y) = run_f32(
            super::build,
            &[1.0, f32::NAN, 0.5, 2.0, f32::NAN],
            &[5],
            &[0],
            false,
        );
        assert!(y[0].is_nan());
        let (_, y) = run_f32(super::build, &[1.0, f32::NAN, 0.5], &[3], &[0], false);
        assert_eq!(y, vec![0.5]);
        let (s, y) = run_f32(super::build, &[-0.0, 3.0], &[2], &[], false);
        assert_eq!((s, y[0].is_sign_negative()), (vec![2], true));
        let (_, y) = run_i64(super::build, &[-4, 9, -1, 3], &[2, 2], &[1], false);
        assert_eq!(y, vec![9, 3]);
        let (_, y) = run_op(
            super::build,
            DType::Int8,
            &[0x80, 0x05, 0xff],
            &[3],
            &[0],
            false,
        )
        .unwrap();
        assert_eq!(y, vec![5]);
        let (_, y) = run_op(
            super::build,
            DType::Uint8,
            &[0x80, 0x05, 0xff],
            &[3],
            &[0],
            false,
        )
        .unwrap();
        assert_eq!(y, vec![0xff]);
    }
}
