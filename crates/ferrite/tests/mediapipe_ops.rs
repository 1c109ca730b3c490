//! MediaPipe's custom ops, bundled on the default resolver, in models built
//! in code with their options as the raw C structs MediaPipe reads. LiteRT
//! does not register these ops, so the expected values follow MediaPipe's
//! published definitions (mediapipe/util/tflite/operations/*.cc), computed
//! by `tools/oracle/mediapipe_ops.py`: TensorFlow's conv2d_transpose plus
//! the bias for Convolution2DTransposeBias (compared within 1e-5, since TF
//! sums in another order), and numpy for the pooling pair (exact).

use ferrite::{ErrorKind, Interpreter, Model, Options};
use ferrite_format::build::{le_bytes, ModelBuilder};
use ferrite_format::TensorType as T;

const SAME: i32 = 1;
const VALID: i32 = 2;

fn c_struct(fields: &[i32]) -> Vec<u8> {
    fields.iter().flat_map(|f| f.to_le_bytes()).collect()
}

/// Shape and values of each output.
type Outputs = Vec<(Vec<usize>, Vec<f32>)>;

fn run(model: Vec<u8>, inputs: &[&[f32]]) -> Result<Outputs, ferrite::Error> {
    let m = Model::from_bytes(model)?;
    let mut it = Interpreter::new(&m, Options::default())?;
    for (i, x) in inputs.iter().enumerate() {
        it.set_input(i, x)?;
    }
    it.invoke()?;
    (0..it.outputs().len())
        .map(|i| {
            Ok((
                it.output(i)?.shape.to_vec(),
                it.output_as::<f32>(i)?.to_vec(),
            ))
        })
        .collect()
}

fn transpose_conv(padding: i32, out: [i32; 4]) -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let x = b.tensor(sg, "x", T::Float32, &[1, 3, 3, 2]);
    let w = b.constant(sg, "w", T::Float32, &[3, 3, 3, 2], le_bytes(CT_W));
    let bias = b.constant(sg, "b", T::Float32, &[3], le_bytes(CT_B));
    let y = b.tensor(sg, "y", T::Float32, &out);
    // TfLiteTransposeConvParams: padding, stride_width, stride_height.
    b.custom_op(
        sg,
        "Convolution2DTransposeBias",
        &[x, w, bias],
        &[y],
        c_struct(&[padding, 2, 2]),
    );
    b.inputs(sg, &[x]);
    b.outputs(sg, &[y]);
    b.finish().unwrap()
}

#[test]
fn convolution_2d_transpose_bias_matches_tensorflow() {
    for (padding, size, want) in [(SAME, 5, CT_SAME), (VALID, 7, CT_VALID)] {
        let out = run(transpose_conv(padding, [1, size, size, 3]), &[CT_X]).unwrap();
        assert_eq!(out[0].0, [1, size as usize, size as usize, 3]);
        for (i, (g, w)) in out[0].1.iter().zip(want).enumerate() {
            assert!(
                (g - w).abs() <= 1e-5 * w.abs().max(1.0),
                "padding {padding} [{i}]: {g} vs {w}"
            );
        }
    }
}

/// MaxPoolingWithArgmax2D then MaxUnpooling2D, filter 2x2, stride 2, SAME
/// (TfLitePoolParams: padding, stride w/h, filter w/h, activation).
fn pool_unpool() -> Vec<u8> {
    let params = c_struct(&[SAME, 2, 2, 2, 2, 0]);
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let x = b.tensor(sg, "x", T::Float32, &[1, 4, 5, 2]);
    let pooled = b.tensor(sg, "pooled", T::Float32, &[1, 2, 3, 2]);
    let idx = b.tensor(sg, "indices", T::Float32, &[1, 2, 3, 2]);
    let up = b.tensor(sg, "unpooled", T::Float32, &[1, 4, 6, 2]);
    b.custom_op(
        sg,
        "MaxPoolingWithArgmax2D",
        &[x],
        &[pooled, idx],
        params.clone(),
    );
    b.custom_op(sg, "MaxUnpooling2D", &[pooled, idx], &[up], params);
    b.inputs(sg, &[x]);
    b.outputs(sg, &[pooled, idx, up]);
    b.finish().unwrap()
}

