//! The data-movement engine shared by the shape family: a strided copy
//! (slices, transposes, tiles, broadcasts, reversals, depth/space shuffles
//! and splits are all "read the source through strides"), a concatenation of
//! runs, and a row gather. Each moves contiguous runs with `copy_from_slice`
//! wherever the layout allows and spreads large outputs over the pool.

use bytemuck::Pod;

use super::util::Movement;
use crate::api::{invalid, KResult};
use crate::parallel::Parallel;

/// Outputs with fewer elements than this stay on the calling thread: the
/// copies are memory-bound, so splitting only pays off for large tensors.
const PAR_MIN_ELEMENTS: usize = 1 << 17;

/// Tile edge of the blocked 2-D transpose.
const TILE: usize = 16;

/// One output dimension: its extent and the source stride in elements
/// (negative to walk backwards, zero to repeat).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dim {
    pub size: usize,
    pub stride: isize,
}

impl Dim {
    pub fn new(size: usize, stride: isize) -> Self {
        Dim { size, stride }
    }
}

/// Output `k` is a strided view (offset, dims) of the single data input.
pub struct Views(pub Vec<(isize, Vec<Dim>)>);

impl Views {
    /// One output viewing the input through `dims` from `offset`.
    pub fn one(offset: isize, dims: Vec<Dim>) -> Self {
        Views(vec![(offset, dims)])
    }
}

impl Movement for Views {
    fn apply<T: Pod + Send + Sync>(
        &self,
        ins: &[&[T]],
        outs: &mut [&mut [T]],
        par: &Parallel,
    ) -> KResult<()> {
        let Some(src) = ins.first() else {
            return invalid("strided copy without an input");
        };
        if outs.len() != self.0.len() {
            return invalid("strided copy output count mismatch");
        }
        for ((offset, dims), out) in self.0.iter().zip(outs.iter_mut()) {
            strided_copy(src, *offset, dims, out, par)?;
        }
        Ok(())
    }
}

/// The output interleaves one run of each input per outer row (see
/// [`concat_runs`]); `run_lens[k]` is input `k`'s run length.
pub struct Runs {
    pub outer: usize,
    pub run_lens: Vec<usize>,
}

impl Movement for Runs {
    fn apply<T: Pod + Send + Sync>(
        &self,
        ins: &[&[T]],
        outs: &mut [&mut [T]],
        par: &Parallel,
    ) -> KResult<()> {
        if ins.len() != self.run_lens.len() || outs.len() != 1 {
            return invalid("concatenation arity mismatch");
        }
        let parts: Vec<(&[T], usize)> = ins
            .iter()
            .copied()
            .zip(self.run_lens.iter().copied())
            .collect();
        concat_runs(&parts, self.outer, outs[0], par)
    }
}

/// Row-major strides of `shape`, in elements.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1usize; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// Splits `out` into chunks of `chunk` elements and runs `f(chunk_index,
/// chunk)` on each, over the pool when it has more than one thread.
pub fn for_chunks<T: Send>(
    par: &Parallel,
    out: &mut [T],
    chunk: usize,
    f: impl Fn(usize, &mut [T]) + Sync + Send,
) {
    let chunk = chunk.max(1);
    if par.threads() > 1 && out.len() > chunk {
        par.install(|| {
            use rayon::prelude::*;
            out.par_chunks_mut(chunk)
                .enumerate()
                .for_each(|(i, c)| f(i, c));
        });
    } else {
        for (i, c) in out.chunks_mut(chunk).enumerate() {
            f(i, c);
        }
    }
}

/// How many rows of `row_len` elements each parallel task should take
/// (all of them when the work is small or there is one thread).
pub fn rows_per_task(par: &Parallel, rows: usize, row_len: usize) -> usize {
    let total = rows.saturating_mul(row_len);
    if par.threads() <= 1 || total < PAR_MIN_ELEMENTS || rows < 2 {
        return rows.max(1);
    }
    rows.div_ceil(par.threads() * 4).max(1)
}

