//! FractionalMaxPool and FractionalAvgPool (tf.nn.fractional_max_pool /
//! fractional_avg_pool) over NHWC tensors: output, row_pooling_sequence,
//! col_pooling_sequence.
//!
//! The pooling sequences come from TF's own generator, re-implemented here:
//! Philox4x32-10 seeded with (seed, seed2), from which each sequence reserves
//! its 32-bit samples in turn (rows, then cols). "Pseudo random" draws one
//! double u and places boundary i at ceil(alpha * (i + u)); "random"
//! shuffles a vector of k and k+1 sized steps. TF accepts seeds only with
//! `deterministic`, and computes the sequences once per kernel; a fresh
//! generator per call gives the same ones. Without `deterministic`, or with
//! seeds (0, 0), TF draws a fresh random seed, which nothing can reproduce:
//! that is an unsupported error.

use crate::api::*;
use crate::registry::{named, NamedRegistration};

/// This family's registry lines (TF op names).
pub static OPS: &[NamedRegistration] = &[
    named("FractionalAvgPool", build_avg),
    named("FractionalMaxPool", build_max),
];

/// TF's Philox4x32-10 counter-based generator (128-bit counter, 64-bit key).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Philox {
    counter: [u32; 4],
    key: [u32; 2],
}

impl Philox {
    /// The generator of a random op with attributes `seed` and `seed2`.
    pub fn new(seed: u64, seed2: u64) -> Philox {
        Philox {
            counter: [0, 0, seed2 as u32, (seed2 >> 32) as u32],
            key: [seed as u32, (seed >> 32) as u32],
        }
    }

    /// Advances the counter by `count` 128-bit blocks.
    pub fn skip(&mut self, count: u64) {
        let lo = count as u32;
        let mut hi = (count >> 32) as u32;
        let (c0, carry) = self.counter[0].overflowing_add(lo);
        self.counter[0] = c0;
        hi = hi.wrapping_add(u32::from(carry));
        let (c1, carry) = self.counter[1].overflowing_add(hi);
        self.counter[1] = c1;
        if carry {
            self.counter[2] = self.counter[2].wrapping_add(1);
            if self.counter[2] == 0 {
                self.counter[3] = self.counter[3].wrapping_add(1);
            }
        }
    }

    /// The next four 32-bit samples.
    pub fn next_block(&mut self) -> [u32; 4] {
        const W_A: u32 = 0x9E37_79B9;
        const W_B: u32 = 0xBB67_AE85;
        const M_A: u64 = 0xD251_1F53;
        const M_B: u64 = 0xCD9E_8D57;
        let (mut c, mut k) = (self.counter, self.key);
        for round in 0..10 {
            if round > 0 {
                k = [k[0].wrapping_add(W_A), k[1].wrapping_add(W_B)];
            }
            let p0 = M_A * u64::from(c[0]);
            let p1 = M_B * u64::from(c[2]);
            c = [
                (p1 >> 32) as u32 ^ c[1] ^ k[0],
                p1 as u32,
                (p0 >> 32) as u32 ^ c[3] ^ k[1],
                p0 as u32,
            ];
        }
        // A 128-bit increment.
        for w in &mut self.counter {
            *w = w.wrapping_add(1);
            if *w != 0 {
                break;
            }
        }
        c
    }
}

/// 32-bit samples one at a time from a generator's blocks.
struct Samples {
    gen: Philox,
    block: [u32; 4],
    used: usize,
}

impl Samples {
    fn new(gen: Philox) -> Samples {
        Samples {
            gen,
            block: [0; 4],
            used: 4,
        }
    }

    fn next(&mut self) -> u32 {
        if self.used == 4 {
            self.block = self.gen.next_block();
            self.used = 0;
        }
        self.used += 1;
        self.block[self.used - 1]
    }

