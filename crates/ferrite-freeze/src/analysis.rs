//! Which subgraphs run at run time and which only as CALL_ONCE
//! initialisation, and where every resource variable is created, read and
//! assigned: the facts that decide whether a model can be frozen.

use std::collections::HashMap;

use ferrite_format::{verify, BuiltinOptions, Model};

use crate::{var_display, Finding};

/// A variable's identity: container and shared name, as LiteRT keys it.
pub(crate) type VarKey = (String, String);

/// Op `op` of subgraph `subgraph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct OpRef {
    pub subgraph: usize,
    pub op: usize,
}

/// Every op touching one variable.
#[derive(Debug, Default)]
pub(crate) struct VarUse {
    pub key: VarKey,
    pub handles: Vec<OpRef>,
    /// READ_VARIABLE ops with their output tensor.
    pub reads: Vec<(OpRef, usize)>,
    pub assigns: Vec<OpRef>,
}

pub(crate) struct Analysis {
    pub vars: Vec<VarUse>,
    /// CALL_ONCE targets, ascending.
    pub init_roots: Vec<usize>,
    /// Subgraphs each init root runs (itself and what it calls).
    pub init_reach: Vec<Vec<bool>>,
    /// Subgraphs that run only inside CALL_ONCE initialisation.
    pub init_only: Vec<bool>,
    pub findings: Vec<Finding>,
}

/// Subgraph calls: (caller op, callee, whether it is CALL_ONCE).
fn calls(model: &Model<'_>, s: usize) -> Vec<(usize, usize, bool)> {
    let mut v = Vec::new();
    for (i, op) in model.subgraphs[s].operators.iter().enumerate() {
        let once = matches!(op.builtin_options, BuiltinOptions::CallOnceOptions(_));
        for (_, c) in verify::called_subgraphs(&op.builtin_options, &op.builtin_options_2) {
            v.push((i, c as usize, once));
        }
    }
    v
}

/// Subgraphs that a model runs directly: the primary one and signatures.
pub(crate) fn entries(model: &Model<'_>) -> Vec<usize> {
    let mut e = vec![0];
    e.extend(
        model
            .signature_defs
            .iter()
            .map(|s| s.subgraph_index as usize),
    );
    e.sort_unstable();
    e.dedup();
    e
}

/// Subgraphs reached from `roots`, following CALL_ONCE edges only when
/// `through_once`; `parent` records the first caller (subgraph, op).
pub(crate) fn reach(
    model: &Model<'_>,
    roots: &[usize],
    through_once: bool,
) -> (Vec<bool>, Vec<Option<(usize, usize)>>) {
    let n = model.subgraphs.len();
    let mut seen = vec![false; n];
    let mut parent = vec![None; n];
    let mut stack: Vec<usize> = roots.iter().copied().filter(|&r| r < n).collect();
    for &r in &stack {
        seen[r] = true;
    }
    while let Some(s) = stack.pop() {
        for (op, c, once) in calls(model, s) {
            if (through_once || !once) && !seen[c] {
                seen[c] = true;
                parent[c] = Some((s, op));
                stack.push(c);
            }
        }
    }
    (seen, parent)
}

struct Ctx<'m, 'a> {
    model: &'m Model<'a>,
    runtime_parent: Vec<Option<(usize, usize)>>,
}

impl Ctx<'_, '_> {
    fn op_name(&self, r: OpRef) -> String {
        let op = &self.model.subgraphs[r.subgraph].operators[r.op];
        self.model.operator_codes[op.opcode_index as usize].display_name()
    }

    fn subgraph_name(&self, s: usize) -> String {
        match &self.model.subgraphs[s].name {
            Some(n) if !n.is_empty() => format!("subgraph {s} ({n})"),
            _ => format!("subgraph {s}"),
        }
    }

    /// How subgraph `s` comes to run at run time, for messages.
    fn runs_how(&self, s: usize) -> String {
        let keys: Vec<String> = self
            .model
            .signature_defs
            .iter()
            .filter(|d| d.subgraph_index as usize == s)
            .map(|d| format!("'{}'", d.signature_key.as_deref().unwrap_or("")))
            .collect();
        if !keys.is_empty() {
            return format!(
                "{} runs on every invoke of signature {}",
                self.subgraph_name(s),
                keys.join(", ")
            );
        }
        if s == 0 {
            return format!("{} runs on every invoke", self.subgraph_name(s));
        }
        match self.runtime_parent[s] {
            Some((p, op)) => format!(
                "{} runs from {} at subgraph {p} op {op}, and {}",
                self.subgraph_name(s),
                self.op_name(OpRef { subgraph: p, op }),
                self.runs_how(p)
            ),
            None => format!("{} runs at run time", self.subgraph_name(s)),
        }
    }

    fn finding(&self, key: Option<&VarKey>, at: OpRef, message: String) -> Finding {
        Finding {
            variable: key.map(|k| var_display(&k.0, &k.1)),
            subgraph: at.subgraph,
            op_index: at.op,
            op: self.op_name(at),
            message,
        }
    }

