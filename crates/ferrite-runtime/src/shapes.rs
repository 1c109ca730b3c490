//! Shape inference for tools: what the planner works out about every tensor
//! of a subgraph for given input shapes, without running it.

use ferrite_graph::Graph;
use ferrite_kernels::registry::OpRegistry;
use ferrite_kernels::Parallel;

use crate::error::{Result, RuntimeError};
use crate::plan;

/// The shape of every tensor of subgraph `s` when its inputs have
/// `input_shapes` (in subgraph input order), as planning infers them.
///
/// A tensor whose shape depends on data (outputs of control flow and state
/// ops, data-dependent kernels and everything downstream of them) is `None`.
/// Planning builds kernels and folds constants, so ops ferrite does not run
/// fail here with `Unsupported`.
pub fn infer_shapes(
    graph: &Graph,
    s: usize,
    input_shapes: &[Vec<usize>],
) -> Result<Vec<Option<Vec<usize>>>> {
    infer_shapes_with(graph, s, input_shapes, &OpRegistry::default())
}

/// As [`infer_shapes`], resolving ops through `ops`.
pub fn infer_shapes_with(
    graph: &Graph,
    s: usize,
    input_shapes: &[Vec<usize>],
    ops: &OpRegistry,
) -> Result<Vec<Option<Vec<usize>>>> {
    let sg = graph
        .subgraphs
        .get(s)
        .ok_or_else(|| RuntimeError::invalid(format!("subgraph {s} does not exist")))?;
    if input_shapes.len() != sg.inputs.len() {
        return Err(RuntimeError::invalid(format!(
            "subgraph {s} has {} inputs but {} shapes were given",
            sg.inputs.len(),
            input_shapes.len()
        )));
    }
    let par = Parallel::new(1)?;
    let p = plan::plan_subgraph(graph, s, input_shapes, true, usize::MAX, &par, ops)?;
    Ok(p.tensors
        .into_iter()
        .map(|t| t.static_shape.then_some(t.shape))
        .collect())
}
