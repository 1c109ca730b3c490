//! Qr: Householder QR of each M x N matrix. With P = min(M, N), q is M x P
//! and r is P x N, or M x M and M x N with `full_matrices`. The reflectors
//! are built here rather than taken from nalgebra, whose sign choice differs
//! from TF's: each R diagonal entry takes the sign opposite to its column's
//! leading entry, and a column that is already reduced is left as it is, so
//! q and r match TF's including signs.

use nalgebra::DMatrix;

use super::{bool_attr, float_type, load, read, store, write, Batch};
use crate::api::*;

struct Qr {
    full: bool,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(1..=1, 2)?;
    float_type(spec, 0)?;
    Ok(Box::new(Qr {
        full: bool_attr(spec, "full_matrices", false)?,
    }))
}

impl Qr {
    /// (q rows, q cols) and (r rows, r cols).
    fn dims(&self, b: &Batch) -> ((usize, usize), (usize, usize)) {
        let p = if self.full {
            b.rows
        } else {
            b.rows.min(b.cols)
        };
        ((b.rows, p), (p, b.cols))
    }
}

/// A Householder QR: R in place, and the reflectors `I - tau v vᵀ` with
/// v[0] = 1, acting on rows k.. for step k.
pub(crate) struct Householder {
    pub r: DMatrix<f64>,
    reflectors: Vec<(Vec<f64>, f64)>,
}

impl Householder {
    pub fn new(mut r: DMatrix<f64>) -> Householder {
        let (m, n) = r.shape();
        let mut reflectors = Vec::with_capacity(m.min(n));
        for k in 0..m.min(n) {
            let c0 = r[(k, k)];
            let tail: f64 = (k + 1..m).map(|i| r[(i, k)] * r[(i, k)]).sum();
            if tail <= f64::MIN_POSITIVE {
                reflectors.push((Vec::new(), 0.0));
                continue;
            }
            let norm = (c0 * c0 + tail).sqrt();
            let beta = if c0 >= 0.0 { -norm } else { norm };
            let mut v = vec![1.0; m - k];
            for i in k + 1..m {
                v[i - k] = r[(i, k)] / (c0 - beta);
            }
            let tau = (beta - c0) / beta;
            for j in k + 1..n {
                let dot: f64 = (k..m).map(|i| v[i - k] * r[(i, j)]).sum();
                for i in k..m {
                    r[(i, j)] -= tau * v[i - k] * dot;
                }
            }
            r[(k, k)] = beta;
            for i in k + 1..m {
                r[(i, k)] = 0.0;
            }
            reflectors.push((v, tau));
        }
        Householder { r, reflectors }
    }

    /// The first `cols` columns of Q = H_0 H_1 ... (M x M).
    pub fn q(&self, cols: usize) -> DMatrix<f64> {
        let m = self.r.nrows();
        let mut q = DMatrix::identity(m, cols);
        for (k, (v, tau)) in self.reflectors.iter().enumerate().rev() {
            if v.is_empty() {
                continue;
            }
            for j in 0..cols {
                let dot: f64 = (k..m).map(|i| v[i - k] * q[(i, j)]).sum();
                for i in k..m {
                    q[(i, j)] -= tau * v[i - k] * dot;
                }
            }
        }
        q
    }
}

impl Kernel for Qr {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let b = Batch::of(shape_input(inputs, 0)?.shape, "Qr")?;
        let ((qm, qn), (rm, rn)) = self.dims(&b);
        Ok(Some(vec![b.shape(&[qm, qn]), b.shape(&[rm, rn])]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let a = io.input(0)?;
        let b = Batch::of(a.shape, "Qr")?;
        let x = read(&a)?;
        let ((qm, qn), (rm, rn)) = self.dims(&b);
        let mut q_out = vec![0.0; b.count() * qm * qn];
        let mut r_out = vec![0.0; b.count() * rm * rn];
        for k in 0..b.count() {
            let h = Householder::new(load(&x, k, b.rows, b.cols));
            let q = h.q(qn);
            let r = h.r.rows(0, rm).into_owned();
            store(&q, &mut q_out, k);
            store(&r, &mut r_out, k);
        }
        write(&mut io.outputs[0], &q_out)?;
        write(&mut io.outputs[1], &r_out)
    }
}
