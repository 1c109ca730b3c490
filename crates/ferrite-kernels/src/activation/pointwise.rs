//! Float32 activations applied element by element: RELU, RELU6,
//! RELU_N1_TO_1, RELU_0_TO_1, LEAKY_RELU, LOGISTIC, TANH, HARD_SWISH, ELU
//! and GELU.
//!
//! The clamps follow LiteRT's `x < lo ? lo : x` form, so NaN and -0 pass
//! through unchanged. GELU without `approximate` is LiteRT's erfc form
//! `0.5 x erfc(-x/sqrt 2)`, accurate for large negative x; with it, the tanh
//! form. int8, uint8 and int16 inputs go to [`quantized`].

use crate::activation::quantized::{self, QAct};
use crate::activation::sigmoid;
use crate::api::*;
use crate::elementwise::math::{erfc, map_f32, tanh};

#[derive(Clone, Copy, PartialEq, Debug)]
enum Act {
    Relu,
    Relu6,
    ReluN1To1,
    Relu0To1,
    LeakyRelu(f32),
    Logistic,
    Tanh,
    HardSwish,
    Elu,
    Gelu,
    GeluTanh,
}

struct Pointwise(Act);

fn build(spec: &OpSpec<'_>, act: Act) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    let (x, out) = (spec.input(0)?, spec.output(0)?);
    if matches!(x.dtype, DType::Int8 | DType::Uint8 | DType::Int16) {
        let q = match act {
            Act::Relu => QAct::Relu,
            Act::Relu6 => QAct::Relu6,
            Act::ReluN1To1 => QAct::ReluN1To1,
            Act::Relu0To1 => QAct::Relu0To1,
            Act::LeakyRelu(alpha) => QAct::LeakyRelu(alpha),
            Act::Logistic => QAct::Logistic,
            Act::Tanh => QAct::Tanh,
            Act::HardSwish => QAct::HardSwish,
            Act::Elu => QAct::Elu,
            Act::Gelu => QAct::Gelu { approximate: false },
            Act::GeluTanh => QAct::Gelu { approximate: true },
        };
        return quantized::build(spec, q);
    }
    if x.dtype != DType::Float32 || out.dtype != DType::Float32 {
        let q = if x.quant.is_some() { "quantized " } else { "" };
        return spec.unsupported(format!("{q}dtype {} to {}", x.dtype, out.dtype));
    }
    Ok(Box::new(Pointwise(act)))
}

pub fn build_relu(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Act::Relu)
}
pub fn build_relu6(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Act::Relu6)
}
pub fn build_relu_n1_to_1(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Act::ReluN1To1)
}
pub fn build_relu_0_to_1(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Act::Relu0To1)
}
pub fn build_leaky_relu(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    let alpha = match spec.options {
        BuiltinOptions::LeakyReluOptions(o) => o.alpha,
        _ => 0.0,
    };
    build(spec, Act::LeakyRelu(alpha))
}
pub fn build_logistic(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Act::Logistic)
}
pub fn build_tanh(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Act::Tanh)
}
pub fn build_hard_swish(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Act::HardSwish)
}
pub fn build_elu(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Act::Elu)
}
pub fn build_gelu(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    let approximate = match spec.options {
        BuiltinOptions::GeluOptions(o) => o.approximate,
        _ => false,
    };
    build(
        spec,
        if approximate {
            Act::GeluTanh
        } else {
            Act::Gelu
        },
    )
}

/// `x < lo ? lo : (x > hi ? hi : x)`: NaN and -0 pass through.
#[inline(always)]
fn clamp(x: f32, lo: f32, hi: f32) -> f32 {
    if x < lo {
        lo
    } else if x > hi {
        hi
    } else {
        x
    }
}

/// sqrt(2/pi), as LiteRT rounds it to float.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;

#[inline(always)]
fn gelu_tanh(x: f32) -> f32 {
    0.5 * x * (1.0 + tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)))
}

