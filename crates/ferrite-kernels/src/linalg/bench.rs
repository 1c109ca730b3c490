//! Timing runs for the GEMM-backed kernels on MobileNet-like shapes; run
//! with `cargo test --release -p ferrite-kernels -- --ignored --nocapture bench_`.

use std::time::Instant;

use crate::linalg::gemm::{gemm, Bias, Lhs, PackedB};
use crate::linalg::simd::Isa;
use crate::parallel::Parallel;

/// Seconds per run of `f` over `reps` runs after two warm-ups: the median,
/// or the minimum when `FERRITE_BENCH_MIN` is set (steadier on a busy host).
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
    if std::env::var_os("FERRITE_BENCH_MIN").is_some() {
        t[0]
    } else {
        t[reps / 2]
    }
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

#[test]
#[ignore]
fn bench_conv_mobilenet_layers() {
    use crate::linalg::testutil::{rand_vec, OpTest};
    use ferrite_format::options::{Conv2DOptions, DepthwiseConv2DOptions};
    use ferrite_format::BuiltinOptions;
    // (name, op, input nhwc, filter, stride, macs)
    type Layer = (&'static str, &'static str, [usize; 4], [usize; 4], i32);
    let layers: &[Layer] = &[
        (
            "conv 3x3/2 224x224x3->32",
            "CONV_2D",
            [1, 224, 224, 3],
            [32, 3, 3, 3],
            2,
        ),
        (
            "conv 1x1 112x112x32->16",
            "CONV_2D",
            [1, 112, 112, 32],
            [16, 1, 1, 32],
            1,
        ),
        (
            "conv 1x1 112x112x16->96",
            "CONV_2D",
            [1, 112, 112, 16],
            [96, 1, 1, 16],
            1,
        ),
        (
            "conv 1x1 14x14x384->64",
            "CONV_2D",
            [1, 14, 14, 384],
            [64, 1, 1, 384],
            1,
        ),
        (
            "conv 1x1 7x7x320->1280",
            "CONV_2D",
            [1, 7, 7, 320],
            [1280, 1, 1, 320],
            1,
        ),
        (
            "conv 3x3/1 56x56x64->64",
            "CONV_2D",
            [1, 56, 56, 64],
            [64, 3, 3, 64],
            1,
        ),
        (
            "dw 3x3/1 112x112x32",
            "DEPTHWISE_CONV_2D",
            [1, 112, 112, 32],
            [1, 3, 3, 32],
            1,
        ),
        (
            "dw 3x3/2 112x112x96",
            "DEPTHWISE_CONV_2D",
            [1, 112, 112, 96],
            [1, 3, 3, 96],
            2,
        ),
        (
            "dw 3x3/1 56x56x144",
            "DEPTHWISE_CONV_2D",
            [1, 56, 56, 144],
            [1, 3, 3, 144],
            1,
        ),
        (
            "dw 3x3/1 14x14x576",
            "DEPTHWISE_CONV_2D",
            [1, 14, 14, 576],
            [1, 3, 3, 576],
            1,
        ),
        (
            "dw 3x3/1 7x7x960",
            "DEPTHWISE_CONV_2D",
            [1, 7, 7, 960],
            [1, 3, 3, 960],
            1,
        ),
    ];
    for threads in [1, 2] {
        for &(name, op, x, f, stride) in layers {
            let opts = if op == "CONV_2D" {
                BuiltinOptions::Conv2DOptions(Conv2DOptions {
                    stride_h: stride,
                    stride_w: stride,
                    fused_activation_function: 3,
                    ..Default::default()
                })
            } else {
                BuiltinOptions::DepthwiseConv2DOptions(DepthwiseConv2DOptions {
                    stride_h: stride,
                    stride_w: stride,
                    depth_multiplier: 1,
                    fused_activation_function: 3,
                    ..Default::default()
                })
            };
            let cout = if op == "CONV_2D" { f[0] } else { f[3] };
            let t = OpTest::new(op, &opts)
                .input_f32(&x, &rand_vec(x.iter().product(), 1), false)
                .input_f32(&f, &rand_vec(f.iter().product(), 2), true)
                .input_f32(&[cout], &rand_vec(cout, 3), true);
            let out = t.shapes().unwrap().remove(0);
            let taps: usize = if op == "CONV_2D" {
                f[1..].iter().product()
            } else {
                f[1] * f[2]
            };
            let macs = out.iter().product::<usize>() * taps;
            let s = t.time_eval(threads, 21);
            println!(
                "t{threads} {name:<28} {:8.1} us {:6.1} GFLOP/s",
                s * 1e6,
                2.0 * macs as f64 / s / 1e9
            );
        }
    }
}

