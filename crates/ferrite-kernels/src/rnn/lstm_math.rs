//! The float arithmetic of the LSTM step: sigmoid, LiteRT's layer
//! normalisation, a vectorisable dot product and the GEMM-backed input
//! projection.

use crate::api::*;

#[inline]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + (-x).exp())
}

/// LiteRT's MeanStddevNormalization: (v - mean) / sqrt(variance + 1e-8),
/// sums taken in order.
pub fn normalize(v: &mut [f32]) {
    let n = v.len() as f32;
    let mut sum = 0.0f32;
    for &x in v.iter() {
        sum += x;
    }
    let mean = sum / n;
    let mut sq = 0.0f32;
    for &x in v.iter() {
        let d = x - mean;
        sq += d * d;
    }
    let inv = 1.0 / (sq / n + 1e-8).sqrt();
    for x in v.iter_mut() {
        *x = (*x - mean) * inv;
    }
}

/// A dot product with eight partial sums, which the compiler vectorises.
#[inline]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for i in 0..8 {
            acc[i] += x[i] * y[i];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (x, y) in ra.iter().zip(rb) {
        s += x * y;
    }
    s
}

/// Below this many multiply-adds the GEMM's setup costs more than it saves.
const GEMM_MIN_WORK: usize = 1 << 15;

/// dst[r, col0 + j] = W[j, :] · x[r, :] for r < rows, j < cells, where dst
/// rows are `width` apart.
#[allow(clippy::too_many_arguments)]
pub fn input_projection(
    par: &crate::Parallel,
    x: &[f32],
    w: &[f32],
    dst: &mut [f32],
    rows: usize,
    k: usize,
    cells: usize,
    col0: usize,
    width: usize,
) -> KResult<()> {
    if x.len() != rows * k
        || w.len() != cells * k
        || dst.len() != rows * width
        || col0 + cells > width
    {
        return invalid("LSTM input projection sizes disagree");
    }
    if rows == 0 || cells == 0 {
        return Ok(());
    }
    if rows * cells * k < GEMM_MIN_WORK || k == 0 {
        for r in 0..rows {
            let xr = &x[r * k..(r + 1) * k];
            for j in 0..cells {
                dst[r * width + col0 + j] = dot(&w[j * k..(j + 1) * k], xr);
            }
        }
        return Ok(());
    }
    let parallelism = par.gemm_parallelism();
    let out = &mut dst[col0..];
    par.install(|| {
        // SAFETY: the sizes were checked above. dst is rows x cells with row
        // stride `width` starting at col0: its last element is at
        // (rows-1)*width + cells-1 < rows*width - col0 = out.len(). lhs = x
        // is rows x k row-major (x.len() == rows*k); rhs = Wᵀ is k x cells
        // with row stride 1 and column stride k (w.len() == cells*k). The
        // three buffers do not overlap (dst is borrowed mutably).
        unsafe {
            gemm::gemm(
                rows,
                cells,
                k,
                out.as_mut_ptr(),
                1,
                width as isize,
                false,
                x.as_ptr(),
                1,
                k as isize,
                w.as_ptr(),
                k as isize,
                1,
                0.0,
                1.0,
                false,
                false,
                false,
                parallelism,
            )
        }
    });
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::Parallel;

    /// Deterministic tensor contents, reproduced by the numpy reference.
    pub fn val(id: usize, n: usize, scale: f64) -> Vec<f32> {
        (0..n)
            .map(|i| ((id as f64 * 7.3 + i as f64 * 1.7).sin() * scale) as f32)
            .collect()
    }

    #[test]
    fn gemm_input_projection_matches_the_loop() {
        // Large enough for the GEMM path; compare with a direct loop.
        let (rows, k, cells, width) = (64, 48, 40, 160);
        let x = val(1, rows * k, 1.0);
        let w = val(2, cells * k, 0.5);
        let mut dst = vec![7.0f32; rows * width];
        input_projection(
            &Parallel::new(2).unwrap(),
            &x,
            &w,
            &mut dst,
            rows,
            k,
            cells,
            40,
            width,
        )
        .unwrap();
        for r in 0..rows {
            for j in 0..width {
                let got = dst[r * width + j];
                if (40..80).contains(&j) {
                    let want: f32 = (0..k).map(|q| w[(j - 40) * k + q] * x[r * k + q]).sum();
                    assert!((got - want).abs() < 1e-4, "{got} vs {want}");
                } else {
                    assert_eq!(got, 7.0, "columns outside the block are untouched");
                }
            }
        }
        assert!(input_projection(
            &Parallel::single(),
            &x,
            &w,
            &mut dst,
            rows,
            k + 1,
            cells,
            40,
            width
        )
        .is_err());
    }

    #[test]
    fn normalize_and_sigmoid_follow_the_formulas() {
        let mut v = [1.0f32, 2.0, 3.0, 6.0];
        normalize(&mut v);
        // mean 3, variance 3.5.
        let inv = 1.0 / (3.5f32 + 1e-8).sqrt();
        assert_eq!(v, [-2.0 * inv, -inv, 0.0, 3.0 * inv]);
        assert_eq!(sigmoid(0.0), 0.5);
        assert!((sigmoid(2.0) - 0.880_797_1).abs() < 1e-7);
        let a: Vec<f32> = (0..19).map(|i| i as f32).collect();
        assert_eq!(dot(&a, &a), (0..19).map(|i| (i * i) as f32).sum::<f32>());
    }
}
