//! Timing runs for the GEMM-backed kernels on MobileNet-like shapes; run
//! with `cargo test --release -p ferrite-kernels -- --ignored --nocapture bench_`.

use std::time::Instant;

use crate::linalg::gemm::{gemm, Bias, Lhs, PackedB};
use crate::linalg::simd::Isa;
use crate::parallel::Parallel;

/// Median seconds of `reps` runs of `f` after two warm-ups.
pub fn median_secs(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    f();
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[reps / 2]
}

#[test]
#[ignore]
fn bench_gemm_mobilenet_pointwise() {
    // (M = pixels, K = in channels, N = out channels)
    let shapes = [
        (12544, 32, 16),
        (12544, 16, 96),
        (3136, 96, 24),
        (3136, 24, 144),
        (784, 144, 32),
        (196, 384, 64),
        (196, 64, 384),
        (49, 960, 160),
        (49, 320, 1280),
        (1, 1280, 1000),
    ];
    for threads in [1, 2] {
        let par = Parallel::new(threads).unwrap();
        let mut total_flop = 0.0;
        let mut total_s = 0.0;
        for &(m, k, n) in &shapes {
            let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
            let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
            let packed = PackedB::pack(&b, k, n, n, 1).unwrap();
            let bias = Bias::zeros(n);
            let mut c = vec![0.0; m * n];
            let s = median_secs(21, || {
                gemm(
                    Isa::detect(),
                    &par,
                    Lhs::rows(&a, k),
                    m,
                    &packed,
                    &bias,
                    &mut c,
                    n,
                    (0.0, 6.0),
                )
                .unwrap()
            });
            let flop = 2.0 * (m * n * k) as f64;
            total_flop += flop;
            total_s += s;
            // The gemm crate on the same problem, for comparison.
            let mut c2 = vec![0.0; m * n];
            let s2 = median_secs(21, || {
                par.install(|| unsafe {
                    gemm::gemm(
                        m,
                        n,
                        k,
                        c2.as_mut_ptr(),
                        1,
                        n as isize,
                        false,
                        a.as_ptr(),
                        1,
                        k as isize,
                        b.as_ptr(),
                        1,
                        n as isize,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        par.gemm_parallelism(),
                    )
                })
            });
            println!(
                "t{threads} gemm {m:>5}x{k:>4}x{n:>4}: {:8.1} us {:6.1} GFLOP/s   (gemm crate {:6.1} GFLOP/s)",
                s * 1e6,
                flop / s / 1e9,
                flop / s2 / 1e9
            );
        }
        println!(
            "t{threads} total {:.3} ms, {:.1} GFLOP/s",
            total_s * 1e3,
            total_flop / total_s / 1e9
        );
    }
}
