//! ADD, SUB, MUL, DIV on float32 and int32/int64 with NumPy broadcasting
//! and fused activations.
//!
//! LiteRT clamps every float result to the activation range, and with no
//! activation that range is [-FLT_MAX, FLT_MAX]: an overflow to ±inf comes
//! out as ±FLT_MAX while NaN passes through. Integer DIV by zero is an error.

use super::broadcast::binary;
use super::quantized_arith::QOp;
use crate::api::*;
use crate::common::{broadcast_shapes, clamp, Activation};

#[derive(Clone, Copy, PartialEq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Div,
}

struct Binary {
    op: BinOp,
    act: Activation,
    dtype: DType,
}

/// The float clamp LiteRT applies for a fused activation; `None` for TANH
/// and SIGN_BIT, which arithmetic kernels do not implement.
pub fn float_bounds(act: Activation) -> Option<(f32, f32)> {
    match act {
        Activation::Tanh | Activation::SignBit => None,
        _ => Some(act.float_range()),
    }
}

/// The integer clamp for a fused activation (as i64 bounds).
pub fn int_bounds(act: Activation) -> Option<(i64, i64)> {
    Some(match act {
        Activation::None => (i64::MIN, i64::MAX),
        Activation::Relu => (0, i64::MAX),
        Activation::ReluN1To1 => (-1, 1),
        Activation::Relu6 => (0, 6),
        Activation::Tanh | Activation::SignBit => return None,
    })
}

fn build(spec: &OpSpec<'_>, op: BinOp) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    let quantized_op = match op {
        BinOp::Add => Some(QOp::Add),
        BinOp::Sub => Some(QOp::Sub),
        BinOp::Mul => Some(QOp::Mul),
        BinOp::Div => None,
    };
    if let (DType::Int8 | DType::Uint8 | DType::Int16, Some(q)) =
        (spec.output(0)?.dtype, quantized_op)
    {
        return super::quantized_arith::build(spec, q);
    }
    let act_code = match spec.options {
        BuiltinOptions::AddOptions(o) => o.fused_activation_function,
        BuiltinOptions::SubOptions(o) => o.fused_activation_function,
        BuiltinOptions::MulOptions(o) => o.fused_activation_function,
        BuiltinOptions::DivOptions(o) => o.fused_activation_function,
        _ => 0,
    };
    let act = Activation::from_code(act_code)?;
    if float_bounds(act).is_none() {
        return spec.unsupported(format!("fused activation {act:?}"));
    }
    let dtype = spec.input(0)?.dtype;
    if spec.input(1)?.dtype != dtype || spec.output(0)?.dtype != dtype {
        return spec.unsupported("mixed input/output dtypes");
    }
    let quantized = spec.input(0)?.quant.is_some() || spec.output(0)?.quant.is_some();
    match dtype {
        DType::Float32 => {}
        DType::Int32 | DType::Int64 if !quantized => {}
        other => return spec.unsupported(format!("dtype {other}")),
    }
    Ok(Box::new(Binary { op, act, dtype }))
}

pub fn build_add(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, BinOp::Add)
}
pub fn build_sub(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, BinOp::Sub)
}
pub fn build_mul(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, BinOp::Mul)
}
pub fn build_div(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, BinOp::Div)
}

macro_rules! int_eval {
    ($t:ty, $self:ident, $io:ident) => {{
        let a = $io.input(0)?;
        let b = $io.input(1)?;
        let (x, y) = (a.typed::<$t>()?, b.typed::<$t>()?);
        if $self.op == BinOp::Div && y.contains(&0) {
            return invalid("integer division by zero");
        }
        let (lo, hi) = int_bounds($self.act).unwrap_or((i64::MIN, i64::MAX));
        let (lo, hi) = (
            lo.max(<$t>::MIN as i64) as $t,
            hi.min(<$t>::MAX as i64) as $t,
        );
        let out = &mut $io.outputs[0];
        let shape = out.shape.to_vec();
        let o = out.typed::<$t>()?;
        let par = $io.par;
        match $self.op {
            // Overflow wraps, as the two's-complement hardware LiteRT runs on.
            BinOp::Add => binary(par, x, a.shape, y, b.shape, o, &shape, |p, q| {
                p.wrapping_add(q).clamp(lo, hi)
            }),
            BinOp::Sub => binary(par, x, a.shape, y, b.shape, o, &shape, |p, q| {
                p.wrapping_sub(q).clamp(lo, hi)
            }),
            BinOp::Mul => binary(par, x, a.shape, y, b.shape, o, &shape, |p, q| {
                p.wrapping_mul(q).clamp(lo, hi)
            }),
            // Truncating division; q is never 0 here.
            BinOp::Div => binary(par, x, a.shape, y, b.shape, o, &shape, |p, q| {
                p.wrapping_div(q).clamp(lo, hi)
            }),
        }
    }};
}

