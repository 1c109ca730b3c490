//! The integer GEMM of the int8/uint8 kernels:
//! `C[i][j] = requant_j(sum_k A[i][k] * B[k][j] + bias[j])` with A unsigned
//! bytes, B signed bytes (the weights) and C bytes.
//!
//! `vpdpbusd` multiplies u8 by i8, so int8 activations enter A offset by
//! +128 (`x ^ 0x80`); callers fold `-(zero_point + 128) * colsum(B)` into
//! the bias (integer sums wrap identically in any order, so this is exact).
//! B is packed once into panels of [`QPANEL`] columns holding groups of 4
//! consecutive k per column (one 32-bit lane of `vpdpbusd`), k padded to a
//! multiple of 4 with zero weights. A is packed one block of rows at a time
//! by the caller's `fill` (im2col for convolutions), so padding and the
//! offset cost one pass over the activations. The epilogue adds the bias,
//! requantizes per column, clamps and stores bytes from registers.

use crate::api::{invalid, KResult};
use crate::linalg::qkernel::{run_tile, Tile};
use crate::linalg::qparams::Requant;
use crate::parallel::Parallel;

/// Columns per packed panel; a last panel of at most [`QHALF`] columns is
/// packed [`QHALF`] wide.
pub const QPANEL: usize = 32;
pub const QHALF: usize = 16;

/// Which microkernel runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QIsa {
    /// AVX-512 VNNI (`vpdpbusd` on zmm), with AVX-512BW/VL for the stores.
    Avx512Vnni,
    /// AVX-VNNI (`vpdpbusd` on ymm).
    AvxVnni,
    /// AVX2 without VNNI: int16 `vpmaddwd`.
    Avx2,
    Generic,
}

#[cfg(test)]
thread_local! {
    /// Per test thread, so one test forcing an ISA never changes the path
    /// another test's kernels take (float results differ by ISA in the last
    /// bit, and tests compare kernels built at different times exactly).
    static FORCED: std::cell::Cell<u8> = const { std::cell::Cell::new(0) };
}

impl QIsa {
    #[cfg(test)]
    pub fn force(isa: Option<QIsa>) {
        let code = match isa {
            None => 0,
            Some(QIsa::Avx512Vnni) => 1,
            Some(QIsa::AvxVnni) => 2,
            Some(QIsa::Avx2) => 3,
            Some(QIsa::Generic) => 4,
        };
        FORCED.with(|f| f.set(code));
    }

    /// The best microkernel this CPU runs.
    pub fn detect() -> QIsa {
        #[cfg(test)]
        match FORCED.with(|f| f.get()) {
            1 => return QIsa::Avx512Vnni,
            2 => return QIsa::AvxVnni,
            3 => return QIsa::Avx2,
            4 => return QIsa::Generic,
            _ => {}
        }
        Self::available()[0]
    }

    /// Every microkernel this CPU runs, best first.
    pub fn available() -> Vec<QIsa> {
        let mut v = Vec::new();
        #[cfg(target_arch = "x86_64")]
        {
            if has_avx512vnni() {
                v.push(QIsa::Avx512Vnni);
            }
            if has_avxvnni() {
                v.push(QIsa::AvxVnni);
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                v.push(QIsa::Avx2);
            }
        }
        v.push(QIsa::Generic);
        v
    }

