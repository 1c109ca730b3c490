//! The GEMM's inner loops: cache blocking over row blocks and packed
//! panels, A packing, and the register-tiled microkernels, written once
//! against [`Simd`] and instantiated per ISA.

use std::ops::Range;

use crate::linalg::gemm::{panel_geometry, L2_FLOATS, MR_MAX, PANEL};
use crate::linalg::simd::{isa_fn, Simd};

/// Everything one GEMM call needs, as raw parts shared by its tasks.
#[derive(Clone, Copy)]
pub(super) struct Job {
    pub(super) a: *const f32,
    pub(super) a_rs: usize,
    pub(super) a_cs: usize,
    pub(super) a_group: usize,
    pub(super) a_group_stride: usize,
    /// Run starts (`k / a_run` entries), or null for one run of `k`.
    pub(super) a_segs: *const usize,
    pub(super) a_run: usize,
    pub(super) m: usize,
    pub(super) k: usize,
    pub(super) n: usize,
    pub(super) b: *const f32,
    pub(super) bias: *const f32,
    pub(super) c: *mut f32,
    pub(super) c_rs: usize,
    pub(super) lo: f32,
    pub(super) hi: f32,
    /// Row blocks of at most the ISA's MR rows, sizes balanced.
    pub(super) blocks: usize,
}

// SAFETY: a Job only carries pointers into slices that outlive the call
// (checked in `gemm`), and concurrent tasks write disjoint tiles of C.
unsafe impl Send for Job {}
unsafe impl Sync for Job {}

impl Job {
    pub(super) fn a_start(&self, i: usize) -> usize {
        (i / self.a_group) * self.a_group_stride + (i % self.a_group) * self.a_rs
    }

    /// Offset of column `kk` from a row start.
    ///
    /// # Safety
    /// `kk < k`, with `a_segs` as checked by `make_job`.
    unsafe fn a_col(&self, kk: usize) -> usize {
        let base = if self.a_segs.is_null() {
            0
        } else {
            unsafe { *self.a_segs.add(kk / self.a_run) }
        };
        base + (kk % self.a_run) * self.a_cs
    }

    /// First row and row count of block `i`.
    pub(super) fn block(&self, i: usize) -> (usize, usize) {
        let base = self.m / self.blocks;
        let extra = self.m % self.blocks;
        (i * base + i.min(extra), base + usize::from(i < extra))
    }
}

isa_fn!(pub(super) fn run_tile(job: &Job, blocks: Range<usize>, panels: Range<usize>) => tile);

/// Computes row blocks `blocks` x panels `panels` of C.
///
/// # Safety
/// `S` must be available on this CPU and `job` must describe valid
/// operands (as `make_job` checks); `blocks`/`panels` must be in range.
#[inline(always)]
unsafe fn tile<S: Simd>(job: &Job, blocks: Range<usize>, panels: Range<usize>) {
    let k = job.k;
    let mut apack = if job.a_cs == 1 {
        Vec::new()
    } else {
        vec![0.0f32; MR_MAX * k]
    };
    let zero = [0usize];
    // Keep a group of panels hot in L2 while all row blocks pass over it.
    let group = (L2_FLOATS / (k.max(1) * PANEL)).max(1);
    let mut pg = panels.start;
    while pg < panels.end {
        let pend = (pg + group).min(panels.end);
        for blk in blocks.clone() {
            let (r0, rows) = job.block(blk);
            // Rows with contiguous columns are read in place (evenly spaced
            // unless the block spans groups); others are packed k-major.
            let mut a_rows = ARows {
                ptrs: [std::ptr::null(); MR_MAX],
                base: std::ptr::null(),
                rs: 0,
                spaced: true,
            };
            let (ks, segs, nseg, run) = if job.a_cs == 1 {
                if r0 / job.a_group == (r0 + rows - 1) / job.a_group {
                    // SAFETY: row r0 of A is in bounds (make_job).
                    a_rows.base = unsafe { job.a.add(job.a_start(r0)) };
                    a_rows.rs = job.a_rs;
                } else {
                    a_rows.spaced = false;
                    for (i, p) in a_rows.ptrs.iter_mut().enumerate().take(rows) {
                        // SAFETY: as above, for row r0+i.
                        *p = unsafe { job.a.add(job.a_start(r0 + i)) };
                    }
                }
                match job.a_segs.is_null() {
                    true => (1, zero.as_ptr(), 1, k),
                    false => (1, job.a_segs, k / job.a_run, job.a_run),
                }
            } else {
                // SAFETY: rows r0..r0+rows and columns 0..k of A are in bounds.
                unsafe { pack_a(job, r0, rows, &mut apack) };
                a_rows.base = apack.as_ptr();
                a_rows.rs = 1;
                (rows, zero.as_ptr(), 1, k)
            };
            for p in pg..pend {
                let (col0, width) = panel_geometry(job.n, p);
                let sub = width.min(2 * S::W);
                let mut s = 0;
                while s < width && col0 + s < job.n {
                    let cols = sub.min(job.n - col0 - s);
                    // SAFETY: panel p starts at p*PANEL*k in the packed data
                    // and is `width` floats wide; bias is padded to the
                    // packed width; C rows r0.. have at least n columns.
                    unsafe {
                        micro::<S>(
                            rows,
                            sub / S::W,
                            (segs, nseg, run),
                            &a_rows,
                            ks,
                            job.b.add(p * PANEL * k + s),
                            width,
                            job.bias.add(col0 + s),
                            job.c.add(r0 * job.c_rs + col0 + s),
                            job.c_rs,
                            cols,
                            job.lo,
                            job.hi,
                        )
                    };
                    s += sub;
                }
            }
        }
        pg = pend;
    }
}

