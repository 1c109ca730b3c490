//! Target-independent facts about a model: what each op is, which
//! subgraphs are entered and how, where resources live and how dynamic
//! shapes flow.

use std::collections::{HashMap, HashSet};

use ferrite_format::{flex, verify, BuiltinOptions, Model, Tensor, TensorType};

/// One operator as the rules see it.
#[derive(Debug, Clone)]
pub struct OpInfo {
    /// `CONV_2D`, or `CUSTOM:<code>`.
    pub name: String,
    /// The schema name of a builtin (None for custom and unknown codes).
    pub builtin: Option<&'static str>,
    pub version: i32,
    pub custom_code: Option<String>,
    /// The TensorFlow op of a Flex custom op.
    pub flex_tf_op: Option<String>,
    /// Subgraphs the op calls: (role, index), role as in `then`, `body`, `init`.
    pub calls: Vec<(String, usize)>,
}

/// A resource variable, named by container and shared name.
pub type VarKey = (String, String);

pub struct Facts<'m> {
    pub model: &'m Model<'m>,
    pub ops: Vec<Vec<OpInfo>>,
    /// Subgraph 0 and every signature's subgraph.
    pub entries: Vec<usize>,
    /// Per subgraph: the op that writes each tensor.
    producers: Vec<HashMap<i32, usize>>,
}

impl<'m> Facts<'m> {
    pub fn new(model: &'m Model<'m>) -> Self {
        let ops = model
            .subgraphs
            .iter()
            .map(|sg| sg.operators.iter().map(|op| op_info(model, op)).collect())
            .collect();
        let mut entries = vec![0];
        for s in &model.signature_defs {
            let s = s.subgraph_index as usize;
            if !entries.contains(&s) {
                entries.push(s);
            }
        }
        let producers = model
            .subgraphs
            .iter()
            .map(|sg| {
                let mut m = HashMap::new();
                for (i, op) in sg.operators.iter().enumerate() {
                    for &o in &op.outputs {
                        m.insert(o, i);
                    }
                }
                m
            })
            .collect();
        Facts {
            model,
            ops,
            entries,
            producers,
        }
    }

    pub fn tensor(&self, s: usize, t: i32) -> Option<&'m Tensor> {
        self.model.subgraphs[s]
            .tensors
            .get(usize::try_from(t).ok()?)
    }

    pub fn tensor_name(&self, s: usize, t: i32) -> String {
        self.tensor(s, t)
            .map_or_else(|| format!("#{t}"), |x| x.display_name().to_string())
    }

    pub fn is_constant(&self, s: usize, t: i32) -> bool {
        self.tensor(s, t)
            .is_some_and(|x| !self.model.buffer_data(x.buffer).is_empty())
    }

    pub fn is_quantized(&self, s: usize, t: i32) -> bool {
        self.tensor(s, t)
            .and_then(|x| x.quantization.as_ref())
            .is_some_and(|q| q.is_affine())
    }

    /// Subgraphs reachable from `roots` through subgraph calls; with
    /// `skip_init`, CALL_ONCE init edges are not followed.
    pub fn reachable(&self, roots: &[usize], skip_init: bool) -> Vec<bool> {
        let mut seen = vec![false; self.ops.len()];
        let mut stack: Vec<usize> = roots.to_vec();
        while let Some(s) = stack.pop() {
            if s >= seen.len() || std::mem::replace(&mut seen[s], true) {
                continue;
            }
            for op in &self.ops[s] {
                for (role, target) in &op.calls {
                    if !(skip_init && role == "init") {
                        stack.push(*target);
                    }
                }
            }
        }
        seen
    }

    /// The variable behind a resource handle made by VAR_HANDLE in `s`.
    pub fn variable_of(&self, s: usize, handle: i32) -> Option<VarKey> {
        let i = *self.producers[s].get(&handle)?;
        match &self.model.subgraphs[s].operators[i].builtin_options {
            BuiltinOptions::VarHandleOptions(o) => Some((
                o.container.clone().unwrap_or_default(),
                o.shared_name.clone().unwrap_or_default(),
            )),
            _ => None,
        }
    }

    /// The (key, value) dtypes of the builtin HASHTABLE behind a handle.
    pub fn table_of(&self, s: usize, handle: i32) -> Option<(TensorType, TensorType)> {
        let i = *self.producers[s].get(&handle)?;
        match &self.model.subgraphs[s].operators[i].builtin_options {
            BuiltinOptions::HashtableOptions(o) => Some((
                TensorType::from_code(o.key_dtype)?,
                TensorType::from_code(o.value_dtype)?,
            )),
            _ => None,
        }
    }

    /// Whether tensor `t` of `s` is computed (transitively) from a
    /// READ_VARIABLE of `var`: an assignment of such a value is state that
    /// carries over between invokes, not a setter.
    pub fn derives_from_read(&self, s: usize, t: i32, var: &VarKey) -> bool {
        let sg = &self.model.subgraphs[s];
        let mut stack = vec![t];
        let mut seen = HashSet::new();
        while let Some(t) = stack.pop() {
            if !seen.insert(t) {
                continue;
            }
            let Some(&i) = self.producers[s].get(&t) else {
                continue;
            };
            let op = &sg.operators[i];
            if self.ops[s][i].builtin == Some("READ_VARIABLE")
                && op
                    .inputs
                    .first()
                    .and_then(|&h| self.variable_of(s, h))
                    .is_some_and(|v| &v == var)
            {
                return true;
            }
            stack.extend(op.inputs.iter().copied().filter(|&x| x >= 0));
        }
        false
    }

    /// Tensors of `s` whose shape depends on a dynamic (-1) input dimension,
    /// and the ops they reach, in op order.
    pub fn dynamic_flow(&self, s: usize, seeds: &[i32]) -> (HashSet<i32>, Vec<usize>) {
        let sg = &self.model.subgraphs[s];
        let mut tainted: HashSet<i32> = seeds.iter().copied().collect();
        let mut reached = Vec::new();
        for (i, op) in sg.operators.iter().enumerate() {
            if op.inputs.iter().any(|t| tainted.contains(t)) {
                reached.push(i);
                tainted.extend(op.outputs.iter().copied());
            }
        }
        (tainted, reached)
    }
}

fn op_info(model: &Model<'_>, op: &ferrite_format::Operator<'_>) -> OpInfo {
    let code = &model.operator_codes[op.opcode_index as usize];
    let custom_code = code
        .is_custom()
        .then(|| code.custom_code.clone().unwrap_or_default());
    let flex_tf_op = custom_code
        .as_deref()
        .filter(|c| flex::is_flex(c))
        .map(|c| {
            op.custom_options
                .as_deref()
                .and_then(flex::decode)
                .map(|f| f.tf_op)
                .unwrap_or_else(|| c.trim_start_matches(flex::FLEX_PREFIX).to_string())
        });
    let calls = verify::called_subgraphs(&op.builtin_options, &op.builtin_options_2)
        .into_iter()
        .filter_map(|(field, target)| {
            let role = field.strip_suffix("_subgraph_index").unwrap_or(field);
            let role = if role == "subgraph" { "call" } else { role };
            Some((role.to_string(), usize::try_from(target).ok()?))
        })
        .collect();
    OpInfo {
        name: code.display_name(),
        builtin: if code.is_custom() {
            None
        } else {
            ferrite_format::builtin_name(code.code())
        },
        version: code.version,
        custom_code,
        flex_tf_op,
        calls,
    }
}
