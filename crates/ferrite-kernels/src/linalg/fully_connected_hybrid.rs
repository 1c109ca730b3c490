//! FULLY_CONNECTED dynamic-range (hybrid): float32 input and output, int8
//! weights (symmetric, per tensor or per output unit), float bias. As
//! LiteRT's `EvalHybridDense`: each batch row is quantized on the fly
//! (symmetric, or asymmetric with `asymmetric_quantize_inputs`), an int8
//! dot product runs per unit, and `out = bias + (float)(acc - row_sum * zp)
//! \* scale` with `scale = input_scale * weight_scale` (the per-unit weight
//! scale multiplied in last), then the fused activation.

use crate::api::*;
use crate::common::Activation;
use crate::linalg::gemm::read_f32;
use crate::linalg::gemm_i16::{gemm, PackedW, Plan};
use crate::linalg::quantize_hybrid;

struct FullyConnectedHybrid {
    keep_num_dims: bool,
    asymmetric: bool,
    act: Activation,
    weights: PackedW,
    /// Per-tensor weight scale, folded into each row's input scale.
    tensor_scale: Option<f32>,
    /// Per-unit weight scales.
    unit_scales: Option<Vec<f32>>,
    /// Constant or absent bias; `None` when it arrives at eval.
    bias: Option<Vec<f32>>,
}

/// The weight scales of a symmetric int8 tensor quantized per tensor or
/// along `axis` (of `dim` slices): `(Some(scale), None)` or `(None,
/// Some(scales))`, or an Unsupported error naming what does not fit.
pub fn weight_scales(
    spec: &OpSpec<'_>,
    w: &TensorSpec<'_>,
    axis: usize,
    dim: usize,
) -> KResult<(Option<f32>, Option<Vec<f32>>)> {
    let Some(q) = w.quant else {
        return spec.unsupported("hybrid int8 weights without quantization parameters");
    };
    if q.scale.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
        return invalid(format!(
            "{}: weight scales must be finite and > 0",
            spec.name
        ));
    }
    if q.zero_point.iter().any(|&z| z != 0) {
        return spec.unsupported("hybrid weights with a non-zero zero point");
    }
    match q.scale.len() {
        1 => Ok((Some(q.scale[0]), None)),
        n if n == dim && q.axis == axis => Ok((None, Some(q.scale.clone()))),
        n => spec.unsupported(format!(
            "{n} weight scales on axis {} for {dim} slices on axis {axis}",
            q.axis
        )),
    }
}

/// Bias values checked against `n` units; `None` when absent.
pub fn const_bias(spec: &OpSpec<'_>, i: usize, n: usize) -> KResult<Option<Option<Vec<f32>>>> {
    let Some(b) = spec.inputs.get(i).copied().flatten() else {
        return Ok(Some(None));
    };
    if b.dtype != DType::Float32 {
        return spec.unsupported(format!("bias dtype {} with float input", b.dtype));
    }
    match b.data {
        Some(d) => {
            let v = read_f32(d)?.into_owned();
            if v.len() != n {
                return invalid(format!(
                    "{} bias has {} values, expected {n}",
                    spec.name,
                    v.len()
                ));
            }
            Ok(Some(Some(v)))
        }
        None => Ok(None),
    }
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    let BuiltinOptions::FullyConnectedOptions(o) = spec.options else {
        return invalid("FULLY_CONNECTED without FullyConnectedOptions");
    };
    spec.expect_arity(2..=3, 1)?;
    let weights = spec.input(1)?;
    if weights.dtype != DType::Int8 {
        return spec.unsupported(format!("hybrid weights dtype {}", weights.dtype));
    }
    if spec.output(0)?.dtype != DType::Float32 {
        return spec.unsupported(format!("hybrid output dtype {}", spec.output(0)?.dtype));
    }
    let (Some(data), &[units, k]) = (weights.data, weights.shape) else {
        return spec.unsupported("hybrid weights that are not a constant 2-D tensor");
    };
    let (tensor_scale, unit_scales) = weight_scales(spec, weights, 0, units)?;
    let w = cast::<i8>(data)?;
    let bias = const_bias(spec, 2, units)?;
    Ok(Box::new(FullyConnectedHybrid {
        keep_num_dims: o.keep_num_dims,
        asymmetric: o.asymmetric_quantize_inputs,
        act: Activation::from_code(o.fused_activation_function)?,
        weights: PackedW::pack_int8(w, units, k)?,
        tensor_scale,
        unit_scales,
        bias: bias.map(|b| b.unwrap_or_else(|| vec![0.0; units])),
    }))
}

