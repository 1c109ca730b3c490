//! Microkernels of the integer GEMM ([`crate::linalg::qgemm`]) and the
//! vector requantization they share with the int8 depthwise convolution.
//!
//! A tile is `rows` (up to the ISA's MR) rows of packed A against one
//! panel of B: accumulate `u8 x i8` dot products of 4 in int32 lanes, then
//! add the bias, then either requantize per column, clamp and store bytes,
//! or (without requantization) store the int32 sums for a float epilogue.

use crate::linalg::qgemm::{QIsa, QHALF, QPANEL};
use crate::linalg::qparams::Requant;

/// One microkernel call.
pub struct Tile<'a> {
    /// MR rows of `kp` bytes (rows past `rows` are scratch).
    pub a: &'a [u8],
    pub kp: usize,
    /// The panel: `kp / 4` groups of `width` columns of 4 bytes.
    pub b: &'a [i8],
    /// 16 or 32.
    pub width: usize,
    /// `width` additive constants.
    pub bias: &'a [i32],
    /// `None`: `out` points at i32 and receives `acc + bias` unchanged.
    pub rq: Option<&'a Requant>,
    /// First column of the panel (indexes `rq`).
    pub col0: usize,
    pub rows: usize,
    pub cols: usize,
    /// Element (0, 0) of the tile in C (bytes, or i32 without `rq`); rows
    /// `ldc` elements apart.
    pub out: *mut u8,
    pub ldc: usize,
}

/// Runs one tile on `isa` (falling back to portable code when the CPU
/// lacks it).
///
/// # Safety
/// `out` must be valid for writes of `rows` rows of `cols` elements (bytes,
/// or unaligned i32 without `rq`), `ldc` apart; `a` must hold `isa.mr()` rows of `kp` bytes, `b` `kp * width`
/// bytes, `bias` `width` values and `rq` `col0 + width` channels.
pub unsafe fn run_tile(isa: QIsa, t: &Tile<'_>) {
    debug_assert!(t.a.len() >= isa.mr() * t.kp && t.b.len() >= t.kp * t.width);
    debug_assert!(t.width == QPANEL || t.width == QHALF);
    debug_assert!(t.bias.len() >= t.width);
    debug_assert!(t.rq.is_none_or(|rq| rq.mult.len() >= t.col0 + t.width));
    #[cfg(target_arch = "x86_64")]
    {
        use crate::linalg::qgemm::{has_avx512vnni, has_avxvnni};
        match isa {
            // SAFETY: the CPU has the features; the caller's contract holds.
            QIsa::Avx512Vnni if has_avx512vnni() => return unsafe { x86::tile_avx512vnni(t) },
            // SAFETY: as above.
            QIsa::AvxVnni if has_avxvnni() => return unsafe { x86::tile_avxvnni(t) },
            QIsa::Avx2 if std::arch::is_x86_feature_detected!("avx2") => {
                // SAFETY: as above.
                return unsafe { x86::tile_avx2(t) };
            }
            _ => {}
        }
    }
    // SAFETY: forwarded contract.
    unsafe { tile_generic::<4>(t) }
}

