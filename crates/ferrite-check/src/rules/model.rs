//! Model-level rules: resource variable caveats, string tensors, dtypes,
//! dynamic shapes and where they flow, and which subgraphs a target loads
//! and invokes.

use std::collections::BTreeMap;

use ferrite_format::TensorType;

use super::Ctx;
use crate::report::Severity::{Error, Warning};
use crate::target::{DynamicShapes, Imported, Invoked, StringSupport};

pub(super) fn check(cx: &mut Ctx<'_, '_>) {
    variables(cx);
    strings(cx);
    dtypes(cx);
    shapes(cx);
    subgraphs(cx);
}

fn variables(cx: &mut Ctx<'_, '_>) {
    let Some(warning) = cx.target.variables.warning.clone() else {
        return;
    };
    let has_vars = cx.in_scope().any(|s| {
        cx.facts.ops[s]
            .iter()
            .any(|o| o.builtin == Some("VAR_HANDLE"))
    });
    if has_vars {
        let msg = format!("the model uses resource variables. {warning}");
        let fix = cx.target.variables.warning_fix.clone().unwrap_or_default();
        let source = cx.target.variables.source.clone();
        cx.push(
            Warning,
            (None, None),
            None,
            "resource-variables",
            msg,
            fix,
            &source,
        );
    }
}

fn strings(cx: &mut Ctx<'_, '_>) {
    let mode = cx.target.strings.value;
    if mode == StringSupport::Any {
        return;
    }
    let subgraphs: Vec<usize> = cx.in_scope().collect();
    for s in subgraphs {
        let sg = &cx.facts.model.subgraphs[s];
        let names: Vec<String> = (0..sg.tensors.len() as i32)
            .filter(|&t| sg.tensors[t as usize].dtype == TensorType::String)
            .filter(|&t| mode == StringSupport::None || !cx.facts.is_constant(s, t))
            .map(|t| cx.facts.tensor_name(s, t))
            .collect();
        let Some(first) = names.first().cloned() else {
            continue;
        };
        let what = if mode == StringSupport::None {
            "string tensors"
        } else {
            "run-time string tensors"
        };
        let shown: Vec<String> = names.iter().take(3).map(|n| format!("'{n}'")).collect();
        let msg = format!(
            "subgraph {s} has {} {what} ({}{}); {} has no string tensors{}",
            names.len(),
            shown.join(", "),
            if names.len() > 3 { ", ..." } else { "" },
            cx.target.name,
            if mode == StringSupport::Constant {
                " except constants it folds"
            } else {
                ""
            }
        );
        let fix = "keep text handling outside the model: tokenise and look up in pre/post-processing, and feed and return numeric ids".to_string();
        let source = cx.target.strings.source.clone();
        cx.push(
            Error,
            (Some(s), None),
            Some(first),
            "string-tensor",
            msg,
            fix,
            &source,
        );
    }
}

fn dtypes(cx: &mut Ctx<'_, '_>) {
    let Some(allowed) = cx.target.dtypes.value.clone() else {
        return;
    };
    let subgraphs: Vec<usize> = cx.in_scope().collect();
    for s in subgraphs {
        // dtype -> first tensor, count; strings have their own rule.
        let mut bad: BTreeMap<TensorType, (String, usize)> = BTreeMap::new();
        for t in &cx.facts.model.subgraphs[s].tensors {
            if t.dtype != TensorType::String && !allowed.contains(&t.dtype) {
                let e = bad
                    .entry(t.dtype)
                    .or_insert_with(|| (t.display_name().to_string(), 0));
                e.1 += 1;
            }
        }
        for (d, (first, n)) in bad {
            let name = ferrite_graph::summary::dtype_name(d);
            let msg = format!(
                "subgraph {s} has {n} {name} tensor(s) (first '{first}'); {} has no {name} tensors",
                cx.target.name
            );
            let fix = format!("cast to a supported type in the source model before conversion, so no {name} tensor remains");
            let source = cx.target.dtypes.source.clone();
            cx.push(
                Error,
                (Some(s), None),
                Some(first),
                "dtype",
                msg,
                fix,
                &source,
            );
        }
    }
}