    /// Why an assignment outside initialisation is run-time state.
    fn runtime_assign(&self, key: &VarKey, at: OpRef) -> Finding {
        let sg = &self.model.subgraphs[at.subgraph];
        let op = &sg.operators[at.op];
        let value = op.inputs.get(1).copied().unwrap_or(-1);
        let how = self.runs_how(at.subgraph);
        let message = if value >= 0 && sg.inputs.contains(&value) {
            let input = sg.tensors[value as usize].display_name();
            format!(
                "the variable is assigned at run time from input '{input}' ({how}). That is a \
                 setter: it can change the value between invokes, so the value the model reads \
                 is not a constant"
            )
        } else {
            format!(
                "the variable is assigned at run time ({how}). It is streaming state that \
                 changes between invokes, not a constant"
            )
        };
        self.finding(Some(key), at, message)
    }
}

/// Analyses `model`. Findings mean the model cannot be frozen.
pub(crate) fn analyze(model: &Model<'_>) -> Analysis {
    let n = model.subgraphs.len();
    let (runtime, runtime_parent) = reach(model, &entries(model), false);
    let mut init_roots: Vec<usize> = (0..n)
        .flat_map(|s| calls(model, s))
        .filter(|c| c.2)
        .map(|c| c.1)
        .collect();
    init_roots.sort_unstable();
    init_roots.dedup();
    let init_reach: Vec<Vec<bool>> = init_roots
        .iter()
        .map(|&r| reach(model, &[r], true).0)
        .collect();
    let init_only: Vec<bool> = (0..n)
        .map(|s| !runtime[s] && init_reach.iter().any(|r| r[s]))
        .collect();
    let ctx = Ctx {
        model,
        runtime_parent,
    };
    let mut vars: Vec<VarUse> = Vec::new();
    let mut ids: HashMap<VarKey, usize> = HashMap::new();
    let mut findings = Vec::new();
    for (s, sg) in model.subgraphs.iter().enumerate() {
        // Handles are tensors of this subgraph made by VAR_HANDLE here.
        let mut handles: HashMap<i32, usize> = HashMap::new();
        for (i, op) in sg.operators.iter().enumerate() {
            let at = OpRef { subgraph: s, op: i };
            let name = ctx.op_name(at);
            match name.as_str() {
                "VAR_HANDLE" => {
                    let key = match &op.builtin_options {
                        BuiltinOptions::VarHandleOptions(o) => (
                            o.container.clone().unwrap_or_default(),
                            o.shared_name.clone().unwrap_or_default(),
                        ),
                        _ => (String::new(), String::new()),
                    };
                    let id = *ids.entry(key.clone()).or_insert_with(|| {
                        vars.push(VarUse {
                            key,
                            ..VarUse::default()
                        });
                        vars.len() - 1
                    });
                    vars[id].handles.push(at);
                    if let Some(&t) = op.outputs.first() {
                        handles.insert(t, id);
                    }
                }
                "READ_VARIABLE" | "ASSIGN_VARIABLE" => {
                    let h = op.inputs.first().copied().unwrap_or(-1);
                    let out = op.outputs.first().copied();
                    match handles.get(&h) {
                        Some(&id) if name == "ASSIGN_VARIABLE" => vars[id].assigns.push(at),
                        Some(&id) => match out {
                            Some(o) => vars[id].reads.push((at, o as usize)),
                            None => findings.push(ctx.finding(
                                Some(&vars[id].key),
                                at,
                                "READ_VARIABLE has no output".into(),
                            )),
                        },
                        None => findings.push(
                            ctx.finding(
                                None,
                                at,
                                "its resource handle does not come from a VAR_HANDLE in the same \
                             subgraph (it is passed in), so freeze cannot tell which variable \
                             it is"
                                    .into(),
                            ),
                        ),
                    }
                }
                _ => {
                    for t in &op.inputs {
                        if let Some(&id) = handles.get(t) {
                            findings.push(ctx.finding(
                                Some(&vars[id].key),
                                at,
                                format!(
                                    "the variable's handle is passed to {name}, which freeze \
                                     cannot follow"
                                ),
                            ));
                        }
                    }
                }
            }
        }
        for t in &sg.outputs {
            if let Some(&id) = handles.get(t) {
                let at = vars[id]
                    .handles
                    .last()
                    .copied()
                    .unwrap_or(OpRef { subgraph: s, op: 0 });
                findings.push(ctx.finding(
                    Some(&vars[id].key),
                    at,
                    format!(
                        "the variable's handle is an output of subgraph {s}, which freeze \
                         cannot follow"
                    ),
                ));
            }
        }
    }
    for v in &vars {
        for &a in &v.assigns {
            if !init_only[a.subgraph] {
                findings.push(ctx.runtime_assign(&v.key, a));
            }
        }
        if v.assigns.is_empty() {
            if let Some(&(r, _)) = v.reads.first() {
                findings.push(ctx.finding(
                    Some(&v.key),
                    r,
                    "nothing assigns the variable, so reading it fails at run time".into(),
                ));
            }
        }
    }
    Analysis {
        vars,
        init_roots,
        init_reach,
        init_only,
        findings,
    }
}

/// A finding about op `at`, for stages after the analysis.
pub(crate) fn finding(model: &Model<'_>, key: &VarKey, at: OpRef, message: String) -> Finding {
    let ctx = Ctx {
        model,
        runtime_parent: Vec::new(),
    };
    ctx.finding(Some(key), at, message)
}