/// Drops unit dimensions and merges neighbours that are contiguous with
/// each other in the source, so inner runs get as long as possible.
fn coalesce(dims: &[Dim]) -> Vec<Dim> {
    let mut v: Vec<Dim> = Vec::with_capacity(dims.len());
    for &d in dims {
        if d.size == 1 {
            continue;
        }
        if let Some(last) = v.last_mut() {
            if last.stride == d.stride * d.size as isize {
                last.size *= d.size;
                last.stride = d.stride;
                continue;
            }
        }
        v.push(d);
    }
    v
}

/// Walks the source offsets of consecutive rows (all but the innermost
/// dimension), carrying like an odometer.
struct Odometer<'a> {
    dims: &'a [Dim],
    idx: Vec<usize>,
    base: isize,
}

impl<'a> Odometer<'a> {
    fn new(dims: &'a [Dim], offset: isize, mut row: usize) -> Self {
        let mut idx = vec![0; dims.len()];
        let mut base = offset;
        for d in (0..dims.len()).rev() {
            idx[d] = row % dims[d].size;
            row /= dims[d].size;
            base += idx[d] as isize * dims[d].stride;
        }
        Odometer { dims, idx, base }
    }

    #[inline]
    fn advance(&mut self) {
        for d in (0..self.dims.len()).rev() {
            self.idx[d] += 1;
            self.base += self.dims[d].stride;
            if self.idx[d] < self.dims[d].size {
                return;
            }
            self.base -= self.dims[d].stride * self.dims[d].size as isize;
            self.idx[d] = 0;
        }
    }

    /// Advances `k` rows; the caller keeps the last digit in range for the
    /// first `k - 1` steps.
    fn advance_by(&mut self, k: usize) {
        if k == 0 {
            return;
        }
        if let Some(last) = self.dims.len().checked_sub(1) {
            self.idx[last] += k - 1;
            self.base += (k as isize - 1) * self.dims[last].stride;
        }
        self.advance();
    }
}

/// Sets `out[i] = src[offset + Σ i_d · stride_d]` where `i_d` are the
/// row-major digits of `i` over `dims`. Checks up front that every read
/// stays inside `src`, so the copy itself cannot fail.
pub fn strided_copy<T: Pod + Send + Sync>(
    src: &[T],
    offset: isize,
    dims: &[Dim],
    out: &mut [T],
    par: &Parallel,
) -> KResult<()> {
    let mut total = 1usize;
    let (mut lo, mut hi) = (offset, offset);
    for d in dims {
        total = match total.checked_mul(d.size) {
            Some(t) => t,
            None => return invalid("strided copy extent overflows"),
        };
        if d.size == 0 {
            continue;
        }
        let span = (d.size as isize - 1).checked_mul(d.stride).ok_or_else(|| {
            crate::api::KernelError::InvalidInput("strided copy span overflows".into())
        })?;
        if span < 0 {
            lo += span;
        } else {
            hi += span;
        }
    }
    if total != out.len() {
        return invalid(format!(
            "strided copy writes {total} elements into {}",
            out.len()
        ));
    }
    if total == 0 {
        return Ok(());
    }
    if lo < 0 || hi as usize >= src.len() {
        return invalid(format!(
            "strided copy reads {lo}..={hi} outside a source of {}",
            src.len()
        ));
    }
    let v = coalesce(dims);
    let Some(&inner) = v.last() else {
        out[0] = src[offset as usize];
        return Ok(());
    };
    let outer = &v[..v.len() - 1];
    let n = inner.size;
    let rows = total / n;
    // A batched 2-D transpose: the row dimension walks the source with
    // stride 1 while the inner one jumps, so block it for the cache.
    if inner.stride.unsigned_abs() > 1
        && outer.last().is_some_and(|d| d.stride == 1 && d.size >= 4)
        && n >= 4
    {
        return transpose_rows(src, offset, outer, inner, out, par);
    }
    let per = rows_per_task(par, rows, n);
    for_chunks(par, out, per * n, |task, chunk| {
        let mut od = Odometer::new(outer, offset, task * per);
        for row in chunk.chunks_exact_mut(n) {
            let b = od.base as usize;
            match inner.stride {
                1 => row.copy_from_slice(&src[b..b + n]),
                0 => row.fill(src[b]),
                s => {
                    let mut i = od.base;
                    for o in row.iter_mut() {
                        *o = src[i as usize];
                        i += s;
                    }
                }
            }
            od.advance();
        }
    });
    Ok(())
}