    /// A double in [0, 1) from 52 bits of two samples.
    fn next_double(&mut self) -> f64 {
        let hi = u64::from(self.next() & 0xf_ffff);
        let lo = u64::from(self.next());
        f64::from_bits((1023 << 52) | (hi << 32) | lo) - 1.0
    }
}

/// Hands out the samples `n32` 32-bit values need, as TF's guarded
/// generator does: a copy of the current state, then skips past them.
fn reserve(gen: &mut Philox, n32: u64) -> Samples {
    let local = *gen;
    gen.skip(n32.div_ceil(4));
    Samples::new(local)
}

/// The cumulative pooling sequence (output_len + 1 boundaries, from 0 to
/// input_len) along one dimension; needs 0 < output_len <= input_len.
pub(crate) fn pooling_sequence(
    input_len: usize,
    output_len: usize,
    gen: &mut Philox,
    pseudo_random: bool,
) -> Vec<i64> {
    let (n, m) = (input_len as i64, output_len as i64);
    let k = n / m;
    let diff: Vec<i64> = if pseudo_random {
        let alpha = n as f64 / m as f64;
        let u_max1 = (k + 2) as f64 / alpha - 1.0;
        let u_max2 = (n + 1 - k) as f64 / alpha - (m - 1) as f64;
        let u = reserve(gen, 2).next_double() * u_max1.min(u_max2);
        let mut cum = vec![0i64; output_len + 1];
        cum[0] = 1;
        cum[output_len] = n + 1;
        for (i, c) in cum.iter_mut().enumerate().take(output_len).skip(1) {
            *c = (alpha * (i as f64 + u)).ceil() as i32 as i64;
        }
        cum.windows(2).map(|w| w[1] - w[0]).collect()
    } else {
        let extra = (n % m) as usize;
        let mut diff: Vec<i64> = (0..output_len).map(|i| k + i64::from(i < extra)).collect();
        let mut s = reserve(gen, output_len as u64);
        for i in 0..output_len.saturating_sub(1) {
            let j = i + (s.next() % (output_len - i) as u32) as usize;
            diff.swap(i, j);
        }
        diff
    };
    let mut cum = Vec::with_capacity(output_len + 1);
    cum.push(0);
    for d in diff {
        cum.push(cum[cum.len() - 1] + d);
    }
    cum
}

#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Max,
    Avg,
}

struct FractionalPool {
    mode: Mode,
    dtype: DType,
    ratio: [f32; 2],
    pseudo_random: bool,
    overlapping: bool,
    /// The generator as TF's constructor seeds it.
    gen: Philox,
}

fn bool_attr(spec: &OpSpec<'_>, key: &str) -> KResult<bool> {
    match spec.attr(key) {
        None => Ok(false),
        Some(Attr::Bool(b)) => Ok(*b),
        Some(other) => invalid(format!(
            "{}: attribute {key} is {other:?}, not a bool",
            spec.name
        )),
    }
}

fn int_attr(spec: &OpSpec<'_>, key: &str) -> KResult<i64> {
    match spec.attr(key) {
        None => Ok(0),
        Some(Attr::Int(i)) => Ok(*i),
        Some(other) => invalid(format!(
            "{}: attribute {key} is {other:?}, not an int",
            spec.name
        )),
    }
}

fn build_max(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Mode::Max)
}

fn build_avg(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    build(spec, Mode::Avg)
}

