//! BATCH_MATMUL dynamic-range (hybrid): float32 lhs and output, int8 rhs
//! (symmetric, per tensor or per output column). As LiteRT's `EvalHybrid`
//! with its reference `BatchMatMul`: every lhs row (of the contracted
//! dimension, after `adj_x`) is quantized on the fly, symmetric or
//! asymmetric per `asymmetric_quantize_inputs`; then per output value
//! `total = dot - (float)row_sum * zp` is taken back to int32 and
//! `out = 0 + (row_scale * weight_scale) * total`.
//!
//! LiteRT quirks followed on purpose, since its builtin kernel is the
//! reference:
//! - a rhs of shape `[.., 1, X, Y]` with a lhs of rank > 2 is first
//!   flattened (`lhs [.., Q, R, S] -> [.., Q * R, S]`, `rhs -> [.., X, Y]`);
//! - the row scales, zero points and weight row sums of a batch are found by
//!   adding `index * rows` over the (5-D extended) batch dimensions instead
//!   of using the flat batch index, so outputs with two or more non-trivial
//!   batch dimensions use other rows' scales. Shapes where that would read
//!   row sums LiteRT never computed are rejected as unsupported.

use crate::api::*;
use crate::linalg::fully_connected_hybrid::weight_scales;
use crate::linalg::gemm_i16::{gemm, PackedW, Plan};
use crate::linalg::quantize_hybrid;

struct BatchMatMulHybrid {
    adj_x: bool,
    adj_y: bool,
    asymmetric: bool,
    tensor_scale: Option<f32>,
    unit_scales: Option<Vec<f32>>,
    /// Prepared constant rhs and the shape it came from.
    rhs: Option<(Filter, Vec<usize>)>,
}

/// The rhs as LiteRT's reference kernel sees it: one `n x k` matrix per
/// batch and the sums of every row of every matrix.
struct Filter {
    mats: Vec<PackedW>,
    row_sums: Vec<i32>,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    let o = match spec.options {
        BuiltinOptions::BatchMatMulOptions(o) => o.clone(),
        _ => Default::default(),
    };
    let rhs = spec.input(1)?;
    if spec.output(0)?.dtype != DType::Float32 {
        return spec.unsupported(format!("hybrid output dtype {}", spec.output(0)?.dtype));
    }
    let r = rhs.shape.len();
    if !(2..=5).contains(&r) {
        return invalid(format!(
            "BATCH_MATMUL rhs must have rank 2..5, got {:?}",
            rhs.shape
        ));
    }
    // Per-channel scales are indexed by output column.
    let (axis, n) = if o.adj_y {
        (r - 2, rhs.shape[r - 2])
    } else {
        (r - 1, rhs.shape[r - 1])
    };
    let (tensor_scale, unit_scales) = weight_scales(spec, rhs, axis, n)?;
    let prepared = match rhs.data {
        Some(d) => Some((
            Filter::new(cast::<i8>(d)?, rhs.shape, o.adj_y)?,
            rhs.shape.to_vec(),
        )),
        None => None,
    };
    Ok(Box::new(BatchMatMulHybrid {
        adj_x: o.adj_x,
        adj_y: o.adj_y,
        asymmetric: o.asymmetric_quantize_inputs,
        tensor_scale,
        unit_scales,
        rhs: prepared,
    }))
}

impl Filter {
    fn new(values: &[i8], shape: &[usize], adj_y: bool) -> KResult<Self> {
        let r = shape.len();
        let (rows, cols) = (shape[r - 2], shape[r - 1]);
        let (n, k) = if adj_y { (rows, cols) } else { (cols, rows) };
        let size = rows * cols;
        if values.len() != shape.iter().product::<usize>() {
            return invalid("BATCH_MATMUL rhs data does not match its shape");
        }
        let batches: usize = shape[..r - 2].iter().product();
        let mut mats = Vec::with_capacity(batches);
        let mut row_sums = Vec::with_capacity(batches * n);
        let mut t = vec![0i8; size];
        for b in 0..batches {
            let m = &values[b * size..(b + 1) * size];
            // Stored [k, n] unless adj_y: transpose to rows of k.
            let w: &[i8] = if adj_y {
                m
            } else {
                for i in 0..rows {
                    for j in 0..cols {
                        t[j * rows + i] = m[i * cols + j];
                    }
                }
                &t
            };
            let p = PackedW::pack_int8(w, n, k)?;
            row_sums.extend_from_slice(p.row_sums());
            mats.push(p);
        }
        Ok(Filter { mats, row_sums })
    }
}

