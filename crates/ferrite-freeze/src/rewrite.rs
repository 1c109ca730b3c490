//! The rewrite: READ_VARIABLE outputs become constants, the variable ops go,
//! initialisation left without effects is removed (its ops, the CALL_ONCE
//! and the init subgraph), and subgraph indices are renumbered.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use ferrite_format::{verify, Buffer, Model, Operator, OperatorCode};

use crate::analysis::{self, entries, reach, Analysis, OpRef, VarKey};
use crate::evaluate::Value;
use crate::{compact, FreezeError, FrozenVariable, Report};

/// Ops whose effect is more than their outputs: removing them even when
/// their outputs are unused would change what the model does.
const EFFECTFUL: &[&str] = &[
    "ASSIGN_VARIABLE",
    "HASHTABLE",
    "HASHTABLE_IMPORT",
    "HASHTABLE_FIND",
    "HASHTABLE_SIZE",
    "RANDOM_UNIFORM",
    "RANDOM_STANDARD_NORMAL",
    "MULTINOMIAL",
];

/// Rewrites `model` in place with the variables' `values`.
pub(crate) fn apply(
    model: &mut Model<'_>,
    a: &Analysis,
    values: &HashMap<VarKey, Value>,
) -> Result<Report, FreezeError> {
    let roots = entries(model);
    let reached_before = reach(model, &roots, true).0;
    let mut report = Report::default();
    let mut remove: HashSet<OpRef> = HashSet::new();
    let mut findings = Vec::new();
    for v in &a.vars {
        remove.extend(&v.handles);
        remove.extend(&v.assigns);
        remove.extend(v.reads.iter().map(|r| r.0));
        let Some(value) = values.get(&v.key) else {
            continue;
        };
        if value.data.is_empty() {
            // An empty buffer reads as "not a constant" in TFLite files.
            let at = v.reads.first().map_or(v.assigns[0], |r| r.0);
            findings.push(analysis::finding(
                model,
                &v.key,
                at,
                format!(
                    "the variable's value has no elements (shape {:?}), which a constant \
                     tensor cannot hold",
                    value.shape
                ),
            ));
            continue;
        }
        model.buffers.push(Buffer {
            data: Cow::Owned(value.data.clone()),
            external: false,
        });
        let buffer = (model.buffers.len() - 1) as u32;
        let shape: Vec<i32> = value.shape.iter().map(|&d| d as i32).collect();
        for &(r, out) in &v.reads {
            let t = &mut model.subgraphs[r.subgraph].tensors[out];
            if t.dtype != value.dtype {
                let msg = format!(
                    "READ_VARIABLE output '{}' is {} but the variable holds {}",
                    t.display_name(),
                    t.dtype,
                    value.dtype
                );
                findings.push(analysis::finding(model, &v.key, r, msg));
                continue;
            }
            t.buffer = buffer;
            t.shape = Some(shape.clone());
            t.shape_signature = None;
            t.has_rank = true;
            t.is_variable = false;
            t.sparsity = None;
        }
        report.variables.push(FrozenVariable {
            container: v.key.0.clone(),
            shared_name: v.key.1.clone(),
            dtype: value.dtype,
            shape: value.shape.clone(),
            reads: v.reads.len(),
        });
    }
    if !findings.is_empty() {
        return Err(FreezeError::Refused(findings));
    }
    let mut modified = vec![false; model.subgraphs.len()];
    for (s, sg) in model.subgraphs.iter_mut().enumerate() {
        let before = sg.operators.len();
        let mut i = 0;
        sg.operators.retain(|_| {
            i += 1;
            !remove.contains(&OpRef {
                subgraph: s,
                op: i - 1,
            })
        });
        report.removed_ops += before - sg.operators.len();
        modified[s] |= sg.operators.len() != before;
    }
    let effects = effects(model);
    for (s, m) in modified.iter_mut().enumerate() {
        let removed = prune(model, s, a.init_only[s], &effects);
        report.removed_ops += removed;
        *m |= removed > 0;
    }
    report.removed_subgraphs = drop_subgraphs(model, &reached_before, &mut modified);
    for (s, m) in modified.iter().enumerate() {
        if *m {
            compact::tensors(model, s);
        }
    }
    Ok(report)
}

