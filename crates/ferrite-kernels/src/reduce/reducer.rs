//! The kernel behind MEAN, SUM, REDUCE_PROD, REDUCE_MAX, REDUCE_MIN,
//! REDUCE_ANY and REDUCE_ALL: input 0 is the data, input 1 the axes,
//! ReducerOptions.keep_dims the output rank rule.
//!
//! LiteRT semantics kept here: float sums and products accumulate in float
//! in input order; MEAN divides the sum by the reduced count (float), or
//! truncates (int32 sums in int64, int64); an empty input makes MEAN NaN
//! (0 for integers) and the others their identity (lowest/highest finite
//! value for MAX/MIN); integer overflow wraps.

use super::axes::{axis_values, reduced_shape, resolve_axes, Plan};
use crate::api::*;
use crate::parallel::Parallel;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReduceOp {
    Mean,
    Sum,
    Prod,
    Max,
    Min,
    Any,
    All,
}

struct Reducer {
    op: ReduceOp,
    dtype: DType,
    keep_dims: bool,
}

/// Quantization is compatible with comparing raw values: both absent, or
/// the same parameters in and out.
fn same_quant(a: Option<&QuantParams>, b: Option<&QuantParams>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

pub fn build(spec: &OpSpec<'_>, op: ReduceOp) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    let keep_dims = match spec.options {
        BuiltinOptions::ReducerOptions(o) => o.keep_dims,
        _ => false,
    };
    let x = spec.input(0)?;
    let y = spec.output(0)?;
    let axes = spec.input(1)?;
    if !matches!(axes.dtype, DType::Int32 | DType::Int64) {
        return invalid(format!(
            "{}: axis tensor must be int32 or int64, got {}",
            spec.name, axes.dtype
        ));
    }
    if x.dtype != y.dtype {
        return spec.unsupported(format!("input {} with output {}", x.dtype, y.dtype));
    }
    if matches!(op, ReduceOp::Mean | ReduceOp::Sum)
        && matches!(x.dtype, DType::Int8 | DType::Uint8 | DType::Int16)
    {
        return super::quantized_mean::build(spec, keep_dims, op == ReduceOp::Sum);
    }
    let quantized = x.quant.is_some() || y.quant.is_some();
    let ok = match (op, x.dtype) {
        (ReduceOp::Any | ReduceOp::All, DType::Bool) => true,
        (ReduceOp::Any | ReduceOp::All, _) => false,
        (_, DType::Float32) => true,
        (_, DType::Int32 | DType::Int64) => !quantized,
        // Max/min of raw 8/16-bit values is exact when in and out share
        // their quantization.
        (ReduceOp::Max | ReduceOp::Min, DType::Int8 | DType::Uint8 | DType::Int16) => {
            same_quant(x.quant, y.quant)
        }
        _ => false,
    };
    if !ok {
        let q = if quantized { "quantized " } else { "" };
        return spec.unsupported(format!("{q}dtype {}", x.dtype));
    }
    Ok(Box::new(Reducer {
        op,
        dtype: x.dtype,
        keep_dims,
    }))
}

