//! The per-element work of quantized MUL, `(a - za)(b - zb)` requantized,
//! written without branches or tables so that the compiler vectorises it
//! (a 64 KiB table of every 8-bit pair costs a cache miss per element on
//! large activations). It computes exactly LiteRT's
//! `MultiplyByQuantizedMultiplier`, which the tests check against
//! [`multiply_by_quantized_multiplier`] over every 8-bit pair.

use super::broadcast::{binary_run, Plan};
use crate::parallel::Parallel;
use crate::quant::params::QElem;

/// A MUL's requantization constants.
#[derive(Clone, Copy, Debug)]
pub struct MulConsts {
    off1: i32,
    off2: i32,
    multiplier: i32,
    left: i32,
    right: i32,
    /// `2^right - 1`, the remainder mask of the rounding shift.
    mask: i32,
    out_zp: i32,
    lo: i32,
    hi: i32,
}

impl MulConsts {
    /// `None` for the one multiplier whose high multiply saturates
    /// (`i32::MIN`), which quantize_multiplier never produces.
    pub fn new(
        (off1, off2): (i32, i32),
        multiplier: i32,
        shift: i32,
        out_zp: i32,
        (lo, hi): (i32, i32),
    ) -> Option<Self> {
        if multiplier == i32::MIN {
            return None;
        }
        let right = (-shift).clamp(0, 31);
        Some(MulConsts {
            off1,
            off2,
            multiplier,
            left: shift.clamp(0, 30),
            right,
            mask: ((1i64 << right) - 1) as i32,
            out_zp,
            lo,
            hi,
        })
    }

    /// One output before narrowing.
    #[inline(always)]
    pub fn apply(&self, p: i32, q: i32) -> i32 {
        let x = (p + self.off1).wrapping_mul(q + self.off2) << self.left;
        // SaturatingRoundingDoublingHighMul: round half away from zero,
        // then divide by 2^31 truncating toward zero.
        let ab = x as i64 * self.multiplier as i64;
        let t = ab + if ab >= 0 { 1 << 30 } else { 1 - (1 << 30) };
        let t = t + if t < 0 { (1 << 31) - 1 } else { 0 };
        // Bits 31..62 of `t`: the quotient's low 32 bits, which hold it
        // whole (a logical shift, which vectorises where an arithmetic
        // 64-bit one does not).
        let high = ((t as u64) >> 31) as u32 as i32;
        // RoundingDivideByPOT: ties away from zero.
        let remainder = high & self.mask;
        let threshold = (self.mask >> 1) + i32::from(high < 0);
        let r = (high >> self.right) + i32::from(remainder > threshold);
        r.wrapping_add(self.out_zp).clamp(self.lo, self.hi)
    }
}

/// `out = a * b` over NumPy-broadcast inputs.
#[allow(clippy::too_many_arguments)]
pub fn mul<T: QElem>(
    par: &Parallel,
    a: &[T],
    a_shape: &[usize],
    b: &[T],
    b_shape: &[usize],
    out: &mut [T],
    out_shape: &[usize],
    k: &MulConsts,
) {
    let plan = Plan::new([a_shape, b_shape], out_shape);
    let [sa, sb] = plan.steps();
    #[cfg(target_arch = "x86_64")]
    let avx2 = std::arch::is_x86_feature_detected!("avx2");
    plan.run(par, out, |[oa, ob], start, o| {
        let (a, b) = (&a[oa + start * sa..], &b[ob + start * sb..]);
        #[cfg(target_arch = "x86_64")]
        if avx2 {
            // SAFETY: the CPU supports AVX2, checked above; the function
            // only compiles the safe loop below with that feature.
            unsafe { run_avx2(a, sa, b, sb, o, k) };
            return;
        }
        run_plain(a, sa, b, sb, o, k)
    });
}

