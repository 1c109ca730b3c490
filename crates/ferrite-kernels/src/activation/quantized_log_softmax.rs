//! LOG_SOFTMAX on int8 and uint8 as LiteRT's optimized kernel computes it,
//! in float: the row sums `exp(-in_scale · d)` (the same 256-entry table as
//! SOFTMAX, `d` the distance from the row maximum) in order, takes `logf`,
//! and each output is `rint(x · in_scale/out_scale - (in_scale · max +
//! log_sum) / out_scale)` plus the zero point, clamped. LiteRT requires the
//! output at scale 16/256 with zero point 127 (int8) or 255 (uint8).

use crate::api::*;
use crate::elementwise::broadcast::{par_chunks_mut, PAR_MIN};
use crate::quant::params::{f32_to_i32_x86, per_tensor, qrange, QElem};

struct QuantLogSoftmax {
    table: Vec<f32>,
    dtype: DType,
    in_scale: f32,
    out_scale: f32,
    out_zp: i32,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    let (x, y) = (spec.input(0)?, spec.output(0)?);
    let zp = match (x.dtype, y.dtype) {
        (DType::Int8, DType::Int8) => 127,
        (DType::Uint8, DType::Uint8) => 255,
        (i, o) => return spec.unsupported(format!("quantized dtype {i} to {o}")),
    };
    let qx = per_tensor(spec, x, "input")?;
    let qy = per_tensor(spec, y, "output")?;
    if qy.scale != 16.0 / 256.0 || qy.zero_point != zp {
        return spec.unsupported(format!(
            "{} output scale {} and zero point {} (LiteRT requires 16/256 and {zp})",
            y.dtype, qy.scale, qy.zero_point
        ));
    }
    // table[255 - d] = exp(-in_scale · d), as LiteRT's softmax table (beta 1).
    let step = -qx.scale;
    let mut table = vec![0.0f32; 256];
    for d in 0..256 {
        table[255 - d] = (step * d as f32).exp();
    }
    Ok(Box::new(QuantLogSoftmax {
        table,
        dtype: x.dtype,
        in_scale: qx.scale,
        out_scale: qy.scale,
        out_zp: qy.zero_point,
    }))
}

impl QuantLogSoftmax {
    fn run<T: QElem>(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let xt = io.input(0)?;
        let depth = xt.shape.last().copied().unwrap_or(1);
        let x = xt.typed::<T>()?;
        let o = io.outputs[0].typed::<T>()?;
        if o.len() != x.len() {
            return invalid("LOG_SOFTMAX output size differs from input");
        }
        if depth == 0 || o.is_empty() {
            return Ok(());
        }
        let (lo, hi) = qrange(self.dtype).unwrap_or((0, 0));
        let (table, in_scale, out_scale, zp) =
            (&self.table[..], self.in_scale, self.out_scale, self.out_zp);
        let scale = in_scale / out_scale;
        par_chunks_mut(io.par, o, depth, PAR_MIN / 4, |start, chunk| {
            for (r, orow) in chunk.chunks_mut(depth).enumerate() {
                let xrow = &x[start + r * depth..][..depth];
                let max = xrow.iter().fold(i32::MIN, |m, v| m.max(v.to_i32()));
                // max - v is in [0, 255] for 8-bit inputs.
                let sum = xrow
                    .iter()
                    .fold(0.0f32, |s, &v| s + table[(255 - max + v.to_i32()) as usize]);
                let log_sum = sum.ln();
                let precomputed = (in_scale * max as f32 + log_sum) / out_scale;
                for (q, &v) in orow.iter_mut().zip(xrow) {
                    let p = scale * v.to_i32() as f32 - precomputed;
                    // rint (ties to even), then the zero point added in float.
                    let r = f32_to_i32_x86(p.round_ties_even() + zp as f32);
                    *q = T::from_i32(r.clamp(lo, hi));
                }
            }
        });
        Ok(())
    }
}

impl Kernel for QuantLogSoftmax {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let x = shape_input(inputs, 0)?;
        if x.shape.is_empty() {
            return invalid("LOG_SOFTMAX needs an input of rank 1 or more");
        }
        Ok(Some(vec![x.shape.to_vec()]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        match self.dtype {
            DType::Int8 => self.run::<i8>(io),
            _ => self.run::<u8>(io),
        }
    }
}

#[cfg(test)]
#[path = "quantized_log_softmax_tests.rs"]
mod tests;