fn dims(d: &[i32]) -> String {
    let v: Vec<String> = d.iter().map(i32::to_string).collect();
    format!("[{}]", v.join(", "))
}

fn shapes(cx: &mut Ctx<'_, '_>) {
    let mode = cx.target.shapes.value;
    if mode == DynamicShapes::Resizable {
        resize_notes(cx);
        return;
    }
    let facts = cx.facts;
    let source = cx.target.shapes.source.clone();
    let subgraphs: Vec<usize> = cx.in_scope().collect();
    for s in subgraphs {
        let sg = &facts.model.subgraphs[s];
        let seeds: Vec<i32> = sg
            .inputs
            .iter()
            .copied()
            .filter(|&t| facts.tensor(s, t).is_some_and(|x| x.is_dynamic()))
            .collect();
        let (tainted, _) = facts.dynamic_flow(s, &seeds);
        if cx.roots.contains(&s) {
            for &t in &seeds {
                dynamic_input(cx, s, t, &source);
            }
        }
        if mode != DynamicShapes::Static {
            continue;
        }
        // A -1 that no input explains is a data-dependent shape.
        for (i, op) in sg.operators.iter().enumerate() {
            if cx.has_error_at(s, i) {
                continue;
            }
            let own = op.outputs.iter().copied().find(|t| {
                !tainted.contains(t) && facts.tensor(s, *t).is_some_and(|x| x.is_dynamic())
            });
            if let Some(t) = own {
                let x = facts.tensor(s, t).expect("checked above");
                let msg = format!(
                    "output '{}' has a data-dependent shape {} (known only when the op runs); {} allocates every tensor before the first invoke and fails with \"Dynamic tensors are not supported\"",
                    x.display_name(),
                    dims(x.signature_dims()),
                    cx.target.name
                );
                let fix = "change the model so every intermediate shape is known at conversion time (fixed sizes instead of data-dependent ones)".to_string();
                cx.op(Error, s, i, "dynamic-tensor", msg, fix, &source);
            }
        }
    }
}

/// A resizable target that plans at the stored shape until told otherwise:
/// one caveat per dynamic input of an entry subgraph.
fn resize_notes(cx: &mut Ctx<'_, '_>) {
    let Some(note) = cx.target.shapes.resize_note.clone() else {
        return;
    };
    let facts = cx.facts;
    let source = cx.target.shapes.source.clone();
    for s in cx.roots.clone() {
        for &t in &facts.model.subgraphs[s].inputs {
            let Some(x) = facts.tensor(s, t).filter(|x| x.is_dynamic()) else {
                continue;
            };
            let msg = format!(
                "input '{}' has dynamic shape {} and stored shape {}. {note}",
                x.display_name(),
                dims(x.signature_dims()),
                dims(x.dims())
            );
            let fix = format!(
                "resize '{}' to the shape you run (interpreter.resize_tensor_input), then allocate_tensors; or fix it with `ferrite freeze --input-shape`",
                x.display_name()
            );
            cx.push(
                Warning,
                (Some(s), None),
                Some(x.display_name().to_string()),
                "dynamic-shape",
                msg,
                fix,
                &source,
            );
        }
    }
}