/// LiteRT's flattening of a `[.., 1, X, Y]` rhs (see the module notes).
fn flattened(lhs: &[usize], rhs: &[usize]) -> Option<(Vec<usize>, Vec<usize>)> {
    let (l, r) = (lhs.len(), rhs.len());
    if l > 2 && r > 2 && rhs[r - 3] == 1 {
        let mut lf = lhs[..l - 3].to_vec();
        lf.extend([lhs[l - 3] * lhs[l - 2], lhs[l - 1]]);
        let mut rf = rhs[..r - 3].to_vec();
        rf.extend([rhs[r - 2], rhs[r - 1]]);
        Some((lf, rf))
    } else {
        None
    }
}

/// `shape` extended to rank 5 with leading ones.
fn ext5(shape: &[usize]) -> [usize; 5] {
    let mut e = [1; 5];
    e[5 - shape.len()..].copy_from_slice(shape);
    e
}

impl BatchMatMulHybrid {
    /// The output shape, as LiteRT's Prepare computes it (before any
    /// flattening).
    fn output_shape(&self, lhs: &[usize], rhs: &[usize]) -> KResult<Vec<usize>> {
        if !(2..=5).contains(&lhs.len()) || !(2..=5).contains(&rhs.len()) {
            return invalid(format!(
                "BATCH_MATMUL operands must have rank 2..5, got {lhs:?} and {rhs:?}"
            ));
        }
        let rank = lhs.len().max(rhs.len());
        let (l, r) = (ext5(lhs), ext5(rhs));
        let mut out = Vec::with_capacity(rank);
        for d in 5 - rank..3 {
            out.push(match (l[d], r[d]) {
                (a, b) if a == b => a,
                (1, b) => b,
                (a, 1) => a,
                _ => {
                    return invalid(format!(
                        "BATCH_MATMUL batch dimensions of {lhs:?} and {rhs:?} do not broadcast"
                    ))
                }
            });
        }
        let (m, kl) = if self.adj_x {
            (l[4], l[3])
        } else {
            (l[3], l[4])
        };
        let (kr, n) = if self.adj_y {
            (r[4], r[3])
        } else {
            (r[3], r[4])
        };
        if kl != kr {
            return invalid(format!(
                "BATCH_MATMUL inner dimensions of {lhs:?} and {rhs:?} differ"
            ));
        }
        out.extend([m, n]);
        Ok(out)
    }
}

