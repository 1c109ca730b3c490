//! The integer GEMM behind the dynamic-range (hybrid) and int16x8 kernels:
//! `acc[i][j] = sum_kk A[i][kk] * W[j][kk]` with A in i16 (int16
//! activations, or int8 quantized on the fly) and W int8 weights widened to
//! i16 at pack time, so one `pmaddwd` multiplies two pairs of depth and adds
//! them into i32 lanes.
//!
//! Overflow: |A| <= 2^15 and |W| <= 2^7, so a pair sum is at most 2^23 in
//! magnitude (`pmaddwd` itself only saturates for -2^15 * -2^15 twice,
//! impossible with |W| <= 2^7). i32 lanes therefore hold at least
//! (2^31 - 1) / 2^23 > 255 pair sums; chunks of [`KC_PAIRS`] = 128 pairs
//! stay below 2^30 and are widened into i64 accumulators between chunks, so
//! no input can overflow. Hybrid kernels, whose int8 x int8 products are
//! below 2^15, ask for one chunk: i32 accumulation is what LiteRT does.
//!
//! Hybrid weights may instead be packed for the int8 GEMM
//! ([`PackedW::pack_int8`]): A rows (int8 values) enter it offset to u8 and
//! `vpdpbusd` (or its fallbacks) sums four depths per lane in i32, the same
//! exact i32 sums with fewer instructions.
//!
//! The epilogue sees each finished row of each column panel as i64 values
//! and writes the output itself (float rescale or fixed-point requantize).

use std::sync::Mutex;

use crate::api::{invalid, KResult};
use crate::linalg::qgemm::{padded_n, PackedQB, QIsa, QPANEL};
use crate::linalg::qkernel::{run_tile, Tile};
use crate::linalg::simd::Isa;
use crate::parallel::Parallel;

/// Writes one tile's outputs: `(row, col, accumulators, out)`.
pub type Epilogue<'a, O> = dyn Fn(usize, usize, &[i64], &mut [O]) + Sync + 'a;

/// Columns per packed weight panel.
pub const NR: usize = 32;
/// Pairs of depth summed in i32 before widening (see the module bound).
pub const KC_PAIRS: usize = 128;
/// Most rows a microkernel handles at once (sizes the tile buffers).
const MR_MAX: usize = 12;

/// Weights `W[j][kk]` (`n` rows of depth `k`, the TFLite `[out, in]`
/// layout) packed as panels of [`NR`] columns: per depth pair `p`, per
/// column `c`, the two values `W[c][2p], W[c][2p+1]`; zero padded in both
/// depth (to even) and columns.
#[derive(Debug, Clone)]
pub struct PackedW {
    k: usize,
    n: usize,
    pairs: usize,
    data: Vec<i16>,
    /// Set by [`PackedW::pack_int8`] (then `data` is empty).
    int8: Option<Int8W>,
    /// Sum of each row of W (for asymmetric inputs: sum (a - zp) w =
    /// sum a w - zp * sum w).
    row_sums: Vec<i32>,
}

impl PackedW {
    /// Packs `w[j * k + kk]` for `j < n`, `kk < k`.
    pub fn pack(w: &[i8], n: usize, k: usize) -> KResult<Self> {
        if n.checked_mul(k) != Some(w.len()) {
            return invalid(format!(
                "weights of {} values do not form {n} rows of {k}",
                w.len()
            ));
        }
        let pairs = k.div_ceil(2);
        let panels = n.div_ceil(NR);
        let mut data = vec![0i16; panels * pairs * NR * 2];
        for j in 0..n {
            let (p, c) = (j / NR, j % NR);
            let base = p * pairs * NR * 2 + c * 2;
            for (kk, &v) in w[j * k..(j + 1) * k].iter().enumerate() {
                data[base + (kk / 2) * NR * 2 + (kk % 2)] = v as i16;
            }
        }
        let row_sums = (0..n)
            .map(|j| w[j * k..(j + 1) * k].iter().map(|&v| v as i32).sum())
            .collect();
        Ok(PackedW {
            k,
            n,
            pairs,
            data,
            int8: None,
            row_sums,
        })
    }

