//! The GEMM shared by FULLY_CONNECTED, BATCH_MATMUL and the convolutions:
//! `C[i][j] = clamp(sum_k A[i][k] * B[k][j] + bias[j], lo, hi)`.
//!
//! B (the weights) is packed once into panels of [`PANEL`] columns, k-major
//! and zero padded. A is read in place when its rows are contiguous, else
//! packed one block of rows at a time; the microkernel broadcasts A values
//! and streams B vectors. The bias is the initial accumulator and the clamp
//! happens on the registers before the store: one pass over C.

use std::ops::Range;

use crate::api::{invalid, KResult};
use crate::common::Activation;
use crate::linalg::microkernel::{run_tile, Job};
use crate::linalg::simd::{Isa, Simd};
use crate::parallel::Parallel;

/// Columns per packed panel of B. The last panel is [`HALF`] wide when at
/// most that many columns remain.
pub const PANEL: usize = 32;
pub const HALF: usize = 16;

/// Largest microkernel row count of any ISA (sizes the A packing buffer).
pub(super) const MR_MAX: usize = 12;

/// Packed panels fit in about this many floats of L2 (512 KB).
pub(super) const L2_FLOATS: usize = 128 * 1024;

/// The clamp LiteRT applies for a fused activation on float outputs (its
/// `CalculateActivationRange`: NONE clamps to the finite range, so infinities
/// become ±FLT_MAX). TANH and SIGN_BIT are not clamps: `None`.
pub fn activation_range(act: Activation) -> Option<(f32, f32)> {
    match act {
        Activation::None => Some((f32::MIN, f32::MAX)),
        Activation::Relu => Some((0.0, f32::MAX)),
        Activation::ReluN1To1 => Some((-1.0, 1.0)),
        Activation::Relu6 => Some((0.0, 6.0)),
        Activation::Tanh | Activation::SignBit => None,
    }
}

/// The f32 values of constant tensor bytes, which need not be aligned.
pub fn read_f32(bytes: &[u8]) -> KResult<std::borrow::Cow<'_, [f32]>> {
    if !bytes.len().is_multiple_of(4) {
        return invalid(format!(
            "{} bytes are not a whole number of floats",
            bytes.len()
        ));
    }
    Ok(match bytemuck::try_cast_slice(bytes) {
        Ok(v) => std::borrow::Cow::Borrowed(v),
        Err(_) => std::borrow::Cow::Owned(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
    })
}

/// The right operand, packed: panel `p` holds columns `p*PANEL..` as `k`
/// rows of its width (32, or 16 for a narrow last panel), zero padded.
#[derive(Debug, Clone)]
pub struct PackedB {
    k: usize,
    n: usize,
    data: Vec<f32>,
}

/// A bias for every packed column of an `n`-column [`PackedB`] (zero past
/// `n`, so the microkernel loads whole vectors).
#[derive(Debug, Clone)]
pub struct Bias {
    n: usize,
    data: Vec<f32>,
}

impl Bias {
    pub fn new(n: usize, bias: Option<&[f32]>) -> KResult<Self> {
        let mut data = vec![0.0; padded_width(n)];
        if let Some(bias) = bias {
            if bias.len() != n {
                return invalid(format!("bias has {} values, expected {n}", bias.len()));
            }
            data[..n].copy_from_slice(bias);
        }
        Ok(Bias { n, data })
    }

    pub fn zeros(n: usize) -> Self {
        Bias {
            n,
            data: vec![0.0; padded_width(n)],
        }
    }
}