fn build(spec: &OpSpec<'_>, mode: Mode) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 3)?;
    let dtype = spec.input(0)?.dtype;
    if !matches!(
        dtype,
        DType::Float32 | DType::Float64 | DType::Int32 | DType::Int64
    ) {
        return spec.unsupported(format!("{dtype} input"));
    }
    let ratio: Vec<f32> = match spec.attr("pooling_ratio") {
        Some(Attr::FloatList(r)) => r.clone(),
        Some(Attr::IntList(r)) => r.iter().map(|&v| v as f32).collect(),
        Some(other) => return invalid(format!("{}: pooling_ratio is {other:?}", spec.name)),
        None => {
            return spec.unsupported(
                "the required attribute pooling_ratio is missing (a custom op whose options were not decoded)",
            )
        }
    };
    let &[rb, rh, rw, rc] = ratio.as_slice() else {
        return invalid(format!(
            "{}: pooling_ratio field must specify 4 dimensions, has {ratio:?}",
            spec.name
        ));
    };
    if rb != 1.0 || rc != 1.0 {
        return spec.unsupported("pooling along the batch or channel dimension");
    }
    if !(rh >= 1.0 && rw >= 1.0) {
        return invalid(format!(
            "{}: pooling_ratio cannot be smaller than 1, got {ratio:?}",
            spec.name
        ));
    }
    let (seed, seed2) = (int_attr(spec, "seed")?, int_attr(spec, "seed2")?);
    if !bool_attr(spec, "deterministic")? && (seed != 0 || seed2 != 0) {
        return invalid(format!(
            "{}: Both seed and seed2 should be 0 if deterministic is false.",
            spec.name
        ));
    }
    if seed == 0 && seed2 == 0 {
        return spec.unsupported(
            "without a seed (deterministic=false, or seed and seed2 both 0) TensorFlow draws a \
             fresh random seed, so its pooling sequence cannot be reproduced; give the op a \
             nonzero seed (tf.nn.fractional_max_pool(..., seed=N))",
        );
    }
    if spec.outputs[1].dtype != DType::Int64 || spec.outputs[2].dtype != DType::Int64 {
        return invalid(format!(
            "{}: the pooling sequences must be int64",
            spec.name
        ));
    }
    Ok(Box::new(FractionalPool {
        mode,
        dtype,
        ratio: [rh, rw],
        pseudo_random: bool_attr(spec, "pseudo_random")?,
        overlapping: bool_attr(spec, "overlapping")?,
        gen: Philox::new(seed as u64, seed2 as u64),
    }))
}

impl FractionalPool {
    /// Input [n, h, w, c] and output [n, oh, ow, c].
    fn geometry(&self, shape: &[usize]) -> KResult<([usize; 4], [usize; 4])> {
        let &[n, h, w, c] = shape else {
            return invalid(format!(
                "fractional pooling: tensor_in must be 4-dimensional, has shape {shape:?}"
            ));
        };
        // TF divides the int size by the float ratio in float.
        let out = |len: usize, r: f32| (len as f32 / r).floor() as usize;
        let (oh, ow) = (out(h, self.ratio[0]), out(w, self.ratio[1]));
        if oh == 0 || ow == 0 {
            return invalid(format!(
                "fractional pooling: input {shape:?} with ratio {:?} gives an empty output",
                self.ratio
            ));
        }
        Ok(([n, h, w, c], [n, oh, ow, c]))
    }
}

/// The element types TF registers the ops for.
trait Elem: bytemuck::Pod + PartialOrd {
    const LOWEST: Self;
    fn add(self, other: Self) -> Self;
    fn mean(sum: Self, count: usize) -> Self;
}

macro_rules! float_elem {
    ($t:ty) => {
        impl Elem for $t {
            const LOWEST: Self = <$t>::MIN;
            fn add(self, o: Self) -> Self {
                self + o
            }
            fn mean(s: Self, n: usize) -> Self {
                s / n as $t
            }
        }
    };
}
macro_rules! int_elem {
    ($t:ty) => {
        impl Elem for $t {
            const LOWEST: Self = <$t>::MIN;
            fn add(self, o: Self) -> Self {
                self.wrapping_add(o)
            }
            fn mean(s: Self, n: usize) -> Self {
                // An empty window cannot occur for valid sequences; avoid
                // the division by zero all the same.
                s.checked_div(n as $t).unwrap_or(s)
            }
        }
    };
}
float_elem!(f32);
float_elem!(f64);
int_elem!(i32);
int_elem!(i64);