impl Kernel for Reducer {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let x = shape_input(inputs, 0)?;
        let Some(axes) = axis_values(shape_input(inputs, 1)?)? else {
            return Ok(None);
        };
        let axes = resolve_axes(&axes, x.shape.len())?;
        Ok(Some(vec![reduced_shape(x.shape, &axes, self.keep_dims)]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let axes = io.input(1)?;
        let Some(axes) = axis_values(&axes.as_shape_arg())? else {
            return invalid("axis values missing");
        };
        let axes = resolve_axes(&axes, x.shape.len())?;
        let plan = Plan::new(x.shape, &axes);
        let par = io.par;
        let out = &mut io.outputs[0];
        let kept: usize = reduced_shape(x.shape, &axes, false).iter().product();
        if out.num_elements() != kept
            || x.num_elements() * x.dtype.element_size().unwrap_or(0) != x.data.len()
        {
            return invalid("reduction buffers do not match their shapes");
        }
        // No axes: LiteRT copies (MEAN still divides by 1).
        if axes.is_empty() && self.op != ReduceOp::Mean {
            let o = out.bytes_mut();
            if o.len() != x.data.len() {
                return invalid("reduction output size differs from input");
            }
            o.copy_from_slice(x.data);
            return Ok(());
        }
        use ReduceOp::*;
        match (self.op, self.dtype) {
            (Mean, DType::Float32) => {
                let o = out.f32()?;
                if plan.empty {
                    o.fill(f32::NAN);
                    return Ok(());
                }
                o.fill(0.0);
                plan.fold(par, x.f32()?, o, |a, v| a + v);
                let n = plan.reduced as f32;
                o.iter_mut().for_each(|v| *v /= n);
            }
            (Mean, DType::Int32) => {
                let o = out.typed::<i32>()?;
                let mut acc = vec![0i64; o.len()];
                plan.fold(par, x.typed::<i32>()?, &mut acc, |a, v| {
                    a.wrapping_add(v as i64)
                });
                let n = plan.reduced.max(1) as i64;
                for (o, a) in o.iter_mut().zip(acc) {
                    *o = (a / n) as i32;
                }
            }
            (Mean, DType::Int64) => {
                let o = out.typed::<i64>()?;
                o.fill(0);
                plan.fold(par, x.typed::<i64>()?, o, |a, v| a.wrapping_add(v));
                let n = plan.reduced.max(1) as i64;
                o.iter_mut().for_each(|v| *v = v.wrapping_div(n));
            }
            (Sum, DType::Float32) => run(&plan, par, x.f32()?, out.f32()?, 0.0, |a, v| a + v),
            (Sum, DType::Int32) => run(&plan, par, x.typed()?, out.typed()?, 0i32, |a, v| {
                a.wrapping_add(v)
            }),
            (Sum, DType::Int64) => run(&plan, par, x.typed()?, out.typed()?, 0i64, |a, v| {
                a.wrapping_add(v)
            }),
            (Prod, DType::Float32) => run(&plan, par, x.f32()?, out.f32()?, 1.0, |a, v| a * v),
            (Prod, DType::Int32) => run(&plan, par, x.typed()?, out.typed()?, 1i32, |a, v| {
                a.wrapping_mul(v)
            }),
            (Prod, DType::Int64) => run(&plan, par, x.typed()?, out.typed()?, 1i64, |a, v| {
                a.wrapping_mul(v)
            }),
            (Max, DType::Float32) => run(&plan, par, x.f32()?, out.f32()?, f32::MIN, max_f32),
            (Min, DType::Float32) => run(&plan, par, x.f32()?, out.f32()?, f32::MAX, min_f32),
            (Max, DType::Int32) => run(&plan, par, x.typed()?, out.typed()?, i32::MIN, Ord::max),
            (Min, DType::Int32) => run(&plan, par, x.typed()?, out.typed()?, i32::MAX, Ord::min),
            (Max, DType::Int64) => run(&plan, par, x.typed()?, out.typed()?, i64::MIN, Ord::max),
            (Min, DType::Int64) => run(&plan, par, x.typed()?, out.typed()?, i64::MAX, Ord::min),
            (Max, DType::Int16) => run(&plan, par, x.typed()?, out.typed()?, i16::MIN, Ord::max),
            (Min, DType::Int16) => run(&plan, par, x.typed()?, out.typed()?, i16::MAX, Ord::min),
            (Max, DType::Int8) => run(&plan, par, x.typed()?, out.typed()?, i8::MIN, Ord::max),
            (Min, DType::Int8) => run(&plan, par, x.typed()?, out.typed()?, i8::MAX, Ord::min),
            (Max, DType::Uint8) => run(&plan, par, x.data, out.bytes_mut(), u8::MIN, Ord::max),
            (Min, DType::Uint8) => run(&plan, par, x.data, out.bytes_mut(), u8::MAX, Ord::min),
            // Bools are bytes; any nonzero byte is true.
            (Any, DType::Bool) => run(&plan, par, x.data, out.bytes_mut(), 0u8, |a, v| {
                (a != 0 || v != 0) as u8
            }),
            (All, DType::Bool) => run(&plan, par, x.data, out.bytes_mut(), 1u8, |a, v| {
                (a != 0 && v != 0) as u8
            }),
            (op, dtype) => return unsupported(format!("{op:?} on {dtype}")),
        }
        Ok(())
    }
}

/// `cur > in ? cur : in`, as LiteRT's optimized MaxOp: a NaN input replaces
/// the running value (and is replaced by the next input).
#[inline(always)]
fn max_f32(cur: f32, v: f32) -> f32 {
    if cur > v {
        cur
    } else {
        v
    }
}

/// `cur < in ? cur : in`, LiteRT's MinOp.
#[inline(always)]
fn min_f32(cur: f32, v: f32) -> f32 {
    if cur < v {
        cur
    } else {
        v
    }
}

fn run<T, F>(plan: &Plan, par: &Parallel, input: &[T], out: &mut [T], init: T, f: F)
where
    T: Copy + Send + Sync,
    F: Fn(T, T) -> T + Sync + Send,
{
    out.fill(init);
    plan.fold(par, input, out, f);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use ferrite_format::options::ReducerOptions;

    /// Runs a reduction op and returns (output shape, output bytes).
    pub fn run_op(
        build: Builder,
        dtype: DType,
        x: &[u8],
        shape: &[usize],
        axes: &[i32],
        keep_dims: bool,
    ) -> KResult<(Vec<usize>, Vec<u8>)> {
        let options = BuiltinOptions::ReducerOptions(ReducerOptions { keep_dims });
        let xs = TensorSpec {
            name: "x",
            dtype,
            shape,
            quant: None,
            data: None,
        };
        let axis_shape = [axes.len()];
        let axis_bytes: &[u8] = bytemuck::cast_slice(axes);
        let a = TensorSpec {
            name: "axes",
            dtype: DType::Int32,
            shape: &axis_shape,
            quant: None,
            data: Some(axis_bytes),
        };
        let spec = OpSpec {
            code: 0,
            name: "REDUCE",
            version: 1,
            options: &options,
            options2: &Default::default(),
            custom_options: None,
            attrs: &[],
            inputs: &[Some(xs), Some(a)],
            outputs: &[xs],
        };
        let k = build(&spec)?;
        let xa = ShapeArg {
            dtype,
            shape,
            value: Some(x),
        };
        let aa = ShapeArg {
            dtype: DType::Int32,
            shape: &axis_shape,
            value: Some(axis_bytes),
        };
        let out_shape = k.output_shapes(&[Some(xa), Some(aa)])?.unwrap().remove(0);
        let mut buf = AlignedBuf::default();
        let elem = dtype.element_size().unwrap_or(1);
        buf.resize(out_shape.iter().product::<usize>() * elem);
        let par = Parallel::single();
        let inputs = [
            Some(TensorRef {
                dtype,
                shape,
                data: x,
                quant: None,
            }),
            Some(TensorRef {
                dtype: DType::Int32,
                shape: &axis_shape,
                data: axis_bytes,
                quant: None,
            }),
        ];
        let mut outputs = [TensorMut {
            dtype,
            shape: &out_shape,
            buf: &mut buf,
            quant: None,
        }];
        k.eval(&mut EvalIo {
            inputs: &inputs,
            outputs: &mut outputs,
            par: &par,
        })?;
        Ok((out_shape, buf.bytes().to_vec()))
    }

    pub fn run_f32(
        build: Builder,
        x: &[f32],
        shape: &[usize],
        axes: &[i32],
        keep: bool,
    ) -> (Vec<usize>, Vec<f32>) {
        let (s, b) = run_op(
            build,
            DType::Float32,
            bytemuck::cast_slice(x),
            shape,
            axes,
            keep,
        )
        .unwrap();
        (s, bytemuck::cast_slice(&b).to_vec())
    }

    pub fn run_i32(
        build: Builder,
        x: &[i32],
        shape: &[usize],
        axes: &[i32],
        keep: bool,
    ) -> (Vec<usize>, Vec<i32>) {
        let (s, b) = run_op(
            build,
            DType::Int32,
            bytemuck::cast_slice(x),
            shape,
            axes,
            keep,
        )
        .unwrap();
        (s, bytemuck::cast_slice(&b).to_vec())
    }

    pub fn run_i64(
        build: Builder,
        x: &[i64],
        shape: &[usize],
        axes: &[i32],
        keep: bool,
    ) -> (Vec<usize>, Vec<i64>) {
        let (s, b) = run_op(
            build,
            DType::Int64,
            bytemuck::cast_slice(x),
            shape,
            axes,
            keep,
        )
        .unwrap();
        (s, bytemuck::cast_slice(&b).to_vec())
    }

    /// 2x3x4 float input 0..24 scaled, shared by the op tests.
    pub fn x234() -> Vec<f32> {
        (0..24).map(|v| v as f32 * 0.5 - 3.0).collect()
    }
}
