//! Axis handling shared by the reductions, and the folding engine: the
//! input is viewed as alternating runs of kept and reduced dimensions, and
//! every output element folds its inputs in increasing input order, which is
//! the order LiteRT's reference and optimized reducers use.

use crate::api::*;
use crate::parallel::Parallel;
use crate::pool::window::{fold_rows, for_chunks};

/// The values of an axis tensor (int32 or int64, scalar or 1-D).
pub fn axis_values(arg: &ShapeArg<'_>) -> KResult<Option<Vec<i64>>> {
    match arg.dtype {
        DType::Int32 | DType::Int64 => arg.int_values(),
        other => invalid(format!("axis tensor must be int32 or int64, got {other}")),
    }
}

/// Normalises possibly negative, possibly repeated axes into a sorted set.
/// A scalar input has nothing to reduce: LiteRT ignores the axes then.
pub fn resolve_axes(axes: &[i64], rank: usize) -> KResult<Vec<usize>> {
    if rank == 0 {
        return Ok(Vec::new());
    }
    let r = rank as i64;
    let mut out = Vec::with_capacity(axes.len());
    for &a in axes {
        if a < -r || a >= r {
            return invalid(format!("axis {a} out of range for rank {rank}"));
        }
        out.push(if a < 0 { a + r } else { a } as usize);
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// The output shape: reduced dims become 1 (keep_dims) or disappear.
pub fn reduced_shape(shape: &[usize], axes: &[usize], keep_dims: bool) -> Vec<usize> {
    let mut out = Vec::with_capacity(shape.len());
    for (i, &d) in shape.iter().enumerate() {
        if axes.contains(&i) {
            if keep_dims {
                out.push(1);
            }
        } else {
            out.push(d);
        }
    }
    out
}

/// A reduction of one input shape over a set of axes.
pub struct Plan {
    /// Runs of (size, reduced), size-1 dims dropped, neighbours merged.
    dims: Vec<(usize, bool)>,
    /// Product of the reduced dims (the count a mean divides by).
    pub reduced: usize,
    /// True when the input has no elements (outputs keep their init).
    pub empty: bool,
}

impl Plan {
    pub fn new(shape: &[usize], axes: &[usize]) -> Self {
        let mut dims: Vec<(usize, bool)> = Vec::new();
        let mut reduced = 1usize;
        for (i, &d) in shape.iter().enumerate() {
            let r = axes.contains(&i);
            if r {
                reduced = reduced.saturating_mul(d);
            }
            if d == 1 {
                continue;
            }
            match dims.last_mut() {
                Some(last) if last.1 == r => last.0 *= d,
                _ => dims.push((d, r)),
            }
        }
        let empty = shape.contains(&0);
        Plan {
            dims,
            reduced,
            empty,
        }
    }

    /// Folds `input` into `out`, which holds the initial value of every
    /// output element. `out.len()` must be the product of the kept dims.
    pub fn fold<T, A, F>(&self, par: &Parallel, input: &[T], out: &mut [A], f: F)
    where
        T: Copy + Sync,
        A: Copy + Send + Sync,
        F: Fn(A, T) -> A + Sync + Send,
    {
        if self.empty || out.is_empty() {
            return;
        }
        let dims = &self.dims[..];
        let work = input.len();
        match dims {
            // Outermost run kept: independent slabs.
            [(n, false), rest @ ..] if !rest.is_empty() => {
                let (islab, oslab) = (input.len() / n, out.len() / n);
                for_chunks(par, out, oslab, work, |i, o| {
                    fold_slab(rest, &input[i * islab..(i + 1) * islab], o, &f)
                });
            }
            // [reduced, kept] (e.g. a global average pool): split columns.
            [(rows, true), (cols, false)] => {
                let (rows, cols) = (*rows, *cols);
                // Threads share whole cache lines of columns, at least 64.
                let chunk = cols.div_ceil(par.threads()).max(64).next_multiple_of(16);
                for_chunks(par, out, chunk, work, |i, o| {
                    let c0 = i * chunk;
                    fold_rows(o, input, (0..rows).map(|r| r * cols + c0), &f);
                });
            }
            _ => fold_slab(dims, input, out, &f),
        }
    }
}

/// Folds one contiguous block whose compressed dims are `dims`.
fn fold_slab<T: Copy, A: Copy>(
    dims: &[(usize, bool)],
    input: &[T],
    out: &mut [A],
    f: &impl Fn(A, T) -> A,
) {
    let Some(&(inner, inner_reduced)) = dims.last() else {
        // Everything was size 1: one input per output.
        for (o, &x) in out.iter_mut().zip(input) {
            *o = f(*o, x);
        }
        return;
    };
    let outer = &dims[..dims.len() - 1];
    // Output strides of the outer runs (0 for reduced runs).
    let mut ostride = vec![0usize; outer.len()];
    let mut s = if inner_reduced { 1 } else { inner };
    for (i, &(d, r)) in outer.iter().enumerate().rev() {
        if !r {
            ostride[i] = s;
            s *= d;
        }
    }
    let mut idx = vec![0usize; outer.len()];
    let (mut ipos, mut opos) = (0usize, 0usize);
    loop {
        let xs = &input[ipos..ipos + inner];
        if inner_reduced {
            let mut a = out[opos];
            for &x in xs {
                a = f(a, x);
            }
            out[opos] = a;
        } else {
            for (o, &x) in out[opos..opos + inner].iter_mut().zip(xs) {
                *o = f(*o, x);
            }
        }
        ipos += inner;
        // Advance the odometer over the outer runs.
        let mut d = outer.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            opos += ostride[d];
            if idx[d] < outer[d].0 {
                break;
            }
            opos -= ostride[d] * outer[d].0;
            idx[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Naive reference: for each input index, add into its output index.
    fn naive(shape: &[usize], axes: &[usize], x: &[f64]) -> Vec<f64> {
        let out_shape = reduced_shape(shape, axes, true);
        let mut out = vec![0.0; out_shape.iter().product()];
        for (i, &v) in x.iter().enumerate() {
            let mut rem = i;
            let mut o = 0;
            let mut stride_in: usize = shape.iter().product();
            for (d, &n) in shape.iter().enumerate() {
                stride_in /= n;
                let k = rem / stride_in;
                rem %= stride_in;
                o = o * out_shape[d] + if axes.contains(&d) { 0 } else { k };
            }
            out[o] += v;
        }
        out
    }

    #[test]
    fn resolves_negative_and_duplicate_axes() {
        assert_eq!(resolve_axes(&[-1, 1, 3, 1], 4).unwrap(), vec![1, 3]);
        assert!(resolve_axes(&[4], 4).is_err());
        assert!(resolve_axes(&[-5], 4).is_err());
        assert_eq!(resolve_axes(&[7], 0).unwrap(), Vec::<usize>::new());
        assert_eq!(reduced_shape(&[2, 3, 4], &[0, 2], false), vec![3]);
        assert_eq!(reduced_shape(&[2, 3, 4], &[0, 2], true), vec![1, 3, 1]);
    }

    #[test]
    fn fold_matches_naive_sum_on_every_axis_subset() {
        let shape = [2, 3, 1, 4, 5];
        let n: usize = shape.iter().product();
        let x: Vec<f64> = (0..n).map(|i| (i * 7 % 11) as f64).collect();
        for threads in [1, 2] {
            let par = Parallel::new(threads).unwrap();
            for mask in 0..32u32 {
                let axes: Vec<usize> = (0..5).filter(|d| mask & (1 << d) != 0).collect();
                let want = naive(&shape, &axes, &x);
                let plan = Plan::new(&shape, &axes);
                let mut out = vec![0.0; want.len()];
                plan.fold(&par, &x, &mut out, |a, v| a + v);
                assert_eq!(out, want, "axes {axes:?}");
            }
        }
    }

    #[test]
    fn threaded_paths_match_single_thread() {
        // Big enough to take both threaded paths: [kept, ...] and [R, K].
        let x: Vec<f32> = (0..40 * 40 * 160).map(|i| (i % 13) as f32 * 0.5).collect();
        for (shape, axes) in [
            (&[1usize, 40, 40, 160][..], &[1usize, 2][..]),
            (&[40, 40, 160][..], &[1][..]),
        ] {
            let mut results = Vec::new();
            for threads in [1, 2] {
                let par = Parallel::new(threads).unwrap();
                let plan = Plan::new(shape, axes);
                let len = reduced_shape(shape, axes, false).iter().product();
                let mut out = vec![0.0f32; len];
                plan.fold(&par, &x, &mut out, |a, v| a + v);
                results.push(out);
            }
            assert_eq!(results[0], results[1]);
        }
    }
}
