//! RaggedTensorToTensor: scatters a ragged tensor's flat values into a
//! dense tensor padded with `default_value`. The row partitions are
//! FIRST_DIM_SIZE followed by VALUE_ROWIDS, or ROW_SPLITS only; `shape`
//! entries >= 0 truncate or pad a dimension, -1 (or an empty `shape`)
//! takes the natural size.

use super::string_values;
use crate::api::*;
use crate::registry::{named, NamedRegistration};
use crate::strings;

pub static OPS: &[NamedRegistration] = &[named("RaggedTensorToTensor", build)];

#[derive(Clone, Copy, PartialEq)]
enum Partition {
    RowSplits,
    ValueRowIds,
}

struct RaggedToTensor {
    /// Whether input 3 is FIRST_DIM_SIZE (then every partition is VALUE_ROWIDS).
    first_dim: bool,
    partitions: Vec<Partition>,
}

pub fn build(spec: &OpSpec<'_>) -> KResult<Box<dyn Kernel>> {
    let types = spec
        .attr("row_partition_types")
        .and_then(Attr::str_list)
        .ok_or_else(|| {
            KernelError::InvalidInput("RaggedTensorToTensor needs row_partition_types".into())
        })?;
    let first_dim = types.first().is_some_and(|t| t == "FIRST_DIM_SIZE");
    let mut partitions = Vec::new();
    for t in &types[usize::from(first_dim)..] {
        partitions.push(match t.as_str() {
            "ROW_SPLITS" if !first_dim => Partition::RowSplits,
            "VALUE_ROWIDS" if first_dim => Partition::ValueRowIds,
            _ => return spec.unsupported(format!("row partition types {types:?}")),
        });
    }
    if partitions.is_empty() {
        return spec.unsupported(format!("row partition types {types:?}"));
    }
    spec.expect_arity(3 + types.len()..=3 + types.len(), 1)?;
    let values = spec.input(1)?.dtype;
    if spec.input(2)?.dtype != values || spec.output(0)?.dtype != values {
        return invalid("RaggedTensorToTensor: values, default_value and output dtypes differ");
    }
    if values != DType::String && values.element_size().is_none() {
        return spec.unsupported(format!("values of dtype {values}"));
    }
    Ok(Box::new(RaggedToTensor {
        first_dim,
        partitions,
    }))
}

/// Where each flat value lands, and the output shape.
struct Layout {
    shape: Vec<usize>,
    /// Output element (outer index, in units of the inner block) per value.
    slot: Vec<Option<usize>>,
}

fn ints(a: &ShapeArg<'_>) -> KResult<Option<Vec<i64>>> {
    a.int_values()
}

fn index(v: i64, what: &str) -> KResult<usize> {
    usize::try_from(v).map_err(|_| KernelError::InvalidInput(format!("negative {what} {v}")))
}