/// An input with -1 dimensions: where it flows, and what the target does.
fn dynamic_input(cx: &mut Ctx<'_, '_>, s: usize, t: i32, source: &str) {
    let facts = cx.facts;
    let x = facts.tensor(s, t).expect("input tensor");
    let (tainted, reached) = facts.dynamic_flow(s, &[t]);
    let sg = &facts.model.subgraphs[s];
    let outs: Vec<String> = sg
        .outputs
        .iter()
        .filter(|o| tainted.contains(o))
        .map(|&o| format!("'{}'", facts.tensor_name(s, o)))
        .collect();
    let flow = match reached.first() {
        None => "it reaches no op".to_string(),
        Some(&first) => format!(
            "it flows through {} of {} ops (from op {first} {}){}",
            reached.len(),
            sg.operators.len(),
            facts.ops[s][first].name,
            if outs.is_empty() {
                String::new()
            } else {
                format!(" to outputs {}", outs.join(", "))
            }
        ),
    };
    let stored = dims(x.dims());
    let what = match cx.target.shapes.value {
        DynamicShapes::ImportFixed => format!(
            "{} imports it with its stored shape {stored} unless the caller passes another shape",
            cx.target.name
        ),
        _ => format!(
            "{} ignores the shape signature and runs only at the stored shape {stored}",
            cx.target.name
        ),
    };
    let msg = format!(
        "input '{}' has dynamic shape {}: {flow}; {what}",
        x.display_name(),
        dims(x.signature_dims())
    );
    let name = x.display_name();
    let example: Vec<String> = x
        .signature_dims()
        .iter()
        .map(|&d| if d < 0 { "N".into() } else { d.to_string() })
        .collect();
    let fix = format!(
        "fix the input shape with `ferrite freeze --input-shape {name}={}` (N = the size you deploy with){}",
        example.join(","),
        if cx.target.shapes.value == DynamicShapes::ImportFixed { ", or pass shape_dict to from_tflite" } else { "" }
    );
    cx.push(
        Warning,
        (Some(s), None),
        Some(name.to_string()),
        "dynamic-shape",
        msg,
        fix,
        source,
    );
}

fn subgraphs(cx: &mut Ctx<'_, '_>) {
    let facts = cx.facts;
    let rule = cx.target.subgraphs.clone();
    for sig in &facts.model.signature_defs {
        let s = sig.subgraph_index as usize;
        let key = sig.signature_key.clone().unwrap_or_default();
        if rule.imported == Imported::Primary && !cx.scope[s] {
            let writes: Vec<String> = (0..facts.ops[s].len())
                .filter(|&i| facts.ops[s][i].builtin == Some("ASSIGN_VARIABLE"))
                .filter_map(|i| {
                    let h = *facts.model.subgraphs[s].operators[i].inputs.first()?;
                    facts.variable_of(s, h).map(|v| format!("'{}'", v.1))
                })
                .collect();
            let note = if writes.is_empty() {
                String::new()
            } else {
                format!(
                    "; it writes variable(s) {} at run time, so after import they keep their CALL_ONCE initial values (`ferrite freeze` makes that explicit)",
                    writes.join(", ")
                )
            };
            let msg = format!(
                "signature '{key}' (subgraph {s}) is not imported: {} converts only subgraph 0 and the subgraphs it calls{note}",
                cx.target.name
            );
            let fix = "import each signature separately (export it as its own model), or check that subgraph 0 alone is what you deploy".to_string();
            cx.push(
                Warning,
                (Some(s), None),
                None,
                "signature-dropped",
                msg,
                fix,
                &rule.source,
            );
        } else if rule.invoked == Invoked::Primary && s != 0 && !cx.reachable_from_primary(s) {
            let msg = format!(
                "signature '{key}' (subgraph {s}) is prepared but cannot be invoked: {} runs only subgraph 0",
                cx.target.name
            );
            let fix = "export the signature you deploy as its own model, so it becomes subgraph 0"
                .to_string();
            cx.push(
                Warning,
                (Some(s), None),
                None,
                "signature-dropped",
                msg,
                fix,
                &rule.source,
            );
        }
    }
}

impl Ctx<'_, '_> {
    fn has_error_at(&self, s: usize, i: usize) -> bool {
        self.out
            .iter()
            .any(|f| f.severity == Error && f.subgraph == Some(s) && f.op_index == Some(i))
    }

    fn reachable_from_primary(&self, s: usize) -> bool {
        self.facts.reachable(&[0], false)[s]
    }
}