impl PackedB {
    /// Packs `B[kk][j] = b[kk * rs + j * cs]` for `kk < k`, `j < n`.
    pub fn pack(b: &[f32], k: usize, n: usize, rs: usize, cs: usize) -> KResult<Self> {
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
        let panels = n.div_ceil(PANEL);
        let padded = padded_width(n);
        let mut data = Vec::with_capacity(padded * k);
        for p in 0..panels {
            let (col0, width) = panel_geometry(n, p);
            let cols = width.min(n - col0);
            for kk in 0..k {
                let row = kk * rs;
                if cs == 1 {
                    data.extend_from_slice(&b[row + col0..row + col0 + cols]);
                } else {
                    data.extend((col0..col0 + cols).map(|j| b[row + j * cs]));
                }
                data.resize(data.len() + width - cols, 0.0);
            }
        }
        Ok(PackedB { k, n, data })
    }

    pub fn k(&self) -> usize {
        self.k
    }

    pub fn n(&self) -> usize {
        self.n
    }

    fn panels(&self) -> usize {
        self.n.div_ceil(PANEL)
    }
}

fn padded_width(n: usize) -> usize {
    (0..n.div_ceil(PANEL)).map(|p| panel_geometry(n, p).1).sum()
}

/// First column and packed width of panel `p`.
pub(super) fn panel_geometry(n: usize, p: usize) -> (usize, usize) {
    let col0 = p * PANEL;
    (col0, if n - col0 <= HALF { HALF } else { PANEL })
}

/// The left operand: `A[i][kk] = data[start(i) + koff(kk)]` where
/// `start(i) = (i / group) * group_stride + (i % group) * rs` and `koff(kk)`
/// is `kk * cs`, or with runs `(segs, run)`: `segs[kk / run] + (kk % run) *
/// cs`. Groups and runs let a convolution read its windows straight from a
/// (padded) image: one run per window row (or tap).
#[derive(Debug, Clone, Copy)]
pub struct Lhs<'a> {
    pub data: &'a [f32],
    pub rs: usize,
    pub cs: usize,
    pub group: usize,
    pub group_stride: usize,
    pub segs: Option<(&'a [usize], usize)>,
}

impl<'a> Lhs<'a> {
    /// A row-major matrix with `k` columns.
    pub fn rows(data: &'a [f32], k: usize) -> Self {
        Lhs::strided(data, k, 1)
    }

    /// `A[i][kk] = data[i * rs + kk * cs]`.
    pub fn strided(data: &'a [f32], rs: usize, cs: usize) -> Self {
        Lhs {
            data,
            rs,
            cs,
            group: usize::MAX,
            group_stride: 0,
            segs: None,
        }
    }

    /// Whether rows `0..m` over `k` columns stay inside `data`.
    fn fits(&self, m: usize, k: usize) -> bool {
        if m == 0 || k == 0 {
            return true;
        }
        let groups = (m - 1) / self.group.max(1);
        let in_group = (m.min(self.group.max(1))) - 1;
        let start = groups
            .checked_mul(self.group_stride)
            .and_then(|x| in_group.checked_mul(self.rs).and_then(|y| x.checked_add(y)));
        let koff = match self.segs {
            Some((t, run)) if run > 0 && t.len().checked_mul(run) == Some(k) => t
                .iter()
                .copied()
                .max()
                .and_then(|x| ((run - 1).checked_mul(self.cs))?.checked_add(x)),
            Some(_) => None,
            None => (k - 1).checked_mul(self.cs),
        };
        match (start, koff) {
            (Some(s), Some(o)) => s.checked_add(o).is_some_and(|last| last < self.data.len()),
            _ => false,
        }
    }
}

fn mr_of(isa: Isa) -> usize {
    match isa {
        #[cfg(target_arch = "x86_64")]
        Isa::Avx512 => crate::linalg::simd::Avx512::MR,
        #[cfg(target_arch = "x86_64")]
        Isa::Avx2 => crate::linalg::simd::Avx2::MR,
        _ => crate::linalg::simd::Generic::MR,
    }
}