    /// Packs `w` like [`PackedW::pack`] but for the int8 GEMM: every value
    /// `fill` writes must then lie in [-128, 127] (int8 widened to i16).
    pub fn pack_int8(w: &[i8], n: usize, k: usize) -> KResult<Self> {
        if n.checked_mul(k) != Some(w.len()) {
            return invalid(format!(
                "weights of {} values do not form {n} rows of {k}",
                w.len()
            ));
        }
        let b = PackedQB::pack(w, k, n, 1, k)?;
        // A enters as a + 128: take 128 * sum w back out of every sum.
        let mut bias = vec![0i32; padded_n(n)];
        for (o, &s) in bias.iter_mut().zip(b.colsum()) {
            *o = s.wrapping_mul(-128);
        }
        let row_sums = b.colsum().to_vec();
        Ok(PackedW {
            k,
            n,
            pairs: k.div_ceil(2),
            data: Vec::new(),
            int8: Some(Int8W { b, bias }),
            row_sums,
        })
    }

    pub fn k(&self) -> usize {
        self.k
    }

    pub fn n(&self) -> usize {
        self.n
    }

    pub fn row_sums(&self) -> &[i32] {
        &self.row_sums
    }

    fn panel(&self, p: usize) -> &[i16] {
        let len = self.pairs * NR * 2;
        &self.data[p * len..(p + 1) * len]
    }
}

/// Weights packed for the int8 GEMM, with its offset correction.
#[derive(Debug, Clone)]
struct Int8W {
    b: PackedQB,
    bias: Vec<i32>,
}

/// How a job runs: the ISA and how many depth pairs an i32 chunk may hold
/// (`qisa` for weights packed by [`PackedW::pack_int8`]).
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub isa: Isa,
    pub chunk_pairs: usize,
    pub qisa: QIsa,
}

impl Plan {
    /// int16 activations: chunked i32 sums widened into i64.
    pub fn int16() -> Self {
        Plan {
            isa: Isa::detect(),
            chunk_pairs: KC_PAIRS,
            qisa: QIsa::detect(),
        }
    }

    /// int8 activations: one i32 sum over the whole depth, as LiteRT's
    /// hybrid kernels do.
    pub fn int8() -> Self {
        Plan {
            isa: Isa::detect(),
            chunk_pairs: usize::MAX,
            qisa: QIsa::detect(),
        }
    }
}

/// Rows per microkernel call for these weights.
fn rows_per_tile(plan: Plan, w: &PackedW) -> usize {
    if w.int8.is_some() {
        plan.qisa.mr()
    } else {
        mr_of(plan.isa)
    }
}

fn mr_of(isa: Isa) -> usize {
    match isa {
        Isa::Avx512 => 12,
        Isa::Avx2 => 3,
        Isa::Generic => 4,
    }
}