/// (batch, output shape) of a FULLY_CONNECTED with `units x k` weights on
/// this input shape (LiteRT flattens the input to rows of `k`).
pub fn fc_geometry(
    input: &[usize],
    units: usize,
    k: usize,
    keep_num_dims: bool,
    bias: Option<&[usize]>,
) -> KResult<(usize, Vec<usize>)> {
    if let Some(b) = bias {
        if b.iter().product::<usize>() != units {
            return invalid(format!(
                "FULLY_CONNECTED bias {b:?} does not match {units} units"
            ));
        }
    }
    let elements: usize = input.iter().product();
    let batch = if k == 0 {
        input.iter().rev().skip(1).product()
    } else if !elements.is_multiple_of(k) {
        return invalid(format!(
            "FULLY_CONNECTED input {input:?} is not a multiple of {k} values"
        ));
    } else {
        elements / k
    };
    let out = if keep_num_dims {
        match input.split_last() {
            Some((&last, rest)) if last == k => [rest, &[units]].concat(),
            _ => {
                return invalid(format!(
                    "FULLY_CONNECTED keep_num_dims needs input {input:?} to end in {k}"
                ))
            }
        }
    } else {
        vec![batch, units]
    };
    Ok((batch, out))
}

impl FullyConnectedHybrid {
    fn geometry(&self, input: &[usize], bias: Option<&[usize]>) -> KResult<(usize, Vec<usize>)> {
        fc_geometry(
            input,
            self.weights.n(),
            self.weights.k(),
            self.keep_num_dims,
            bias,
        )
    }
}