#[test]
fn max_pooling_with_argmax_and_unpooling_follow_mediapipe() {
    let out = run(pool_unpool(), &[MP_X]).unwrap();
    assert_eq!(out[0].0, [1, 2, 3, 2]);
    assert_eq!(out[0].1, MP_OUT);
    assert_eq!(out[1].1, MP_IDX);
    assert_eq!(out[2].0, [1, 4, 6, 2]);
    assert_eq!(out[2].1, MU_OUT);
}

#[test]
fn short_or_bad_options_are_clean_errors() {
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let x = b.tensor(sg, "x", T::Float32, &[1, 4, 4, 1]);
    let p = b.tensor(sg, "p", T::Float32, &[1, 2, 2, 1]);
    let i = b.tensor(sg, "i", T::Float32, &[1, 2, 2, 1]);
    b.custom_op(
        sg,
        "MaxPoolingWithArgmax2D",
        &[x],
        &[p, i],
        c_struct(&[SAME, 2, 2]),
    );
    b.inputs(sg, &[x]);
    b.outputs(sg, &[p, i]);
    let e = run(b.finish().unwrap(), &[&[0.0; 16]]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(
        e.to_string()
            .contains("TfLitePoolParams options need 24 bytes"),
        "{e}"
    );
    let mut bad = ModelBuilder::new();
    let sg = bad.subgraph("main");
    let x = bad.tensor(sg, "x", T::Float32, &[1, 4, 4, 1]);
    let p = bad.tensor(sg, "p", T::Float32, &[1, 2, 2, 1]);
    let i = bad.tensor(sg, "i", T::Float32, &[1, 2, 2, 1]);
    bad.custom_op(
        sg,
        "MaxPoolingWithArgmax2D",
        &[x],
        &[p, i],
        c_struct(&[SAME, 0, 2, 2, 2, 0]),
    );
    bad.inputs(sg, &[x]);
    bad.outputs(sg, &[p, i]);
    let e = run(bad.finish().unwrap(), &[&[0.0; 16]]).unwrap_err();
    assert!(e.to_string().contains("stride_width = 0"), "{e}");
}

/// Indices come from data: ones that point outside the output are skipped,
/// never written out of bounds.
#[test]
fn unpooling_skips_out_of_range_indices() {
    let params = c_struct(&[VALID, 1, 1, 2, 2, 0]);
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let x = b.tensor(sg, "x", T::Float32, &[1, 1, 2, 1]);
    let i = b.tensor(sg, "i", T::Float32, &[1, 1, 2, 1]);
    let y = b.tensor(sg, "y", T::Float32, &[1, 2, 4, 1]);
    b.custom_op(sg, "MaxUnpooling2D", &[x, i], &[y], params);
    b.inputs(sg, &[x, i]);
    b.outputs(sg, &[y]);
    let out = run(b.finish().unwrap(), &[&[5.0, 7.0], &[3.1, 1e9]]).unwrap();
    // 3 = (y 1, x 1) of the first cell; 1e9 lands far outside.
    assert_eq!(out[0].1, [0.0, 0.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0]);
}

// Convolution2DTransposeBias: x [1, 3, 3, 2], weights OHWI [3, 3, 3, 2], bias [3], stride 2.
const CT_X: &[f32] = &[
    0.69551975,
    -0.9794742,
    -1.5734904,
    -2.9249706,
    -0.35323218,
    1.2476064,
    0.033072624,
    0.51184404,
    1.0232382,
    -0.8821458,
    2.6522868,
    -0.87690824,
    0.37355307,
    2.7395809,
    -0.11425241,
    0.114294514,
    -0.51187956,
    0.33452648,
];
const CT_W: &[f32] = &[
    -2.1266837,
    -0.64680874,
    1.6940932,
    0.21132614,
    -0.24039851,
    0.3729285,
    0.4146068,
    0.15210326,
    0.5785879,
    -1.6595968,
    0.5912553,
    -0.67352676,
    0.78580266,
    -0.021246698,
    -0.99818283,
    -0.07213099,
    -1.0070802,
    1.0127318,
    -0.028598262,
    0.8530917,
    -1.115056,
    1.6194173,
    -0.3010613,
    1.3652658,
    0.85405135,
    -1.1009451,
    0.32315448,
    -0.5424503,
    0.4093645,
    1.4324785,
    0.6886708,
    1.067936,
    -1.1715695,
    0.20394519,
    0.35907176,
    1.0888977,
    -0.61942333,
    0.5687861,
    0.4294713,
    -1.5243183,
    -1.0397234,
    0.4446708,
    -1.176568,
    -1.2269164,
    0.89524,
    0.2855663,
    -0.23515624,
    0.10549359,
    -0.40452582,
    -0.5369294,
    -0.46058843,
    0.3860619,
    1.3213037,
    -0.47075686,
];
const CT_B: &[f32] = &[-0.06865728, -0.2182781, -1.2600278];
const CT_SAME: &[f32] = &[
    1.9592942,
    0.5377983,
    -0.91707546,
    -0.095002875,
    0.5397577,
    3.9131012,
    3.8752122,
    0.85989267,
    -3.5039525,
    1.0143667,
    -6.7275915,
    -2.3136845,
    -2.343557,
    -1.0091912,
    -1.219981,
    -0.52806854,
    -0.4408756,
    -2.7245233,
    -4.357947,
    -5.3353496,
    1.3847252,
    3.2599955,
    -1.5408887,
    0.119606376,
    -7.39866,
    -5.2155194,
    -6.086932,
    4.501849,
    -3.9275274,
    1.8600885,
    -0.89897656,
    -0.48524046,
    -1.0842544,
    -0.103779316,
    2.3735583,
    -1.3353988,
    1.9873823,
    0.59090614,
    -0.5958951,
    2.0967622,
    2.1675613,
    -3.638412,
    2.921238,
    1.1144994,
    0.8639902,
    1.0731891,
    3.867355,
    -5.09322,
    2.3401208,
    3.842107,
    -0.43195957,
    -1.1958067,
    -1.2844937,
    -2.2951717,
    1.0526091,
    0.5691019,
    0.5821347,
    -3.4493499,
    -2.3919451,
    -3.5499434,
    -4.3991237,
    -1.5836492,
    -0.14327621,
    -1.7229583,
    3.6356225,
    -1.064667,
    -0.32444516,
    -0.31719837,
    -1.3296725,
    -0.37453622,
    -0.90679127,
    -1.0292782,
    -0.92000365,
    -0.56515825,
    -1.6227534,
];
const CT_VALID: &[f32] = &[
    -0.91427535,
    -1.07375,
    -2.24796,
    0.90262955,
    -2.5799992,
    0.5317085,
    4.6370797,
    -4.2151837,
    -3.1077454,
    -3.3524194,
    -3.2004962,
    2.5227895,
    -0.836947,
    -2.663499,
    0.003739357,
    -0.40341365,
    2.1959908,
    -3.3134804,
    0.4815272,
    1.5913808,
    -0.33798987,
    0.07072872,
    1.4540788,
    -0.8766211,
    1.9592942,
    0.5377983,
    -0.91707546,
    -0.095002875,
    0.5397577,
    3.9131012,
    3.8752122,
    0.85989267,
    -3.5039525,
    1.0143667,
    -6.7275915,
    -2.3136845,
    -2.343557,
    -1.0091912,
    -1.219981,
    -1.1178039,
    1.4242907,
    -1.0453485,
    0.097294375,
    -0.34960556,
    -0.74483114,
    -0.52806854,
    -0.4408756,
    -2.7245233,
    -4.357947,
    -5.3353496,
    1.3847252,
    3.2599955,
    -1.5408887,
    0.119606376,
    -7.39866,
    -5.2155194,
    -6.086932,
    4.501849,
    -3.9275274,
    1.8600885,
    0.58593667,
    -0.98231167,
    -5.461654,
    0.022908002,
    -0.75354457,
    -1.9269298,
    -0.89897656,
    -0.48524046,
    -1.0842544,
    -0.103779316,
    2.3735583,
    -1.3353988,
    1.9873823,
    0.59090614,
    -0.5958951,
    2.0967622,
    2.1675613,
    -3.638412,
    2.921238,
    1.1144994,
    0.8639902,
    2.0901427,
    -0.3886783,
    -1.9762378,
    -2.619958,
    2.6775453,
    -0.22138262,
    1.0731891,
    3.867355,
    -5.09322,
    2.3401208,
    3.842107,
    -0.43195957,
    -1.1958067,
    -1.2844937,
    -2.2951717,
    1.0526091,
    0.5691019,
    0.5821347,
    -3.4493499,
    -2.3919451,
    -3.5499434,
    -3.3799863,
    0.39004445,
    3.3382268,
    0.50291955,
    -2.9153728,
    -5.0607753,
    -4.3991237,
    -1.5836492,
    -0.14327621,
    -1.7229583,
    3.6356225,
    -1.064667,
    -0.32444516,
    -0.31719837,
    -1.3296725,
    -0.37453622,
    -0.90679127,
    -1.0292782,
    -0.92000365,
    -0.56515825,
    -1.6227534,
    -0.59662133,
    0.051378593,
    -1.1043657,
    0.16667466,
    2.9646738,
    -2.882101,
    -0.63914025,
    -0.09719713,
    -0.37443417,
    2.2373972,
    2.9423544,
    -2.0712771,
    0.037143335,
    -0.06111364,
    -1.1632797,
    -0.24719015,
    -0.13011153,
    -1.4373435,
    0.41816238,
    0.44964945,
    -0.89511406,
    0.7856321,
    -0.037814483,
    -2.0938568,
];
// MaxPoolingWithArgmax2D: x [1, 4, 5, 2], filter 2x2, stride 2, SAME -> [1, 2, 3, 2].
const MP_X: &[f32] = &[
    -0.843685,
    0.8667654,
    -0.843685,
    0.83309734,
    -0.5716676,
    1.1513005,
    1.2158656,
    -0.383073,
    -2.0009403,
    -0.3479885,
    -1.3912077,
    -1.3147207,
    -0.25282705,
    1.3604499,
    -0.09210653,
    -0.21958014,
    -1.8504994,
    -0.60612446,
    -1.3950832,
    0.52032775,
    -0.52824557,
    -0.043909375,
    -0.016708428,
    -0.18777482,
    0.9525678,
    0.48679247,
    -0.31962729,
    0.15375912,
    0.5527752,
    1.3713453,
    0.12982802,
    1.447619,
    -0.5941755,
    -0.2338317,
    -1.4872049,
    0.8218959,
    -1.0326086,
    -1.0324638,
    0.84209406,
    -0.53265864,
];
const MP_OUT: &[f32] = &[
    -0.25282705,
    1.3604499,
    1.2158656,
    1.1513005,
    -1.3950832,
    0.52032775,
    0.12982802,
    1.447619,
    0.9525678,
    0.8218959,
    0.84209406,
    1.3713453,
];
const MP_IDX: &[f32] = &[3.1, 3.1, 1.1, 0.1, 2.1, 2.1, 2.1, 2.1, 0.1, 2.1, 2.1, 0.1];
// MaxUnpooling2D of MP_OUT by MP_IDX, filter 2x2, stride 2 -> [1, 4, 6, 2].
const MU_OUT: &[f32] = &[
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    1.1513005,
    1.2158656,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    -0.25282705,
    1.3604499,
    0.0,
    0.0,
    0.0,
    0.0,
    -1.3950832,
    0.52032775,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.0,
    0.9525678,
    0.0,
    0.0,
    0.0,
    0.0,
    1.3713453,
    0.0,
    0.0,
    0.12982802,
    1.447619,
    0.0,
    0.0,
    0.0,
    0.8218959,
    0.0,
    0.0,
    0.84209406,
    0.0,
    0.0,
    0.0,
];
