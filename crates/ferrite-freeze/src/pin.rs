//! Pinning dynamic input shapes: the given inputs get concrete shapes and
//! the planner's shape inference writes the shape of every tensor that
//! follows from them.

use std::collections::BTreeMap;
use std::sync::Arc;

use ferrite_format::{Model, ModelBytes};
use ferrite_graph::Graph;

use crate::analysis::entries;
use crate::{FreezeError, PinnedInput};

pub(crate) struct Pinned {
    pub bytes: Vec<u8>,
    pub pinned: Vec<PinnedInput>,
    pub still_dynamic: usize,
}

/// The (subgraph, tensor) inputs called `name`: signature input names
/// first, then tensor names of entry subgraphs' inputs.
fn resolve(model: &Model<'_>, name: &str) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for d in &model.signature_defs {
        for m in d.inputs.iter().filter(|m| m.name.as_deref() == Some(name)) {
            found.push((d.subgraph_index as usize, m.tensor_index as usize));
        }
    }
    for s in entries(model) {
        let sg = &model.subgraphs[s];
        for &t in &sg.inputs {
            if sg.tensors[t as usize].name.as_deref() == Some(name) {
                found.push((s, t as usize));
            }
        }
    }
    found.sort_unstable();
    found.dedup();
    found
}

fn input_names(model: &Model<'_>) -> Vec<String> {
    let mut names: Vec<String> = model
        .signature_defs
        .iter()
        .flat_map(|d| d.inputs.iter().filter_map(|m| m.name.clone()))
        .collect();
    for s in entries(model) {
        let sg = &model.subgraphs[s];
        names.extend(
            sg.inputs
                .iter()
                .map(|&t| sg.tensors[t as usize].display_name().to_string()),
        );
    }
    names.dedup();
    names
}

/// Pins `shapes` (input name -> dims) in the model held in `bytes`.
pub(crate) fn pin(bytes: &[u8], shapes: &[(String, Vec<usize>)]) -> Result<Pinned, FreezeError> {
    let model = Model::parse(bytes)?;
    // Subgraph -> its inputs' pinned shapes by tensor.
    let mut wanted: BTreeMap<usize, BTreeMap<usize, Vec<usize>>> = BTreeMap::new();
    for (name, dims) in shapes {
        let targets = resolve(&model, name);
        if targets.is_empty() {
            return Err(FreezeError::InvalidArgument(format!(
                "--input-shape {name}: no input is called '{name}' (inputs: {})",
                input_names(&model).join(", ")
            )));
        }
        for (s, t) in targets {
            let tensor = &model.subgraphs[s].tensors[t];
            let sig = tensor.signature_dims();
            let fits = sig.len() == dims.len()
                && sig
                    .iter()
                    .zip(dims)
                    .all(|(&d, &n)| i32::try_from(n).is_ok_and(|n| d < 0 || d == n));
            if !fits {
                return Err(FreezeError::InvalidArgument(format!(
                    "--input-shape {name}: {dims:?} does not fit input '{}' of subgraph {s}, \
                     declared {sig:?} (-1 = any size)",
                    tensor.display_name()
                )));
            }
            wanted.entry(s).or_default().insert(t, dims.clone());
        }
    }
    let arc = Arc::new(ModelBytes::from(bytes.to_vec()));
    let graph = Graph::build(&model, Arc::clone(&arc))?;
    let mut out = model.clone();
    let mut pinned = Vec::new();
    let mut still_dynamic = 0;
    for (&s, given) in &wanted {
        let sg = &model.subgraphs[s];
        let mut input_shapes = Vec::with_capacity(sg.inputs.len());
        for &t in &sg.inputs {
            let tensor = &sg.tensors[t as usize];
            match given.get(&(t as usize)) {
                Some(dims) => input_shapes.push(dims.clone()),
                None if !tensor.is_dynamic() => {
                    input_shapes.push(tensor.dims().iter().map(|&d| d as usize).collect())
                }
                None => {
                    return Err(FreezeError::InvalidArgument(format!(
                        "input '{}' of subgraph {s} is dynamic too ({:?}); pin it with \
                         --input-shape as well",
                        tensor.display_name(),
                        tensor.signature_dims()
                    )))
                }
            }
        }
        let inferred =
            ferrite_runtime::infer_shapes(&graph, s, &input_shapes).map_err(|source| {
                FreezeError::Shapes {
                    subgraph: s,
                    source,
                }
            })?;
        for (t, shape) in out.subgraphs[s].tensors.iter_mut().zip(inferred) {
            if !model.buffer_data(t.buffer).is_empty() {
                continue;
            }
            match shape {
                Some(shape) => {
                    let dims: Vec<i32> = shape.iter().map(|&d| d as i32).collect();
                    if t.shape_signature.is_some() {
                        t.shape_signature = Some(dims.clone());
                    }
                    t.shape = Some(dims);
                }
                None => still_dynamic += usize::from(t.is_dynamic()),
            }
        }
        for (&t, dims) in given {
            pinned.push(PinnedInput {
                subgraph: s,
                tensor: sg.tensors[t].display_name().to_string(),
                shape: dims.clone(),
            });
        }
    }
    Ok(Pinned {
        bytes: out.write()?,
        pinned,
        still_dynamic,
    })
}