    /// Rows per microkernel call.
    pub fn mr(self) -> usize {
        match self {
            QIsa::Avx512Vnni => 12,
            QIsa::AvxVnni => 3,
            QIsa::Avx2 => 2,
            QIsa::Generic => 4,
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avx512vnni() -> bool {
    std::arch::is_x86_feature_detected!("avx512f")
        && std::arch::is_x86_feature_detected!("avx512bw")
        && std::arch::is_x86_feature_detected!("avx512vl")
        && std::arch::is_x86_feature_detected!("avx512vnni")
}

#[cfg(target_arch = "x86_64")]
pub(crate) fn has_avxvnni() -> bool {
    std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("avxvnni")
}

/// `k` rounded up to whole groups of 4.
pub fn padded_k(k: usize) -> usize {
    k.div_ceil(4) * 4
}

/// Columns of all panels of an `n`-column operand (per-column arrays are
/// padded to this).
pub fn padded_n(n: usize) -> usize {
    (0..n.div_ceil(QPANEL)).map(|p| panel_width(n, p)).sum()
}

fn panel_width(n: usize, p: usize) -> usize {
    if n - p * QPANEL <= QHALF {
        QHALF
    } else {
        QPANEL
    }
}

/// The packed weights and their column sums.
#[derive(Debug, Clone)]
pub struct PackedQB {
    k: usize,
    kp: usize,
    n: usize,
    data: Vec<i8>,
    colsum: Vec<i32>,
}

impl PackedQB {
    /// Packs `B[kk][j] = b[kk * rs + j * cs]` for `kk < k`, `j < n`.
    pub fn pack(b: &[i8], k: usize, n: usize, rs: usize, cs: usize) -> KResult<Self> {
        if k > 0 && n > 0 {
            let last = (k - 1)
                .checked_mul(rs)
                .and_then(|x| (n - 1).checked_mul(cs).and_then(|y| x.checked_add(y)));
            if last.is_none_or(|l| l >= b.len()) {
                return invalid(format!(
                    "GEMM operand of {} values is too small for {k}x{n}",
                    b.len()
                ));
            }
        }
        let kp = padded_k(k);
        let mut data = vec![0i8; kp * padded_n(n)];
        let mut colsum = vec![0i32; n];
        let mut at = 0;
        for p in 0..n.div_ceil(QPANEL) {
            let (col0, w) = (p * QPANEL, panel_width(n, p));
            for (j, sum) in colsum.iter_mut().enumerate().skip(col0).take(w) {
                for kk in 0..k {
                    let v = b[kk * rs + j * cs];
                    data[at + ((kk / 4) * w + (j - col0)) * 4 + kk % 4] = v;
                    *sum += v as i32;
                }
            }
            at += kp * w;
        }
        Ok(PackedQB {
            k,
            kp,
            n,
            data,
            colsum,
        })
    }

    pub fn k(&self) -> usize {
        self.k
    }

    pub fn n(&self) -> usize {
        self.n
    }

    /// `k` padded to whole groups of 4 (the packed row length of A).
    pub fn kp(&self) -> usize {
        self.kp
    }

    /// Panel `p` (only the last may be narrow) and its packed width.
    pub fn panel(&self, p: usize) -> (&[i8], usize) {
        let w = panel_width(self.n, p);
        (&self.data[p * QPANEL * self.kp..][..self.kp * w], w)
    }

    /// `sum_k B[k][j]` for each column.
    pub fn colsum(&self) -> &[i32] {
        &self.colsum
    }
}

/// Writes rows `row0..row0 + rows` of A, `kp` bytes each, into the buffer.
pub type Fill<'f> = &'f (dyn Fn(usize, usize, &mut [u8]) + Sync);

/// The output pointer shared by the tasks of one GEMM.
struct Out(*mut u8);
// SAFETY: tasks write disjoint tiles of one output slice that outlives them.
unsafe impl Send for Out {}
unsafe impl Sync for Out {}

impl Out {
    /// A method, so closures capture the `Sync` wrapper and not the field.
    fn at(&self, offset: usize) -> *mut u8 {
        self.0.wrapping_add(offset)
    }
}

/// Bytes of A per packed row block (L2-sized).
const A_BLOCK_BYTES: usize = 96 * 1024;

/// Runs the GEMM for `m` rows into `out` (row stride `ldc`). `bias` and
/// the requantization arrays must cover [`padded_n`] columns.
#[allow(clippy::too_many_arguments)]
pub fn qgemm(
    isa: QIsa,
    par: &Parallel,
    m: usize,
    b: &PackedQB,
    bias: &[i32],
    rq: &Requant,
    out: &mut [u8],
    ldc: usize,
    fill: Fill<'_>,
) -> KResult<()> {
    let (n, kp) = (b.n, b.kp);
    if m == 0 || n == 0 {
        return Ok(());
    }
    let pn = padded_n(n);
    if ldc < n || out.len() < (m - 1) * ldc + n {
        return invalid("GEMM output is too small");
    }
    if bias.len() < pn || rq.mult.len() < pn {
        return invalid("GEMM bias or requantization is not padded");
    }
    let mr = isa.mr();
    let block = (A_BLOCK_BYTES / kp.max(1)).clamp(mr, 16 * mr) / mr * mr;
    let row_blocks = m.div_ceil(block);
    let panels = n.div_ceil(QPANEL);
    let macs = m * n * kp;
    let threads = par.threads();
    // Small products run on the caller's thread; otherwise split rows, and
    // columns too when there are few row blocks.
    // Splitting costs a few microseconds when the caller already runs on
    // the pool (the interpreter's case): below about 2M multiply-adds one
    // thread is faster.
    let (row_tasks, col_tasks) = if threads == 1 || macs < 1 << 21 {
        (1, 1)
    } else if row_blocks >= 2 * threads {
        (row_blocks, 1)
    } else {
        (row_blocks, panels.min((2 * threads).div_ceil(row_blocks)))
    };
    let per_rows = if row_tasks == 1 { m } else { block };
    let per_panels = panels.div_ceil(col_tasks);
    let dst = Out(out.as_mut_ptr());
    let task = |t: usize| {
        let (rt, ct) = (t / col_tasks, t % col_tasks);
        let r0 = rt * per_rows;
        let r1 = (r0 + per_rows).min(m);
        let p0 = ct * per_panels;
        let p1 = (p0 + per_panels).min(panels);
        let mut abuf = vec![0u8; block.min(r1 - r0).div_ceil(mr) * mr * kp];
        for b0 in (r0..r1).step_by(block) {
            let rows = block.min(r1 - b0);
            fill(b0, rows, &mut abuf[..rows * kp]);
            for p in p0..p1 {
                let col0 = p * QPANEL;
                let w = panel_width(n, p);
                let panel = &b.data[panel_offset(n, kp, p)..][..kp * w];
                for i0 in (0..rows).step_by(mr) {
                    let tile = Tile {
                        a: &abuf[i0 * kp..(i0 + mr) * kp],
                        kp,
                        b: panel,
                        width: w,
                        bias: &bias[col0..col0 + w],
                        rq: Some(rq),
                        col0,
                        rows: mr.min(rows - i0),
                        cols: w.min(n - col0),
                        out: dst.at((b0 + i0) * ldc + col0),
                        ldc,
                    };
                    // SAFETY: the tile's rows and columns lie inside `out`
                    // (checked above: (m - 1) * ldc + n <= out.len()), no
                    // other task writes them, and the slices cover `mr` rows
                    // of A, `kp * w` weights and `w` parameters.
                    unsafe { run_tile(isa, &tile) };
                }
            }
        }
    };
    par.for_each(row_tasks * col_tasks, task);
    Ok(())
}

fn panel_offset(n: usize, kp: usize, p: usize) -> usize {
    (0..p).map(|q| panel_width(n, q)).sum::<usize>() * kp
}

/// Copies `src` into `dst` flipping the sign bit: int8 to offset-128 u8.
#[inline]
pub fn copy_offset(dst: &mut [u8], src: &[u8]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d = s ^ 0x80;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::qparams::Rounding;
    use crate::linalg::testutil::rand_vec;
    use crate::quant::fixedpoint::quantize_multiplier;

    /// Random int8 GEMMs against a direct computation, on every ISA,
    /// threaded or not, with odd sizes and both roundings.
    #[test]
    fn matches_direct_product_on_every_isa() {
        let cases = [
            (1, 1, 1),
            (3, 5, 7),
            (13, 17, 33),
            (25, 64, 16),
            (40, 100, 48),
            (7, 3, 70),
            (300, 96, 40),
            (2, 1280, 37),
            // Above the threading threshold: split by rows, then by columns.
            (600, 160, 96),
            (2, 4096, 1100),
        ];
        for (ci, &(m, k, n)) in cases.iter().enumerate() {
            let byte = |v: f32| (v * 127.9) as i8;
            let a: Vec<i8> = rand_vec(m * k, ci as u64).into_iter().map(byte).collect();
            let bm: Vec<i8> = rand_vec(k * n, 50 + ci as u64)
                .into_iter()
                .map(byte)
                .collect();
            let zp = -7 + ci as i32;
            let bias: Vec<i32> = (0..n).map(|j| (j as i32 * 37) % 201 - 100).collect();
            let mults: Vec<(i32, i32)> = (0..n)
                .map(|j| quantize_multiplier(0.001 + 0.0007 * j as f64))
                .collect();
            let rq = Requant::new(
                &mults,
                |j| {
                    if j % 3 == 0 {
                        Rounding::AwayFromZero
                    } else {
                        Rounding::Upward
                    }
                },
                5,
                (-128, 127),
                padded_n(n),
            );
            let mut want = vec![0i8; m * n];
            for i in 0..m {
                for j in 0..n {
                    let mut acc = bias[j];
                    for kk in 0..k {
                        acc += (a[i * k + kk] as i32 - zp) * bm[kk * n + j] as i32;
                    }
                    want[i * n + j] = rq.apply(j, acc) as i8;
                }
            }
            let packed = PackedQB::pack(&bm, k, n, n, 1).unwrap();
            let mut b2 = vec![0i32; padded_n(n)];
            for j in 0..n {
                b2[j] = bias[j] - (zp + 128) * packed.colsum()[j];
            }
            let kp = padded_k(k);
            let a_bytes: &[u8] = bytemuck::cast_slice(&a);
            let fill = |r0: usize, rows: usize, buf: &mut [u8]| {
                for r in 0..rows {
                    copy_offset(&mut buf[r * kp..r * kp + k], &a_bytes[(r0 + r) * k..][..k]);
                }
            };
            for isa in QIsa::available() {
                for threads in [1, 2] {
                    let par = Parallel::new(threads).unwrap();
                    let mut out = vec![0u8; m * n];
                    qgemm(isa, &par, m, &packed, &b2, &rq, &mut out, n, &fill).unwrap();
                    let got: Vec<i8> = out.iter().map(|&x| x as i8).collect();
                    assert_eq!(got, want, "case {ci} {isa:?} threads {threads}");
                }
            }
        }
    }
}