impl RaggedToTensor {
    /// `None` while a needed value (shape, partitions) is unknown.
    fn layout(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Layout>> {
        let values = shape_input(inputs, 1)?;
        let Some(&nvalues) = values.shape.first() else {
            return invalid("RaggedTensorToTensor values must have rank >= 1");
        };
        let Some(want) = ints(shape_input(inputs, 0)?)? else {
            return Ok(None);
        };
        let mut parts = Vec::new();
        for i in 3..inputs.len() {
            match ints(shape_input(inputs, i)?)? {
                Some(v) => parts.push(v),
                None => return Ok(None),
            }
        }
        // (parent row of each element, column within that row) per level.
        let mut rows = if self.first_dim {
            match parts[0].as_slice() {
                [n] => index(*n, "first dimension size")?,
                _ => return invalid("FIRST_DIM_SIZE must be a scalar"),
            }
        } else {
            parts[0]
                .len()
                .checked_sub(1)
                .ok_or_else(|| KernelError::InvalidInput("empty row_splits".into()))?
        };
        let mut natural = vec![rows];
        let mut levels: Vec<Vec<(usize, usize)>> = Vec::new();
        for (p, kind) in parts[usize::from(self.first_dim)..]
            .iter()
            .zip(&self.partitions)
        {
            let mut elems = Vec::new();
            let mut widest = 0usize;
            match kind {
                Partition::ValueRowIds => {
                    let (mut prev, mut start) = (0usize, 0usize);
                    for (i, &r) in p.iter().enumerate() {
                        let r = index(r, "value_rowid")?;
                        if r >= rows || r < prev {
                            return invalid(format!(
                                "value_rowids must be sorted and below {rows}, got {r}"
                            ));
                        }
                        if r != prev || i == 0 {
                            start = i;
                        }
                        prev = r;
                        widest = widest.max(i - start + 1);
                        elems.push((r, i - start));
                    }
                }
                Partition::RowSplits => {
                    if p.len() != rows + 1 || p.first() != Some(&0) {
                        return invalid(format!(
                            "row_splits must have {} entries starting at 0",
                            rows + 1
                        ));
                    }
                    for (r, w) in p.windows(2).enumerate() {
                        let (a, b) = (index(w[0], "row split")?, index(w[1], "row split")?);
                        if b < a {
                            return invalid("row_splits must be non-decreasing");
                        }
                        widest = widest.max(b - a);
                        elems.extend((0..b - a).map(|c| (r, c)));
                    }
                }
            }
            rows = elems.len();
            natural.push(widest);
            levels.push(elems);
        }
        if rows != nvalues {
            return invalid(format!(
                "row partitions describe {rows} values, values has {nvalues}"
            ));
        }
        natural.extend_from_slice(&values.shape[1..]);
        let shape = match want.as_slice() {
            [] | [-1] if want.len() != natural.len() => natural.clone(),
            w if w.len() == natural.len() => w
                .iter()
                .zip(&natural)
                .map(|(&w, &n)| if w < 0 { Ok(n) } else { index(w, "dimension") })
                .collect::<KResult<Vec<_>>>()?,
            w => return invalid(format!("shape {w:?} does not have rank {}", natural.len())),
        };
        let ragged = levels.len() + 1;
        if shape[ragged..] != natural[ragged..] {
            return unsupported(format!(
                "RaggedTensorToTensor: shape {shape:?} changes the inner dimensions {:?}",
                &natural[ragged..]
            ));
        }
        let mut parent: Vec<Option<usize>> = (0..natural[0])
            .map(|r| (r < shape[0]).then_some(r))
            .collect();
        for (k, elems) in levels.iter().enumerate() {
            let width = shape[k + 1];
            parent = elems
                .iter()
                .map(|&(r, c)| parent[r].filter(|_| c < width).map(|p| p * width + c))
                .collect();
        }
        Ok(Some(Layout {
            shape,
            slot: parent,
        }))
    }
}

impl Kernel for RaggedToTensor {
    fn output_shapes(&self, inputs: &[Option<ShapeArg<'_>>]) -> KResult<Option<Vec<Vec<usize>>>> {
        Ok(self.layout(inputs)?.map(|l| vec![l.shape]))
    }

    fn eval(&self, io: &mut EvalIo<'_, '_>) -> KResult<()> {
        let args: Vec<_> = io
            .inputs
            .iter()
            .map(|t| t.map(|t| t.as_shape_arg()))
            .collect();
        let layout = self
            .layout(&args)?
            .ok_or_else(|| KernelError::InvalidInput("unknown ragged layout".into()))?;
        let (values, default) = (io.input(1)?, io.input(2)?);
        let inner: usize = values.shape[1..].iter().product();
        let outer: usize = layout.shape[..layout.shape.len() - (values.shape.len() - 1)]
            .iter()
            .product();
        let dn = default.num_elements();
        if dn != 1 && default.shape != &values.shape[1..] {
            return unsupported(format!(
                "RaggedTensorToTensor: default_value of shape {:?} for values of shape {:?}",
                default.shape, values.shape
            ));
        }
        if values.dtype == DType::String {
            let vals = string_values(&values)?;
            let def = string_values(&default)?;
            let mut out: Vec<&[u8]> = (0..outer * inner)
                .map(|i| def[if dn == 1 { 0 } else { i % dn }])
                .collect();
            for (i, slot) in layout.slot.iter().enumerate() {
                if let Some(o) = slot {
                    out[o * inner..(o + 1) * inner]
                        .copy_from_slice(&vals[i * inner..(i + 1) * inner]);
                }
            }
            io.outputs[0].buf.set(&strings::encode(&out));
            return Ok(());
        }
        let e = values.dtype.element_size().unwrap_or(1);
        let block = inner * e;
        let out = io.outputs[0].bytes_mut();
        if default.data.len() != dn * e || values.data.len() != values.num_elements() * e {
            return invalid("RaggedTensorToTensor: tensor data size mismatch");
        }
        for (i, chunk) in out.chunks_exact_mut(e).enumerate() {
            let d = if dn == 1 { 0 } else { i % dn };
            chunk.copy_from_slice(&default.data[d * e..(d + 1) * e]);
        }
        for (i, slot) in layout.slot.iter().enumerate() {
            if let Some(o) = slot {
                out[o * block..(o + 1) * block]
                    .copy_from_slice(&values.data[i * block..(i + 1) * block]);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::*;
    use super::build;

    fn types(v: &[&str]) -> Attr {
        Attr::StrList(v.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn value_rowids_pad_and_truncate() {
        let vals = T::strs(&[5], &["a", "b", "c", "d", "e"]);
        let run = |shape: &[i64]| {
            run_named(
                build,
                "RaggedTensorToTensor",
                &[(
                    "row_partition_types",
                    types(&["FIRST_DIM_SIZE", "VALUE_ROWIDS"]),
                )],
                &[
                    Some(T::i64(&[shape.len()], shape)),
                    Some(vals.clone()),
                    Some(T::strs(&[], &["-"])),
                    Some(T::i64(&[], &[4])),
                    Some(T::i64(&[5], &[0, 0, 2, 2, 2])),
                ],
                &[T::out(DType::String)],
            )
        };
        let got = run(&[-1, -1]).unwrap();
        assert_eq!(got[0].shape, vec![4, 3]);
        assert_eq!(
            got[0].as_strs(),
            ["a", "b", "-", "-", "-", "-", "c", "d", "e", "-", "-", "-"]
        );
        let got = run(&[2, 2]).unwrap();
        assert_eq!(got[0].as_strs(), ["a", "b", "-", "-"]);
        let got = run(&[-1, 6]).unwrap();
        assert_eq!(got[0].shape, vec![4, 6]);
    }

    #[test]
    fn row_splits_with_inner_dims_and_bad_partitions() {
        let run = |splits: &[i64]| {
            run_named(
                build,
                "RaggedTensorToTensor",
                &[("row_partition_types", types(&["ROW_SPLITS"]))],
                &[
                    Some(T::i64(&[0], &[])),
                    Some(T::f32(&[3, 2], &[1., 2., 3., 4., 5., 6.])),
                    Some(T::f32(&[], &[0.])),
                    Some(T::i64(&[splits.len()], splits)),
                ],
                &[T::out(DType::Float32)],
            )
        };
        let got = run(&[0, 1, 1, 3]).unwrap();
        assert_eq!(got[0].shape, vec![3, 2, 2]);
        assert_eq!(
            got[0].as_f32(),
            [1., 2., 0., 0., 0., 0., 0., 0., 3., 4., 5., 6.]
        );
        assert!(run(&[0, 2, 1, 3]).is_err());
        assert!(run(&[0, 1, 4]).is_err());
        assert!(run(&[1, 2, 3]).is_err());
    }
}