/// Whether `op` does more than compute its outputs; `callee` says whether
/// a called subgraph does.
fn is_effectful(
    codes: &[OperatorCode],
    op: &Operator<'_>,
    mut callee: impl FnMut(usize) -> bool,
) -> bool {
    let code = &codes[op.opcode_index as usize];
    code.is_custom()
        || EFFECTFUL.contains(&code.display_name().as_str())
        || verify::called_subgraphs(&op.builtin_options, &op.builtin_options_2)
            .iter()
            .any(|&(_, c)| callee(c as usize))
}

/// Whether running each subgraph has effects beyond its outputs.
fn effects(model: &Model<'_>) -> Vec<bool> {
    fn visit(model: &Model<'_>, s: usize, memo: &mut Vec<Option<bool>>) -> bool {
        if let Some(e) = memo[s] {
            return e;
        }
        // The call graph is acyclic (verified); this guard is for safety only.
        memo[s] = Some(true);
        let e = model.subgraphs[s]
            .operators
            .iter()
            .any(|op| is_effectful(&model.operator_codes, op, |c| visit(model, c, memo)));
        memo[s] = Some(e);
        e
    }
    let mut memo = vec![None; model.subgraphs.len()];
    (0..model.subgraphs.len())
        .map(|s| visit(model, s, &mut memo))
        .collect()
}

/// Removes CALL_ONCE ops whose initialisation has no effect left and, in
/// subgraphs that only initialisation runs (`dead_code`), every op without
/// effects whose outputs nothing uses. Returns how many ops went.
fn prune(model: &mut Model<'_>, s: usize, dead_code: bool, effects: &[bool]) -> usize {
    let codes = &model.operator_codes;
    let sg = &mut model.subgraphs[s];
    let before = sg.operators.len();
    sg.operators.retain(|op| {
        let once = matches!(
            op.builtin_options,
            ferrite_format::BuiltinOptions::CallOnceOptions(_)
        );
        !once || is_effectful(codes, op, |c| effects[c])
    });
    if !dead_code {
        return before - sg.operators.len();
    }
    // Removing an op can leave its producers unused in turn.
    loop {
        let used: HashSet<i32> = sg
            .operators
            .iter()
            .flat_map(|op| op.inputs.iter().copied())
            .chain(sg.outputs.iter().copied())
            .collect();
        let n = sg.operators.len();
        sg.operators.retain(|op| {
            is_effectful(codes, op, |c| effects[c]) || op.outputs.iter().any(|o| used.contains(o))
        });
        if sg.operators.len() == n {
            break;
        }
    }
    before - sg.operators.len()
}

/// Removes the subgraphs that the rewrite made unreachable and renumbers
/// subgraph references; returns the removed subgraphs' names.
fn drop_subgraphs(
    model: &mut Model<'_>,
    reached_before: &[bool],
    modified: &mut Vec<bool>,
) -> Vec<String> {
    // Subgraphs nothing reached before stay, and keep what they call.
    let mut roots = entries(model);
    roots.extend((0..model.subgraphs.len()).filter(|&s| !reached_before[s]));
    let (reached, _) = reach(model, &roots, true);
    let mut new_index = vec![-1i32; model.subgraphs.len()];
    let mut next = 0;
    for (s, &keep) in reached.iter().enumerate() {
        if keep {
            new_index[s] = next;
            next += 1;
        }
    }
    let mut removed = Vec::new();
    let mut s = 0;
    model.subgraphs.retain(|sg| {
        s += 1;
        if !reached[s - 1] {
            removed.push(sg.name.clone().unwrap_or_else(|| format!("#{}", s - 1)));
        }
        reached[s - 1]
    });
    let mut s = 0;
    modified.retain(|_| {
        s += 1;
        reached[s - 1]
    });
    for op in model.subgraphs.iter_mut().flat_map(|sg| &mut sg.operators) {
        verify::map_called_subgraphs(&mut op.builtin_options, &mut op.builtin_options_2, |i| {
            new_index[i as usize]
        });
    }
    for sig in &mut model.signature_defs {
        sig.subgraph_index = new_index[sig.subgraph_index as usize] as u32;
    }
    removed
}
