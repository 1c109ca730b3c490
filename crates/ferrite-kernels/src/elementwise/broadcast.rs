//! Broadcast iteration and thread splitting shared by the elementwise and
//! activation kernels.
//!
//! Shapes are first reduced to as few dimensions as possible: size-1 output
//! dimensions are dropped and neighbours that broadcast the same way are
//! merged, so `[1,H,W,C] * [1,1,1,C]` becomes rows `[H*W]` of `C` contiguous
//! elements. The innermost run then is one of four loops (both contiguous,
//! one side scalar, both scalar) that the compiler vectorises.

use std::sync::Mutex;

use crate::api::KResult;
use crate::common::broadcast_shapes;
use crate::parallel::Parallel;

/// Elements per task below which threading costs more than it saves.
pub const PAR_MIN: usize = 1 << 15;

/// Runs `f(start, chunk)` over disjoint chunks of `out` covering it in
/// order. Chunk lengths are multiples of `align` (except possibly the last),
/// and the work is spread over the pool when `out` is large.
pub fn par_chunks_mut<T: Send>(
    par: &Parallel,
    out: &mut [T],
    align: usize,
    min: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let n = out.len();
    let align = align.max(1);
    let tasks = (n / min.max(1)).min(par.threads());
    if tasks <= 1 {
        f(0, out);
        return;
    }
    let chunk = n.div_ceil(tasks).div_ceil(align) * align;
    let chunks: Vec<Mutex<Option<&mut [T]>>> =
        out.chunks_mut(chunk).map(|c| Mutex::new(Some(c))).collect();
    par.for_each(chunks.len(), |i| {
        let taken = match chunks[i].lock() {
            Ok(mut g) => g.take(),
            Err(p) => p.into_inner().take(),
        };
        if let Some(c) = taken {
            f(i * chunk, c);
        }
    });
}

/// Applies `f` to every element of `x` into `out` (same length).
pub fn map<T: Copy + Sync, U: Send>(
    par: &Parallel,
    x: &[T],
    out: &mut [U],
    f: impl Fn(T) -> U + Sync,
) {
    par_chunks_mut(par, out, 1, PAR_MIN, |start, chunk| {
        for (o, &v) in chunk.iter_mut().zip(&x[start..]) {
            *o = f(v);
        }
    });
}

/// Broadcast shape of three shapes.
pub fn broadcast_shapes3(a: &[usize], b: &[usize], c: &[usize]) -> KResult<Vec<usize>> {
    broadcast_shapes(&broadcast_shapes(a, b)?, c)
}

/// `K` input shapes broadcast against an output shape, reduced to merged
/// dimensions. Shapes must already be known to broadcast to `out`.
pub struct Plan<const K: usize> {
    /// Merged output dimensions, outermost first; never empty.
    dims: Vec<usize>,
    /// Per input, its stride in each merged dimension (0 where broadcast).
    strides: [Vec<usize>; K],
}

impl<const K: usize> Plan<K> {
    pub fn new(shapes: [&[usize]; K], out: &[usize]) -> Self {
        let rank = out.len();
        // (size, mask of inputs broadcast along it) per merged dimension.
        let mut merged: Vec<(usize, u32)> = Vec::with_capacity(rank);
        for (d, &size) in out.iter().enumerate() {
            if size == 1 {
                continue;
            }
            let mut mask = 0u32;
            for (k, s) in shapes.iter().enumerate() {
                let dim = if d + s.len() >= rank {
                    s[d + s.len() - rank]
                } else {
                    1
                };
                if dim == 1 {
                    mask |= 1 << k;
                }
            }
            match merged.last_mut() {
                Some(last) if last.1 == mask => last.0 *= size,
                _ => merged.push((size, mask)),
            }
        }
        if merged.is_empty() {
            merged.push((1, 0));
        }
        let dims: Vec<usize> = merged.iter().map(|m| m.0).collect();
        let strides = std::array::from_fn(|k| {
            let mut st = vec![0; merged.len()];
            let mut s = 1;
            for (i, &(size, mask)) in merged.iter().enumerate().rev() {
                if mask & (1 << k) == 0 {
                    st[i] = s;
                    s *= size;
                }
            }
            st
        });
        Plan { dims, strides }
    }

    /// Length of the innermost run.
    pub fn inner(&self) -> usize {
        self.dims[self.dims.len() - 1]
    }