/// `C[i * c_rs + j] = clamp(sum_kk A[i][kk] * B[kk][j] + bias[j], lo, hi)`
/// for `i < m`, `j < b.n()`, split over `par`'s threads.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    isa: Isa,
    par: &Parallel,
    a: Lhs<'_>,
    m: usize,
    b: &PackedB,
    bias: &Bias,
    c: &mut [f32],
    c_rs: usize,
    (lo, hi): (f32, f32),
) -> KResult<()> {
    let Some(job) = make_job(isa, a, m, b, bias, c, c_rs, lo, hi)? else {
        return Ok(());
    };
    let panels = b.panels();
    let macs = m * b.n * b.k.max(1);
    let threads = par.threads();
    // Below about a million multiply-adds (some 10 us) waking the pool
    // costs more than it saves.
    if threads <= 1 || macs < 1 << 20 {
        run_tile(isa, &job, 0..job.blocks, 0..panels);
        return Ok(());
    }
    // Split rows when there are plenty of row blocks, else columns too.
    let (m_split, n_split) = if job.blocks >= 4 * threads || panels == 1 {
        (job.blocks.min(threads * 2), 1)
    } else {
        let n_split = panels.min(threads);
        (job.blocks.min((2 * threads).div_ceil(n_split)), n_split)
    };
    par.for_each(m_split * n_split, |t| {
        let (mi, ni) = (t / n_split, t % n_split);
        let blk = split(job.blocks, m_split, mi);
        let pan = split(panels, n_split, ni);
        run_tile(isa, &job, blk, pan);
    });
    Ok(())
}

/// Like [`gemm`], on the calling thread.
#[allow(clippy::too_many_arguments)]
pub fn gemm_serial(
    isa: Isa,
    a: Lhs<'_>,
    m: usize,
    b: &PackedB,
    bias: &Bias,
    c: &mut [f32],
    c_rs: usize,
    (lo, hi): (f32, f32),
) -> KResult<()> {
    if let Some(job) = make_job(isa, a, m, b, bias, c, c_rs, lo, hi)? {
        run_tile(isa, &job, 0..job.blocks, 0..b.panels());
    }
    Ok(())
}

/// Part `i` of `0..n` cut into `parts` nearly equal ranges.
fn split(n: usize, parts: usize, i: usize) -> Range<usize> {
    let base = n / parts;
    let extra = n % parts;
    let start = i * base + i.min(extra);
    start..start + base + usize::from(i < extra)
}

