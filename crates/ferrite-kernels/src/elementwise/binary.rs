//! ADD, SUB, MUL, DIV on float32 and int32/int64 with NumPy broadcasting
//! and fused activations.

use crate::api::*;
use crate::common::{broadcast_binary, broadcast_shapes, Activation};

#[derive(Clone, Copy)]
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

fn build(spec: &OpSpec<'_>, op: BinOp) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    let act_code = match spec.options {
        BuiltinOptions::AddOptions(o) => o.fused_activation_function,
        BuiltinOptions::SubOptions(o) => o.fused_activation_function,
        BuiltinOptions::MulOptions(o) => o.fused_activation_function,
        BuiltinOptions::DivOptions(o) => o.fused_activation_function,
        _ => 0,
    };
    let act = Activation::from_code(act_code)?;
    let dtype = spec.input(0)?.dtype;
    if spec.input(1)?.dtype != dtype || spec.output(0)?.dtype != dtype {
        return spec.unsupported("mixed input/output dtypes");
    }
    let quantized = spec.input(0)?.quant.is_some() && dtype != DType::Float32;
    match dtype {
        DType::Float32 => {}
        DType::Int32 | DType::Int64 if !quantized && act == Activation::None => {}
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

fn int_op<T>(op: BinOp) -> impl Fn(T, T) -> T
where
    T: Copy + num_like::Int,
{
    move |x, y| match op {
        BinOp::Add => x.wadd(y),
        BinOp::Sub => x.wsub(y),
        BinOp::Mul => x.wmul(y),
        // TFLite's integer DIV truncates; division by zero yields 0 rather
        // than trapping.
        BinOp::Div => x.tdiv(y),
    }
}

mod num_like {
    pub trait Int {
        fn wadd(self, o: Self) -> Self;
        fn wsub(self, o: Self) -> Self;
        fn wmul(self, o: Self) -> Self;
        fn tdiv(self, o: Self) -> Self;
    }
    macro_rules! int {
        ($($t:ty),*) => {$(
            impl Int for $t {
                fn wadd(self, o: Self) -> Self { self.wrapping_add(o) }
                fn wsub(self, o: Self) -> Self { self.wrapping_sub(o) }
                fn wmul(self, o: Self) -> Self { self.wrapping_mul(o) }
                fn tdiv(self, o: Self) -> Self { if o == 0 { 0 } else { self.wrapping_div(o) } }
            }
        )*};
    }
    int!(i32, i64);
}

impl Kernel for Binary {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let a = shape_input(inputs, 0)?;
        let b = shape_input(inputs, 1)?;
        Ok(Some(vec![broadcast_shapes(a.shape, b.shape)?]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let a = io.input(0)?;
        let b = io.input(1)?;
        let out = &mut io.outputs[0];
        let shape = out.shape.to_vec();
        match self.dtype {
            DType::Float32 => {
                let (x, y) = (a.f32()?, b.f32()?);
                let o = out.f32()?;
                let act = self.act;
                match self.op {
                    BinOp::Add => {
                        broadcast_binary(x, a.shape, y, b.shape, o, &shape, |p, q| act.apply(p + q))
                    }
                    BinOp::Sub => {
                        broadcast_binary(x, a.shape, y, b.shape, o, &shape, |p, q| act.apply(p - q))
                    }
                    BinOp::Mul => {
                        broadcast_binary(x, a.shape, y, b.shape, o, &shape, |p, q| act.apply(p * q))
                    }
                    BinOp::Div => {
                        broadcast_binary(x, a.shape, y, b.shape, o, &shape, |p, q| act.apply(p / q))
                    }
                }
            }
            DType::Int32 => {
                let (x, y) = (a.typed::<i32>()?, b.typed::<i32>()?);
                broadcast_binary(
                    x,
                    a.shape,
                    y,
                    b.shape,
                    out.typed::<i32>()?,
                    &shape,
                    int_op(self.op),
                );
            }
            DType::Int64 => {
                let (x, y) = (a.typed::<i64>()?, b.typed::<i64>()?);
                broadcast_binary(
                    x,
                    a.shape,
                    y,
                    b.shape,
                    out.typed::<i64>()?,
                    &shape,
                    int_op(self.op),
                );
            }
            other => return unsupported(format!("dtype {other}")),
        }
        Ok(())
    }
}