impl Kernel for FullyConnectedHybrid {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let x = shape_input(inputs, 0)?;
        if x.dtype != DType::Float32 {
            return invalid(format!(
                "hybrid FULLY_CONNECTED input must be FLOAT32, got {}",
                x.dtype
            ));
        }
        let b = inputs.get(2).copied().flatten();
        let (_, out) = self.geometry(x.shape, b.map(|b| b.shape))?;
        Ok(Some(vec![out]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let b = io.optional_input(2);
        let (batch, _) = self.geometry(x.shape, b.map(|b| b.shape))?;
        let dynamic_b;
        let bias: &[f32] = match (&self.bias, b) {
            (Some(v), _) => v,
            (None, Some(t)) => {
                dynamic_b = t.f32()?;
                dynamic_b
            }
            (None, None) => return invalid("FULLY_CONNECTED bias is missing"),
        };
        let input = x.f32()?;
        let (units, k) = (self.weights.n(), self.weights.k());
        let out = io.outputs[0].f32()?;
        // LiteRT skips the product for an all-zero input: bias only.
        if input.iter().all(|&v| v == 0.0) {
            for row in out.chunks_exact_mut(units.max(1)) {
                for (o, &bv) in row.iter_mut().zip(bias) {
                    *o = self.act.apply(bv);
                }
            }
            return Ok(());
        }
        let rows = quantize_hybrid::rows(input, batch, k, self.asymmetric);
        let row_scale: Vec<f32> = match self.tensor_scale {
            Some(s) => rows.scale.iter().map(|&r| r * s).collect(),
            None => rows.scale.clone(),
        };
        let sums = self.weights.row_sums();
        let fill = |i: usize, dst: &mut [i16]| dst.copy_from_slice(&rows.q[i * k..(i + 1) * k]);
        let epi = |i: usize, j0: usize, acc: &[i64], o: &mut [f32]| {
            let zp = rows.zp[i];
            for (c, (o, &a)) in o.iter_mut().zip(acc).enumerate() {
                let j = j0 + c;
                let dot = (a as i32).wrapping_sub(sums[j].wrapping_mul(zp));
                let scale = match &self.unit_scales {
                    Some(u) => u[j] * row_scale[i],
                    None => row_scale[i],
                };
                *o = self.act.apply(bias[j] + dot as f32 * scale);
            }
        };
        gemm(
            Plan::int8(),
            io.par,
            batch,
            &self.weights,
            out,
            units,
            &fill,
            &epi,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::testutil_hq::*;

    fn opts(act: i8, asym: bool) -> BuiltinOptions {
        BuiltinOptions::FullyConnectedOptions(ferrite_format::options::FullyConnectedOptions {
            fused_activation_function: act,
            asymmetric_quantize_inputs: asym,
            ..Default::default()
        })
    }

    // LiteRT 2.3 builtin kernels (/tmp generator: single-op models written
    // with the schema object API). Row 1 is tiny, row 2 has zeros.
    const X: [f32; 111] = [
        0.00369046,
        0.8962366,
        -0.82241356,
        -2.6717756,
        -1.3640124,
        -2.9749396,
        0.18043081,
        4.0206456,
        -1.4766196,
        -1.8614247,
        1.4695262,
        1.0706611,
        0.31624275,
        -2.7914042,
        -0.087755464,
        2.0859096,
        -4.032644,
        -1.3728473,
        -5.703668,
        -3.8686132,
        -5.525205,
        -0.7052734,
        -3.8023396,
        0.81379306,
        0.47025326,
        -0.56079286,
        -7.550279,
        -1.6160787,
        -0.14550284,
        0.33992696,
        -4.5904074,
        -1.4332598,
        -2.9355571,
        -2.4265118,
        3.1826959,
        -2.422604,
        -0.097565114,
        0.0026531697,
        -0.0017508015,
        -0.00033510584,
        0.00033139245,
        0.00019134533,
        -0.0036751677,
        0.0002284207,
        0.0040764706,
        -0.0046414346,
        0.0025781482,
        0.0003580621,
        -0.0019244113,
        0.00600125,
        0.0022867792,
        -0.003597867,
        0.00022354869,
        0.0017300689,
        -0.0005663464,
        0.0020487309,
        -0.00019955197,
        0.0020017426,
        0.004315568,
        -0.002026987,
        0.0006094159,
        -0.0013899228,
        0.00038180526,
        -0.0035615836,
        -0.0017379049,
        -0.00058858795,
        0.0026962918,
        0.0034356662,
        -0.0039705834,
        -0.002383927,
        0.0019407104,
        -0.0059772595,
        -0.0013895096,
        -0.0002918608,
        0.0,
        2.0682118,
        -0.9816403,
        0.0,
        -0.7505862,
        4.570588,
        0.0,
        -0.91104114,
        1.0577672,
        0.0,
        -0.59185266,
        -3.3422015,
        0.0,
        -1.3307437,
        3.4983833,
        0.0,
        -0.07243084,
        2.0051432,
        0.0,
        3.156379,
        -0.016198682,
        0.0,
        -3.8726797,
        1.0400401,
        0.0,
        -6.105987,
        -0.91343063,
        0.0,
        0.49215838,
        6.73427,
        0.0,
        -1.8718307,
        0.61621183,
        0.0,
        -0.5292182,
        -0.617791,
        0.0,
    ];
    const W: [i8; 185] = [
        127, -89, -22, 111, -49, -126, 19, 65, 62, 79, 37, -93, 89, -21, 89, 80, 120, -124, 93, 33,
        -4, 75, 115, 3, -105, 58, -69, -70, -78, -77, 105, -35, -100, -82, -27, -39, -48, 114, 93,
        19, 124, -41, -92, -58, -105, 115, -72, -14, -76, 123, -87, 4, 115, 5, 102, 101, 68, 62,
        20, 21, 84, -19, 114, 96, -32, -23, 55, 108, -103, -110, -64, -18, -86, 5, 11, 115, 63,
        -63, 73, 78, 46, 45, -48, 55, -93, 33, 107, 120, -51, -43, 30, -26, 59, -76, -84, -115, -8,
        -73, -51, 106, 80, 87, 24, -99, 63, 26, 104, -5, -83, 24, -11, 41, -32, -49, -96, 118, 65,
        -9, -68, 33, -22, 34, -104, -81, 60, -112, 45, -23, -127, 67, 51, 80, 101, 59, 87, -99,
        107, 105, 49, 77, 62, 96, 99, 6, 81, 106, -52, -116, -84, -120, -17, -122, -61, -63, 53,
        -64, 115, -80, 120, 17, -65, -118, -50, 23, -100, -85, -98, 45, -105, -122, -11, -48, 18,
        112, 91, 10, 36, 79, -16, 40, -72, 28, -67, -79, 67,
    ];
    const B: [f32; 5] = [0.49393207, 0.87361914, 1.8790083, 1.4844455, -1.1451769];
    const PCS: [f32; 5] = [
        0.017594345,
        0.016582157,
        0.006523133,
        0.03170398,
        0.04007545,
    ];
    /// (per-channel, asymmetric inputs, activation, expected [3, 5]).
    #[allow(clippy::type_complexity)]
    const CASES: [(bool, bool, i8, [f32; 15]); 8] = [
        (
            false,
            false,
            0,
            [
                -8.617789, -30.767931, -30.866074, -47.42032, 29.841576, 0.55162555, 0.8998141,
                1.8840873, 1.4809427, -1.1800251, -25.273306, 11.15943, -27.652695, -8.72113,
                -13.811884,
            ],
        ),
        (
            false,
            false,
            1,
            [
                0.0, 0.0, 0.0, 0.0, 29.841576, 0.55162555, 0.8998141, 1.8840873, 1.4809427, 0.0,
                0.0, 11.15943, 0.0, 0.0, 0.0,
            ],
        ),
        (
            false,
            true,
            0,
            [
                -8.63616, -30.636213, -30.706219, -47.766636, 29.883244, 0.5517795, 0.8998725,
                1.8841457, 1.4809601, -1.1803182, -25.425268, 11.121343, -27.493607, -8.795172,
                -13.832792,
            ],
        ),
        (
            false,
            true,
            1,
            [
                0.0, 0.0, 0.0, 0.0, 29.883244, 0.5517795, 0.8998725, 1.8841457, 1.4809601, 0.0,
                0.0, 11.121343, 0.0, 0.0, 0.0,
            ],
        ),
        (
            true,
            false,
            0,
            [
                -8.617789, -28.947622, -10.261286, -86.63908, 69.434784, 0.55162555, 0.89830714,
                1.8808913, 1.4781338, -1.2245523, -25.273306, 10.567696, -9.069921, -16.905405,
                -29.99672,
            ],
        ),
        (
            true,
            false,
            1,
            [
                0.0, 0.0, 0.0, 0.0, 69.434784, 0.55162555, 0.89830714, 1.8808913, 1.4781338, 0.0,
                0.0, 10.567696, 0.0, 0.0, 0.0,
            ],
        ),
        (
            true,
            true,
            0,
            [
                -8.63616, -28.82348, -10.20202, -87.263115, 69.529686, 0.5517795, 0.89836216,
                1.880913, 1.4781651, -1.22522, -25.425268, 10.531799, -9.010938, -17.038824,
                -30.044346,
            ],
        ),
        (
            true,
            true,
            1,
            [
                0.0, 0.0, 0.0, 0.0, 69.529686, 0.5517795, 0.89836216, 1.880913, 1.4781651, 0.0,
                0.0, 10.531799, 0.0, 0.0, 0.0,
            ],
        ),
    ];

    #[test]
    fn matches_litert_per_tensor_and_per_channel() {
        for (per_channel, asym, act, want) in CASES {
            let o = opts(act, asym);
            let q = if per_channel {
                qp(&PCS, &[0; 5], 0)
            } else {
                qp(&PCS[..1], &[0], 0)
            };
            for threads in [1, 2] {
                let (shape, got) = QTest::new("FULLY_CONNECTED", &o, DType::Float32)
                    .input(DType::Float32, &[3, 37], &X, false, None)
                    .input(DType::Int8, &[5, 37], &W, true, q.clone())
                    .input(DType::Float32, &[5], &B, threads == 1, None)
                    .run_f32(threads);
                assert_eq!(shape, [3, 5]);
                assert_eq!(got, want, "per_channel {per_channel} asym {asym} act {act}");
            }
        }
    }

    #[test]
    fn all_zero_input_gives_the_activated_bias() {
        let o = opts(1, false);
        let (_, got) = QTest::new("FULLY_CONNECTED", &o, DType::Float32)
            .input(DType::Float32, &[1, 37], &[0f32; 37], false, None)
            .input(DType::Int8, &[5, 37], &W, true, qp(&PCS, &[0; 5], 0))
            .input(DType::Float32, &[5], &B, true, None)
            .run_f32(1);
        assert_eq!(got, B.map(|b| b.max(0.0)));
    }

    #[test]
    fn rejects_what_it_does_not_run() {
        let o = opts(0, false);
        let t = |q| {
            QTest::new("FULLY_CONNECTED", &o, DType::Float32)
                .input(DType::Float32, &[1, 37], &X[..37], false, None)
                .input(DType::Int8, &[5, 37], &W, true, q)
                .build()
        };
        assert!(matches!(t(None), Err(KernelError::Unsupported(_))));
        assert!(matches!(
            t(qp(&[0.1], &[3], 0)),
            Err(KernelError::Unsupported(_))
        ));
        assert!(matches!(
            t(qp(&[0.1; 3], &[0; 3], 0)),
            Err(KernelError::Unsupported(_))
        ));
        assert!(matches!(
            t(qp(&[0.0], &[0], 0)),
            Err(KernelError::InvalidInput(_))
        ));
        // Non-constant weights.
        let t = QTest::new("FULLY_CONNECTED", &o, DType::Float32)
            .input(DType::Float32, &[1, 37], &X[..37], false, None)
            .input(DType::Int8, &[5, 37], &W, false, qp(&[0.1], &[0], 0));
        assert!(matches!(t.build(), Err(KernelError::Unsupported(_))));
    }
}