/// The pooling windows: boundaries along rows and columns of an
/// [n, h, w, c] input.
struct Windows<'a> {
    input: [usize; 4],
    rows: &'a [i64],
    cols: &'a [i64],
    overlapping: bool,
    mode: Mode,
}

/// Pools `x` ([n, h, w, c]) into `out` ([n, rows-1, cols-1, c]) over the
/// windows between the boundaries (one further with `overlapping`).
fn pool<T: Elem>(x: &[T], out: &mut [T], windows: &Windows<'_>) {
    let Windows {
        input: [n, h, w, c],
        rows,
        cols,
        overlapping,
        mode,
    } = *windows;
    let (oh, ow) = (rows.len() - 1, cols.len() - 1);
    let span = |seq: &[i64], i: usize, max: usize| {
        let end = if overlapping {
            seq[i + 1]
        } else {
            seq[i + 1] - 1
        };
        seq[i] as usize..=(end as usize).min(max - 1)
    };
    let mut acc = vec![T::LOWEST; c];
    for b in 0..n {
        for r in 0..oh {
            for q in 0..ow {
                acc.fill(if mode == Mode::Max {
                    T::LOWEST
                } else {
                    T::zeroed()
                });
                let mut count = 0;
                for y in span(rows, r, h) {
                    for xx in span(cols, q, w) {
                        let px = &x[((b * h + y) * w + xx) * c..][..c];
                        for (a, &v) in acc.iter_mut().zip(px) {
                            *a = match mode {
                                // Keeps the running value unless v is larger,
                                // so NaN inputs are skipped as in TF.
                                Mode::Max if *a < v => v,
                                Mode::Max => *a,
                                Mode::Avg => a.add(v),
                            };
                        }
                        count += 1;
                    }
                }
                let o = &mut out[((b * oh + r) * ow + q) * c..][..c];
                for (o, &a) in o.iter_mut().zip(&acc) {
                    *o = if mode == Mode::Max {
                        a
                    } else {
                        T::mean(a, count)
                    };
                }
            }
        }
    }
}

impl Kernel for FractionalPool {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let (_, out) = self.geometry(shape_input(inputs, 0)?.shape)?;
        Ok(Some(vec![out.to_vec(), vec![out[1] + 1], vec![out[2] + 1]]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let x = io.input(0)?;
        let (inp, out) = self.geometry(x.shape)?;
        let mut gen = self.gen;
        let rows = pooling_sequence(inp[1], out[1], &mut gen, self.pseudo_random);
        let cols = pooling_sequence(inp[2], out[2], &mut gen, self.pseudo_random);
        let [o, r, c] = io.outputs else {
            return invalid("fractional pooling needs 3 outputs");
        };
        let (want_in, want_out) = (inp.iter().product::<usize>(), out.iter().product::<usize>());
        if x.num_elements() != want_in
            || o.num_elements() != want_out
            || r.num_elements() != rows.len()
            || c.num_elements() != cols.len()
        {
            return invalid("fractional pooling: tensor sizes do not match the shapes");
        }
        let windows = Windows {
            input: inp,
            rows: &rows,
            cols: &cols,
            overlapping: self.overlapping,
            mode: self.mode,
        };
        match self.dtype {
            DType::Float32 => pool(x.typed::<f32>()?, o.typed()?, &windows),
            DType::Float64 => pool(x.typed::<f64>()?, o.typed()?, &windows),
            DType::Int32 => pool(x.typed::<i32>()?, o.typed()?, &windows),
            _ => pool(x.typed::<i64>()?, o.typed()?, &windows),
        }
        r.typed::<i64>()?.copy_from_slice(&rows);
        c.typed::<i64>()?.copy_from_slice(&cols);
        Ok(())
    }
}

#[cfg(test)]
#[path = "fractional_pool_tests.rs"]
mod tests;
