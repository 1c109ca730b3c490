//! Hybrid UNIDIRECTIONAL_SEQUENCE_LSTM against LiteRT's builtin kernel
//! (tables from tools/oracle/hybrid_lstm.py; two invokes in a row, the
//! second starting from the states the first wrote back).

use super::*;
use crate::Parallel;
use ferrite_format::options::UnidirectionalSequenceLSTMOptions;

struct Case {
    name: &'static str,
    seed: i64,
    batch: usize,
    time: usize,
    input: usize,
    cell: usize,
    output: usize,
    time_major: bool,
    asym: bool,
    cifg: bool,
    peephole: bool,
    /// 0: none, 1: without bias, 2: with bias.
    projection: u8,
    layer_norm: bool,
    cell_clip: f32,
    proj_clip: f32,
    want: &'static [f32],
    want_second: &'static [f32],
}

const W_SCALES: [f32; 4] = [0.0078125, 0.005859375, 0.001953125, 0.01171875];

fn gen_f32(seed: i64, n: usize, scale: f32) -> Vec<f32> {
    (0..n as i64)
        .map(|i| ((i * 7919 + seed * 104729) % 1999 - 999) as f32 * scale)
        .collect()
}

fn gen_i8(seed: i64, n: usize) -> Vec<i8> {
    (0..n as i64)
        .map(|i| ((i * 7919 + seed * 104729) % 255 - 127) as i8)
        .collect()
}

/// One op input: dtype, shape, bytes, per-tensor scale.
type In = Option<(DType, Vec<usize>, Vec<u8>, Option<QuantParams>)>;

fn f32_in(shape: Vec<usize>, v: Vec<f32>) -> In {
    Some((
        DType::Float32,
        shape,
        bytemuck::cast_slice(&v).to_vec(),
        None,
    ))
}

fn i8_in(shape: Vec<usize>, v: Vec<i8>, scale: f32) -> In {
    let q = QuantParams {
        scale: vec![scale],
        zero_point: vec![0],
        axis: 0,
    };
    Some((
        DType::Int8,
        shape,
        bytemuck::cast_slice(&v).to_vec(),
        Some(q),
    ))
}

/// The generator's 24 inputs of case `c` (states zero).
fn inputs(c: &Case) -> Vec<In> {
    let (b, t, k, n, o) = (c.batch, c.time, c.input, c.cell, c.output);
    let s = c.seed * 24;
    let x_shape = if c.time_major {
        vec![t, b, k]
    } else {
        vec![b, t, k]
    };
    let mut x = gen_f32(c.seed, b * t * k, 1.0 / 256.0);
    if c.time_major {
        x[..b * k].fill(0.0);
        x[b * k..b * k + k].fill(0.0);
    } else {
        x[..k].fill(0.0);
    }
    let mut ins: Vec<In> = vec![None; 24];
    ins[INPUT] = f32_in(x_shape, x);
    let w = |i: usize, shape: Vec<usize>, scale: f32| {
        let len = shape.iter().product();
        i8_in(shape, gen_i8(s + i as i64, len), scale)
    };
    for g in 0..4 {
        if g == GATE_I && c.cifg {
            continue;
        }
        ins[W_X[g]] = w(W_X[g], vec![n, k], W_SCALES[0]);
        ins[W_H[g]] = w(W_H[g], vec![n, o], W_SCALES[1]);
        ins[BIAS[g]] = f32_in(vec![n], gen_f32(s + BIAS[g] as i64, n, 1.0 / 1024.0));
        if c.layer_norm {
            let v = gen_f32(s + NORM[g] as i64, n, 1.0 / 2048.0);
            ins[NORM[g]] = f32_in(vec![n], v.iter().map(|v| v + 1.0).collect());
        }
    }
    if c.peephole {
        for (p, &i) in PEEP.iter().enumerate() {
            if !(p == 0 && c.cifg) {
                ins[i] = w(i, vec![n], W_SCALES[2]);
            }
        }
    }
    if c.projection > 0 {
        ins[PROJ_W] = w(PROJ_W, vec![o, n], W_SCALES[3]);
        if c.projection == 2 {
            ins[PROJ_B] = f32_in(vec![o], gen_f32(s + PROJ_B as i64, o, 1.0 / 1024.0));
        }
    }
    ins[H_STATE] = f32_in(vec![b, o], vec![0.0; b * o]);
    ins[C_STATE] = f32_in(vec![b, n], vec![0.0; b * n]);
    if !c.layer_norm {
        ins.truncate(20);
    }
    ins
}

