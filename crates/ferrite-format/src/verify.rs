//! Semantic verification: indices in range, buffers large enough for their
//! tensors, well-formed string buffers, an acyclic subgraph call graph, and
//! caller-set limits. Structural checks happen while decoding (see `fb`).

use crate::error::{FormatError, Result};
use crate::model::{Model, SubGraph};
use crate::options::{BuiltinOptions, BuiltinOptions2};
use crate::tensor::{Tensor, TensorType};

/// Bounds a caller can put on untrusted models.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub max_subgraphs: usize,
    pub max_tensors_per_subgraph: usize,
    pub max_operators_per_subgraph: usize,
    pub max_rank: usize,
    /// Longest chain of subgraphs calling subgraphs (WHILE, IF, CALL_ONCE...).
    pub max_subgraph_nesting: usize,
    /// Largest element count of any one tensor shape.
    pub max_tensor_elements: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 4 << 30,
            max_subgraphs: 10_000,
            max_tensors_per_subgraph: 1 << 20,
            max_operators_per_subgraph: 1 << 20,
            max_rank: 16,
            max_subgraph_nesting: 64,
            max_tensor_elements: 1 << 34,
        }
    }
}

fn limit(path: String, what: &'static str, actual: usize, limit: usize) -> Result<()> {
    if actual > limit {
        return Err(FormatError::LimitExceeded {
            path,
            what,
            actual: actual as u64,
            limit: limit as u64,
        });
    }
    Ok(())
}

/// The subgraphs an operator's options call, by option name.
pub fn called_subgraphs(
    opts: &BuiltinOptions,
    opts2: &BuiltinOptions2,
) -> Vec<(&'static str, i64)> {
    let mut v = Vec::new();
    match opts {
        BuiltinOptions::IfOptions(o) => {
            v.push(("then_subgraph_index", o.then_subgraph_index as i64));
            v.push(("else_subgraph_index", o.else_subgraph_index as i64));
        }
        BuiltinOptions::WhileOptions(o) => {
            v.push(("cond_subgraph_index", o.cond_subgraph_index as i64));
            v.push(("body_subgraph_index", o.body_subgraph_index as i64));
        }
        BuiltinOptions::CallOnceOptions(o) => {
            v.push(("init_subgraph_index", o.init_subgraph_index as i64))
        }
        BuiltinOptions::CallOptions(o) => v.push(("subgraph", o.subgraph as i64)),
        _ => {}
    }
    match opts2 {
        BuiltinOptions2::StablehloReduceOptions(o) => {
            v.push(("body_subgraph_index", o.body_subgraph_index as i64))
        }
        BuiltinOptions2::StablehloReduceWindowOptions(o) => {
            v.push(("body_subgraph_index", o.body_subgraph_index as i64))
        }
        BuiltinOptions2::StablehloWhileOptions(o) => {
            v.push(("cond_subgraph_index", o.cond_subgraph_index as i64));
            v.push(("body_subgraph_index", o.body_subgraph_index as i64));
        }
        BuiltinOptions2::StablehloSortOptions(o) => v.push((
            "comparator_subgraph_index",
            o.comparator_subgraph_index as i64,
        )),
        BuiltinOptions2::StablehloScatterOptions(o) => v.push((
            "update_computation_subgraph_index",
            o.update_computation_subgraph_index as i64,
        )),
        BuiltinOptions2::StableHLOCompositeOptions(o) => v.push((
            "decomposition_subgraph_index",
            o.decomposition_subgraph_index as i64,
        )),
        _ => {}
    }
    v
}

