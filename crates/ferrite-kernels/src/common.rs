//! Helpers shared by kernel families: fused activations, broadcasting and
//! small shape utilities.

use crate::api::{invalid, KResult};

/// The fused activation of an op (ActivationFunctionType).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    None,
    Relu,
    ReluN1To1,
    Relu6,
    Tanh,
    SignBit,
}

impl Activation {
    pub fn from_code(code: i8) -> KResult<Self> {
        Ok(match code {
            0 => Activation::None,
            1 => Activation::Relu,
            2 => Activation::ReluN1To1,
            3 => Activation::Relu6,
            4 => Activation::Tanh,
            5 => Activation::SignBit,
            other => return invalid(format!("unknown fused activation {other}")),
        })
    }

    /// The clamp LiteRT applies to float outputs for this fused activation
    /// (CalculateActivationRange): RELU, RELU6 and RELU_N1_TO_1 clamp; every
    /// other value, TANH and SIGN_BIT included, clamps to the finite range.
    pub fn float_range(self) -> (f32, f32) {
        match self {
            Activation::Relu => (0.0, f32::MAX),
            Activation::ReluN1To1 => (-1.0, 1.0),
            Activation::Relu6 => (0.0, 6.0),
            Activation::None | Activation::Tanh | Activation::SignBit => (f32::MIN, f32::MAX),
        }
    }

    /// Applies the activation as a function (RNN cells use TANH here; fused
    /// activations of other ops use [`Activation::float_range`] and [`clamp`]).
    /// Applies the activation to one float value.
    #[inline]
    pub fn apply(self, x: f32) -> f32 {
        match self {
            Activation::None => x,
            Activation::Relu => x.max(0.0),
            Activation::ReluN1To1 => x.clamp(-1.0, 1.0),
            Activation::Relu6 => x.clamp(0.0, 6.0),
            Activation::Tanh => x.tanh(),
            Activation::SignBit => {
                if x.is_sign_negative() {
                    1.0
                } else {
                    0.0
                }
            }
        }
    }

    pub fn apply_slice(self, xs: &mut [f32]) {
        if self != Activation::None {
            for x in xs {
                *x = self.apply(*x);
            }
        }
    }
}

/// `min(max(x, lo), hi)` with C++ std::max/std::min semantics, so NaN
/// passes through as it does in LiteRT.
#[inline(always)]
pub fn clamp(x: f32, lo: f32, hi: f32) -> f32 {
    let y = if x < lo { lo } else { x };
    if hi < y {
        hi
    } else {
        y
    }
}

/// NumPy-style broadcast of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> KResult<Vec<usize>> {
    let rank = a.len().max(b.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let da = if i + a.len() >= rank {
            a[i + a.len() - rank]
        } else {
            1
        };
        let db = if i + b.len() >= rank {
            b[i + b.len() - rank]
        } else {
            1
        };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return invalid(format!("shapes {a:?} and {b:?} do not broadcast")),
        };
    }
    Ok(out)
}

/// Row-major strides of `shape`, with stride 0 for dimensions broadcast up
/// to `out` (shape is right-aligned against out).
pub fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let mut strides = vec![0; out.len()];
    let mut s = 1;
    for i in (0..shape.len()).rev() {
        let oi = i + out.len() - shape.len();
        strides[oi] = if shape[i] == 1 && out[oi] != 1 { 0 } else { s };
        s *= shape[i];
    }
    strides
}

/// Applies `f` elementwise over two broadcast inputs into `out`.
pub fn broadcast_binary<A: Copy, B: Copy, O>(
    a: &[A],
    a_shape: &[usize],
    b: &[B],
    b_shape: &[usize],
    out: &mut [O],
    out_shape: &[usize],
    f: impl Fn(A, B) -> O,
) {
    if a_shape == b_shape {
        for ((o, &x), &y) in out.iter_mut().zip(a).zip(b) {
            *o = f(x, y);
        }
        return;
    }
    if b.len() == 1 {
        let y = b[0];
        for (o, &x) in out.iter_mut().zip(a) {
            *o = f(x, y);
        }
        return;
    }
    if a.len() == 1 {
        let x = a[0];
        for (o, &y) in out.iter_mut().zip(b) {
            *o = f(x, y);
        }
        return;
    }
    let rank = out_shape.len();
    if rank == 0 {
        if let (Some(o), Some(&x), Some(&y)) = (out.first_mut(), a.first(), b.first()) {
            *o = f(x, y);
        }
        return;
    }
    let sa = broadcast_strides(a_shape, out_shape);
    let sb = broadcast_strides(b_shape, out_shape);
    let inner = out_shape[rank - 1];
    let (ia, ib) = (sa[rank - 1], sb[rank - 1]);
    let mut idx = vec![0usize; rank];
    let mut pos = 0;
    while pos < out.len() {
        let mut oa = 0;
        let mut ob = 0;
        for d in 0..rank - 1 {
            oa += idx[d] * sa[d];
            ob += idx[d] * sb[d];
        }
        for (k, o) in out[pos..pos + inner].iter_mut().enumerate() {
            *o = f(a[oa + k * ia], b[ob + k * ib]);
        }
        pos += inner;
        // Advance the outer index (all but the innermost dimension).
        for d in (0..rank - 1).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// Normalises a possibly negative axis against `rank`.
pub fn normalize_axis(axis: i64, rank: usize) -> KResult<usize> {
    let r = rank as i64;
    let a = if axis < 0 { axis + r } else { axis };
    if a < 0 || a >= r.max(1) {
        return invalid(format!("axis {axis} out of range for rank {rank}"));
    }
    Ok(a as usize)
}

/// Product of dims, erroring on overflow.
pub fn checked_elements(shape: &[usize]) -> KResult<usize> {
    shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .map_or_else(|| invalid(format!("shape {shape:?} overflows")), Ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_matches_numpy_rules() {
        assert_eq!(
            broadcast_shapes(&[2, 1, 3], &[4, 1]).unwrap(),
            vec![2, 4, 3]
        );
        assert!(broadcast_shapes(&[2, 3], &[4]).is_err());
        let a = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0]; // [2,3]
        let b = [10.0f32, 20.0]; // [2,1]
        let mut out = [0.0f32; 6];
        broadcast_binary(&a, &[2, 3], &b, &[2, 1], &mut out, &[2, 3], |x, y| x + y);
        assert_eq!(out, [11.0, 12.0, 13.0, 24.0, 25.0, 26.0]);
        let c = [1.0f32, 2.0, 3.0]; // [3]
        broadcast_binary(&b, &[2, 1], &c, &[3], &mut out, &[2, 3], |x, y| x * y);
        assert_eq!(out, [10.0, 20.0, 30.0, 20.0, 40.0, 60.0]);
    }
}
