//! Window geometry shared by the convolutions: padding modes, output sizes
//! and leading padding, as LiteRT computes them (`padding.h`).

use crate::api::{invalid, KResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    Same,
    Valid,
}

impl Padding {
    pub fn from_code(code: i8) -> KResult<Self> {
        match code {
            0 => Ok(Padding::Same),
            1 => Ok(Padding::Valid),
            other => invalid(format!("unknown padding {other}")),
        }
    }
}

/// Stride and dilation along one spatial axis; both at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Axis {
    pub stride: usize,
    pub dilation: usize,
}

impl Axis {
    pub fn new(stride: i32, dilation: i32) -> KResult<Self> {
        if stride <= 0 || dilation <= 0 {
            return invalid(format!(
                "stride {stride} and dilation {dilation} must be positive"
            ));
        }
        Ok(Axis {
            stride: stride as usize,
            dilation: dilation as usize,
        })
    }

    /// Output size and padding before the first element for an input of
    /// `size` and a kernel of `kernel` taps (LiteRT's `ComputeOutSize` and
    /// `ComputePaddingWithOffset`; the extra trailing pad is implied).
    pub fn out_and_pad(
        self,
        padding: Padding,
        size: usize,
        kernel: usize,
    ) -> KResult<(usize, usize)> {
        let (s, d) = (self.stride as i64, self.dilation as i64);
        let (size_i, kernel_i) = (size as i64, kernel as i64);
        let effective = (kernel_i - 1).max(0) * d + 1;
        let out = match padding {
            Padding::Same => (size_i + s - 1) / s,
            Padding::Valid => {
                if size_i + s < effective {
                    return invalid(format!(
                        "a {kernel}-tap window (dilation {d}) does not fit an input of {size}"
                    ));
                }
                (size_i + s - effective) / s
            }
        };
        let total = ((out - 1) * s + effective - size_i).max(0);
        Ok((out as usize, (total / 2) as usize))
    }
}

/// The input positions `pos * stride - pad + tap * dilation` for `tap` in
/// `0..taps` that fall inside `0..size`: (first valid tap, end tap).
#[inline]
pub fn valid_taps(pos: usize, axis: Axis, pad: usize, taps: usize, size: usize) -> (usize, usize) {
    let origin = (pos * axis.stride) as isize - pad as isize;
    if axis.dilation == 1 {
        let first = (-origin).clamp(0, taps as isize) as usize;
        let end = (size as isize - origin).clamp(0, taps as isize) as usize;
        return (first, end.max(first));
    }
    let d = axis.dilation as isize;
    // First tap with origin + tap*d >= 0.
    let first = if origin >= 0 {
        0
    } else {
        ((-origin + d - 1) / d) as usize
    };
    // Taps with origin + tap*d < size.
    let end = if origin >= size as isize {
        0
    } else {
        (((size as isize - origin) + d - 1) / d) as usize
    };
    (first.min(taps), end.min(taps).max(first.min(taps)))
}

/// The output positions in `0..out` whose every tap is inside the input.
pub fn interior(
    axis: Axis,
    pad: usize,
    taps: usize,
    size: usize,
    out: usize,
) -> std::ops::Range<usize> {
    let lo = pad.div_ceil(axis.stride);
    let reach = (taps.max(1) - 1) * axis.dilation;
    // Largest pos with pos * stride - pad + reach <= size - 1.
    let hi = match (size + pad).checked_sub(reach + 1) {
        Some(x) => (x / axis.stride + 1).min(out),
        None => 0,
    };
    lo.min(hi)..hi
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_sizes_and_padding_match_litert() {
        let a = |s, d| Axis::new(s, d).unwrap();
        // SAME: ceil(in / stride), padding split with the extra at the end.
        assert_eq!(a(1, 1).out_and_pad(Padding::Same, 7, 3).unwrap(), (7, 1));
        assert_eq!(
            a(2, 1).out_and_pad(Padding::Same, 224, 3).unwrap(),
            (112, 0)
        );
        assert_eq!(a(2, 1).out_and_pad(Padding::Same, 9, 3).unwrap(), (5, 1));
        assert_eq!(a(1, 2).out_and_pad(Padding::Same, 8, 3).unwrap(), (8, 2));
        assert_eq!(a(2, 1).out_and_pad(Padding::Same, 8, 4).unwrap(), (4, 1));
        // VALID: no padding.
        assert_eq!(a(2, 1).out_and_pad(Padding::Valid, 9, 3).unwrap(), (4, 0));
        assert_eq!(a(1, 2).out_and_pad(Padding::Valid, 9, 3).unwrap(), (5, 0));
        assert_eq!(a(3, 1).out_and_pad(Padding::Valid, 2, 4).unwrap(), (0, 0));
        assert!(a(1, 1).out_and_pad(Padding::Valid, 2, 5).is_err());
        assert!(Axis::new(0, 1).is_err());
        assert!(Padding::from_code(2).is_err());
    }

    #[test]
    fn valid_taps_clip_to_the_input() {
        let a = Axis {
            stride: 1,
            dilation: 1,
        };
        assert_eq!(valid_taps(0, a, 1, 3, 5), (1, 3));
        assert_eq!(valid_taps(4, a, 1, 3, 5), (0, 2));
        assert_eq!(valid_taps(2, a, 1, 3, 5), (0, 3));
        let d = Axis {
            stride: 1,
            dilation: 2,
        };
        assert_eq!(valid_taps(0, d, 2, 3, 8), (1, 3));
        assert_eq!(valid_taps(7, d, 2, 3, 8), (0, 2));
        // Entirely outside.
        assert_eq!(valid_taps(9, a, 0, 3, 5), (0, 0));
    }

    #[test]
    fn interior_agrees_with_valid_taps() {
        for (stride, dilation) in [(1, 1), (2, 1), (1, 2), (3, 2)] {
            let axis = Axis { stride, dilation };
            for size in 1..12 {
                for taps in 1..5 {
                    for padding in [Padding::Same, Padding::Valid] {
                        let Ok((out, pad)) = axis.out_and_pad(padding, size, taps) else {
                            continue;
                        };
                        let full: Vec<usize> = (0..out)
                            .filter(|&p| valid_taps(p, axis, pad, taps, size) == (0, taps))
                            .collect();
                        let r = interior(axis, pad, taps, size, out);
                        assert_eq!(
                            r.clone().collect::<Vec<_>>(),
                            full,
                            "{axis:?} size {size} taps {taps} {padding:?}"
                        );
                    }
                }
            }
        }
    }
}