/// Computes `m` rows against `w`: `fill(i, row)` writes row `i` of A (its
/// `w.k()` values; the buffer arrives zeroed past them), then
/// `epi(i, j0, acc, out_row)` receives the sums for columns `j0..j0 +
/// acc.len()` and `out_row`, those columns of row `i` of `out` (row stride
/// `ldc`). Splits rows (or, for few rows, columns) over `par`.
#[allow(clippy::too_many_arguments)]
pub fn gemm<O: Send + Copy + Default>(
    plan: Plan,
    par: &Parallel,
    m: usize,
    w: &PackedW,
    out: &mut [O],
    ldc: usize,
    fill: &(dyn Fn(usize, &mut [i16]) + Sync),
    epi: &Epilogue<'_, O>,
) -> KResult<()> {
    let n = w.n;
    if m == 0 || n == 0 {
        return Ok(());
    }
    if ldc < n || (m - 1).checked_mul(ldc).and_then(|x| x.checked_add(n)) > Some(out.len()) {
        return invalid(format!(
            "GEMM output of {} values is too small for {m}x{n}",
            out.len()
        ));
    }
    let mr = rows_per_tile(plan, w);
    let blocks = m.div_ceil(mr);
    let panels = n.div_ceil(NR);
    let macs = m * n * w.k.max(1);
    let threads = par.threads();
    if threads <= 1 || macs < 1 << 19 {
        run_rows_at(plan, w, 0..m, 0..panels, out, ldc, fill, epi);
        return Ok(());
    }
    if blocks >= 2 * threads {
        // Whole rows per task: disjoint output chunks.
        let tasks = blocks.min(threads * 4);
        let per = blocks.div_ceil(tasks) * mr;
        let chunks: Vec<Mutex<&mut [O]>> = out.chunks_mut(per * ldc).map(Mutex::new).collect();
        par.for_each(chunks.len(), |t| {
            let rows = t * per..((t + 1) * per).min(m);
            if let Ok(mut c) = chunks[t].lock() {
                run_rows_at(plan, w, rows, 0..panels, &mut c, ldc, fill, epi);
            }
        });
        return Ok(());
    }
    // Few rows: split the panels; each task fills a private buffer.
    let tasks = panels.min(threads * 2);
    let results: Vec<Mutex<Vec<O>>> = (0..tasks).map(|_| Mutex::new(Vec::new())).collect();
    par.for_each(tasks, |t| {
        let pan = split(panels, tasks, t);
        let (j0, j1) = (pan.start * NR, (pan.end * NR).min(n));
        let mut buf = vec![O::default(); m * (j1 - j0)];
        run_cols(plan, w, m, pan, j0, &mut buf, j1 - j0, fill, epi);
        if let Ok(mut r) = results[t].lock() {
            *r = buf;
        }
    });
    for (t, r) in results.into_iter().enumerate() {
        let pan = split(panels, tasks, t);
        let (j0, j1) = (pan.start * NR, (pan.end * NR).min(n));
        let buf = r.into_inner().unwrap_or_default();
        for (i, row) in buf.chunks_exact((j1 - j0).max(1)).enumerate().take(m) {
            out[i * ldc + j0..i * ldc + j1].copy_from_slice(row);
        }
    }
    Ok(())
}

/// Part `i` of `0..n` cut into `parts` nearly equal ranges.
fn split(n: usize, parts: usize, i: usize) -> std::ops::Range<usize> {
    let base = n / parts;
    let extra = n % parts;
    let start = i * base + i.min(extra);
    start..start + base + usize::from(i < extra)
}

/// Rows `rows` of the product; `out` starts at row `rows.start`.
#[allow(clippy::too_many_arguments)]
fn run_rows_at<O: Copy>(
    plan: Plan,
    w: &PackedW,
    rows: std::ops::Range<usize>,
    panels: std::ops::Range<usize>,
    out: &mut [O],
    ldc: usize,
    fill: &(dyn Fn(usize, &mut [i16]) + Sync),
    epi: &Epilogue<'_, O>,
) {
    let first = rows.start;
    let place = |i: usize, j0: usize, j1: usize| (i - first) * ldc + j0..(i - first) * ldc + j1;
    drive(plan, w, rows, panels, fill, &mut |i, j0, acc| {
        let r = place(i, j0, j0 + acc.len());
        epi(i, j0, acc, &mut out[r]);
    });
}

/// All `m` rows over `panels`, into `out` whose column 0 is column `j0`.
#[allow(clippy::too_many_arguments)]
fn run_cols<O: Copy>(
    plan: Plan,
    w: &PackedW,
    m: usize,
    panels: std::ops::Range<usize>,
    j0: usize,
    out: &mut [O],
    ldc: usize,
    fill: &(dyn Fn(usize, &mut [i16]) + Sync),
    epi: &Epilogue<'_, O>,
) {
    drive(plan, w, 0..m, panels, fill, &mut |i, j, acc| {
        let at = i * ldc + (j - j0);
        epi(i, j, acc, &mut out[at..at + acc.len()]);
    });
}

