//! MatrixTriangularSolve: X with `A · X = rhs` for triangular A (`lower`,
//! default true; `Aᴴ` with `adjoint`), by substitution. Only A's `lower`
//! (or upper) triangle is read; the batch dims broadcast as in TF's V2
//! kernel, and a zero on the diagonal gives inf/NaN as TF does.

use super::{bool_attr, float_type, read, write, Batch};
use crate::api::*;

struct TriangularSolve {
    lower: bool,
    adjoint: bool,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    spec.expect_arity(2..=2, 1)?;
    let t = float_type(spec, 0)?;
    if spec.input(1)?.dtype != t {
        return invalid(format!(
            "MatrixTriangularSolve: rhs must be {t} like the matrix"
        ));
    }
    Ok(Box::new(TriangularSolve {
        lower: bool_attr(spec, "lower", true)?,
        adjoint: bool_attr(spec, "adjoint", false)?,
    }))
}

/// (matrix, rhs) batch indices per output matrix.
type Pairs = Vec<(usize, usize)>;

/// Output batch dims and, for each output matrix, the indices of the
/// matrix and rhs it reads (numpy broadcasting).
fn broadcast(a: &[usize], b: &[usize]) -> KResult<(Vec<usize>, Pairs)> {
    let rank = a.len().max(b.len());
    let dim = |s: &[usize], i: usize| (i + s.len()).checked_sub(rank).map_or(1, |j| s[j]);
    let mut out = Vec::with_capacity(rank);
    for i in 0..rank {
        let (x, y) = (dim(a, i), dim(b, i));
        out.push(match (x, y) {
            _ if x == y => x,
            (1, _) => y,
            (_, 1) => x,
            _ => {
                return invalid(format!(
                    "MatrixTriangularSolve: batch dims {a:?} and {b:?} do not broadcast"
                ))
            }
        });
    }
    let count: usize = out.iter().product();
    let mut pairs = Vec::with_capacity(count);
    let mut index = vec![0usize; rank];
    for _ in 0..count {
        let flat = |s: &[usize]| {
            (0..rank).fold(0, |acc, i| {
                let d = dim(s, i);
                acc * d + if d == 1 { 0 } else { index[i] }
            })
        };
        pairs.push((flat(a), flat(b)));
        for i in (0..rank).rev() {
            index[i] += 1;
            if index[i] < out[i] {
                break;
            }
            index[i] = 0;
        }
    }
    Ok((out, pairs))
}

struct Geometry {
    out: Vec<usize>,
    pairs: Vec<(usize, usize)>,
    n: usize,
    cols: usize,
}

fn geometry(a: &[usize], rhs: &[usize]) -> KResult<Geometry> {
    let ab = Batch::square(a, "MatrixTriangularSolve")?;
    let bb = Batch::of(rhs, "MatrixTriangularSolve")?;
    if ab.rows != bb.rows {
        return invalid(format!(
            "MatrixTriangularSolve: matrix {a:?} and rhs {rhs:?} have different row counts"
        ));
    }
    let (batch, pairs) = broadcast(&ab.batch, &bb.batch)?;
    let mut out = batch;
    out.extend([bb.rows, bb.cols]);
    Ok(Geometry {
        out,
        pairs,
        n: ab.rows,
        cols: bb.cols,
    })
}

impl Kernel for TriangularSolve {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        let a = shape_input(inputs, 0)?;
        let rhs = shape_input(inputs, 1)?;
        Ok(Some(vec![geometry(a.shape, rhs.shape)?.out]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let (a, rhs) = (io.input(0)?, io.input(1)?);
        let g = geometry(a.shape, rhs.shape)?;
        let (x, y) = (read(&a)?, read(&rhs)?);
        let (n, cols) = (g.n, g.cols);
        let mut out = vec![0.0; g.pairs.len() * n * cols];
        // Solving with Aᴴ walks the other triangle's order over A's entries.
        let forward = self.lower != self.adjoint;
        for (k, &(ia, ib)) in g.pairs.iter().enumerate() {
            let m = &x[ia * n * n..(ia + 1) * n * n];
            let at = |i: usize, j: usize| {
                if self.adjoint {
                    m[j * n + i]
                } else {
                    m[i * n + j]
                }
            };
            let b = &y[ib * n * cols..(ib + 1) * n * cols];
            let o = &mut out[k * n * cols..(k + 1) * n * cols];
            for c in 0..cols {
                for step in 0..n {
                    let i = if forward { step } else { n - 1 - step };
                    let known = if forward { 0..i } else { i + 1..n };
                    let s: f64 = known.map(|j| at(i, j) * o[j * cols + c]).sum();
                    o[i * cols + c] = (b[i * cols + c] - s) / at(i, i);
                }
            }
        }
        write(&mut io.outputs[0], &out)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn batch_dims_broadcast_like_numpy() {
        let (out, pairs) = super::broadcast(&[2, 1], &[3]).unwrap();
        assert_eq!(out, vec![2, 3]);
        assert_eq!(pairs, vec![(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]);
        let (out, pairs) = super::broadcast(&[], &[2]).unwrap();
        assert_eq!((out, pairs), (vec![2], vec![(0, 0), (0, 1)]));
        assert!(super::broadcast(&[2], &[3]).is_err());
    }
}