/// Every CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED layer of MobileNetV2
/// (1.0, 224), timed one at a time and summed.
#[test]
#[ignore]
fn bench_mobilenet_v2_layers() {
    use crate::linalg::testutil::{rand_vec, OpTest};
    use ferrite_format::options::{Conv2DOptions, DepthwiseConv2DOptions, FullyConnectedOptions};
    use ferrite_format::BuiltinOptions;
    enum L {
        Conv(usize, usize, usize, usize, usize, i32),
        Dw(usize, usize, i32),
        Fc(usize, usize),
    }
    use L::*;
    let mut layers = vec![
        Conv(224, 3, 32, 3, 3, 2),
        Dw(112, 32, 1),
        Conv(112, 32, 16, 1, 1, 1),
    ];
    // (spatial in, channels in, expansion, channels out, stride)
    let blocks = [
        (112, 16, 6, 24, 2),
        (56, 24, 6, 24, 1),
        (56, 24, 6, 32, 2),
        (28, 32, 6, 32, 1),
        (28, 32, 6, 32, 1),
        (28, 32, 6, 64, 2),
        (14, 64, 6, 64, 1),
        (14, 64, 6, 64, 1),
        (14, 64, 6, 64, 1),
        (14, 64, 6, 96, 1),
        (14, 96, 6, 96, 1),
        (14, 96, 6, 96, 1),
        (14, 96, 6, 160, 2),
        (7, 160, 6, 160, 1),
        (7, 160, 6, 160, 1),
        (7, 160, 6, 320, 1),
    ];
    for (hw, cin, e, cout, s) in blocks {
        layers.push(Conv(hw, cin, cin * e, 1, 1, 1));
        layers.push(Dw(hw, cin * e, s));
        layers.push(Conv(hw / s as usize, cin * e, cout, 1, 1, 1));
    }
    layers.push(Conv(7, 320, 1280, 1, 1, 1));
    layers.push(Fc(1280, 1000));
    for threads in [1, 2] {
        let (mut conv_s, mut dw_s, mut fc_s, mut macs) = (0.0, 0.0, 0.0, 0usize);
        for l in &layers {
            let (opts, op, x, f, b) = match *l {
                Conv(hw, ci, co, kh, kw, st) => (
                    BuiltinOptions::Conv2DOptions(Conv2DOptions {
                        stride_h: st,
                        stride_w: st,
                        fused_activation_function: 3,
                        ..Default::default()
                    }),
                    "CONV_2D",
                    vec![1, hw, hw, ci],
                    vec![co, kh, kw, ci],
                    co,
                ),
                Dw(hw, c, st) => (
                    BuiltinOptions::DepthwiseConv2DOptions(DepthwiseConv2DOptions {
                        stride_h: st,
                        stride_w: st,
                        depth_multiplier: 1,
                        fused_activation_function: 3,
                        ..Default::default()
                    }),
                    "DEPTHWISE_CONV_2D",
                    vec![1, hw, hw, c],
                    vec![1, 3, 3, c],
                    c,
                ),
                Fc(k, n) => (
                    BuiltinOptions::FullyConnectedOptions(FullyConnectedOptions::default()),
                    "FULLY_CONNECTED",
                    vec![1, k],
                    vec![n, k],
                    n,
                ),
            };
            let t = OpTest::new(op, &opts)
                .input_f32(&x, &rand_vec(x.iter().product(), 1), false)
                .input_f32(&f, &rand_vec(f.iter().product(), 2), true)
                .input_f32(&[b], &rand_vec(b, 3), true);
            let out = t.shapes().unwrap().remove(0);
            let taps: usize = match op {
                "DEPTHWISE_CONV_2D" => 9,
                _ => f[1..].iter().product(),
            };
            macs += out.iter().product::<usize>() * taps;
            let secs = t.time_eval(threads, 15);
            match op {
                "CONV_2D" => conv_s += secs,
                "DEPTHWISE_CONV_2D" => dw_s += secs,
                _ => fc_s += secs,
            }
        }
        let total = conv_s + dw_s + fc_s;
        println!(
            "t{threads} MobileNetV2 layers: conv {:.3} ms, depthwise {:.3} ms, fc {:.3} ms, total {:.3} ms ({} MMAC, {:.1} GFLOP/s)",
            conv_s * 1e3,
            dw_s * 1e3,
            fc_s * 1e3,
            total * 1e3,
            macs / 1_000_000,
            2.0 * macs as f64 / total / 1e9
        );
    }
}