/// Rewrites every subgraph index the options hold (the fields
/// [`called_subgraphs`] lists) through `f`, for passes that renumber
/// subgraphs.
pub fn map_called_subgraphs(
    opts: &mut BuiltinOptions,
    opts2: &mut BuiltinOptions2,
    mut f: impl FnMut(i32) -> i32,
) {
    match opts {
        BuiltinOptions::IfOptions(o) => {
            o.then_subgraph_index = f(o.then_subgraph_index);
            o.else_subgraph_index = f(o.else_subgraph_index);
        }
        BuiltinOptions::WhileOptions(o) => {
            o.cond_subgraph_index = f(o.cond_subgraph_index);
            o.body_subgraph_index = f(o.body_subgraph_index);
        }
        BuiltinOptions::CallOnceOptions(o) => o.init_subgraph_index = f(o.init_subgraph_index),
        BuiltinOptions::CallOptions(o) => o.subgraph = f(o.subgraph as i32) as u32,
        _ => {}
    }
    match opts2 {
        BuiltinOptions2::StablehloReduceOptions(o) => {
            o.body_subgraph_index = f(o.body_subgraph_index)
        }
        BuiltinOptions2::StablehloReduceWindowOptions(o) => {
            o.body_subgraph_index = f(o.body_subgraph_index)
        }
        BuiltinOptions2::StablehloWhileOptions(o) => {
            o.cond_subgraph_index = f(o.cond_subgraph_index);
            o.body_subgraph_index = f(o.body_subgraph_index);
        }
        BuiltinOptions2::StablehloSortOptions(o) => {
            o.comparator_subgraph_index = f(o.comparator_subgraph_index)
        }
        BuiltinOptions2::StablehloScatterOptions(o) => {
            o.update_computation_subgraph_index = f(o.update_computation_subgraph_index)
        }
        BuiltinOptions2::StableHLOCompositeOptions(o) => {
            o.decomposition_subgraph_index = f(o.decomposition_subgraph_index)
        }
        _ => {}
    }
}

pub(crate) fn check(model: &Model<'_>, limits: &Limits) -> Result<()> {
    if model.version != 3 {
        return Err(FormatError::invalid(
            "version",
            format!("schema version {} is not 3", model.version),
        ));
    }
    if model.subgraphs.is_empty() {
        return Err(FormatError::invalid("subgraphs", "model has no subgraphs"));
    }
    limit(
        "subgraphs".into(),
        "subgraph count",
        model.subgraphs.len(),
        limits.max_subgraphs,
    )?;
    for (i, sg) in model.subgraphs.iter().enumerate() {
        check_subgraph(model, sg, limits).map_err(|e| e.within(&format!("subgraphs[{i}]")))?;
    }
    check_call_graph(model, limits)?;
    for (i, m) in model.metadata.iter().enumerate() {
        if m.buffer as usize >= model.buffers.len() {
            return Err(FormatError::invalid(
                format!("metadata[{i}].buffer"),
                format!(
                    "buffer {} out of range ({} buffers)",
                    m.buffer,
                    model.buffers.len()
                ),
            ));
        }
    }
    for (i, &b) in model.metadata_buffer.iter().flatten().enumerate() {
        if b < 0 || b as usize >= model.buffers.len() {
            return Err(FormatError::invalid(
                format!("metadata_buffer[{i}]"),
                format!("buffer {b} out of range"),
            ));
        }
    }
    for (i, sig) in model.signature_defs.iter().enumerate() {
        let path = format!("signature_defs[{i}]");
        let sg = model
            .subgraphs
            .get(sig.subgraph_index as usize)
            .ok_or_else(|| {
                FormatError::invalid(
                    format!("{path}.subgraph_index"),
                    format!("subgraph {} out of range", sig.subgraph_index),
                )
            })?;
        for (kind, maps) in [("inputs", &sig.inputs), ("outputs", &sig.outputs)] {
            for (j, m) in maps.iter().enumerate() {
                if m.tensor_index as usize >= sg.tensors.len() {
                    return Err(FormatError::invalid(
                        format!("{path}.{kind}[{j}]"),
                        format!("tensor {} out of range", m.tensor_index),
                    ));
                }
            }
        }
    }
    Ok(())
}

fn check_index(path: String, index: i32, count: usize, optional: bool) -> Result<()> {
    if (optional && index == -1) || (index >= 0 && (index as usize) < count) {
        return Ok(());
    }
    Err(FormatError::invalid(
        path,
        format!("tensor index {index} out of range ({count} tensors)"),
    ))
}