fn options(c: &Case) -> BuiltinOptions {
    BuiltinOptions::UnidirectionalSequenceLSTMOptions(UnidirectionalSequenceLSTMOptions {
        fused_activation_function: 4,
        cell_clip: c.cell_clip,
        proj_clip: c.proj_clip,
        time_major: c.time_major,
        asymmetric_quantize_inputs: c.asym,
        ..Default::default()
    })
}

fn build_op(options: &BuiltinOptions, ins: &[In]) -> KResult<Box<dyn Kernel>> {
    let specs: Vec<Option<TensorSpec>> = ins
        .iter()
        .enumerate()
        .map(|(i, d)| {
            d.as_ref().map(|(dt, s, v, q)| TensorSpec {
                name: "t",
                dtype: *dt,
                shape: s,
                quant: q.as_ref(),
                // Weights and biases are constants; input and states not.
                data: (![INPUT, H_STATE, C_STATE].contains(&i)).then_some(&v[..]),
            })
        })
        .collect();
    let out = TensorSpec {
        name: "y",
        dtype: DType::Float32,
        shape: &[],
        quant: None,
        data: None,
    };
    crate::rnn::unidirectional_sequence_lstm::build(&OpSpec {
        code: 0,
        name: "UNIDIRECTIONAL_SEQUENCE_LSTM",
        version: 1,
        options,
        options2: &Default::default(),
        custom_options: None,
        attrs: &[],
        inputs: &specs,
        outputs: &[out],
    })
}

/// Runs once and writes the final states back into `ins`; returns the
/// output.
fn invoke(k: &dyn Kernel, ins: &mut [In], threads: usize) -> KResult<Vec<f32>> {
    let args: Vec<Option<ShapeArg>> = ins
        .iter()
        .map(|d| {
            d.as_ref().map(|(dt, s, v, _)| ShapeArg {
                dtype: *dt,
                shape: s,
                value: Some(v),
            })
        })
        .collect();
    let out_shape = k.output_shapes(&args)?.unwrap().remove(0);
    let shape_of = |i: usize| ins[i].as_ref().unwrap().1.clone();
    let (hs, cs) = (shape_of(H_STATE), shape_of(C_STATE));
    let mut bufs: Vec<AlignedBuf> = [&out_shape, &hs, &cs]
        .iter()
        .map(|s| {
            let mut b = AlignedBuf::default();
            b.resize(s.iter().product::<usize>() * 4);
            b
        })
        .collect();
    // Aligned copies of the input bytes.
    let aligned: Vec<AlignedBuf> = ins
        .iter()
        .map(|d| {
            let mut b = AlignedBuf::default();
            if let Some((_, _, v, _)) = d {
                b.set(v);
            }
            b
        })
        .collect();
    {
        let refs: Vec<Option<TensorRef>> = ins
            .iter()
            .zip(&aligned)
            .map(|(d, a)| {
                d.as_ref().map(|(dt, s, _, q)| TensorRef {
                    dtype: *dt,
                    shape: s,
                    data: a.bytes(),
                    quant: q.as_ref(),
                })
            })
            .collect();
        let [ob, hb, cb] = &mut bufs[..] else {
            unreachable!()
        };
        let mut outputs = [
            TensorMut {
                dtype: DType::Float32,
                shape: &out_shape,
                buf: ob,
                quant: None,
            },
            TensorMut {
                dtype: DType::Float32,
                shape: &hs,
                buf: hb,
                quant: None,
            },
            TensorMut {
                dtype: DType::Float32,
                shape: &cs,
                buf: cb,
                quant: None,
            },
        ];
        k.eval(&mut EvalIo {
            inputs: &refs,
            outputs: &mut outputs,
            par: &Parallel::new(threads)?,
        })?;
    }
    for (i, b) in [(H_STATE, &bufs[1]), (C_STATE, &bufs[2])] {
        if let Some(t) = &mut ins[i] {
            t.2 = b.bytes().to_vec();
        }
    }
    Ok(bytemuck::cast_slice(bufs[0].bytes()).to_vec())
}

/// LiteRT's sigmoid and tanh (Eigen's vectorised versions) differ from
/// these in the last bits; every other step follows LiteRT's order, so the
/// results agree to a few ulp (a wrong quantization step is off by ~1e-3).
fn close(got: &[f32], want: &[f32], name: &str) {
    assert_eq!(got.len(), want.len(), "{name}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            (g - w).abs() <= 1e-6 * w.abs().max(1.0),
            "{name}: got {got:?}\nwant {want:?}"
        );
    }
}