    /// Per input, its step within the innermost run (0 or 1).
    pub fn steps(&self) -> [usize; K] {
        std::array::from_fn(|k| self.strides[k][self.dims.len() - 1])
    }

    /// Calls `f(offsets, row)` for output rows `r0..r1`, where a row is one
    /// innermost run and `offsets` are where each input's run starts.
    pub fn for_rows(&self, r0: usize, r1: usize, mut f: impl FnMut([usize; K], usize)) {
        let outer = self.dims.len() - 1;
        let mut idx = vec![0usize; outer];
        let mut offs = [0usize; K];
        let mut rem = r0;
        for d in (0..outer).rev() {
            idx[d] = rem % self.dims[d];
            rem /= self.dims[d];
            for (k, o) in offs.iter_mut().enumerate() {
                *o += idx[d] * self.strides[k][d];
            }
        }
        for r in r0..r1 {
            f(offs, r);
            for d in (0..outer).rev() {
                idx[d] += 1;
                for (k, o) in offs.iter_mut().enumerate() {
                    *o += self.strides[k][d];
                }
                if idx[d] < self.dims[d] {
                    break;
                }
                for (k, o) in offs.iter_mut().enumerate() {
                    *o -= self.dims[d] * self.strides[k][d];
                }
                idx[d] = 0;
            }
        }
    }

    /// Runs `row(offsets, start, out_run)` over every innermost run of
    /// `out`, splitting long single runs and many rows across threads.
    /// `start` is the run's position within its row, which callers add to
    /// the offsets of inputs with step 1.
    pub fn run<O: Send>(
        &self,
        par: &Parallel,
        out: &mut [O],
        row: impl Fn([usize; K], usize, &mut [O]) + Sync,
    ) {
        if out.is_empty() {
            return;
        }
        let inner = self.inner();
        if self.dims.len() == 1 {
            par_chunks_mut(par, out, 16, PAR_MIN, |start, chunk| {
                row([0; K], start, chunk)
            });
            return;
        }
        par_chunks_mut(par, out, inner, PAR_MIN, |start, chunk| {
            let r0 = start / inner;
            let rows = chunk.len() / inner;
            self.for_rows(r0, r0 + rows, |offs, r| {
                let i = (r - r0) * inner;
                row(offs, 0, &mut chunk[i..i + inner]);
            });
        });
    }
}

/// `out[i] = f(a[i'], b[i''])` over NumPy-broadcast inputs. Shapes must
/// broadcast to `out_shape` and slices must match their shapes.
#[allow(clippy::too_many_arguments)]
pub fn binary<A, B, O>(
    par: &Parallel,
    a: &[A],
    a_shape: &[usize],
    b: &[B],
    b_shape: &[usize],
    out: &mut [O],
    out_shape: &[usize],
    f: impl Fn(A, B) -> O + Sync,
) where
    A: Copy + Sync,
    B: Copy + Sync,
    O: Copy + Send,
{
    let plan = Plan::new([a_shape, b_shape], out_shape);
    let [sa, sb] = plan.steps();
    plan.run(par, out, |[oa, ob], start, o| {
        binary_run(&a[oa + start * sa..], sa, &b[ob + start * sb..], sb, o, &f)
    });
}

/// One innermost run; each input either advances (step 1) or repeats its
/// first element (step 0).
#[inline(always)]
pub fn binary_run<A: Copy, B: Copy, O: Copy>(
    a: &[A],
    sa: usize,
    b: &[B],
    sb: usize,
    out: &mut [O],
    f: &impl Fn(A, B) -> O,
) {
    let n = out.len();
    match (sa, sb) {
        (1, 1) => {
            for ((o, &x), &y) in out.iter_mut().zip(&a[..n]).zip(&b[..n]) {
                *o = f(x, y);
            }
        }
        (1, _) => {
            let y = b[0];
            for (o, &x) in out.iter_mut().zip(&a[..n]) {
                *o = f(x, y);
            }
        }
        (_, 1) => {
            let x = a[0];
            for (o, &y) in out.iter_mut().zip(&b[..n]) {
                *o = f(x, y);
            }
        }
        _ => out.fill(f(a[0], b[0])),
    }
}

