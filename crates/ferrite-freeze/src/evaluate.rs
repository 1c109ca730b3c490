//! Initial values: each CALL_ONCE init subgraph is run with ferrite's own
//! interpreter on a copy of the model that keeps only what initialisation
//! runs, so ops elsewhere that ferrite lacks do not stop the evaluation.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use ferrite_format::{Model, ModelBytes, TensorType};
use ferrite_graph::Graph;
use ferrite_runtime::{Interpreter, Options};

use crate::analysis::{self, Analysis, VarKey};
use crate::FreezeError;

/// A variable's value after initialisation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Value {
    pub dtype: TensorType,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

/// The model with every subgraph outside initialisation emptied, its
/// constants dropped and no signatures.
fn init_only_model<'a>(model: &Model<'a>, a: &Analysis) -> Model<'a> {
    let mut m = model.clone();
    let keep = |s: usize| a.init_reach.iter().any(|r| r[s]);
    for (s, sg) in m.subgraphs.iter_mut().enumerate() {
        if !keep(s) {
            sg.operators.clear();
            for t in &mut sg.tensors {
                t.buffer = 0;
                t.sparsity = None;
                t.is_variable = false;
            }
        }
    }
    let mut used = vec![false; m.buffers.len()];
    used[0] = true;
    for t in m.subgraphs.iter().flat_map(|s| &s.tensors) {
        used[t.buffer as usize] = true;
    }
    for (b, u) in m.buffers.iter_mut().zip(used) {
        if !u {
            b.data = Cow::Borrowed(&[]);
        }
    }
    m.signature_defs.clear();
    m
}

/// The value every variable has after initialisation. Each init subgraph
/// runs on fresh state, so the result does not depend on which signature
/// would have run first; inits that disagree are refused.
pub(crate) fn initial_values(
    model: &Model<'_>,
    a: &Analysis,
) -> Result<HashMap<VarKey, Value>, FreezeError> {
    let mut values: HashMap<VarKey, (Value, usize)> = HashMap::new();
    if a.vars.is_empty() {
        return Ok(HashMap::new());
    }
    let bytes = Arc::new(ModelBytes::from(init_only_model(model, a).write()?));
    let pruned = Model::parse(&bytes).map_err(|e| {
        FreezeError::Internal(format!(
            "the initialisation-only model does not verify: {e}"
        ))
    })?;
    let graph = Graph::build(&pruned, Arc::clone(&bytes))?;
    let mut interp = Interpreter::new(Arc::new(graph), Options::default()).map_err(|e| {
        FreezeError::Evaluate {
            subgraph: e.location.subgraph.unwrap_or(0),
            source: e,
        }
    })?;
    let mut findings = Vec::new();
    for (root, reach) in a.init_roots.iter().zip(&a.init_reach) {
        interp.reset_state();
        interp
            .run_subgraph(*root)
            .map_err(|source| FreezeError::Evaluate {
                subgraph: *root,
                source,
            })?;
        for v in &a.vars {
            let Some(&first) = v.assigns.iter().find(|r| reach[r.subgraph]) else {
                continue;
            };
            let Some(view) = interp.variable(&v.key.0, &v.key.1) else {
                continue;
            };
            let value = Value {
                dtype: view.dtype,
                shape: view.shape.to_vec(),
                data: view.data.to_vec(),
            };
            match values.get(&v.key) {
                Some((old, by)) if *old != value => findings.push(analysis::finding(
                    model,
                    &v.key,
                    first,
                    format!(
                        "CALL_ONCE init subgraphs {by} and {root} give the variable different \
                         values, so its value depends on which signature runs first"
                    ),
                )),
                Some(_) => {}
                None => {
                    values.insert(v.key.clone(), (value, *root));
                }
            }
        }
    }
    for v in &a.vars {
        if let (false, Some(&(r, _))) = (values.contains_key(&v.key), v.reads.first()) {
            findings.push(analysis::finding(
                model,
                &v.key,
                r,
                "running its CALL_ONCE initialisation leaves the variable unassigned".into(),
            ));
        }
    }
    if !findings.is_empty() {
        return Err(FreezeError::Refused(findings));
    }
    Ok(values.into_iter().map(|(k, (v, _))| (k, v)).collect())
}