/// Portable tile.
///
/// # Safety
/// As for [`run_tile`] with `MR` rows of A.
#[inline(always)]
unsafe fn tile_generic<const MR: usize>(t: &Tile<'_>) {
    let w = t.width;
    let mut acc = [[0i32; QPANEL]; MR];
    for g in 0..t.kp / 4 {
        let bg = &t.b[g * w * 4..(g + 1) * w * 4];
        for (r, acc) in acc.iter_mut().enumerate() {
            let a4 = &t.a[r * t.kp + 4 * g..r * t.kp + 4 * g + 4];
            for (acc, bj) in acc.iter_mut().zip(bg.chunks_exact(4)) {
                let dot = a4[0] as i32 * bj[0] as i32
                    + a4[1] as i32 * bj[1] as i32
                    + a4[2] as i32 * bj[2] as i32
                    + a4[3] as i32 * bj[3] as i32;
                *acc = acc.wrapping_add(dot);
            }
        }
    }
    for (r, acc) in acc.iter().enumerate().take(t.rows) {
        for (j, &v) in acc.iter().enumerate().take(t.cols) {
            let v = v.wrapping_add(t.bias[j]);
            let at = r * t.ldc + j;
            match t.rq {
                // SAFETY: (r, j) is inside the tile (caller's contract).
                Some(rq) => unsafe { *t.out.add(at) = rq.apply(t.col0 + j, v) as u8 },
                // SAFETY: as above, in i32 elements.
                None => unsafe { (t.out as *mut i32).add(at).write_unaligned(v) },
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use super::Tile;
    use crate::linalg::qparams::Requant;
    use std::arch::x86_64::*;

    /// Without VNNI: bytes widened to int16 and `vpmaddwd` (u8 x i8 pairs
    /// cannot saturate in int32, unlike `vpmaddubsw`'s int16). A 4-k group
    /// of 8 columns is 32 bytes of B: sign-extended halves hold columns
    /// 0..4 and 4..8, each lane pairing two k; pair sums are accumulated
    /// and added horizontally once in the epilogue. 2 rows by 16 columns
    /// at a time.
    ///
    /// # Safety
    /// The CPU has AVX2; as for [`super::run_tile`] with 2 rows of A.
    #[target_feature(enable = "avx2")]
    pub unsafe fn tile_avx2(t: &Tile<'_>) {
        const MR: usize = 2;
        // SAFETY: A reads stay within MR rows of kp bytes, B reads within
        // kp / 4 groups of width * 4 bytes; stores per the contract.
        unsafe {
            for c0 in (0..t.width).step_by(16) {
                let mut acc = [[[_mm256_setzero_si256(); 2]; 2]; MR];
                for g in 0..t.kp / 4 {
                    let a16: [__m256i; MR] = std::array::from_fn(|r| {
                        let a4 =
                            (t.a.as_ptr().add(r * t.kp + 4 * g) as *const i32).read_unaligned();
                        _mm256_broadcastq_epi64(_mm_cvtepu8_epi16(_mm_cvtsi32_si128(a4)))
                    });
                    for c in 0..2 {
                        let bp = t.b.as_ptr().add((g * t.width + c0 + 8 * c) * 4);
                        let lo = _mm256_cvtepi8_epi16(_mm_loadu_si128(bp as *const __m128i));
                        let hi =
                            _mm256_cvtepi8_epi16(_mm_loadu_si128(bp.add(16) as *const __m128i));
                        for (r, acc) in acc.iter_mut().enumerate() {
                            acc[c][0] = _mm256_add_epi32(acc[c][0], _mm256_madd_epi16(a16[r], lo));
                            acc[c][1] = _mm256_add_epi32(acc[c][1], _mm256_madd_epi16(a16[r], hi));
                        }
                    }
                }
                for (r, acc) in acc.iter().enumerate() {
                    if r >= t.rows {
                        break;
                    }
                    for (c, acc) in acc.iter().enumerate() {
                        let col = c0 + 8 * c;
                        if col >= t.cols {
                            break;
                        }
                        // [c0 c1 c4 c5 | c2 c3 c6 c7] -> [c0 .. c7].
                        let sums = _mm256_hadd_epi32(acc[0], acc[1]);
                        let sums = _mm256_permute4x64_epi64::<0b11_01_10_00>(sums);
                        let x = _mm256_add_epi32(sums, ld256(t.bias, col));
                        store256(t, r * t.ldc + col, x, col);
                    }
                }
            }
        }
    }

    /// Loads 16 lanes of a per-channel array from channel `c`.
    ///
    /// # Safety
    /// AVX-512F; `v` has 16 values from `c`.
    #[inline(always)]
    unsafe fn ld512(v: &[i32], c: usize) -> __m512i {
        debug_assert!(v.len() >= c + 16);
        // SAFETY: caller's contract.
        unsafe { _mm512_loadu_si512(v.as_ptr().add(c) as *const _) }
    }

    /// Requantizes 16 accumulators of channels `c..c + 16` (the vector form
    /// of [`Requant::apply`]).
    ///
    /// # Safety
    /// AVX-512F; `rq` covers `c + 16` channels.
    #[inline(always)]
    pub unsafe fn requant512(x: __m512i, rq: &Requant, c: usize) -> __m512i {
        // SAFETY: register arithmetic, loads per the contract.
        unsafe {
            let x = _mm512_sllv_epi32(x, ld512(&rq.left, c));
            let m = ld512(&rq.mult, c);
            // (x * m + 2^30) >> 31 in 64 bits, even and odd lanes apart.
            let rnd = _mm512_set1_epi64(1 << 30);
            let even = _mm512_srli_epi64::<31>(_mm512_add_epi64(_mm512_mul_epi32(x, m), rnd));
            let odd = _mm512_mul_epi32(_mm512_srli_epi64::<32>(x), _mm512_srli_epi64::<32>(m));
            let odd = _mm512_slli_epi64::<1>(_mm512_add_epi64(odd, rnd));
            let v = _mm512_mask_blend_epi32(0xAAAA, even, odd);
            let shifted = _mm512_srav_epi32(v, ld512(&rq.right, c));
            let rem = _mm512_and_si512(v, ld512(&rq.mask, c));
            let neg = _mm512_and_si512(_mm512_srai_epi32::<31>(v), ld512(&rq.adj, c));
            let thr = _mm512_add_epi32(ld512(&rq.half, c), neg);
            let up = _mm512_cmpgt_epi32_mask(rem, thr);
            let r = _mm512_mask_add_epi32(shifted, up, shifted, _mm512_set1_epi32(1));
            let r = _mm512_add_epi32(r, _mm512_set1_epi32(rq.zp));
            _mm512_min_epi32(
                _mm512_max_epi32(r, _mm512_set1_epi32(rq.lo)),
                _mm512_set1_epi32(rq.hi),
            )
        }
    }

    /// Stores the low byte of the first `n <= 16` lanes.
    ///
    /// # Safety
    /// AVX-512F/BW/VL; `p` valid for `n` bytes.
    #[inline(always)]
    pub unsafe fn store_bytes512(p: *mut u8, v: __m512i, n: usize) {
        // SAFETY: masked store touches only the first n bytes.
        unsafe {
            let b = _mm512_cvtepi32_epi8(v);
            let mask = ((1u32 << n.min(16)) - 1) as __mmask16;
            _mm_mask_storeu_epi8(p as *mut i8, mask, b);
        }
    }

    /// # Safety
    /// AVX2; `v` has 8 values from `c`.
    #[inline(always)]
    unsafe fn ld256(v: &[i32], c: usize) -> __m256i {
        debug_assert!(v.len() >= c + 8);
        // SAFETY: caller's contract.
        unsafe { _mm256_loadu_si256(v.as_ptr().add(c) as *const __m256i) }
    }

    /// The 8-lane form of [`requant512`].
    ///
    /// # Safety
    /// AVX2; `rq` covers `c + 8` channels.
    #[inline(always)]
    pub unsafe fn requant256(x: __m256i, rq: &Requant, c: usize) -> __m256i {
        // SAFETY: register arithmetic, loads per the contract.
        unsafe {
            let x = _mm256_sllv_epi32(x, ld256(&rq.left, c));
            let m = ld256(&rq.mult, c);
            let rnd = _mm256_set1_epi64x(1 << 30);
            let even = _mm256_srli_epi64::<31>(_mm256_add_epi64(_mm256_mul_epi32(x, m), rnd));
            let odd = _mm256_mul_epi32(_mm256_srli_epi64::<32>(x), _mm256_srli_epi64::<32>(m));
            let odd = _mm256_slli_epi64::<1>(_mm256_add_epi64(odd, rnd));
            let v = _mm256_blend_epi32::<0b1010_1010>(even, odd);
            let shifted = _mm256_srav_epi32(v, ld256(&rq.right, c));
            let rem = _mm256_and_si256(v, ld256(&rq.mask, c));
            let neg = _mm256_and_si256(_mm256_srai_epi32::<31>(v), ld256(&rq.adj, c));
            let thr = _mm256_add_epi32(ld256(&rq.half, c), neg);
            // cmpgt gives -1 where the shifted value rounds up.
            let r = _mm256_sub_epi32(shifted, _mm256_cmpgt_epi32(rem, thr));
            let r = _mm256_add_epi32(r, _mm256_set1_epi32(rq.zp));
            _mm256_min_epi32(
                _mm256_max_epi32(r, _mm256_set1_epi32(rq.lo)),
                _mm256_set1_epi32(rq.hi),
            )
        }
    }

    /// Writes 8 sums of columns `c..` at element `at` of the tile's output:
    /// requantized bytes, or the i32 sums themselves without `rq`.
    ///
    /// # Safety
    /// AVX2; as for [`super::run_tile`], with `c < t.cols`.
    #[inline(always)]
    unsafe fn store256(t: &Tile<'_>, at: usize, x: __m256i, c: usize) {
        let n = (t.cols - c).min(8);
        // SAFETY: the first n elements from `at` lie inside the tile.
        unsafe {
            match t.rq {
                Some(rq) => store_bytes256(t.out.add(at), requant256(x, rq, t.col0 + c), n),
                None => {
                    let mut v = [0i32; 8];
                    _mm256_storeu_si256(v.as_mut_ptr() as *mut __m256i, x);
                    let p = t.out.add(at * 4);
                    std::ptr::copy_nonoverlapping(v.as_ptr() as *const u8, p, n * 4);
                }
            }
        }
    }

    /// Stores the low byte of the first `n <= 8` lanes.
    ///
    /// # Safety
    /// AVX2; `p` valid for `n` bytes.
    #[inline(always)]
    pub unsafe fn store_bytes256(p: *mut u8, v: __m256i, n: usize) {
        // SAFETY: register shuffles; the writes stay within n bytes.
        unsafe {
            let ctrl = _mm256_setr_epi8(
                0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0, 4, 8, 12, -1, -1,
                -1, -1, -1, -1, -1, -1, -1, -1, -1, -1,
            );
            let t = _mm256_shuffle_epi8(v, ctrl);
            let t = _mm256_permutevar8x32_epi32(t, _mm256_setr_epi32(0, 4, 0, 0, 0, 0, 0, 0));
            let bytes = (_mm_cvtsi128_si64(_mm256_castsi256_si128(t)) as u64).to_le_bytes();
            if n >= 8 {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, 8);
            } else {
                std::ptr::copy_nonoverlapping(bytes.as_ptr(), p, n);
            }
        }
    }

    /// # Safety
    /// The CPU has AVX-512F/BW/VL/VNNI; as for [`super::run_tile`].
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512vnni")]
    pub unsafe fn tile_avx512vnni(t: &Tile<'_>) {
        // SAFETY: forwarded contract.
        unsafe {
            if t.width == 32 {
                tile512::<2>(t)
            } else {
                tile512::<1>(t)
            }
        }
    }

    /// 12 rows by `NV` vectors of 16 columns.
    ///
    /// # Safety
    /// As for [`tile_avx512vnni`]; `t.width == 16 * NV`.
    #[inline(always)]
    unsafe fn tile512<const NV: usize>(t: &Tile<'_>) {
        const MR: usize = 12;
        // SAFETY: A reads stay within MR rows of kp bytes and B reads
        // within kp / 4 groups of NV * 64 bytes; stores per the contract.
        unsafe {
            let mut acc = [[_mm512_setzero_si512(); NV]; MR];
            let mut a = t.a.as_ptr();
            let mut b = t.b.as_ptr();
            for _ in 0..t.kp / 4 {
                let bv: [__m512i; NV] =
                    std::array::from_fn(|v| _mm512_loadu_si512(b.add(v * 64) as *const _));
                for (r, acc) in acc.iter_mut().enumerate() {
                    let av = _mm512_set1_epi32((a.add(r * t.kp) as *const i32).read_unaligned());
                    for v in 0..NV {
                        acc[v] = _mm512_dpbusd_epi32(acc[v], av, bv[v]);
                    }
                }
                a = a.add(4);
                b = b.add(NV * 64);
            }
            for (r, acc) in acc.iter().enumerate() {
                if r >= t.rows {
                    break;
                }
                for (v, &x) in acc.iter().enumerate() {
                    let c = 16 * v;
                    if c >= t.cols {
                        break;
                    }
                    let x = _mm512_add_epi32(x, ld512(t.bias, c));
                    let at = r * t.ldc + c;
                    match t.rq {
                        Some(rq) => {
                            store_bytes512(t.out.add(at), requant512(x, rq, t.col0 + c), t.cols - c)
                        }
                        None => {
                            let mask = ((1u32 << (t.cols - c).min(16)) - 1) as __mmask16;
                            _mm512_mask_storeu_epi32(
                                (t.out as *mut i32).add(at) as *mut _,
                                mask,
                                x,
                            );
                        }
                    }
                }
            }
        }
    }

    /// # Safety
    /// The CPU has AVX2 and AVX-VNNI; as for [`super::run_tile`].
    #[target_feature(enable = "avx2,avxvnni")]
    pub unsafe fn tile_avxvnni(t: &Tile<'_>) {
        // SAFETY: forwarded contract.
        unsafe {
            if t.width == 32 {
                tile256::<4>(t)
            } else {
                tile256::<2>(t)
            }
        }
    }

    /// 3 rows by `NV` vectors of 8 columns.
    ///
    /// # Safety
    /// As for [`tile_avxvnni`]; `t.width == 8 * NV`.
    #[inline(always)]
    unsafe fn tile256<const NV: usize>(t: &Tile<'_>) {
        const MR: usize = 3;
        // SAFETY: as for tile512.
        unsafe {
            let mut acc = [[_mm256_setzero_si256(); NV]; MR];
            let mut a = t.a.as_ptr();
            let mut b = t.b.as_ptr();
            for _ in 0..t.kp / 4 {
                for (r, acc) in acc.iter_mut().enumerate() {
                    let av = _mm256_set1_epi32((a.add(r * t.kp) as *const i32).read_unaligned());
                    for (v, acc) in acc.iter_mut().enumerate() {
                        let bv = _mm256_loadu_si256(b.add(v * 32) as *const __m256i);
                        *acc = _mm256_dpbusd_avx_epi32(*acc, av, bv);
                    }
                }
                a = a.add(4);
                b = b.add(NV * 32);
            }
            for (r, acc) in acc.iter().enumerate() {
                if r >= t.rows {
                    break;
                }
                for (v, &x) in acc.iter().enumerate() {
                    let c = 8 * v;
                    if c >= t.cols {
                        break;
                    }
                    let x = _mm256_add_epi32(x, ld256(t.bias, c));
                    store256(t, r * t.ldc + c, x, c);
                }
            }
        }
    }
}