fn check_subgraph(model: &Model<'_>, sg: &SubGraph<'_>, limits: &Limits) -> Result<()> {
    let n = sg.tensors.len();
    limit(
        "tensors".into(),
        "tensor count",
        n,
        limits.max_tensors_per_subgraph,
    )?;
    limit(
        "operators".into(),
        "operator count",
        sg.operators.len(),
        limits.max_operators_per_subgraph,
    )?;
    for (i, t) in sg.tensors.iter().enumerate() {
        check_tensor(model, t, limits).map_err(|e| e.within(&format!("tensors[{i}]")))?;
    }
    for (j, &t) in sg.inputs.iter().enumerate() {
        check_index(format!("inputs[{j}]"), t, n, false)?;
    }
    for (j, &t) in sg.outputs.iter().enumerate() {
        check_index(format!("outputs[{j}]"), t, n, false)?;
    }
    for (k, op) in sg.operators.iter().enumerate() {
        let p = format!("operators[{k}]");
        if op.opcode_index as usize >= model.operator_codes.len() {
            return Err(FormatError::invalid(
                format!("{p}.opcode_index"),
                format!(
                    "opcode {} out of range ({} operator codes)",
                    op.opcode_index,
                    model.operator_codes.len()
                ),
            ));
        }
        for (j, &t) in op.inputs.iter().enumerate() {
            check_index(format!("{p}.inputs[{j}]"), t, n, true)?;
        }
        for (j, &t) in op.outputs.iter().enumerate() {
            check_index(format!("{p}.outputs[{j}]"), t, n, false)?;
        }
        for (j, &t) in op.intermediates.iter().flatten().enumerate() {
            check_index(format!("{p}.intermediates[{j}]"), t, n, true)?;
        }
        if let Some(m) = &op.mutating_variable_inputs {
            if !m.is_empty() && m.len() != op.inputs.len() {
                return Err(FormatError::invalid(
                    format!("{p}.mutating_variable_inputs"),
                    "length differs from the operator's inputs",
                ));
            }
        }
        for (field, idx) in called_subgraphs(&op.builtin_options, &op.builtin_options_2) {
            if idx < 0 || idx as usize >= model.subgraphs.len() {
                return Err(FormatError::invalid(
                    format!("{p}.{field}"),
                    format!(
                        "subgraph {idx} out of range ({} subgraphs)",
                        model.subgraphs.len()
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Product of `dims`, None on overflow or a negative dimension.
pub fn element_count(dims: &[i32]) -> Option<u64> {
    dims.iter()
        .try_fold(1u64, |acc, &d| acc.checked_mul(u64::try_from(d).ok()?))
}

fn check_tensor(model: &Model<'_>, t: &Tensor, limits: &Limits) -> Result<()> {
    let dims = t.dims();
    limit("shape".into(), "rank", dims.len(), limits.max_rank)?;
    let count = element_count(dims).ok_or_else(|| {
        FormatError::invalid(
            "shape",
            format!("shape {dims:?} has a negative dimension or overflows"),
        )
    })?;
    if count > limits.max_tensor_elements {
        return Err(FormatError::LimitExceeded {
            path: "shape".into(),
            what: "tensor element count",
            actual: count,
            limit: limits.max_tensor_elements,
        });
    }
    if let Some(sig) = &t.shape_signature {
        if sig.len() != dims.len() || sig.iter().any(|&d| d < -1) {
            return Err(FormatError::invalid(
                "shape_signature",
                format!("signature {sig:?} does not match shape {dims:?}"),
            ));
        }
    }
    if let Some(q) = &t.quantization {
        check_quantization(q, dims)?;
    }
    if t.buffer as usize >= model.buffers.len() {
        return Err(FormatError::invalid(
            "buffer",
            format!(
                "buffer {} out of range ({} buffers)",
                t.buffer,
                model.buffers.len()
            ),
        ));
    }
    let data = model.buffer_data(t.buffer);
    if data.is_empty() {
        return Ok(());
    }
    if let Some(s) = &t.sparsity {
        return check_sparsity(s, dims.len());
    }
    let expected = match t.dtype {
        TensorType::String => return check_string_buffer(data, count),
        TensorType::Int4 => count.div_ceil(2),
        TensorType::Resource | TensorType::Variant => return Ok(()),
        other => other
            .element_size()
            .map_or(0, |s| s as u64)
            .saturating_mul(count),
    };
    // LiteRT also accepts unpacked int4 (one value per byte).
    let int4_unpacked = t.dtype == TensorType::Int4 && data.len() as u64 == count;
    if data.len() as u64 != expected && !int4_unpacked {
        return Err(FormatError::invalid(
            "buffer",
            format!(
                "{} bytes of data for a {} tensor of shape {dims:?} that needs {expected}",
                data.len(),
                t.dtype
            ),
        ));
    }
    Ok(())
}

fn check_quantization(q: &crate::tensor::Quantization, dims: &[i32]) -> Result<()> {
    let scales = q.scale.as_deref().unwrap_or(&[]);
    let zps = q.zero_point.as_deref().unwrap_or(&[]);
    if !zps.is_empty() && !scales.is_empty() && zps.len() != scales.len() {
        return Err(FormatError::invalid(
            "quantization",
            format!("{} scales but {} zero points", scales.len(), zps.len()),
        ));
    }
    if scales.len() > 1 {
        let axis = q.quantized_dimension;
        let ok = usize::try_from(axis)
            .ok()
            .and_then(|a| dims.get(a))
            .is_some_and(|&d| d as usize == scales.len());
        if !ok {
            return Err(FormatError::invalid(
                "quantization.quantized_dimension",
                format!(
                    "{} per-axis scales do not match dimension {axis} of shape {dims:?}",
                    scales.len()
                ),
            ));
        }
    }
    Ok(())
}

fn check_sparsity(s: &crate::tensor::Sparsity, rank: usize) -> Result<()> {
    let order = s.traversal_order.as_deref().unwrap_or(&[]);
    let block = s.block_map.as_deref().unwrap_or(&[]);
    let bad = |why: String| Err(FormatError::invalid("sparsity", why));
    if order.len() != rank + block.len() || s.dim_metadata.len() != order.len() {
        return bad(format!(
            "traversal order of {} dims, {} block dims and {} dim metadata for rank {rank}",
            order.len(),
            block.len(),
            s.dim_metadata.len()
        ));
    }
    let mut seen = vec![false; order.len()];
    for &o in order {
        match usize::try_from(o).ok().filter(|&o| o < seen.len()) {
            Some(o) if !seen[o] => seen[o] = true,
            _ => return bad(format!("traversal order {order:?} is not a permutation")),
        }
    }
    if block.iter().any(|&b| b < 0 || b as usize >= rank) {
        return bad(format!(
            "block map {block:?} names a dimension beyond rank {rank}"
        ));
    }
    for (i, d) in s.dim_metadata.iter().enumerate() {
        let sparse = d.format == 1;
        if sparse && (d.array_segments.is_none() || d.array_indices.is_none()) {
            return bad(format!(
                "sparse dimension {i} lacks its segment or index array"
            ));
        }
        if !sparse && d.dense_size < 0 {
            return bad(format!("dense dimension {i} has negative size"));
        }
    }
    Ok(())
}

/// A STRING buffer is an int32 count, count+1 int32 offsets from the buffer
/// start, then the bytes; offsets must be ordered and inside the buffer.
pub fn check_string_buffer(data: &[u8], expected_count: u64) -> Result<()> {
    let bad = |why: String| {
        Err(FormatError::invalid(
            "buffer",
            format!("string buffer: {why}"),
        ))
    };
    let word = |i: usize| -> Option<i64> {
        let b = data.get(4 * i..4 * i + 4)?;
        Some(i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as i64)
    };
    let Some(count) = word(0) else {
        return bad(format!("{} bytes is too short for the count", data.len()));
    };
    if count < 0 || count as u64 != expected_count {
        return bad(format!(
            "holds {count} strings, shape needs {expected_count}"
        ));
    }
    let header = 4 * (count as u64 + 2);
    if header > data.len() as u64 {
        return bad(format!(
            "offset table of {count} strings overruns {} bytes",
            data.len()
        ));
    }
    let mut prev = header as i64;
    for i in 0..=count as usize {
        let off = word(1 + i).unwrap_or(-1);
        let first_ok = i > 0 || off == header as i64;
        if !first_ok || off < prev || off > data.len() as i64 {
            return bad(format!(
                "offset {i} ({off}) is out of order or out of bounds"
            ));
        }
        prev = off;
    }
    if prev != data.len() as i64 {
        return bad(format!(
            "last offset {prev} is not the buffer end {}",
            data.len()
        ));
    }
    Ok(())
}

/// Rejects call cycles (a subgraph reaching itself through WHILE/IF/...)
/// and call chains deeper than the limit.
fn check_call_graph(model: &Model<'_>, limits: &Limits) -> Result<()> {
    let n = model.subgraphs.len();
    let callees: Vec<Vec<usize>> = model
        .subgraphs
        .iter()
        .map(|sg| {
            let mut v: Vec<usize> = sg
                .operators
                .iter()
                .flat_map(|op| called_subgraphs(&op.builtin_options, &op.builtin_options_2))
                .map(|(_, i)| i as usize)
                .collect();
            v.sort_unstable();
            v.dedup();
            v
        })
        .collect();
    // depth[i]: longest call chain starting at i; computed iteratively so a
    // hostile model cannot overflow the stack.
    const UNVISITED: usize = usize::MAX;
    const IN_PROGRESS: usize = usize::MAX - 1;
    let mut depth = vec![UNVISITED; n];
    for start in 0..n {
        if depth[start] != UNVISITED {
            continue;
        }
        let mut stack = vec![(start, 0usize)];
        depth[start] = IN_PROGRESS;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            if let Some(&c) = callees[node].get(*next) {
                *next += 1;
                match depth[c] {
                    IN_PROGRESS => {
                        return Err(FormatError::invalid(
                            format!("subgraphs[{node}]"),
                            format!(
                                "calls subgraph {c}, which is already on the call path (recursion)"
                            ),
                        ))
                    }
                    UNVISITED => {
                        depth[c] = IN_PROGRESS;
                        stack.push((c, 0));
                    }
                    _ => {}
                }
            } else {
                let d = callees[node]
                    .iter()
                    .map(|&c| depth[c] + 1)
                    .max()
                    .unwrap_or(0);
                limit(
                    format!("subgraphs[{node}]"),
                    "subgraph nesting depth",
                    d,
                    limits.max_subgraph_nesting,
                )?;
                depth[node] = d;
                stack.pop();
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::*;

    /// `map_called_subgraphs` must touch exactly the fields
    /// `called_subgraphs` reports, or a renumbering pass would miss one.
    #[test]
    fn map_called_subgraphs_matches_called_subgraphs() {
        let ops1 = [
            BuiltinOptions::IfOptions(IfOptions::default()),
            BuiltinOptions::WhileOptions(WhileOptions::default()),
            BuiltinOptions::CallOnceOptions(CallOnceOptions::default()),
            BuiltinOptions::CallOptions(CallOptions::default()),
        ];
        let ops2 = [
            BuiltinOptions2::StablehloReduceOptions(Default::default()),
            BuiltinOptions2::StablehloReduceWindowOptions(Default::default()),
            BuiltinOptions2::StablehloWhileOptions(Default::default()),
            BuiltinOptions2::StablehloSortOptions(Default::default()),
            BuiltinOptions2::StablehloScatterOptions(Default::default()),
            BuiltinOptions2::StableHLOCompositeOptions(Default::default()),
        ];
        let cases = ops1
            .into_iter()
            .map(|o| (o, BuiltinOptions2::None))
            .chain(ops2.into_iter().map(|o| (BuiltinOptions::None, o)));
        for (mut o1, mut o2) in cases {
            let before = called_subgraphs(&o1, &o2);
            assert!(!before.is_empty());
            let mut n = 0;
            map_called_subgraphs(&mut o1, &mut o2, |i| {
                n += 1;
                i + 7
            });
            let after = called_subgraphs(&o1, &o2);
            assert_eq!(n, before.len());
            for ((f0, i0), (f1, i1)) in before.iter().zip(&after) {
                assert_eq!((f0, i0 + 7), (f1, *i1));
            }
        }
    }
}