#[test]
fn matches_litert_over_two_invokes() {
    for c in CASES {
        let o = options(c);
        for threads in [1, 2] {
            let mut ins = inputs(c);
            let k = build_op(&o, &ins).unwrap_or_else(|e| panic!("{}: {e}", c.name));
            let first = invoke(&*k, &mut ins, threads).unwrap();
            close(&first, c.want, c.name);
            let second = invoke(&*k, &mut ins, threads).unwrap();
            close(&second, c.want_second, c.name);
        }
    }
}

#[test]
fn rejects_unsupported_weight_types_and_scales() {
    let c = &CASES[0];
    let o = options(c);
    let base = inputs(c);
    let with = |i: usize, v: In| {
        let mut ins = base.clone();
        ins[i] = v;
        build_op(&o, &ins)
    };
    assert!(build_op(&o, &base).is_ok());
    // Float recurrent weights next to int8 input weights.
    let f = f32_in(vec![4, 4], vec![0.5; 16]);
    assert!(matches!(with(W_H[1], f), Err(KernelError::Unsupported(_))));
    // Per-channel scales.
    let mut pc = i8_in(vec![4, 5], vec![1; 20], 0.1);
    if let Some((_, _, _, Some(q))) = &mut pc {
        q.scale = vec![0.1; 4];
        q.zero_point = vec![0; 4];
    }
    assert!(matches!(with(W_X[2], pc), Err(KernelError::Unsupported(_))));
    // A zero point, missing parameters, bad scales.
    let mut zp = i8_in(vec![4, 5], vec![1; 20], 0.1);
    if let Some((_, _, _, Some(q))) = &mut zp {
        q.zero_point = vec![3];
    }
    assert!(matches!(with(W_X[2], zp), Err(KernelError::Unsupported(_))));
    let none = Some((DType::Int8, vec![4, 5], vec![1u8; 20], None));
    assert!(matches!(
        with(W_X[2], none),
        Err(KernelError::Unsupported(_))
    ));
    for s in [0.0, -0.5, f32::NAN, f32::INFINITY] {
        let bad = i8_in(vec![4, 5], vec![1; 20], s);
        assert!(matches!(
            with(W_X[2], bad),
            Err(KernelError::InvalidInput(_))
        ));
    }
    // Float peephole weights with int8 matrices.
    let p = f32_in(vec![4], vec![0.5; 4]);
    let mut ins = base.clone();
    ins[PEEP[0]] = p.clone();
    ins[PEEP[1]] = p.clone();
    ins[PEEP[2]] = p;
    assert!(matches!(
        build_op(&o, &ins),
        Err(KernelError::Unsupported(_))
    ));
}

#[test]
fn hostile_scales_and_empty_batches_do_not_panic() {
    let c = &CASES[0];
    let o = options(c);
    for s in [1e-45f32, 3e38] {
        let mut ins = inputs(c);
        for i in W_X.iter().chain(&W_H) {
            if let Some((_, _, _, Some(q))) = &mut ins[*i] {
                q.scale = vec![s];
            }
        }
        let k = build_op(&o, &ins).unwrap();
        let out = invoke(&*k, &mut ins, 1).unwrap();
        assert_eq!(out.len(), 24);
    }
    // Zero time steps and zero batch rows.
    for (b, t) in [(2, 0), (0, 3)] {
        let mut ins = inputs(c);
        ins[INPUT] = f32_in(vec![b, t, 5], vec![]);
        ins[H_STATE] = f32_in(vec![b, 4], vec![0.0; b * 4]);
        ins[C_STATE] = f32_in(vec![b, 4], vec![0.0; b * 4]);
        let k = build_op(&o, &ins).unwrap();
        assert!(invoke(&*k, &mut ins, 2).unwrap().is_empty());
    }
}

