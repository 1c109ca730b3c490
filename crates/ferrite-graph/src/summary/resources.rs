//! Stateful resources (variables, hash tables), subgraph calls and custom
//! ops: the parts of a model a runtime must support beyond plain kernels.

use std::collections::{BTreeMap, HashMap};

use ferrite_format::{flex, verify, BuiltinOptions, Model, TensorType};
use serde::Serialize;

use super::dtype_name;
use ferrite_format::nodedef::{self, Attr};

/// Where an operator sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct OpLocation {
    pub subgraph: usize,
    pub op_index: usize,
}

/// One resource variable, named by `container` + `shared_name`.
#[derive(Debug, Clone, Serialize)]
pub struct VariableInfo {
    pub container: String,
    pub shared_name: String,
    /// The VAR_HANDLE ops that name it.
    pub handles: Vec<OpLocation>,
    /// Subgraphs with a READ_VARIABLE / ASSIGN_VARIABLE of a local handle.
    pub read_in: Vec<usize>,
    pub assigned_in: Vec<usize>,
}

/// One hash table: builtin (keyed by `table_id`) or Flex HashTableV2
/// (keyed by container + shared_name from its NodeDef).
#[derive(Debug, Clone, Serialize)]
pub struct HashTableInfo {
    /// "builtin" or "flex".
    pub kind: &'static str,
    pub table_id: Option<i32>,
    pub shared_name: Option<String>,
    /// numpy-style dtype names; "flex" when the NodeDef cannot be decoded.
    pub key_dtype: String,
    pub value_dtype: String,
    pub handles: Vec<OpLocation>,
    /// Op name -> subgraphs where that op uses a local handle of the table.
    pub used_by: BTreeMap<String, Vec<usize>>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Resources {
    pub variables: Vec<VariableInfo>,
    pub hash_tables: Vec<HashTableInfo>,
}

/// Subgraph `subgraph` op `op_index` calls subgraph `target` as `role`.
#[derive(Debug, Clone, Serialize)]
pub struct ControlFlowEdge {
    pub subgraph: usize,
    pub op_index: usize,
    pub op: String,
    pub target: usize,
    pub target_name: Option<String>,
    /// "then", "else", "cond", "body", "init", "call", ...
    pub role: String,
}

/// All operators sharing one custom code.
#[derive(Debug, Clone, Serialize)]
pub struct CustomOpInfo {
    pub custom_code: String,
    pub count: usize,
    pub flex: bool,
    /// The TensorFlow op a Flex op runs: from its custom options, or, when
    /// those do not decode, the custom code without its `Flex` prefix.
    pub tf_op: Option<String>,
    /// Whether the Flex custom options decoded (false for plain custom ops).
    pub options_decoded: bool,
}

enum Key {
    Var(usize),
    Table(usize),
}

/// The handle each resource-creating op produces, tracked per subgraph so a
/// consumer is only tied to a handle made in its own subgraph.
pub fn resources(model: &Model<'_>) -> Resources {
    let mut res = Resources::default();
    let mut var_ids: HashMap<(String, String), usize> = HashMap::new();
    let mut table_ids: HashMap<String, usize> = HashMap::new();
    for (si, sg) in model.subgraphs.iter().enumerate() {
        let mut handles: HashMap<i32, Key> = HashMap::new();
        for (oi, op) in sg.operators.iter().enumerate() {
            let code = &model.operator_codes[op.opcode_index as usize];
            let name = code.display_name();
            let out = op.outputs.first().copied();
            let here = OpLocation {
                subgraph: si,
                op_index: oi,
            };
            match (&op.builtin_options, name.as_str()) {
                (BuiltinOptions::VarHandleOptions(o), _) => {
                    let key = (
                        o.container.clone().unwrap_or_default(),
                        o.shared_name.clone().unwrap_or_default(),
                    );
                    let id = *var_ids.entry(key.clone()).or_insert_with(|| {
                        res.variables.push(VariableInfo {
                            container: key.0,
                            shared_name: key.1,
                            handles: vec![],
                            read_in: vec![],
                            assigned_in: vec![],
                        });
                        res.variables.len() - 1
                    });
                    res.variables[id].handles.push(here);
                    if let Some(t) = out {
                        handles.insert(t, Key::Var(id));
                    }
                }
                (BuiltinOptions::HashtableOptions(o), _) => {
                    let info = HashTableInfo {
                        kind: "builtin",
                        table_id: Some(o.table_id),
                        shared_name: None,
                        key_dtype: tflite_dtype(o.key_dtype),
                        value_dtype: tflite_dtype(o.value_dtype),
                        handles: vec![],
                        used_by: BTreeMap::new(),
                    };
                    let id =
                        table_slot(&mut res, &mut table_ids, format!("id:{}", o.table_id), info);
                    res.hash_tables[id].handles.push(here);
                    if let Some(t) = out {
                        handles.insert(t, Key::Table(id));
                    }
                }
                (_, "CUSTOM:FlexHashTableV2") => {
                    let info = flex_table(op.custom_options.as_deref());
                    // An unnamed table is private to its op.
                    let key = match info.shared_name.as_deref() {
                        Some(n) if !n.is_empty() => format!("flex:{n}"),
                        _ => format!("op:{si}:{oi}"),
                    };
                    let id = table_slot(&mut res, &mut table_ids, key, info);
                    res.hash_tables[id].handles.push(here);
                    if let Some(t) = out {
                        handles.insert(t, Key::Table(id));
                    }
                }
                _ => {
                    let Some(h) = op.inputs.first().and_then(|i| handles.get(i)) else {
                        continue;
                    };
                    match h {
                        Key::Var(v) => {
                            let v = &mut res.variables[*v];
                            match name.as_str() {
                                "READ_VARIABLE" => push_unique(&mut v.read_in, si),
                                "ASSIGN_VARIABLE" => push_unique(&mut v.assigned_in, si),
                                _ => {}
                            }
                        }
                        Key::Table(t) => {
                            let uses = res.hash_tables[*t].used_by.entry(name).or_default();
                            push_unique(uses, si);
                        }
                    }
                }
            }
        }
    }
    res
}

fn table_slot(
    res: &mut Resources,
    ids: &mut HashMap<String, usize>,
    key: String,
    info: HashTableInfo,
) -> usize {
    *ids.entry(key).or_insert_with(|| {
        res.hash_tables.push(info);
        res.hash_tables.len() - 1
    })
}

fn push_unique(v: &mut Vec<usize>, x: usize) {
    if !v.contains(&x) {
        v.push(x);
    }
}

fn tflite_dtype(code: i8) -> String {
    TensorType::from_code(code).map_or_else(|| format!("unknown({code})"), |t| dtype_name(t).into())
}

/// A Flex HashTableV2: its dtypes and name live in the TensorFlow NodeDef.
fn flex_table(custom_options: Option<&[u8]>) -> HashTableInfo {
    let attrs = custom_options
        .and_then(flex::decode)
        .and_then(|f| nodedef::attrs(f.node_def))
        .unwrap_or_default();
    let get = |k: &str| attrs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let dtype = |k: &str| match get(k) {
        Some(Attr::Type(t)) => t.to_string(),
        _ => "flex".to_string(),
    };
    HashTableInfo {
        kind: "flex",
        table_id: None,
        shared_name: match get("shared_name") {
            Some(Attr::Str(s)) => Some(s),
            _ => None,
        },
        key_dtype: dtype("key_dtype"),
        value_dtype: dtype("value_dtype"),
        handles: vec![],
        used_by: BTreeMap::new(),
    }
}

/// Every subgraph call: WHILE, IF, CALL_ONCE, CALL and the StableHLO ops
/// that take region subgraphs.
pub fn control_flow(model: &Model<'_>) -> Vec<ControlFlowEdge> {
    let mut edges = Vec::new();
    for (si, sg) in model.subgraphs.iter().enumerate() {
        for (oi, op) in sg.operators.iter().enumerate() {
            for (field, target) in
                verify::called_subgraphs(&op.builtin_options, &op.builtin_options_2)
            {
                let role = field.strip_suffix("_subgraph_index").unwrap_or(field);
                let target = target as usize;
                edges.push(ControlFlowEdge {
                    subgraph: si,
                    op_index: oi,
                    op: model.operator_codes[op.opcode_index as usize].display_name(),
                    target,
                    target_name: model.subgraphs.get(target).and_then(|s| s.name.clone()),
                    role: if role == "subgraph" { "call" } else { role }.to_string(),
                });
            }
        }
    }
    edges
}

/// Custom ops grouped by code, in code order.
pub fn custom_ops(model: &Model<'_>) -> Vec<CustomOpInfo> {
    let mut by_code: BTreeMap<String, CustomOpInfo> = BTreeMap::new();
    for sg in &model.subgraphs {
        for op in &sg.operators {
            let code = &model.operator_codes[op.opcode_index as usize];
            if !code.is_custom() {
                continue;
            }
            let cc = code.custom_code.clone().unwrap_or_default();
            let is_flex = flex::is_flex(&cc);
            let entry = by_code.entry(cc.clone()).or_insert_with(|| CustomOpInfo {
                custom_code: cc,
                count: 0,
                flex: is_flex,
                tf_op: None,
                options_decoded: false,
            });
            entry.count += 1;
            if is_flex && !entry.options_decoded {
                match op.custom_options.as_deref().and_then(flex::decode) {
                    Some(f) => {
                        entry.tf_op = Some(f.tf_op);
                        entry.options_decoded = true;
                    }
                    None => {
                        entry.tf_op = entry
                            .custom_code
                            .strip_prefix(flex::FLEX_PREFIX)
                            .map(Into::into)
                    }
                }
            }
        }
    }
    by_code.into_values().collect()
}