/// Validates the operands against each other; `None` when C is empty.
#[allow(clippy::too_many_arguments)]
fn make_job(
    isa: Isa,
    a: Lhs<'_>,
    m: usize,
    b: &PackedB,
    bias: &Bias,
    c: &mut [f32],
    c_rs: usize,
    lo: f32,
    hi: f32,
) -> KResult<Option<Job>> {
    let (k, n) = (b.k, b.n);
    if bias.n != n {
        return invalid(format!("bias for {} columns, GEMM has {n}", bias.n));
    }
    if m == 0 || n == 0 {
        return Ok(None);
    }
    if a.group == 0 || !a.fits(m, k) {
        return invalid(format!(
            "GEMM input of {} values is too small for {m}x{k}",
            a.data.len()
        ));
    }
    let c_last = (m - 1).checked_mul(c_rs).and_then(|x| x.checked_add(n));
    if c_rs < n || c_last.is_none_or(|l| l > c.len()) {
        return invalid(format!(
            "GEMM output of {} values is too small for {m}x{n}",
            c.len()
        ));
    }
    Ok(Some(Job {
        a: a.data.as_ptr(),
        a_rs: a.rs,
        a_cs: a.cs,
        a_group: a.group,
        a_group_stride: a.group_stride,
        a_segs: a.segs.map_or(std::ptr::null(), |(t, _)| t.as_ptr()),
        a_run: a.segs.map_or(k, |(_, run)| run).max(1),
        m,
        k,
        n,
        b: b.data.as_ptr(),
        bias: bias.data.as_ptr(),
        c: c.as_mut_ptr(),
        c_rs,
        lo,
        hi,
        blocks: m.div_ceil(mr_of(isa)),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linalg::testutil::rand_vec;

    #[allow(clippy::too_many_arguments)]
    fn naive(
        a: &[f32],
        m: usize,
        k: usize,
        b: &[f32],
        n: usize,
        bias: &[f32],
        lo: f32,
        hi: f32,
    ) -> Vec<f32> {
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut s = 0.0f64;
                for kk in 0..k {
                    s += a[i * k + kk] as f64 * b[kk * n + j] as f64;
                }
                c[i * n + j] = (s as f32 + bias[j]).max(lo).min(hi);
            }
        }
        c
    }

    #[test]
    fn matches_naive_on_every_isa_and_edge_shape() {
        let shapes = [
            (1, 1, 1),
            (3, 5, 7),
            (12, 16, 32),
            (13, 17, 33),
            (25, 40, 48),
            (49, 96, 160),
            (7, 0, 20),
            (200, 9, 15),
            (5, 300, 70),
            // Big enough for the threaded split (rows, then columns).
            (300, 64, 100),
            (20, 200, 400),
        ];
        let par = Parallel::new(2).unwrap();
        for isa in Isa::available() {
            for &(m, k, n) in &shapes {
                let a = rand_vec(m * k, 1);
                let b = rand_vec(k * n, 2);
                let bias = rand_vec(n, 3);
                let packed = PackedB::pack(&b, k, n, n, 1).unwrap();
                let bias_p = Bias::new(n, Some(&bias)).unwrap();
                let want = naive(&a, m, k, &b, n, &bias, -0.5, 2.0);
                for threaded in [false, true] {
                    let mut c = vec![f32::NAN; m * n];
                    if threaded {
                        gemm(
                            isa,
                            &par,
                            Lhs::rows(&a, k),
                            m,
                            &packed,
                            &bias_p,
                            &mut c,
                            n,
                            (-0.5, 2.0),
                        )
                        .unwrap();
                    } else {
                        gemm_serial(
                            isa,
                            Lhs::rows(&a, k),
                            m,
                            &packed,
                            &bias_p,
                            &mut c,
                            n,
                            (-0.5, 2.0),
                        )
                        .unwrap();
                    }
                    for (i, (x, y)) in c.iter().zip(&want).enumerate() {
                        assert!(
                            (x - y).abs() <= 1e-4 * (1.0 + k as f32).sqrt(),
                            "{isa:?} {m}x{k}x{n} [{i}]: {x} vs {y}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn strided_operands_and_output_row_stride() {
        // A transposed (cs = m), B transposed (rs = 1, cs = k), C with a
        // wider row stride whose padding must stay untouched.
        let (m, k, n) = (6, 11, 19);
        let at = rand_vec(k * m, 4); // [k][m]
        let bt = rand_vec(n * k, 5); // [n][k]
        let a: Vec<f32> = (0..m * k).map(|x| at[(x % k) * m + x / k]).collect();
        let b: Vec<f32> = (0..k * n).map(|x| bt[(x % n) * k + x / n]).collect();
        let want = naive(&a, m, k, &b, n, &vec![0.0; n], f32::MIN, f32::MAX);
        for isa in Isa::available() {
            let packed = PackedB::pack(&bt, k, n, 1, k).unwrap();
            let mut c = vec![-7.0; m * (n + 3)];
            let lhs = Lhs::strided(&at, 1, m);
            gemm_serial(
                isa,
                lhs,
                m,
                &packed,
                &Bias::zeros(n),
                &mut c,
                n + 3,
                (f32::MIN, f32::MAX),
            )
            .unwrap();
            for i in 0..m {
                for j in 0..n + 3 {
                    let got = c[i * (n + 3) + j];
                    if j < n {
                        assert!((got - want[i * n + j]).abs() < 1e-4);
                    } else {
                        assert_eq!(got, -7.0);
                    }
                }
            }
        }
    }

    #[test]
    fn grouped_rows_and_offset_tables() {
        // A is read from a 2-D "image" [5][7]: rows are 2 groups of 3 pixels
        // (stride 2, groups 14 apart) and columns a 2x2 window via offsets.
        let img = rand_vec(35, 9);
        let koffs = [0usize, 1, 7, 8];
        let segs = [0usize, 7];
        let (m, k, n) = (6, 4, 5);
        let a: Vec<f32> = (0..m)
            .flat_map(|i| koffs.iter().map(move |&o| (i / 3) * 14 + (i % 3) * 2 + o))
            .map(|x| img[x])
            .collect();
        let b = rand_vec(k * n, 10);
        let want = naive(&a, m, k, &b, n, &vec![0.0; n], f32::MIN, f32::MAX);
        let lhs = Lhs {
            data: &img,
            rs: 2,
            cs: 1,
            group: 3,
            group_stride: 14,
            segs: Some((&segs, 2)),
        };
        let packed = PackedB::pack(&b, k, n, n, 1).unwrap();
        for isa in Isa::available() {
            let mut c = vec![0.0; m * n];
            gemm_serial(
                isa,
                lhs,
                m,
                &packed,
                &Bias::zeros(n),
                &mut c,
                n,
                (f32::MIN, f32::MAX),
            )
            .unwrap();
            for (x, y) in c.iter().zip(&want) {
                assert!((x - y).abs() < 1e-5);
            }
            // Without the table the same rows read 4 contiguous values.
            let strided = Lhs { segs: None, ..lhs };
            gemm_serial(
                isa,
                strided,
                m,
                &packed,
                &Bias::zeros(n),
                &mut c,
                n,
                (f32::MIN, f32::MAX),
            )
            .unwrap();
        }
        // An offset past the image is refused.
        let bad = Lhs {
            segs: Some((&[0, 30], 2)),
            ..lhs
        };
        assert!(gemm_serial(
            Isa::detect(),
            bad,
            m,
            &packed,
            &Bias::zeros(n),
            &mut [0.0; 30],
            n,
            (0.0, 1.0)
        )
        .is_err());
    }

    #[test]
    fn zero_k_gives_clamped_bias() {
        let packed = PackedB::pack(&[], 0, 3, 3, 1).unwrap();
        let bias = Bias::new(3, Some(&[1.0, -2.0, 9.0])).unwrap();
        for isa in Isa::available() {
            let mut c = vec![0.0; 6];
            gemm_serial(
                isa,
                Lhs::rows(&[], 0),
                2,
                &packed,
                &bias,
                &mut c,
                3,
                (0.0, 6.0),
            )
            .unwrap();
            assert_eq!(c, [1.0, 0.0, 6.0, 1.0, 0.0, 6.0]);
        }
    }

    #[test]
    fn rejects_short_buffers() {
        let packed = PackedB::pack(&[1.0; 6], 2, 3, 3, 1).unwrap();
        let bias = Bias::zeros(3);
        let isa = Isa::detect();
        let mut c = vec![0.0; 5];
        assert!(gemm_serial(
            isa,
            Lhs::rows(&[1.0; 4], 2),
            2,
            &packed,
            &bias,
            &mut c,
            3,
            (0.0, 1.0)
        )
        .is_err());
        assert!(gemm_serial(
            isa,
            Lhs::rows(&[1.0; 3], 2),
            2,
            &packed,
            &bias,
            &mut [0.0; 6],
            3,
            (0.0, 1.0)
        )
        .is_err());
        assert!(gemm_serial(
            isa,
            Lhs::rows(&[1.0; 4], 2),
            2,
            &packed,
            &Bias::zeros(2),
            &mut [0.0; 6],
            3,
            (0.0, 1.0)
        )
        .is_err());
        assert!(PackedB::pack(&[1.0; 5], 2, 3, 3, 1).is_err());
        assert!(Bias::new(3, Some(&[0.0; 2])).is_err());
    }
}