/// `out[i] = f(a, b, c)` over three broadcast inputs.
#[allow(clippy::too_many_arguments)]
pub fn ternary<A, B, C, O>(
    par: &Parallel,
    (a, a_shape): (&[A], &[usize]),
    (b, b_shape): (&[B], &[usize]),
    (c, c_shape): (&[C], &[usize]),
    out: &mut [O],
    out_shape: &[usize],
    f: impl Fn(A, B, C) -> O + Sync,
) where
    A: Copy + Sync,
    B: Copy + Sync,
    C: Copy + Sync,
    O: Copy + Send,
{
    let plan = Plan::new([a_shape, b_shape, c_shape], out_shape);
    let [sa, sb, sc] = plan.steps();
    plan.run(par, out, |[oa, ob, oc], start, o| {
        let (a, b, c) = (
            &a[oa + start * sa..],
            &b[ob + start * sb..],
            &c[oc + start * sc..],
        );
        for (i, o) in o.iter_mut().enumerate() {
            *o = f(a[i * sa], b[i * sb], c[i * sc]);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Straightforward broadcast for checking the merged iteration.
    fn naive(a: &[i32], sa: &[usize], b: &[i32], sb: &[usize]) -> (Vec<i32>, Vec<usize>) {
        let out = broadcast_shapes(sa, sb).unwrap();
        let n: usize = out.iter().product();
        let idx = |s: &[usize], flat: usize| {
            let mut rem = flat;
            let mut pos = 0;
            let mut mul = 1;
            for d in (0..out.len()).rev() {
                let i = rem % out[d];
                rem /= out[d];
                if d + s.len() >= out.len() {
                    let sd = s[d + s.len() - out.len()];
                    pos += if sd == 1 { 0 } else { i } * mul;
                    mul *= sd;
                }
            }
            pos
        };
        (
            (0..n)
                .map(|f| a[idx(sa, f)] * 1000 + b[idx(sb, f)])
                .collect(),
            out,
        )
    }

    #[test]
    fn merged_iteration_matches_naive_broadcast() {
        let cases: &[(&[usize], &[usize])] = &[
            (&[2, 3, 4], &[3, 1]),
            (&[2, 3, 4], &[4]),
            (&[1, 5, 6, 7], &[1, 1, 1, 7]),
            (&[1, 5, 6, 7], &[1, 5, 6, 7]),
            (&[3, 1, 2], &[1, 4, 1]),
            (&[], &[2, 2]),
            (&[2, 1], &[]),
            (&[], &[]),
            (&[1], &[1, 1]),
            (&[0, 3], &[3]),
            (&[4, 1, 3, 1, 2], &[1, 5, 1, 6, 2]),
        ];
        for threads in [1, 2] {
            let par = Parallel::new(threads).unwrap();
            for &(sa, sb) in cases {
                let a: Vec<i32> = (0..sa.iter().product::<usize>() as i32).collect();
                let b: Vec<i32> = (0..sb.iter().product::<usize>() as i32).collect();
                let (want, shape) = naive(&a, sa, &b, sb);
                let mut got = vec![0; want.len()];
                binary(&par, &a, sa, &b, sb, &mut got, &shape, |x, y| x * 1000 + y);
                assert_eq!(got, want, "{sa:?} {sb:?}");
                let mut got3 = vec![0; want.len()];
                ternary(
                    &par,
                    (&a, sa),
                    (&b, sb),
                    (&[7], &[]),
                    &mut got3,
                    &shape,
                    |x, y, z| x * 1000 + y + z - 7,
                );
                assert_eq!(got3, want, "{sa:?} {sb:?}");
            }
        }
    }

    #[test]
    fn large_inputs_split_across_threads() {
        let par = Parallel::new(2).unwrap();
        let (h, c) = (300, 257);
        let a: Vec<i32> = (0..(h * c) as i32).collect();
        let b: Vec<i32> = (0..c as i32).collect();
        let (want, shape) = naive(&a, &[1, h, c], &b, &[1, 1, c]);
        let mut got = vec![0; want.len()];
        binary(
            &par,
            &a,
            &[1, h, c],
            &b,
            &[1, 1, c],
            &mut got,
            &shape,
            |x, y| x * 1000 + y,
        );
        assert_eq!(got, want);
        let mut flat = vec![0; a.len()];
        binary(
            &par,
            &a,
            &[h * c],
            &[5],
            &[1],
            &mut flat,
            &[h * c],
            |x, y| x + y,
        );
        assert!(flat.iter().enumerate().all(|(i, &v)| v == i as i32 + 5));
        let mut m = vec![0; a.len()];
        map(&par, &a, &mut m, |x| x * 2);
        assert!(m.iter().enumerate().all(|(i, &v)| v == 2 * i as i32));
    }
}