/// The blocked loop: pack a block of A rows, then for each panel sum the
/// depth in chunks and hand finished rows to `sink(row, col0, acc)`.
fn drive(
    plan: Plan,
    w: &PackedW,
    rows: std::ops::Range<usize>,
    panels: std::ops::Range<usize>,
    fill: &(dyn Fn(usize, &mut [i16]) + Sync),
    sink: &mut dyn FnMut(usize, usize, &[i64]),
) {
    if let Some(q) = &w.int8 {
        return drive_int8(plan.qisa, q, rows, panels, fill, sink);
    }
    let mr = mr_of(plan.isa);
    let kp = w.pairs * 2;
    let mut a = vec![0i16; mr * kp];
    let mut tile = [[0i32; NR]; MR_MAX];
    let mut wide = [[0i64; NR]; MR_MAX];
    let chunk = plan.chunk_pairs.clamp(1, w.pairs.max(1));
    let mut i0 = rows.start;
    while i0 < rows.end {
        let r = mr.min(rows.end - i0);
        for (ri, row) in a.chunks_exact_mut(kp.max(1)).take(r).enumerate() {
            // Rows arrive zeroed past k (the odd pad pair must be zero).
            row.fill(0);
            fill(i0 + ri, &mut row[..w.k]);
        }
        for p in panels.clone() {
            let panel = w.panel(p);
            let j0 = p * NR;
            let cols = NR.min(w.n - j0);
            for wr in wide.iter_mut().take(r) {
                *wr = [0; NR];
            }
            let mut p0 = 0;
            while p0 < w.pairs {
                let np = chunk.min(w.pairs - p0);
                microkernel(plan.isa, &a, kp, r, panel, p0, np, &mut tile);
                for (wr, tr) in wide.iter_mut().zip(&tile).take(r) {
                    for (x, &y) in wr.iter_mut().zip(tr) {
                        *x += y as i64;
                    }
                }
                p0 += np;
            }
            for (ri, wr) in wide.iter().enumerate().take(r) {
                sink(i0 + ri, j0, &wr[..cols]);
            }
        }
        i0 += r;
    }
}

/// [`drive`] for weights packed by [`PackedW::pack_int8`].
fn drive_int8(
    isa: QIsa,
    q: &Int8W,
    rows: std::ops::Range<usize>,
    panels: std::ops::Range<usize>,
    fill: &(dyn Fn(usize, &mut [i16]) + Sync),
    sink: &mut dyn FnMut(usize, usize, &[i64]),
) {
    let (mr, k, kp, n) = (isa.mr(), q.b.k(), q.b.kp(), q.b.n());
    let mut row = vec![0i16; k];
    // Depth padding meets zero weights, so its value does not matter.
    let mut a = vec![0x80u8; mr * kp];
    let mut acc = vec![0i32; mr * QPANEL];
    let mut wide = [0i64; QPANEL];
    let mut i0 = rows.start;
    while i0 < rows.end {
        let r = mr.min(rows.end - i0);
        for (ri, dst) in a.chunks_exact_mut(kp.max(1)).take(r).enumerate() {
            row.fill(0);
            fill(i0 + ri, &mut row);
            for (d, &v) in dst.iter_mut().zip(&row) {
                *d = (v as i8 as u8) ^ 0x80;
            }
        }
        for p in panels.clone() {
            let (panel, width) = q.b.panel(p);
            let col0 = p * QPANEL;
            let cols = width.min(n - col0);
            let tile = Tile {
                a: &a,
                kp,
                b: panel,
                width,
                bias: &q.bias[col0..col0 + width],
                rq: None,
                col0,
                rows: r,
                cols,
                out: acc.as_mut_ptr() as *mut u8,
                ldc: QPANEL,
            };
            // SAFETY: `acc` holds `mr` rows of QPANEL >= cols i32, `a` mr
            // rows of kp bytes, the panel kp * width weights and `bias`
            // width values.
            unsafe { run_tile(isa, &tile) };
            for (ri, sums) in acc.chunks_exact(QPANEL).take(r).enumerate() {
                for (x, &y) in wide.iter_mut().zip(&sums[..cols]) {
                    *x = y as i64;
                }
                sink(i0 + ri, col0, &wide[..cols]);
            }
        }
        i0 += r;
    }
}