/// The transpose case of [`strided_copy`]: rows are consecutive in the
/// source, columns jump by `inner.stride`. Copies `TILE × TILE` blocks.
fn transpose_rows<T: Pod + Send + Sync>(
    src: &[T],
    offset: isize,
    outer: &[Dim],
    inner: Dim,
    out: &mut [T],
    par: &Parallel,
) -> KResult<()> {
    let n = inner.size;
    let rows = out.len() / n;
    let r = outer[outer.len() - 1].size;
    // Whole tiles per task, so no two tasks share source cache lines.
    let per = rows_per_task(par, rows, n).next_multiple_of(TILE).min(rows);
    for_chunks(par, out, per * n, |task, chunk| {
        let mut od = Odometer::new(outer, offset, task * per);
        let mut done = 0;
        let local_rows = chunk.len() / n;
        while done < local_rows {
            // Rows that stay within one run of the stride-1 dimension.
            let i = od.idx[outer.len() - 1];
            let k = TILE.min(r - i).min(local_rows - done);
            let base = od.base;
            for j0 in (0..n).step_by(TILE) {
                let j1 = (j0 + TILE).min(n);
                for t in 0..k {
                    let row = &mut chunk[(done + t) * n + j0..(done + t) * n + j1];
                    let at = base + t as isize + j0 as isize * inner.stride;
                    if inner.stride > 0 {
                        // Forward columns: an iterator avoids per-element checks.
                        for (o, &v) in row
                            .iter_mut()
                            .zip(src[at as usize..].iter().step_by(inner.stride as usize))
                        {
                            *o = v;
                        }
                    } else {
                        let mut s = at;
                        for o in row.iter_mut() {
                            *o = src[s as usize];
                            s += inner.stride;
                        }
                    }
                }
            }
            done += k;
            od.advance_by(k);
        }
    });
    Ok(())
}

/// Concatenates `parts` run by run: output row `o` is `parts[0]`'s run `o`
/// (of its own length) followed by `parts[1]`'s run `o`, and so on.
pub fn concat_runs<T: Copy + Send + Sync>(
    parts: &[(&[T], usize)],
    outer: usize,
    out: &mut [T],
    par: &Parallel,
) -> KResult<()> {
    let row: usize = parts.iter().map(|p| p.1).sum();
    for (data, len) in parts {
        if data.len() != outer * len {
            return invalid(format!(
                "concatenated part holds {} elements, expected {}",
                data.len(),
                outer * len
            ));
        }
    }
    if out.len() != outer * row {
        return invalid(format!(
            "concatenation writes {} elements into {}",
            outer * row,
            out.len()
        ));
    }
    if row == 0 {
        return Ok(());
    }
    let per = rows_per_task(par, outer, row);
    for_chunks(par, out, per * row, |task, chunk| {
        for (k, out_row) in chunk.chunks_exact_mut(row).enumerate() {
            let o = task * per + k;
            let mut at = 0;
            for (data, len) in parts {
                out_row[at..at + len].copy_from_slice(&data[o * len..(o + 1) * len]);
                at += len;
            }
        }
    });
    Ok(())
}