#[inline(always)]
fn hard_swish(x: f32) -> f32 {
    // std::max(0, x + 3) picks 0 for NaN; the product keeps NaN anyway.
    let r = x + 3.0;
    let r = if 0.0 < r { r } else { 0.0 };
    let r = if r < 6.0 { r } else { 6.0 };
    x * r / 6.0
}

impl Kernel for Pointwise {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        Ok(Some(vec![shape_input(inputs, 0)?.shape.to_vec()]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?.f32()?;
        let par = io.par;
        let o = io.outputs[0].f32()?;
        match self.0 {
            Act::Relu => map_f32(par, x, o, |v| if v < 0.0 { 0.0 } else { v }),
            Act::Relu6 => map_f32(par, x, o, |v| clamp(v, 0.0, 6.0)),
            Act::ReluN1To1 => map_f32(par, x, o, |v| clamp(v, -1.0, 1.0)),
            Act::Relu0To1 => map_f32(par, x, o, |v| clamp(v, 0.0, 1.0)),
            Act::LeakyRelu(alpha) => {
                map_f32(par, x, o, move |v| if v > 0.0 { v } else { v * alpha })
            }
            Act::Logistic => sigmoid::map(par, x, o, sigmoid::Form::Sigmoid),
            Act::Tanh => map_f32(par, x, o, tanh),
            Act::HardSwish => map_f32(par, x, o, hard_swish),
            Act::Elu => map_f32(par, x, o, |v| if v < 0.0 { v.exp_m1() } else { v }),
            Act::Gelu => map_f32(par, x, o, |v| {
                0.5 * v * erfc(v * -std::f32::consts::FRAC_1_SQRT_2)
            }),
            Act::GeluTanh => map_f32(par, x, o, gelu_tanh),
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::excessive_precision)] // reference values as printed
mod tests {
    use super::*;
    use crate::elementwise::binary::tests::{bytes_f32, f32_bytes, run_kernel, spec_build};

    fn run(build: Builder, options: BuiltinOptions, x: &[f32]) -> Vec<f32> {
        let k = spec_build(
            build,
            "ACT",
            options,
            &[(DType::Float32, &[x.len()])],
            DType::Float32,
        )
        .unwrap();
        bytes_f32(
            &run_kernel(
                k.as_ref(),
                &[(DType::Float32, &[x.len()], f32_bytes(x))],
                DType::Float32,
            )
            .unwrap()
            .1,
        )
    }

    const X: [f32; 13] = [
        f32::NAN,
        f32::NEG_INFINITY,
        f32::INFINITY,
        -100.0,
        -10.0,
        -1.0,
        -0.0,
        0.0,
        1e-8,
        0.5,
        3.0,
        10.0,
        100.0,
    ];

    /// Equal up to `rel` relative error, NaN matching NaN, zero signs exact.
    fn check(got: &[f32], want: &[f32], rel: f32) {
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let ok = (g.is_nan() && w.is_nan())
                || (g == w && g.is_sign_negative() == w.is_sign_negative())
                || (g - w).abs() <= rel * w.abs();
            assert!(ok, "element {i}: got {g:e} want {w:e}\n{got:?}");
        }
    }

    #[test]
    fn clamps_match_litert() {
        // Expected outputs: ai_edge_litert 2.3.0 BUILTIN_WITHOUT_DEFAULT_DELEGATES.
        let (nan, inf) = (f32::NAN, f32::INFINITY);
        let none = BuiltinOptions::None;
        check(
            &run(build_relu, none.clone(), &X),
            &[
                nan, 0.0, inf, 0.0, 0.0, 0.0, -0.0, 0.0, 1e-8, 0.5, 3.0, 10.0, 100.0,
            ],
            0.0,
        );
        check(
            &run(build_relu6, none.clone(), &X),
            &[
                nan, 0.0, 6.0, 0.0, 0.0, 0.0, -0.0, 0.0, 1e-8, 0.5, 3.0, 6.0, 6.0,
            ],
            0.0,
        );
        check(
            &run(build_relu_n1_to_1, none.clone(), &X),
            &[
                nan, -1.0, 1.0, -1.0, -1.0, -1.0, -0.0, 0.0, 1e-8, 0.5, 1.0, 1.0, 1.0,
            ],
            0.0,
        );
        check(
            &run(build_relu_0_to_1, none, &X),
            &[
                nan, 0.0, 1.0, 0.0, 0.0, 0.0, -0.0, 0.0, 1e-8, 0.5, 1.0, 1.0, 1.0,
            ],
            0.0,
        );
        let leaky = BuiltinOptions::LeakyReluOptions(ferrite_format::options::LeakyReluOptions {
            alpha: 0.2,
        });
        check(
            &run(build_leaky_relu, leaky, &X),
            &[
                nan, -inf, inf, -20.0, -2.0, -0.2, -0.0, 0.0, 1e-8, 0.5, 3.0, 10.0, 100.0,
            ],
            1e-7,
        );
    }

    #[test]
    fn smooth_activations_match_litert() {
        let (nan, inf) = (f32::NAN, f32::INFINITY);
        let none = BuiltinOptions::None;
        let logistic = [
            nan,
            0.0,
            1.0,
            3.7835059e-44,
            4.5397861e-05,
            2.6894140e-01,
            0.5,
            0.5,
            0.5,
            6.2245935e-01,
            9.5257413e-01,
            9.9995458e-01,
            1.0,
        ];
        // The subnormal sigmoid(-100) has few significant bits.
        check(
            &run(build_logistic, none.clone(), &X)[4..],
            &logistic[4..],
            1e-6,
        );
        assert!((run(build_logistic, none.clone(), &[-100.0])[0] - 3.7835059e-44).abs() < 1e-45);
        let tanh = [
            nan,
            -1.0,
            1.0,
            -1.0,
            -1.0,
            -7.6159418e-01,
            -0.0,
            0.0,
            9.9999999e-09,
            4.6211714e-01,
            9.9505472e-01,
            1.0,
            1.0,
        ];
        check(&run(build_tanh, none.clone(), &X), &tanh, 1e-6);
        let elu = [
            nan,
            -1.0,
            inf,
            -1.0,
            -9.9995458e-01,
            -6.3212055e-01,
            -0.0,
            0.0,
            9.9999999e-09,
            0.5,
            3.0,
            10.0,
            100.0,
        ];
        check(&run(build_elu, none.clone(), &X), &elu, 1e-6);
        let hs = [
            nan,
            nan,
            inf,
            -0.0,
            -0.0,
            -3.3333334e-01,
            -0.0,
            0.0,
            5.0e-09,
            2.9166669e-01,
            3.0,
            10.0,
            100.0,
        ];
        check(&run(build_hard_swish, none, &X), &hs, 1e-6);
        let exact = BuiltinOptions::GeluOptions(ferrite_format::options::GeluOptions {
            approximate: false,
        });
        let gelu = [
            nan,
            nan,
            inf,
            -0.0,
            -7.6198536e-23,
            -1.5865526e-01,
            -0.0,
            0.0,
            5.0e-09,
            3.4573123e-01,
            2.9959502,
            10.0,
            100.0,
        ];
        check(&run(build_gelu, exact, &X), &gelu, 1e-6);
        let approx =
            BuiltinOptions::GeluOptions(ferrite_format::options::GeluOptions { approximate: true });
        let gelu_t = [
            nan,
            nan,
            inf,
            -0.0,
            -0.0,
            -1.5880799e-01,
            -0.0,
            0.0,
            5.0e-09,
            3.4571400e-01,
            2.9963627,
            10.0,
            100.0,
        ];
        check(&run(build_gelu, approx, &X), &gelu_t, 1e-6);
    }
}