/// `tile[r][c] = sum_{p in p0..p0+np} A[r][2p..2p+2] . W[p][c]` for
/// `r < rows`, on the ISA's kernel.
#[allow(clippy::too_many_arguments)]
fn microkernel(
    isa: Isa,
    a: &[i16],
    kp: usize,
    rows: usize,
    panel: &[i16],
    p0: usize,
    np: usize,
    tile: &mut [[i32; NR]; MR_MAX],
) {
    debug_assert!(rows <= mr_of(isa) && a.len() >= rows * kp);
    debug_assert!(panel.len() >= (p0 + np) * NR * 2 && kp >= (p0 + np) * 2);
    #[cfg(target_arch = "x86_64")]
    match isa {
        Isa::Avx512 if x86::has_avx512bw() => {
            // SAFETY: AVX-512BW is present (checked above); the asserted
            // bounds keep every load inside `a` and `panel`.
            unsafe { x86::avx512(a, kp, rows, panel, p0, np, tile) };
            return;
        }
        Isa::Avx2 | Isa::Avx512 if std::arch::is_x86_feature_detected!("avx2") => {
            // SAFETY: AVX2 is present; bounds as above.
            unsafe { x86::avx2(a, kp, rows, panel, p0, np, tile) };
            return;
        }
        _ => {}
    }
    generic(a, kp, rows, panel, p0, np, tile);
}