/// Copies whole rows: output row `i` is `src[starts[i]..starts[i] + row_len]`.
/// Fails (rather than panicking) when a row lies outside `src`.
pub fn gather_rows<T: Copy + Send + Sync>(
    src: &[T],
    starts: &[usize],
    row_len: usize,
    out: &mut [T],
    par: &Parallel,
) -> KResult<()> {
    if out.len() != starts.len() * row_len {
        return invalid(format!(
            "gather writes {} elements into {}",
            starts.len() * row_len,
            out.len()
        ));
    }
    if let Some(&bad) = starts
        .iter()
        .find(|&&s| s.checked_add(row_len).is_none_or(|e| e > src.len()))
    {
        return invalid(format!(
            "gather reads {bad}..+{row_len} outside a source of {}",
            src.len()
        ));
    }
    if row_len == 0 {
        return Ok(());
    }
    let per = rows_per_task(par, starts.len(), row_len);
    for_chunks(par, out, per * row_len, |task, chunk| {
        for (k, row) in chunk.chunks_exact_mut(row_len).enumerate() {
            let s = starts[task * per + k];
            row.copy_from_slice(&src[s..s + row_len]);
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(src: &[u32], offset: isize, dims: &[Dim]) -> Vec<u32> {
        let total: usize = dims.iter().map(|d| d.size).product();
        (0..total)
            .map(|mut i| {
                let mut at = offset;
                for d in dims.iter().rev() {
                    at += (i % d.size) as isize * d.stride;
                    i /= d.size;
                }
                src[at as usize]
            })
            .collect()
    }

    fn check(src_len: usize, offset: isize, dims: &[Dim]) {
        let src: Vec<u32> = (0..src_len as u32).collect();
        let expect = naive(&src, offset, dims);
        for threads in [1, 2] {
            let par = Parallel::new(threads).unwrap();
            let mut out = vec![0u32; expect.len()];
            strided_copy(&src, offset, dims, &mut out, &par).unwrap();
            assert_eq!(out, expect, "dims {dims:?} threads {threads}");
        }
    }

    #[test]
    fn strided_copy_matches_naive_indexing() {
        // Slice with a contiguous inner run.
        check(60, 6, &[Dim::new(2, 20), Dim::new(3, 5), Dim::new(4, 1)]);
        // Reversal, broadcast and gather-style inner strides.
        check(24, 23, &[Dim::new(4, -6), Dim::new(6, -1)]);
        check(6, 0, &[Dim::new(5, 0), Dim::new(6, 1)]);
        check(6, 0, &[Dim::new(6, 1), Dim::new(5, 0)]);
        check(40, 1, &[Dim::new(5, 8), Dim::new(3, 2)]);
        // Transposes, small and large enough to block and to go parallel.
        check(12, 0, &[Dim::new(4, 1), Dim::new(3, 4)]);
        check(
            2 * 67 * 45,
            0,
            &[Dim::new(2, 67 * 45), Dim::new(45, 1), Dim::new(67, 45)],
        );
        check(600 * 257, 0, &[Dim::new(257, 1), Dim::new(600, 257)]);
        // Large enough to run in parallel with contiguous rows.
        check(1 << 19, 0, &[Dim::new(512, 1024), Dim::new(512, 1)]);
        // Scalars and empty outputs.
        check(3, 2, &[]);
        check(3, 0, &[Dim::new(0, 1), Dim::new(3, 1)]);
    }

    #[test]
    fn strided_copy_rejects_reads_outside_the_source() {
        let par = Parallel::single();
        let src = [1u8, 2, 3];
        let mut out = [0u8; 2];
        assert!(strided_copy(&src, 2, &[Dim::new(2, 1)], &mut out, &par).is_err());
        assert!(strided_copy(&src, 0, &[Dim::new(2, -1)], &mut out, &par).is_err());
        assert!(strided_copy(&src, 0, &[Dim::new(3, 1)], &mut out, &par).is_err());
    }

    #[test]
    fn concat_and_gather_rows() {
        let par = Parallel::new(2).unwrap();
        let a = [1, 2, 3, 4];
        let b = [9, 8];
        let mut out = [0; 6];
        concat_runs(&[(&a[..], 2), (&b[..], 1)], 2, &mut out, &par).unwrap();
        assert_eq!(out, [1, 2, 9, 3, 4, 8]);
        assert!(concat_runs(&[(&a[..], 3)], 2, &mut out, &par).is_err());
        let mut g = [0; 4];
        gather_rows(&a, &[2, 0], 2, &mut g, &par).unwrap();
        assert_eq!(g, [3, 4, 1, 2]);
        assert!(gather_rows(&a, &[3, 0], 2, &mut g, &par).is_err());
        let big: Vec<u32> = (0..1 << 18).collect();
        let starts: Vec<usize> = (0..1024).rev().map(|r| r * 256).collect();
        let mut out = vec![0; 1 << 18];
        gather_rows(&big, &starts, 256, &mut out, &par).unwrap();
        assert_eq!(&out[..3], &[1023 * 256, 1023 * 256 + 1, 1023 * 256 + 2]);
        assert_eq!(out[256], 1022 * 256);
        assert_eq!(out[(1 << 18) - 1], 255);
    }
}
