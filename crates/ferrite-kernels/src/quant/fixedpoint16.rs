//! gemmlowp's scalar int16 fixed point (`FixedPoint<int16_t, N>`: N
//! integer bits, 15 - N fractional) and the logistic and tanh built on it,
//! which LiteRT's optimized int16 LOGISTIC/TANH run for power-of-two input
//! scales. Non-saturating `+`/`-` wrap as the C++ int16 casts do; the
//! constants are gemmlowp's int32 ones, rounding-shifted to 16 bits.

/// gemmlowp's int16 SaturatingRoundingDoublingHighMul (ties away from 0).
pub fn srdhm16(a: i16, b: i16) -> i16 {
    if a == i16::MIN && b == i16::MIN {
        return i16::MAX;
    }
    let ab = a as i32 * b as i32;
    let nudge = if ab >= 0 { 1 << 14 } else { 1 - (1 << 14) };
    ((ab + nudge) / (1 << 15)) as i16
}

/// gemmlowp's RoundingDivideByPOT on int16 lanes: the mask is truncated to
/// 16 bits, so exponents of 16 and more round every non-negative value to 1
/// and every negative one to 0, as LiteRT does.
pub fn rounding_divide_by_pot16(x: i16, exponent: i32) -> i16 {
    let e = exponent.clamp(0, 31);
    let mask = ((1i64 << e) - 1) as i16;
    let remainder = x & mask;
    let threshold = (mask >> 1) + i16::from(x < 0);
    (((x as i32) >> e) + i32::from(remainder > threshold)) as i16
}

/// `SaturatingRoundingMultiplyByPOT<e>`: saturating left shift for e > 0,
/// rounding right shift for e < 0.
pub fn mul_pot16(x: i16, e: i32) -> i16 {
    if e <= 0 {
        return rounding_divide_by_pot16(x, -e);
    }
    let threshold = (1i32 << (15 - e)) - 1;
    if x as i32 > threshold {
        i16::MAX
    } else if (x as i32) < -threshold {
        i16::MIN
    } else {
        x << e
    }
}

/// An int32 gemmlowp constant as its int16 raw value.
fn c16(v: i32) -> i16 {
    crate::quant::fixedpoint::rounding_divide_by_pot(v, 16) as i16
}

/// `ConstantPOT<e>` of a format with `int_bits` integer bits.
fn pot(int_bits: i32, e: i32) -> i16 {
    1 << (15 - int_bits + e)
}

/// `One()` of the 0-integer-bit format: its largest value.
const ONE0: i16 = i16::MAX;

/// (a + b) / 2 rounded away from zero.
fn rounding_half_sum(a: i16, b: i16) -> i16 {
    let s = a as i32 + b as i32;
    ((s + if s >= 0 { 1 } else { -1 }) / 2) as i16
}

/// exp(a) for a in [-1/4, 0), a in Q0.15.
fn exp_quarter(a: i16) -> i16 {
    let constant = c16(1_895_147_668); // exp(-1/8)
    let third = c16(715_827_883);
    let x = a.wrapping_add(pot(0, -3));
    let x2 = srdhm16(x, x);
    let x3 = srdhm16(x2, x);
    let x4 = srdhm16(x2, x2);
    let x4_over_4 = mul_pot16(x4, -2);
    let poly = mul_pot16(
        srdhm16(x4_over_4.wrapping_add(x3), third).wrapping_add(x2),
        -1,
    );
    // AddSaturatingIf16Bit.
    constant.saturating_add(srdhm16(constant, x.wrapping_add(poly)))
}

/// exp(a) for a <= 0 with `int_bits` integer bits (at most 5), in Q0.15.
fn exp_on_negative(a: i16, int_bits: i32) -> i16 {
    let frac = 15 - int_bits;
    let quarter = pot(int_bits, -2);
    let mod_quarter = (a & (quarter - 1)).wrapping_sub(quarter);
    let mut r = exp_quarter(mul_pot16(mod_quarter, int_bits));
    let remainder = mod_quarter.wrapping_sub(a);
    // exp(-2^e) for e = -2..=4.
    const BARREL: [(i32, i32); 7] = [
        (-2, 1_672_461_947),
        (-1, 1_302_514_674),
        (0, 790_015_084),
        (1, 290_630_308),
        (2, 39_332_535),
        (3, 720_401),
        (4, 242),
    ];
    for (e, m) in BARREL {
        if int_bits > e && remainder as i32 & (1 << (frac + e)) != 0 {
            r = srdhm16(r, c16(m));
        }
    }
    if a == 0 {
        ONE0
    } else {
        r
    }
}

/// Newton-Raphson 1 / (1 + a) for a in (0, 1), in Q2.13 (`x`) with the
/// half denominator.
fn reciprocal_steps(a: i16) -> (i16, i16) {
    let half_denominator = rounding_half_sum(a, ONE0);
    let one2 = pot(2, 0);
    let mut x = c16(1_515_870_810).wrapping_add(srdhm16(half_denominator, c16(-1_010_580_540)));
    for _ in 0..3 {
        let one_minus = one2.wrapping_sub(srdhm16(half_denominator, x));
        x = x.wrapping_add(mul_pot16(srdhm16(x, one_minus), 2));
    }
    (x, one2)
}

/// gemmlowp's `logistic` of a Q3.12 value, in Q0.15.
pub fn logistic_q3(a: i16) -> i16 {
    if a == 0 {
        return c16(1 << 30);
    }
    let abs = if a > 0 { a } else { a.wrapping_neg() };
    // one_over_one_plus_x_for_x_in_0_1: ExactMulByPot<-1> keeps the raw
    // value, Rescale<0> from one integer bit doubles it.
    let (x, _) = reciprocal_steps(exp_on_negative(abs.wrapping_neg(), 3));
    let positive = mul_pot16(x, 1);
    if a > 0 {
        positive
    } else {
        ONE0.wrapping_sub(positive)
    }
}

/// gemmlowp's `tanh` of a Q3.12 value, in Q0.15.
pub fn tanh_q3(a: i16) -> i16 {
    if a == 0 {
        return 0;
    }
    let n = if a < 0 { a } else { a.wrapping_neg() };
    // exp(2n): ExactMulByPot<1> reads the same raw value with 4 integer
    // bits; then (1 - x) / (1 + x).
    let (x, one2) = reciprocal_steps(exp_on_negative(n, 4));
    let t = mul_pot16(x.wrapping_sub(one2), 2);
    if a < 0 {
        t.wrapping_neg()
    } else {
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The LiteRT tables are in activation/quantized_pot16_tests.rs.
    #[test]
    fn fixed_points() {
        assert_eq!(logistic_q3(0), 16384);
        assert_eq!(tanh_q3(0), 0);
        assert_eq!(srdhm16(i16::MIN, i16::MIN), i16::MAX);
        assert_eq!(mul_pot16(20000, 1), i16::MAX);
        assert_eq!(mul_pot16(-20000, 1), i16::MIN);
        assert_eq!(mul_pot16(-3, -1), -2);
        assert_eq!(mul_pot16(3, -1), 2);
        assert_eq!(c16(1 << 30), 16384);
    }
}
