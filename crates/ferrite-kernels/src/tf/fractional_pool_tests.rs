//! Pooling sequences and outputs checked against TensorFlow 2.21
//! (`gen_nn_ops.fractional_{max,avg}_pool`, deterministic=True).

use super::*;
use crate::tf::testutil::{f32s, i64s, run, tensor};

fn attrs(ratio: &[f32], pr: bool, ov: bool, seed: i64, seed2: i64) -> Vec<(&'static str, Attr)> {
    vec![
        ("pooling_ratio", Attr::FloatList(ratio.to_vec())),
        ("pseudo_random", Attr::Bool(pr)),
        ("overlapping", Attr::Bool(ov)),
        ("deterministic", Attr::Bool(true)),
        ("seed", Attr::Int(seed)),
        ("seed2", Attr::Int(seed2)),
    ]
}

/// pseudo_random, seed, seed2, rows, cols.
type SeqCase = (bool, u64, u64, &'static [i64], &'static [i64]);
/// mode, pseudo_random, overlapping, seed, seed2, ratio, rows, cols, weighted sum.
type OutCase = (
    Mode,
    bool,
    bool,
    i64,
    i64,
    [f32; 4],
    &'static [i64],
    &'static [i64],
    f64,
);

fn sequences(pr: bool, seed: u64, seed2: u64) -> (Vec<i64>, Vec<i64>) {
    let mut gen = Philox::new(seed, seed2);
    let rows = pooling_sequence(50, 36, &mut gen, pr);
    let cols = pooling_sequence(61, 37, &mut gen, pr);
    (rows, cols)
}

/// Input 50 x 61, pooling_ratio [1, 1.37, 1.61, 1].
#[test]
fn sequences_match_tensorflow() {
    #[rustfmt::skip]
    let cases: &[SeqCase] = &[
        (false,3,0,&[0, 1, 3, 5, 6, 8, 10, 12, 13, 15, 16, 18, 20, 21, 22, 23, 24, 25, 27, 28, 30, 31, 32, 34, 35, 36, 37, 38, 39, 41, 42, 43, 44, 45, 47, 48, 50],&[0, 1, 3, 5, 6, 8, 10, 12, 14, 16, 18, 19, 21, 22, 24, 26, 27, 29, 31, 33, 35, 36, 37, 38, 40, 42, 43, 44, 46, 47, 49, 51, 53, 54, 56, 58, 59, 61]),
        (false,0,9,&[0, 1, 2, 3, 4, 6, 7, 8, 9, 11, 13, 14, 16, 17, 18, 20, 21, 23, 25, 27, 29, 30, 31, 32, 33, 35, 37, 38, 39, 41, 42, 43, 44, 46, 47, 48, 50],&[0, 2, 3, 5, 7, 9, 10, 12, 13, 15, 17, 18, 20, 21, 23, 25, 26, 27, 29, 31, 33, 34, 35, 36, 38, 39, 40, 42, 44, 46, 48, 50, 52, 54, 56, 57, 59, 61]),
        (false,123456789012,987654321,&[0, 2, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 16, 18, 19, 21, 22, 23, 25, 27, 28, 30, 31, 33, 35, 36, 38, 39, 40, 41, 43, 44, 45, 46, 47, 49, 50],&[0, 2, 4, 6, 8, 10, 12, 14, 16, 17, 19, 21, 23, 24, 25, 27, 29, 31, 32, 33, 35, 37, 38, 39, 40, 41, 43, 44, 46, 47, 49, 50, 52, 54, 56, 58, 59, 61]),
        (true,3,0,&[0, 1, 2, 4, 5, 6, 8, 9, 11, 12, 13, 15, 16, 18, 19, 20, 22, 23, 25, 26, 27, 29, 30, 31, 33, 34, 36, 37, 38, 40, 41, 43, 44, 45, 47, 48, 50],&[0, 2, 4, 5, 7, 9, 10, 12, 14, 15, 17, 19, 20, 22, 23, 25, 27, 28, 30, 32, 33, 35, 37, 38, 40, 42, 43, 45, 47, 48, 50, 51, 53, 55, 56, 58, 60, 61]),
        (true,0,9,&[0, 2, 3, 5, 6, 7, 9, 10, 12, 13, 14, 16, 17, 18, 20, 21, 23, 24, 25, 27, 28, 30, 31, 32, 34, 35, 37, 38, 39, 41, 42, 43, 45, 46, 48, 49, 50],&[0, 2, 4, 6, 7, 9, 11, 12, 14, 16, 17, 19, 21, 22, 24, 25, 27, 29, 30, 32, 34, 35, 37, 39, 40, 42, 44, 45, 47, 49, 50, 52, 53, 55, 57, 58, 60, 61]),
        (true,123456789012,987654321,&[0, 1, 3, 4, 5, 7, 8, 10, 11, 12, 14, 15, 16, 18, 19, 21, 22, 23, 25, 26, 28, 29, 30, 32, 33, 35, 36, 37, 39, 40, 41, 43, 44, 46, 47, 48, 50],&[0, 2, 3, 5, 7, 8, 10, 12, 13, 15, 17, 18, 20, 22, 23, 25, 26, 28, 30, 31, 33, 35, 36, 38, 40, 41, 43, 45, 46, 48, 50, 51, 53, 54, 56, 58, 59, 61]),
    ];
    for &(pr, seed, seed2, rows, cols) in cases {
        let got = sequences(pr, seed, seed2);
        assert_eq!(
            (got.0.as_slice(), got.1.as_slice()),
            (rows, cols),
            "{pr} {seed} {seed2}"
        );
    }
}