// Generated by tools/oracle/hybrid_lstm.py.
#[rustfmt::skip]
const CASES: &[Case] = &[
    Case { name: "basic_asym", seed: 0, batch: 2, time: 3, input: 5, cell: 4, output: 4, time_major: false, asym: true, cifg: false, peephole: false, projection: 0, layer_norm: false, cell_clip: 0.0, proj_clip: 0.0, want: &[
        -0.023134973, -0.049585454, -0.07218289, -0.090854265, -0.7611944, -0.0005611668,
        0.03461565, 0.049275845, -0.6785772, -0.02745252, 0.07769132, 0.34438518, 0.005940271,
        -0.32570234, -0.4368726, 0.007661581, 4.9904218e-05, 0.060804453, -0.7705126,
        0.00029232228, -0.7498051, 0.0005728564, 0.26596746, -0.7437512,
    ], want_second: &[
        -0.43044093, 0.017534513, 0.00969596, 0.1038598, -0.84268683, 3.7566348e-05, 0.023729492,
        0.12732011, -0.7112478, -0.009449556, 0.07204576, 0.3690205, -0.048793733, 0.14939365,
        -0.35102504, -0.046538517, -0.0005244059, -0.1437051, -0.6916302, -0.0010155955,
        -0.76536727, -0.001264841, 0.28647783, -0.80347663,
    ] },
    Case { name: "basic_sym", seed: 1, batch: 2, time: 3, input: 5, cell: 4, output: 4, time_major: false, asym: false, cifg: false, peephole: false, projection: 0, layer_norm: false, cell_clip: 0.0, proj_clip: 0.0, want: &[
        0.06548917, 0.054193668, 0.1138743, 0.093821816, 2.9512688e-05, 0.002375984, -0.75029045,
        -0.0077528493, -0.7197573, -0.000104026214, -0.085163504, 0.66990817, -0.6788329,
        -0.33552843, 0.00010908724, 0.32970402, -0.08153974, -0.46959314, 0.020328421, 0.2676455,
        -0.0014567453, -0.049583506, -0.3865453, -0.00071572943,
    ], want_second: &[
        -0.10936312, -0.09398048, 0.0057268105, 0.25412115, -4.498698e-05, -0.001665792, -0.747992,
        0.0021263934, -0.778947, -0.00010652948, -0.08476434, 0.6712584, -0.6834008, -0.30887583,
        -0.00938927, 0.37892956, -0.07558137, -0.48654315, -0.02153398, 0.26552436, -0.0012689807,
        -0.055157244, -0.41782203, -0.0010315519,
    ] },
    Case { name: "time_major_asym", seed: 2, batch: 3, time: 3, input: 9, cell: 4, output: 4, time_major: true, asym: true, cifg: false, peephole: false, projection: 0, layer_norm: false, cell_clip: 0.0, proj_clip: 0.0, want: &[
        -0.12689325, -0.13054556, -0.13170116, -0.13074361, -0.12689325, -0.13054556, -0.13170116,
        -0.13074361, -0.12689325, -0.13054556, -0.13170116, -0.13074361, -0.2474569, -0.23870142,
        -0.13836922, -0.1913451, -1.2817455e-05, -0.75993806, -1.3404836e-05, -0.755907,
        -0.81224793, -1.3789609e-05, -0.80858517, -1.2300701e-05, 0.10608526, -0.27653173,
        0.035190895, -0.2972157, -3.987555e-06, -0.7613298, -2.3251375e-06, -0.75619334,
        -0.7680108, -3.1088856e-08, -0.75602806, -2.2236629e-08,
    ], want_second: &[
        -0.08256639, -0.41115475, -0.04581015, -0.45073912, -0.31919372, -0.37584576, -0.044806197,
        -0.43315023, -0.5084873, -0.26701355, -0.18652742, -0.10378072, -0.2583025, -0.40446767,
        -0.048210923, -0.39332864, -3.333003e-05, -0.7614554, -5.2846553e-06, -0.7551761,
        -0.91623557, -2.9830491e-05, -0.86204976, -8.68109e-06, 0.115083106, -0.30402392,
        0.031295653, -0.3573161, -9.394408e-06, -0.76133156, -1.2653253e-06, -0.75618845,
        -0.7711107, -6.8834e-08, -0.75571513, -1.7536658e-08,
    ] },
    Case { name: "cifg_peephole_clip", seed: 3, batch: 2, time: 4, input: 5, cell: 6, output: 6, time_major: false, asym: false, cifg: true, peephole: true, projection: 0, layer_norm: false, cell_clip: 0.5, proj_clip: 0.0, want: &[
        0.088150695, 0.05519143, 0.02084884, -0.01407258, -0.04866922, -0.082001716, 0.15166117,
        -0.30880406, -0.028710961, -3.4176468e-05, 0.41249245, -0.46210808, 0.22708058, 0.3323872,
        -0.25044763, -0.0007934534, 0.35602182, -0.46037847, 0.20745574, 0.312967, -0.4218398,
        -0.0813629, 0.26678964, -0.3251587, -0.019772833, 0.013233824, 0.44827524, -0.44655728,
        -0.011227098, 0.006318265, -0.022626769, 0.0004327979, 0.4583021, -0.46146294,
        -0.0058722687, 4.1997613e-05, 0.37909654, -0.4615195, 0.00031826794, -0.058981013,
        0.44191018, -0.4619793, 0.20841661, 0.14849214, 0.0068982434, -0.01066113, 0.36830407,
        -0.4614405,
    ], want_second: &[
        0.1487693, 0.14762862, -0.11949113, -0.0974162, 0.19725437, -0.1938511, 0.1482954,
        -0.4346563, -0.09346988, -0.00023622275, 0.4123279, -0.46210638, 0.23602293, 0.24624723,
        -0.2979335, -0.0068819397, 0.35486376, -0.460179, 0.20746443, 0.31152397, -0.418786,
        -0.118065275, 0.2654475, -0.3175256, 0.31938848, 0.020707713, 0.45078304, -0.44335833,
        0.15455231, 0.006756841, 0.36202884, 0.0007290236, 0.45850554, -0.46130368, 0.08631788,
        4.3977732e-05, 0.36355817, -0.46153283, 0.0003551414, -0.048490822, 0.44218174,
        -0.46199352, 0.20886053, 0.14700565, 0.0059764064, -0.010704371, 0.36859363, -0.46143946,
    ] },
    Case { name: "projection_asym", seed: 4, batch: 2, time: 3, input: 5, cell: 5, output: 3, time_major: false, asym: true, cifg: false, peephole: false, projection: 2, layer_norm: false, cell_clip: 0.0, proj_clip: 0.3, want: &[
        -0.3, -0.3, -0.3, -0.3, -0.3, -0.3, -0.3, -0.3, -0.16375321, -0.3, 0.3, -0.3, -0.3, 0.3,
        -0.3, -0.3, -0.096054554, -0.3,
    ], want_second: &[
        -0.3, -0.3, -0.3, -0.3, -0.3, -0.3, -0.3, -0.3, -0.13661444, -0.3, 0.3, -0.3, -0.3, 0.3,
        -0.3, -0.3, -0.02653575, -0.3,
    ] },
    Case { name: "layer_norm_peephole", seed: 5, batch: 2, time: 3, input: 11, cell: 4, output: 4, time_major: false, asym: false, cifg: false, peephole: true, projection: 0, layer_norm: true, cell_clip: 0.0, proj_clip: 0.0, want: &[
        -0.019587304, -0.13507892, -0.15110105, -0.15951009, -0.38049564, 0.06502644, -0.048435837,
        -0.38029784, -0.31165084, -0.40771702, -0.10116176, -0.065379195, -0.14173223, 0.06992613,
        0.027118206, -0.46697643, -0.11443878, 0.017100198, -0.4722401, -0.26474556, -0.024795214,
        -0.46352518, -0.15194109, -0.5104214,
    ], want_second: &[
        -0.033616923, -0.32820526, -0.39350587, -0.38533905, -0.37527502, -0.015218411,
        -0.09206912, -0.55003583, -0.3203054, -0.44461268, -0.2262104, -0.08910519, -0.13977277,
        -0.12855217, -0.04507942, -0.65834856, -0.10134181, -0.008650214, -0.55555433, -0.42634436,
        -0.020100601, -0.5215718, -0.20178123, -0.58415926,
    ] },
    Case { name: "cifg_norm_projection", seed: 6, batch: 2, time: 3, input: 5, cell: 4, output: 3, time_major: true, asym: true, cifg: true, peephole: false, projection: 1, layer_norm: true, cell_clip: 1.0, proj_clip: 0.0, want: &[
        -0.0810287, 0.07052904, 0.22208679, -0.0810287, 0.07052904, 0.22208679, 0.072208986,
        0.08977503, 0.10734107, -0.037627194, -0.047905844, -0.058184493, -0.07060602, 0.057604115,
        0.18581425, -0.13421063, 0.06888201, 0.27197465,
    ], want_second: &[
        0.10581656, 0.08818355, 0.070550546, 0.061652247, 0.10433298, 0.14701372, -0.0319878,
        0.04370164, 0.11939108, 0.025113687, -0.030387001, -0.08588769, 0.05751422, 0.05751422,
        0.05751422, -0.10404451, 0.07011136, 0.24426723,
    ] },
];
