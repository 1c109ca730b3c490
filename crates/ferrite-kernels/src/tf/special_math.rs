//! Erf, Erfc, Lgamma and Digamma on float32/float64, elementwise. The
//! float32 ops compute in f64 and round once, which keeps them within a
//! float32 ulp or two of TF's Eigen kernels.

use crate::api::*;
use crate::registry::{named, NamedRegistration};

pub static OPS: &[NamedRegistration] = &[
    named("Erf", build_erf),
    named("Erfc", build_erfc),
    named("Lgamma", build_lgamma),
    named("Digamma", build_digamma),
];

struct Unary {
    f: fn(f64) -> f64,
}

fn build(spec: &OpSpec<'_>, f: fn(f64) -> f64) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 1)?;
    match spec.input(0)?.dtype {
        DType::Float32 | DType::Float64 if spec.output(0)?.dtype == spec.input(0)?.dtype => {
            Ok(Box::new(Unary { f }))
        }
        d => spec.unsupported(format!("dtype {d}")),
    }
}

pub fn build_erf(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, libm::erf)
}

pub fn build_erfc(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, libm::erfc)
}

pub fn build_lgamma(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, libm::lgamma)
}

pub fn build_digamma(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, digamma)
}

/// psi(x): reflection below 0, the recurrence psi(x) = psi(x+1) - 1/x up
/// to x >= 6, then the asymptotic series. Poles (0, -1, ...) give NaN.
pub fn digamma(x: f64) -> f64 {
    if x.is_nan() || x == f64::NEG_INFINITY {
        return f64::NAN;
    }
    if x <= 0.0 {
        if x == x.floor() {
            return f64::NAN;
        }
        // psi(x) = psi(1 - x) - pi / tan(pi x)
        return digamma(1.0 - x) - std::f64::consts::PI / (std::f64::consts::PI * x).tan();
    }
    let mut x = x;
    let mut acc = 0.0;
    while x < 6.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let r = 1.0 / (x * x);
    // Bernoulli terms B2k / (2k x^2k).
    let series = r
        * (1.0 / 12.0
            - r * (1.0 / 120.0 - r * (1.0 / 252.0 - r * (1.0 / 240.0 - r * (1.0 / 132.0)))));
    acc + x.ln() - 0.5 / x - series
}

impl Kernel for Unary {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        Ok(Some(vec![shape_input(inputs, 0)?.shape.to_vec()]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let out = &mut io.outputs[0];
        if x.dtype == DType::Float32 {
            for (o, &v) in out.typed::<f32>()?.iter_mut().zip(x.typed::<f32>()?) {
                *o = (self.f)(f64::from(v)) as f32;
            }
        } else {
            for (o, &v) in out.typed::<f64>()?.iter_mut().zip(x.typed::<f64>()?) {
                *o = (self.f)(v);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::*;

    fn run(build: Builder, x: &[f32]) -> Vec<f32> {
        let t = T::f32(&[x.len()], x);
        run_named(build, "op", &[], &[Some(t)], &[T::out(DType::Float32)]).unwrap()[0].as_f32()
    }

    #[test]
    fn match_known_values() {
        // Reference values from scipy.special.
        let close = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-6 * y.abs().max(1.0))
        };
        assert!(close(
            &run(build_erf, &[0., 0.5, -2.]),
            &[0., 0.520_499_9, -0.995_322_3]
        ));
        assert!(close(&run(build_erfc, &[0., 3.]), &[1., 2.209_049_7e-5]));
        assert!(close(
            &run(build_lgamma, &[1., 0.5, 10., -0.5]),
            &[0., 0.572_364_9, 12.801_827, 1.265_512_1]
        ));
        assert!(close(
            &run(build_digamma, &[1., 0.5, 10., -0.5, 2.5]),
            &[
                -0.577_215_7,
                -1.963_510_1,
                2.251_752_6,
                0.036_489_97,
                0.703_156_6
            ]
        ));
        assert!(run(build_digamma, &[0., -2.]).iter().all(|v| v.is_nan()));
        let int = T::i32(&[1], &[1]);
        assert!(run_named(build_erf, "Erf", &[], &[Some(int)], &[T::out(DType::Int32)]).is_err());
    }
}