/// Input 2x7x10x3 with x[i] = ((37 i) mod 101 - 50) / 8; the last number is
/// TF's sum of output[j] * (j mod 7 + 1).
#[test]
fn outputs_match_tensorflow() {
    use Mode::{Avg, Max};
    #[rustfmt::skip]
    let cases: &[OutCase] = &[
        (Max,false,false,7,13,[1.0,1.44,1.73,1.0],&[0, 2, 4, 6, 7],&[0, 2, 4, 6, 8, 10],521.375),
        (Max,false,false,87654321,5,[1.0,2.0,1.5,1.0],&[0, 2, 4, 7],&[0, 2, 3, 5, 7, 8, 10],400.75),
        (Max,false,false,1,0,[1.0,1.2,3.1,1.0],&[0, 1, 3, 4, 6, 7],&[0, 4, 7, 10],874.25),
        (Max,false,true,7,13,[1.0,1.44,1.73,1.0],&[0, 2, 4, 6, 7],&[0, 2, 4, 6, 8, 10],889.375),
        (Max,false,true,87654321,5,[1.0,2.0,1.5,1.0],&[0, 2, 4, 7],&[0, 2, 3, 5, 7, 8, 10],827.25),
        (Max,false,true,1,0,[1.0,1.2,3.1,1.0],&[0, 1, 3, 4, 6, 7],&[0, 4, 7, 10],1060.75),
        (Max,true,false,7,13,[1.0,1.44,1.73,1.0],&[0, 2, 4, 6, 7],&[0, 2, 4, 6, 8, 10],521.375),
        (Max,true,false,87654321,5,[1.0,2.0,1.5,1.0],&[0, 2, 4, 7],&[0, 2, 4, 5, 7, 9, 10],388.875),
        (Max,true,false,1,0,[1.0,1.2,3.1,1.0],&[0, 2, 3, 4, 6, 7],&[0, 4, 7, 10],873.5),
        (Max,true,true,7,13,[1.0,1.44,1.73,1.0],&[0, 2, 4, 6, 7],&[0, 2, 4, 6, 8, 10],889.375),
        (Max,true,true,87654321,5,[1.0,2.0,1.5,1.0],&[0, 2, 4, 7],&[0, 2, 4, 5, 7, 9, 10],753.625),
        (Max,true,true,1,0,[1.0,1.2,3.1,1.0],&[0, 2, 3, 4, 6, 7],&[0, 4, 7, 10],1051.25),
        (Avg,false,false,7,13,[1.0,1.44,1.73,1.0],&[0, 2, 4, 6, 7],&[0, 2, 4, 6, 8, 10],-85.78125),
        (Avg,false,false,87654321,5,[1.0,2.0,1.5,1.0],&[0, 2, 4, 7],&[0, 2, 3, 5, 7, 8, 10],27.28125),
        (Avg,false,false,1,0,[1.0,1.2,3.1,1.0],&[0, 1, 3, 4, 6, 7],&[0, 4, 7, 10],12.1770838),
        (Avg,false,true,7,13,[1.0,1.44,1.73,1.0],&[0, 2, 4, 6, 7],&[0, 2, 4, 6, 8, 10],-133.375),
        (Avg,false,true,87654321,5,[1.0,2.0,1.5,1.0],&[0, 2, 4, 7],&[0, 2, 3, 5, 7, 8, 10],-22.7152781),
        (Avg,false,true,1,0,[1.0,1.2,3.1,1.0],&[0, 1, 3, 4, 6, 7],&[0, 4, 7, 10],-47.5291664),
        (Avg,true,false,7,13,[1.0,1.44,1.73,1.0],&[0, 2, 4, 6, 7],&[0, 2, 4, 6, 8, 10],-85.78125),
        (Avg,true,false,87654321,5,[1.0,2.0,1.5,1.0],&[0, 2, 4, 7],&[0, 2, 4, 5, 7, 9, 10],-26.90625),
        (Avg,true,false,1,0,[1.0,1.2,3.1,1.0],&[0, 2, 3, 4, 6, 7],&[0, 4, 7, 10],4.75520885),
        (Avg,true,true,7,13,[1.0,1.44,1.73,1.0],&[0, 2, 4, 6, 7],&[0, 2, 4, 6, 8, 10],-133.375),
        (Avg,true,true,87654321,5,[1.0,2.0,1.5,1.0],&[0, 2, 4, 7],&[0, 2, 4, 5, 7, 9, 10],-34.8194445),
        (Avg,true,true,1,0,[1.0,1.2,3.1,1.0],&[0, 2, 3, 4, 6, 7],&[0, 4, 7, 10],-56.1083321),
    ];
    let x: Vec<f32> = (0..2 * 7 * 10 * 3)
        .map(|i| ((i * 37) % 101 - 50) as f32 / 8.0)
        .collect();
    let input = tensor(DType::Float32, &[2, 7, 10, 3], &x);
    for &(mode, pr, ov, seed, seed2, ratio, rows, cols, want) in cases {
        let build = if mode == Max { build_max } else { build_avg };
        let out = run(
            build,
            &attrs(&ratio, pr, ov, seed, seed2),
            std::slice::from_ref(&input),
            &[DType::Float32, DType::Int64, DType::Int64],
        )
        .unwrap();
        assert_eq!(i64s(&out[1]), rows);
        assert_eq!(i64s(&out[2]), cols);
        assert_eq!(out[0].1, vec![2, rows.len() - 1, cols.len() - 1, 3]);
        let got: f64 = f32s(&out[0])
            .iter()
            .enumerate()
            .map(|(j, &v)| f64::from(v) * (j % 7 + 1) as f64)
            .sum();
        let tol = if mode == Avg { 1e-4 } else { 0.0 };
        assert!(
            (got - want).abs() <= tol,
            "{pr} {ov} {seed}: {got} vs {want}"
        );
    }
}