/// Copies rows `r0..r0+rows` of A k-major into `dst[kk * rows + i]`.
///
/// # Safety
/// Those rows of A must be in bounds.
#[inline(always)]
unsafe fn pack_a(job: &Job, r0: usize, rows: usize, dst: &mut [f32]) {
    let k = job.k;
    for i in 0..rows {
        // SAFETY: row r0+i exists and every column offset stays in bounds.
        let src = unsafe { job.a.add(job.a_start(r0 + i)) };
        for kk in 0..k {
            // SAFETY: as above.
            dst[kk * rows + i] = unsafe { *src.add(job.a_col(kk)) };
        }
    }
}

/// Dispatches a `rows x nv` tile to its monomorphised microkernel.
///
/// # Safety
/// As for [`ukernel`].
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn micro<S: Simd>(
    rows: usize,
    nv: usize,
    k: (*const usize, usize, usize),
    a: &ARows,
    a_ks: usize,
    b: *const f32,
    b_stride: usize,
    bias: *const f32,
    c: *mut f32,
    c_rs: usize,
    cols: usize,
    lo: f32,
    hi: f32,
) {
    macro_rules! go {
        ($($r:literal)*) => {
            match (rows, nv, a.spaced) {
                $(
                    ($r, 1, true) => unsafe { ukernel::<S, $r, 1, true>(k, a, a_ks, b, b_stride, bias, c, c_rs, cols, lo, hi) },
                    ($r, 2, true) => unsafe { ukernel::<S, $r, 2, true>(k, a, a_ks, b, b_stride, bias, c, c_rs, cols, lo, hi) },
                    ($r, 1, false) => unsafe { ukernel::<S, $r, 1, false>(k, a, a_ks, b, b_stride, bias, c, c_rs, cols, lo, hi) },
                    ($r, 2, false) => unsafe { ukernel::<S, $r, 2, false>(k, a, a_ks, b, b_stride, bias, c, c_rs, cols, lo, hi) },
                )*
                _ => unreachable!("microkernel tile {rows}x{nv}"),
            }
        };
    }
    go!(1 2 3 4 5 6 7 8 9 10 11 12)
}

/// The rows of one A block: `base + i * rs` when `spaced`, else `ptrs[i]`.
struct ARows {
    ptrs: [*const f32; MR_MAX],
    base: *const f32,
    rs: usize,
    spaced: bool,
}

/// One `MR x (NV * W)` tile over `k = (segs, nseg, run)`: `nseg` runs of
/// `run` columns, `A[i][s * run + j] = row_i[segs[s] + j * a_ks]` with the
/// rows of `a` (`SPACED` must match `a.spaced`); `b`
/// advances `b_stride` floats per k, `bias` and `b` hold `NV * W` readable
/// floats per row, `c` rows are `c_rs` apart and `cols` of them are stored.
///
/// # Safety
/// `S` must be available; all pointers valid for the extents above.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn ukernel<S: Simd, const MR: usize, const NV: usize, const SPACED: bool>(
    (segs, nseg, run): (*const usize, usize, usize),
    a: &ARows,
    a_ks: usize,
    b: *const f32,
    b_stride: usize,
    bias: *const f32,
    c: *mut f32,
    c_rs: usize,
    cols: usize,
    lo: f32,
    hi: f32,
) {
    // SAFETY: the function contract covers every access below.
    unsafe {
        let mut acc = [[S::splat(0.0); NV]; MR];
        for v in 0..NV {
            let x = S::load(bias.add(v * S::W));
            for row in acc.iter_mut() {
                row[v] = x;
            }
        }
        // Evenly spaced rows let the compiler address them from one base.
        let rows: [*const f32; MR] = std::array::from_fn(|i| {
            if SPACED {
                a.base.wrapping_add(i * a.rs)
            } else {
                a.ptrs[i]
            }
        });
        let mut bp = b;
        // One k step, as a macro so that it always inlines.
        macro_rules! step {
            ($off:expr, $bp:expr) => {{
                let (off, bp) = ($off, $bp);
                let bv: [S::V; NV] = std::array::from_fn(|v| S::load(bp.add(v * S::W)));
                for (i, row) in acc.iter_mut().enumerate() {
                    let x = S::splat(*rows[i].add(off));
                    for v in 0..NV {
                        row[v] = S::fma(x, bv[v], row[v]);
                    }
                }
            }};
        }
        if nseg == 1 {
            // One run (plain matrices): the tightest loop.
            let mut off = *segs;
            for _ in 0..run {
                step!(off, bp);
                off += a_ks;
                bp = bp.wrapping_add(b_stride);
            }
        } else {
            for sg in 0..nseg {
                let mut off = *segs.add(sg);
                for _ in 0..run {
                    step!(off, bp);
                    off += a_ks;
                    bp = bp.wrapping_add(b_stride);
                }
            }
        }
        let (lo, hi) = (S::splat(lo), S::splat(hi));
        for (i, row) in acc.iter().enumerate() {
            let cp = c.add(i * c_rs);
            for (v, &x) in row.iter().enumerate() {
                let lane0 = v * S::W;
                let y = S::clamp(x, lo, hi);
                if lane0 + S::W <= cols {
                    S::store(cp.add(lane0), y);
                } else if lane0 < cols {
                    S::store_n(cp.add(lane0), y, cols - lane0);
                }
            }
        }
    }
}