impl Kernel for BatchMatMulHybrid {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let x = shape_input(inputs, 0)?;
        if x.dtype != DType::Float32 {
            return invalid(format!(
                "hybrid BATCH_MATMUL lhs must be FLOAT32, got {}",
                x.dtype
            ));
        }
        let out = self.output_shape(x.shape, shape_input(inputs, 1)?.shape)?;
        Ok(Some(vec![out]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let lhs = io.input(0)?;
        let rhs = io.input(1)?;
        let out_shape = self.output_shape(lhs.shape, rhs.shape)?;
        let dynamic;
        let filter: &Filter = match &self.rhs {
            Some((f, shape)) if shape[..] == *rhs.shape => f,
            _ => {
                dynamic = Filter::new(cast::<i8>(rhs.data)?, rhs.shape, self.adj_y)?;
                &dynamic
            }
        };
        let (ls, rs) = match flattened(lhs.shape, rhs.shape) {
            Some(_) if self.adj_x => {
                // LiteRT then contracts over the flattened rows and fills
                // only part of the output.
                return Err(KernelError::Unsupported(
                    "hybrid BATCH_MATMUL with adj_x and a [.., 1, X, Y] rhs".into(),
                ));
            }
            Some(f) => f,
            None => (lhs.shape.to_vec(), rhs.shape.to_vec()),
        };
        let (l, r) = (ext5(&ls), ext5(&rs));
        let (m, k) = if self.adj_x {
            (l[4], l[3])
        } else {
            (l[3], l[4])
        };
        let n = if self.adj_y { r[3] } else { r[4] };
        let bd: Vec<usize> = (0..3).map(|d| l[d].max(r[d])).collect();
        let batches: usize = bd.iter().product();
        let out = io.outputs[0].f32()?;
        if out.len() != out_shape.iter().product::<usize>() || out.len() != batches * m * n {
            return invalid("BATCH_MATMUL output does not match its shape");
        }
        if out.is_empty() {
            return Ok(());
        }
        // Row sums exist for the matrices of dims 1 and 2 only.
        if self.asymmetric && r[0] > 1 {
            return Err(KernelError::Unsupported(
                "hybrid BATCH_MATMUL with asymmetric inputs and a rank-5 rhs".into(),
            ));
        }

        // Every lhs matrix as m rows of k, quantized row by row.
        let x = lhs.f32()?;
        let lhs_mats: usize = l[..3].iter().product();
        let rows_f: std::borrow::Cow<'_, [f32]> = if self.adj_x {
            let mut t = vec![0f32; x.len()];
            for b in 0..lhs_mats {
                let (src, dst) = (&x[b * k * m..][..k * m], &mut t[b * k * m..][..k * m]);
                for i in 0..k {
                    for j in 0..m {
                        dst[j * k + i] = src[i * m + j];
                    }
                }
            }
            t.into()
        } else {
            x.into()
        };
        let rows = quantize_hybrid::rows(&rows_f, lhs_mats * m, k, self.asymmetric);
        let row_scale: Vec<f32> = match self.tensor_scale {
            Some(s) => rows.scale.iter().map(|&v| v * s).collect(),
            None => rows.scale.clone(),
        };

        // Matrix strides (0 when broadcast) and LiteRT's per-dimension
        // offsets into the row scales and weight row sums.
        let stride = |s: &[usize; 5], d: usize| {
            if s[d] == 1 {
                0
            } else {
                s[d + 1..3].iter().product::<usize>()
            }
        };
        let mut t = 0;
        for b0 in 0..bd[0] {
            for b1 in 0..bd[1] {
                for b2 in 0..bd[2] {
                    let b = [b0, b1, b2];
                    let (mut li, mut ri, mut si, mut wi) = (0, 0, 0, 0);
                    for d in 0..3 {
                        li += b[d] * stride(&l, d);
                        ri += b[d] * stride(&r, d);
                        si += if l[d] == 1 { 0 } else { b[d] * m };
                        wi += if r[d] == 1 { 0 } else { b[d] * n };
                    }
                    let (Some(w), true) = (filter.mats.get(ri), wi + n <= filter.row_sums.len())
                    else {
                        return invalid("BATCH_MATMUL rhs does not match its shape");
                    };
                    let sums = &filter.row_sums[wi..wi + n];
                    let fill = |j: usize, dst: &mut [i16]| {
                        dst[..k].copy_from_slice(&rows.q[(li * m + j) * k..][..k])
                    };
                    let epi = |j: usize, i0: usize, acc: &[i64], o: &mut [f32]| {
                        let (sc, zp) = (row_scale[si + j], rows.zp[si + j] as f32);
                        for (c, (o, &a)) in o.iter_mut().zip(acc).enumerate() {
                            let i = i0 + c;
                            // int32 total minus a float correction, back
                            // to int32 as LiteRT's `total -= row_sum * zp`.
                            let total = ((a as i32) as f32 - sums[i] as f32 * zp) as i32;
                            let scale = match &self.unit_scales {
                                Some(u) => sc * u[i],
                                None => sc,
                            };
                            *o = 0.0 + scale * total as f32;
                        }
                    };
                    let dst = &mut out[t * m * n..(t + 1) * m * n];
                    gemm(Plan::int8(), io.par, m, w, dst, n, &fill, &epi)?;
                    t += 1;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "batch_matmul_hybrid_tests.rs"]
mod tests;