fn generic(
    a: &[i16],
    kp: usize,
    rows: usize,
    panel: &[i16],
    p0: usize,
    np: usize,
    tile: &mut [[i32; NR]; MR_MAX],
) {
    for (r, t) in tile.iter_mut().enumerate().take(rows) {
        *t = [0; NR];
        let ar = &a[r * kp..(r + 1) * kp];
        for p in p0..p0 + np {
            let (x0, x1) = (ar[2 * p] as i32, ar[2 * p + 1] as i32);
            let wp = &panel[p * NR * 2..(p + 1) * NR * 2];
            for (c, acc) in t.iter_mut().enumerate() {
                *acc = acc.wrapping_add(x0 * wp[2 * c] as i32 + x1 * wp[2 * c + 1] as i32);
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{MR_MAX, NR};
    use std::arch::x86_64::*;

    pub fn has_avx512bw() -> bool {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
    }

    /// The pair `A[r][2p], A[r][2p+1]` as one little-endian i32 lane.
    ///
    /// # Safety
    /// `a + at` must be valid for two i16 reads.
    #[inline(always)]
    unsafe fn pair(a: *const i16, at: usize) -> i32 {
        // SAFETY: the caller's contract.
        unsafe { (a.add(at) as *const i32).read_unaligned() }
    }

    /// 2 x 16 lanes per row, up to 12 rows.
    ///
    /// # Safety
    /// AVX-512F and BW must be available; `panel` must hold `(p0 + np) *
    /// NR * 2` values and `a` `rows` rows of `kp >= 2 (p0 + np)` values.
    #[target_feature(enable = "avx512f,avx512bw")]
    pub unsafe fn avx512(
        a: &[i16],
        kp: usize,
        rows: usize,
        panel: &[i16],
        p0: usize,
        np: usize,
        tile: &mut [[i32; NR]; MR_MAX],
    ) {
        macro_rules! rows_of {
            ($R:literal) => {{
                let mut acc = [[_mm512_setzero_si512(); 2]; $R];
                for p in p0..p0 + np {
                    let wp = panel[p * NR * 2..].as_ptr();
                    // SAFETY: 64 values from p * NR * 2 lie inside `panel`
                    // (caller's contract); unaligned loads.
                    let (w0, w1) = unsafe {
                        (
                            _mm512_loadu_si512(wp as *const _),
                            _mm512_loadu_si512(wp.add(32) as *const _),
                        )
                    };
                    for r in 0..$R {
                        // SAFETY: r < rows and 2p + 1 < kp (caller's contract).
                        let x = _mm512_set1_epi32(unsafe { pair(a.as_ptr(), r * kp + 2 * p) });
                        acc[r][0] = _mm512_add_epi32(acc[r][0], _mm512_madd_epi16(x, w0));
                        acc[r][1] = _mm512_add_epi32(acc[r][1], _mm512_madd_epi16(x, w1));
                    }
                }
                for r in 0..$R {
                    // SAFETY: each tile row holds 32 i32.
                    unsafe {
                        _mm512_storeu_si512(tile[r].as_mut_ptr() as *mut _, acc[r][0]);
                        _mm512_storeu_si512(tile[r].as_mut_ptr().add(16) as *mut _, acc[r][1]);
                    }
                }
            }};
        }
        match rows {
            12 => rows_of!(12),
            11 => rows_of!(11),
            10 => rows_of!(10),
            9 => rows_of!(9),
            8 => rows_of!(8),
            7 => rows_of!(7),
            6 => rows_of!(6),
            5 => rows_of!(5),
            4 => rows_of!(4),
            3 => rows_of!(3),
            2 => rows_of!(2),
            _ => rows_of!(1),
        }
    }

    /// 4 x 8 lanes per row, up to 3 rows.
    ///
    /// # Safety
    /// AVX2 must be available; bounds as for [`avx512`].
    #[target_feature(enable = "avx2")]
    pub unsafe fn avx2(
        a: &[i16],
        kp: usize,
        rows: usize,
        panel: &[i16],
        p0: usize,
        np: usize,
        tile: &mut [[i32; NR]; MR_MAX],
    ) {
        macro_rules! rows_of {
            ($R:literal) => {{
                let mut acc = [[_mm256_setzero_si256(); 4]; $R];
                for p in p0..p0 + np {
                    let wp = panel[p * NR * 2..].as_ptr();
                    let mut x = [_mm256_setzero_si256(); $R];
                    for r in 0..$R {
                        // SAFETY: r < rows and 2p + 1 < kp (caller's contract).
                        x[r] = _mm256_set1_epi32(unsafe { pair(a.as_ptr(), r * kp + 2 * p) });
                    }
                    for c in 0..4 {
                        // SAFETY: 16 values at c * 16 lie inside the pair's
                        // 64 (caller's contract).
                        let wc = unsafe { _mm256_loadu_si256(wp.add(c * 16) as *const _) };
                        for r in 0..$R {
                            acc[r][c] = _mm256_add_epi32(acc[r][c], _mm256_madd_epi16(x[r], wc));
                        }
                    }
                }
                for r in 0..$R {
                    for c in 0..4 {
                        // SAFETY: 8 i32 at c * 8 lie inside the tile row.
                        unsafe {
                            _mm256_storeu_si256(
                                tile[r].as_mut_ptr().add(c * 8) as *mut _,
                                acc[r][c],
                            )
                        };
                    }
                }
            }};
        }
        match rows {
            3 => rows_of!(3),
            2 => rows_of!(2),
            _ => rows_of!(1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lcg(n: usize, seed: u64, lo: i64, hi: i64) -> Vec<i64> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                lo + ((s >> 33) as i64).rem_euclid(hi - lo + 1)
            })
            .collect()
    }

    /// `a` (m x k) times the transpose of `w` (n x k), in i64.
    fn naive_sums(a: &[i64], w: &[i64], m: usize, k: usize, n: usize) -> Vec<i64> {
        (0..m * n)
            .map(|x| {
                let (i, j) = (x / n, x % n);
                (0..k).map(|kk| a[i * k + kk] * w[j * k + kk]).sum()
            })
            .collect()
    }

    #[test]
    fn sums_match_naive_i64_on_every_isa_and_extreme_values() {
        let par = Parallel::new(2).unwrap();
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 5, 7),
            (13, 33, 40),
            (25, 1000, 70),
            (2, 700, 300),
            (200, 64, 33),
            (0, 4, 4),
            (4, 0, 5),
        ] {
            let mut a = lcg(m * k, 1, -32768, 32767);
            let mut wv = lcg(n * k, 2, -128, 127);
            // The worst case for the bound: every product at its maximum.
            if m > 1 && k > 0 {
                a[..k].fill(-32768);
                wv[..k].fill(-128);
            }
            let a16: Vec<i16> = a.iter().map(|&x| x as i16).collect();
            let w8: Vec<i8> = wv.iter().map(|&x| x as i8).collect();
            let packed = PackedW::pack(&w8, n, k).unwrap();
            let want = naive_sums(&a, &wv, m, k, n);
            for isa in Isa::available() {
                for threads in [false, true] {
                    let mut out = vec![i64::MIN; m * n];
                    let fill =
                        |i: usize, row: &mut [i16]| row.copy_from_slice(&a16[i * k..(i + 1) * k]);
                    let epi =
                        |_: usize, _: usize, acc: &[i64], o: &mut [i64]| o.copy_from_slice(acc);
                    let plan = Plan {
                        isa,
                        chunk_pairs: KC_PAIRS,
                        qisa: QIsa::Generic,
                    };
                    let p = if threads { &par } else { &Parallel::single() };
                    gemm(plan, p, m, &packed, &mut out, n, &fill, &epi).unwrap();
                    assert_eq!(out, want, "{isa:?} {m}x{k}x{n} threads {threads}");
                }
            }
        }
    }

    /// The int8 packing against the same naive sums, on every int8 GEMM
    /// microkernel (full and narrow panels, odd depths, the int8 extremes).
    #[test]
    fn int8_packing_matches_naive_sums_on_every_isa() {
        let par = Parallel::new(2).unwrap();
        for &(m, k, n) in &[
            (1, 1, 1),
            (3, 5, 7),
            (13, 33, 40),
            (25, 1000, 70),
            (2, 700, 300),
            (200, 64, 33),
            (30, 9, 16),
            (0, 4, 4),
        ] {
            let mut a = lcg(m * k, 3, -128, 127);
            let mut wv = lcg(n * k, 4, -128, 127);
            if m > 1 && k > 0 {
                a[..k].fill(-128);
                wv[..k].fill(-128);
                a[k..2 * k].fill(127);
            }
            let a16: Vec<i16> = a.iter().map(|&x| x as i16).collect();
            let w8: Vec<i8> = wv.iter().map(|&x| x as i8).collect();
            let packed = PackedW::pack_int8(&w8, n, k).unwrap();
            let plain = PackedW::pack(&w8, n, k).unwrap();
            assert_eq!(packed.row_sums(), plain.row_sums());
            let want = naive_sums(&a, &wv, m, k, n);
            for qisa in QIsa::available() {
                for threads in [false, true] {
                    let mut out = vec![i64::MIN; m * n];
                    let fill =
                        |i: usize, row: &mut [i16]| row.copy_from_slice(&a16[i * k..(i + 1) * k]);
                    let epi =
                        |_: usize, _: usize, acc: &[i64], o: &mut [i64]| o.copy_from_slice(acc);
                    let plan = Plan {
                        qisa,
                        ..Plan::int8()
                    };
                    let p = if threads { &par } else { &Parallel::single() };
                    gemm(plan, p, m, &packed, &mut out, n, &fill, &epi).unwrap();
                    assert_eq!(out, want, "{qisa:?} {m}x{k}x{n} threads {threads}");
                }
            }
        }
    }

    #[test]
    fn rejects_mismatched_operands() {
        assert!(PackedW::pack(&[1, 2, 3], 2, 2).is_err());
        assert!(PackedW::pack_int8(&[1, 2, 3], 2, 2).is_err());
        let w = PackedW::pack(&[1, 2, 3, 4], 2, 2).unwrap();
        assert_eq!(w.row_sums(), &[3, 7]);
        let mut out = vec![0i64; 3];
        let r = gemm(
            Plan::int16(),
            &Parallel::single(),
            2,
            &w,
            &mut out,
            2,
            &|_, _| {},
            &|_, _, _, _| {},
        );
        assert!(r.is_err());
    }
}