impl Kernel for Binary {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let a = shape_input(inputs, 0)?;
        let b = shape_input(inputs, 1)?;
        Ok(Some(vec![broadcast_shapes(a.shape, b.shape)?]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        match self.dtype {
            DType::Float32 => {
                let a = io.input(0)?;
                let b = io.input(1)?;
                let (x, y) = (a.f32()?, b.f32()?);
                let out = &mut io.outputs[0];
                let shape = out.shape.to_vec();
                let o = out.f32()?;
                let (lo, hi) = float_bounds(self.act).unwrap_or((f32::MIN, f32::MAX));
                let par = io.par;
                match self.op {
                    BinOp::Add => binary(par, x, a.shape, y, b.shape, o, &shape, |p, q| {
                        clamp(p + q, lo, hi)
                    }),
                    BinOp::Sub => binary(par, x, a.shape, y, b.shape, o, &shape, |p, q| {
                        clamp(p - q, lo, hi)
                    }),
                    BinOp::Mul => binary(par, x, a.shape, y, b.shape, o, &shape, |p, q| {
                        clamp(p * q, lo, hi)
                    }),
                    BinOp::Div => binary(par, x, a.shape, y, b.shape, o, &shape, |p, q| {
                        clamp(p / q, lo, hi)
                    }),
                }
            }
            DType::Int32 => int_eval!(i32, self, io),
            DType::Int64 => int_eval!(i64, self, io),
            other => return unsupported(format!("dtype {other}")),
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::parallel::Parallel;

    /// Runs a built kernel on float inputs and returns the output.
    pub fn run_kernel(
        k: &dyn Kernel,
        inputs: &[(DType, &[usize], Vec<u8>)],
        out_dtype: DType,
    ) -> KResult<(Vec<usize>, Vec<u8>)> {
        let args: Vec<Option<ShapeArg>> = inputs
            .iter()
            .map(|(d, s, v)| {
                Some(ShapeArg {
                    dtype: *d,
                    shape: s,
                    value: Some(v),
                })
            })
            .collect();
        let shape = k.output_shapes(&args)?.expect("shape known").remove(0);
        let refs: Vec<Option<TensorRef>> = inputs
            .iter()
            .map(|(d, s, v)| {
                Some(TensorRef {
                    dtype: *d,
                    shape: s,
                    data: v,
                    quant: None,
                })
            })
            .collect();
        let mut buf = AlignedBuf::default();
        let n: usize = shape.iter().product();
        buf.resize(n * out_dtype.element_size().unwrap_or(0));
        let mut outs = [TensorMut {
            dtype: out_dtype,
            shape: &shape,
            buf: &mut buf,
            quant: None,
        }];
        let par = Parallel::single();
        k.eval(&mut EvalIo {
            inputs: &refs,
            outputs: &mut outs,
            par: &par,
        })?;
        Ok((shape.clone(), buf.bytes().to_vec()))
    }

    /// Builds `op` for the given input dtypes/shapes (output dtype `out`).
    pub fn spec_build(
        build: Builder,
        name: &str,
        options: BuiltinOptions,
        inputs: &[(DType, &[usize])],
        out: DType,
    ) -> KResult<Box<dyn Kernel>> {
        let ins: Vec<Option<TensorSpec>> = inputs
            .iter()
            .map(|&(dtype, shape)| {
                Some(TensorSpec {
                    name: "in",
                    dtype,
                    shape,
                    quant: None,
                    data: None,
                })
            })
            .collect();
        let outs = [TensorSpec {
            name: "out",
            dtype: out,
            shape: &[],
            quant: None,
            data: None,
        }];
        let opts2 = BuiltinOptions2::None;
        build(&OpSpec {
            code: 0,
            name,
            version: 1,
            options: &options,
            options2: &opts2,
            custom_options: None,
            attrs: &[],
            inputs: &ins,
            outputs: &outs,
        })
    }

    pub fn f32_bytes(v: &[f32]) -> Vec<u8> {
        bytemuck::cast_slice(v).to_vec()
    }

    /// Reads typed values out of a byte buffer.
    pub fn from_bytes<T: bytemuck::Pod>(v: &[u8]) -> Vec<T> {
        v.chunks_exact(std::mem::size_of::<T>())
            .map(bytemuck::pod_read_unaligned)
            .collect()
    }

    pub fn bytes_f32(v: &[u8]) -> Vec<f32> {
        v.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    }

    fn run_f32(
        build: Builder,
        opts: BuiltinOptions,
        a: (&[usize], &[f32]),
        b: (&[usize], &[f32]),
    ) -> (Vec<usize>, Vec<f32>) {
        let k = spec_build(
            build,
            "BIN",
            opts,
            &[(DType::Float32, a.0), (DType::Float32, b.0)],
            DType::Float32,
        )
        .unwrap();
        let (s, o) = run_kernel(
            k.as_ref(),
            &[
                (DType::Float32, a.0, f32_bytes(a.1)),
                (DType::Float32, b.0, f32_bytes(b.1)),
            ],
            DType::Float32,
        )
        .unwrap();
        (s, bytes_f32(&o))
    }

    #[test]
    fn float_ops_broadcast_and_clamp() {
        let relu = BuiltinOptions::AddOptions(ferrite_format::options::AddOptions {
            fused_activation_function: 1,
            ..Default::default()
        });
        let (s, o) = run_f32(
            build_add,
            relu,
            (&[2, 2], &[1.0, -5.0, 2.0, f32::NAN]),
            (&[2], &[1.0, 2.0]),
        );
        assert_eq!(s, vec![2, 2]);
        assert_eq!(o[..3], [2.0, 0.0, 3.0]);
        assert!(o[3].is_nan());
        // Overflow saturates to FLT_MAX without an activation, as in LiteRT.
        let (_, o) = run_f32(
            build_mul,
            BuiltinOptions::None,
            (&[3], &[1e30, -1e30, 2.0]),
            (&[], &[1e30]),
        );
        assert_eq!(o, [f32::MAX, f32::MIN, 2e30]);
        let (_, o) = run_f32(
            build_div,
            BuiltinOptions::None,
            (&[3], &[2.0, 0.0, -1.0]),
            (&[3], &[0.0, 0.0, 4.0]),
        );
        assert_eq!(o[0], f32::MAX);
        assert!(o[1].is_nan());
        assert_eq!(o[2], -0.25);
        let r6 = BuiltinOptions::SubOptions(ferrite_format::options::SubOptions {
            fused_activation_function: 3,
            ..Default::default()
        });
        let (_, o) = run_f32(
            build_sub,
            r6,
            (&[3, 1], &[10.0, 3.0, -1.0]),
            (&[1, 2], &[1.0, 2.0]),
        );
        assert_eq!(o, [6.0, 6.0, 2.0, 1.0, 0.0, 0.0]);
        assert!(run_f32_err(build_add, (&[2], &[3])));
    }

    fn run_f32_err(build: Builder, shapes: (&[usize], &[usize])) -> bool {
        let k = spec_build(
            build,
            "BIN",
            BuiltinOptions::None,
            &[(DType::Float32, shapes.0), (DType::Float32, shapes.1)],
            DType::Float32,
        )
        .unwrap();
        let args = [
            Some(ShapeArg {
                dtype: DType::Float32,
                shape: shapes.0,
                value: None,
            }),
            Some(ShapeArg {
                dtype: DType::Float32,
                shape: shapes.1,
                value: None,
            }),
        ];
        k.output_shapes(&args).is_err()
    }

    #[test]
    fn int_ops_wrap_truncate_and_reject_zero_divisors() {
        let k = spec_build(
            build_div,
            "DIV",
            BuiltinOptions::None,
            &[(DType::Int32, &[4]), (DType::Int32, &[4])],
            DType::Int32,
        )
        .unwrap();
        let a: Vec<u8> = bytemuck::cast_slice(&[7i32, -7, 7, i32::MIN]).to_vec();
        let b: Vec<u8> = bytemuck::cast_slice(&[2i32, 2, -2, -1]).to_vec();
        let (_, o) = run_kernel(
            k.as_ref(),
            &[(DType::Int32, &[4], a.clone()), (DType::Int32, &[4], b)],
            DType::Int32,
        )
        .unwrap();
        assert_eq!(bytemuck::cast_slice::<u8, i32>(&o), [3, -3, -3, i32::MIN]);
        let zero: Vec<u8> = bytemuck::cast_slice(&[2i32, 0, 1, 1]).to_vec();
        let err = run_kernel(
            k.as_ref(),
            &[(DType::Int32, &[4], a), (DType::Int32, &[4], zero)],
            DType::Int32,
        );
        assert!(matches!(err, Err(KernelError::InvalidInput(_))));

        let relu = BuiltinOptions::MulOptions(ferrite_format::options::MulOptions {
            fused_activation_function: 1,
        });
        let k = spec_build(
            build_mul,
            "MUL",
            relu,
            &[(DType::Int64, &[3]), (DType::Int64, &[])],
            DType::Int64,
        )
        .unwrap();
        let a: Vec<u8> = bytemuck::cast_slice(&[3i64, -4, i64::MAX]).to_vec();
        let b: Vec<u8> = bytemuck::cast_slice(&[2i64]).to_vec();
        let (_, o) = run_kernel(
            k.as_ref(),
            &[(DType::Int64, &[3], a), (DType::Int64, &[], b)],
            DType::Int64,
        )
        .unwrap();
        assert_eq!(bytemuck::cast_slice::<u8, i64>(&o), [6, 0, 0]);
    }

    #[test]
    fn unsupported_cases_are_reported() {
        let tanh = BuiltinOptions::AddOptions(ferrite_format::options::AddOptions {
            fused_activation_function: 4,
            ..Default::default()
        });
        let r = spec_build(
            build_add,
            "ADD",
            tanh,
            &[(DType::Float32, &[1]), (DType::Float32, &[1])],
            DType::Float32,
        );
        assert!(matches!(r, Err(KernelError::Unsupported(_))));
        let r = spec_build(
            build_add,
            "ADD",
            BuiltinOptions::None,
            &[(DType::Int8, &[1]), (DType::Int8, &[1])],
            DType::Int8,
        );
        assert!(matches!(r, Err(KernelError::Unsupported(_))));
    }
}