#[inline(always)]
fn run_plain<T: QElem>(a: &[T], sa: usize, b: &[T], sb: usize, out: &mut [T], k: &MulConsts) {
    binary_run(a, sa, b, sb, out, &|p: T, q: T| {
        T::from_i32(k.apply(p.to_i32(), q.to_i32()))
    })
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn run_avx2<T: QElem>(a: &[T], sa: usize, b: &[T], sb: usize, out: &mut [T], k: &MulConsts) {
    run_plain(a, sa, b, sb, out, k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quant::fixedpoint::multiply_by_quantized_multiplier;

    fn reference(k: &MulConsts, shift: i32, p: i32, q: i32) -> i32 {
        let prod = (p + k.off1).wrapping_mul(q + k.off2);
        multiply_by_quantized_multiplier(prod, k.multiplier, shift)
            .wrapping_add(k.out_zp)
            .clamp(k.lo, k.hi)
    }

    /// Every int8 pair, through both compiled loops, for multipliers and
    /// shifts across their range (including ties of the rounding shift).
    #[test]
    fn vector_loops_equal_the_fixed_point_reference_on_every_pair() {
        let p: Vec<i8> = (0..=255u8).flat_map(|v| [v as i8; 256]).collect();
        let q: Vec<i8> = (0..256)
            .flat_map(|_| (0..=255u8).map(|v| v as i8))
            .collect();
        for &(multiplier, shift) in &[
            (1 << 30, -1),
            (1_518_500_250, -7),
            (2_147_483_647, -12),
            (1_073_741_825, 0),
            (1_342_177_280, 1),
            (1_900_000_000, -31),
            (1_200_000_000, -20),
        ] {
            for &(zp1, zp2, zo) in &[(0, 0, 0), (-128, 5, -3), (127, -128, 100)] {
                let k = MulConsts::new((-zp1, -zp2), multiplier, shift, zo, (-128, 127)).unwrap();
                let want: Vec<i8> = p
                    .iter()
                    .zip(&q)
                    .map(|(&a, &b)| reference(&k, shift, a as i32, b as i32) as i8)
                    .collect();
                let mut got = vec![0i8; want.len()];
                run_plain(&p, 1, &q, 1, &mut got, &k);
                assert_eq!(
                    got, want,
                    "plain loop, multiplier {multiplier} shift {shift}"
                );
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2") {
                    got.fill(0);
                    // SAFETY: AVX2 is present, checked just above.
                    unsafe { run_avx2(&p, 1, &q, 1, &mut got, &k) };
                    assert_eq!(
                        got, want,
                        "AVX2 loop, multiplier {multiplier} shift {shift}"
                    );
                }
            }
        }
    }

    #[test]
    fn broadcast_runs_and_int16_match_the_reference() {
        let k = MulConsts::new((0, 0), 1_717_986_918, -14, 0, (-32768, 32767)).unwrap();
        let a: Vec<i16> = (0..4096)
            .map(|i| (i * 977 % 65536 - 32768) as i16)
            .collect();
        let b: Vec<i16> = (0..64).map(|i| (i * 1031 - 32768) as i16).collect();
        let mut out = vec![0i16; 4096];
        mul(
            &Parallel::single(),
            &a,
            &[64, 64],
            &b,
            &[64],
            &mut out,
            &[64, 64],
            &k,
        );
        for (i, &o) in out.iter().enumerate() {
            let want = reference(&k, -14, a[i] as i32, b[i % 64] as i32);
            assert_eq!(o as i32, want, "element {i}");
        }
        let one = [7i16];
        mul(
            &Parallel::single(),
            &a,
            &[4096],
            &one,
            &[1],
            &mut out,
            &[4096],
            &k,
        );
        for (i, &o) in out.iter().enumerate() {
            assert_eq!(o as i32, reference(&k, -14, a[i] as i32, 7), "element {i}");
        }
    }

    #[test]
    fn the_saturating_multiplier_is_declined() {
        assert!(MulConsts::new((0, 0), i32::MIN, 0, 0, (-128, 127)).is_none());
    }
}
