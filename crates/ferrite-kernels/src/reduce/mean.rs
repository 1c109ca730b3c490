//! MEAN: sum in input order, then divide by the reduced count (float32);
//! int32/int64 sum in int64 and truncate toward zero. The global average
//! pool case ([1,H,W,C] over H,W) runs as a column-split vector sum.

use super::reducer::{build as build_reducer, ReduceOp};
use crate::api::*;

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build_reducer(spec, ReduceOp::Mean)
}

#[cfg(test)]
mod tests {
    use super::super::reducer::tests::*;
    use crate::api::DType;

    #[test]
    fn float_means_match_numpy() {
        let (s, y) = run_f32(super::build, &x234(), &[2, 3, 4], &[1], false);
        assert_eq!(s, vec![2, 4]);
        assert_eq!(y, vec![-1.0, -0.5, 0.0, 0.5, 5.0, 5.5, 6.0, 6.5]);
        // Negative and duplicate axes with keep_dims.
        let (s, y) = run_f32(super::build, &x234(), &[2, 3, 4], &[-1, 0, -1], true);
        assert_eq!(s, vec![1, 3, 1]);
        assert_eq!(y, vec![0.75, 2.75, 4.75]);
    }

    #[test]
    fn global_average_pool_fast_path() {
        // [1,H,W,C] over (1,2): the per-channel mean.
        let (h, w, c) = (5, 7, 40);
        let x: Vec<f32> = (0..h * w * c)
            .map(|i| (i % c) as f32 + (i / c) as f32 * 0.001)
            .collect();
        let (s, y) = run_f32(super::build, &x, &[1, h, w, c], &[1, 2], true);
        assert_eq!(s, vec![1, 1, 1, c]);
        for (ch, v) in y.iter().enumerate() {
            let mut sum = 0.0f32;
            for p in 0..h * w {
                sum += x[p * c + ch];
            }
            assert_eq!(*v, sum / (h * w) as f32);
        }
    }

    #[test]
    fn integer_mean_truncates_toward_zero() {
        let (s, y) = run_i32(super::build, &[-7, 2, 0, -3, 4, 1], &[2, 3], &[1], false);
        assert_eq!(s, vec![2]);
        assert_eq!(y, vec![-1, 0]);
        let (_, y) = run_i64(
            super::build,
            &[i64::MAX / 2, 3, -9, 4],
            &[2, 2],
            &[0],
            false,
        );
        assert_eq!(y, vec![(i64::MAX / 2 - 9) / 2, 3]);
    }

    #[test]
    fn empty_input_gives_nan_and_scalar_input_is_itself() {
        let (s, y) = run_f32(super::build, &[], &[2, 0], &[1], false);
        assert_eq!(s, vec![2]);
        assert!(y.iter().all(|v| v.is_nan()));
        let (s, y) = run_f32(super::build, &[4.5], &[], &[0], false);
        assert_eq!((s, y), (vec![], vec![4.5]));
        // Empty axis list: a copy.
        let (s, y) = run_f32(super::build, &[1.0, 2.0], &[2], &[], false);
        assert_eq!((s, y), (vec![2], vec![1.0, 2.0]));
    }

    #[test]
    fn bad_axis_is_an_error_and_int8_is_unsupported() {
        let bytes: &[u8] = bytemuck::cast_slice(&[1.0f32, 2.0]);
        assert!(run_op(super::build, DType::Float32, bytes, &[2], &[1], false).is_err());
        let r = run_op(super::build, DType::Int8, &[1, 2], &[2], &[0], false);
        assert!(matches!(r, Err(crate::api::KernelError::Unsupported(_))));
    }
}