#[test]
fn unreproducible_or_invalid_seeds_are_clean_errors() {
    let input = tensor(DType::Float32, &[1, 4, 4, 1], &[0f32; 16]);
    let outs = [DType::Float32, DType::Int64, DType::Int64];
    let err = run(
        build_max,
        &attrs(&[1.0, 1.5, 1.5, 1.0], false, false, 0, 0),
        std::slice::from_ref(&input),
        &outs,
    )
    .err()
    .unwrap();
    assert!(
        matches!(err, KernelError::Unsupported(ref m) if m.contains("cannot be reproduced")),
        "{err}"
    );
    let mut a = attrs(&[1.0, 1.5, 1.5, 1.0], false, false, 1, 2);
    a[3].1 = Attr::Bool(false);
    let err = run(build_avg, &a, std::slice::from_ref(&input), &outs)
        .err()
        .unwrap();
    assert!(
        err.to_string()
            .contains("should be 0 if deterministic is false"),
        "{err}"
    );
    let err = run(build_max, &[], std::slice::from_ref(&input), &outs)
        .err()
        .unwrap();
    assert!(err.to_string().contains("pooling_ratio"), "{err}");
    let err = run(
        build_max,
        &attrs(&[2.0, 1.5, 1.5, 1.0], false, false, 1, 2),
        &[input],
        &outs,
    )
    .err()
    .unwrap();
    assert!(matches!(err, KernelError::Unsupported(_)), "{err}");
}

#[test]
fn philox_skip_carries_across_words() {
    let mut a = Philox::new(1, 2);
    a.counter[0] = u32::MAX;
    a.skip(1);
    assert_eq!(a.counter[..2], [0, 1]);
    let mut b = Philox::new(1, 2);
    b.counter = [u32::MAX, u32::MAX, u32::MAX, 7];
    b.next_block();
    assert_eq!(b.counter, [0, 0, 0, 8]);
}
