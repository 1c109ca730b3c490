//! Operators the interpreter runs itself because they call subgraphs or
//! touch interpreter state: WHILE, IF, CALL_ONCE, resource variables and
//! builtin hash tables.

use std::collections::{HashMap, HashSet};

use ferrite_format::nodedef::{self, Attr};
use ferrite_format::{flex, flexmap, BuiltinOptions, TensorType};
use ferrite_graph::{Graph, Node, OpKind};
use ferrite_kernels::registry;

use crate::error::{Result, RuntimeError};

pub(crate) enum Control {
    While {
        cond: usize,
        body: usize,
    },
    If {
        then_branch: usize,
        else_branch: usize,
    },
    CallOnce {
        init: usize,
    },
    VarHandle {
        container: String,
        shared_name: String,
    },
    ReadVariable,
    AssignVariable,
    HashTable {
        table_id: i32,
        key: TensorType,
        value: TensorType,
    },
    HashTableFind,
    HashTableImport,
    HashTableSize,
    /// TensorFlow's HashTableV2 run natively: tables are named by container
    /// and shared name (or by the op itself when unshared).
    FlexHashTable {
        name: (String, String),
        key: TensorType,
        value: TensorType,
    },
    FlexImport,
    FlexFind,
    FlexSize,
}

/// Builtin operators the interpreter runs itself (see [`plan`]); a test
/// checks this list against `plan` for every schema operator.
pub const INTERPRETER_OPS: [&str; 10] = [
    "WHILE",
    "IF",
    "CALL_ONCE",
    "VAR_HANDLE",
    "READ_VARIABLE",
    "ASSIGN_VARIABLE",
    "HASHTABLE",
    "HASHTABLE_FIND",
    "HASHTABLE_IMPORT",
    "HASHTABLE_SIZE",
];

/// TensorFlow ops of Flex custom operators that ferrite runs natively.
/// [`plan_flex`] dispatches through [`native_flex`], so the two agree.
pub const NATIVE_FLEX_OPS: [&str; 4] = [
    "HashTableV2",
    "LookupTableImportV2",
    "LookupTableFindV2",
    "LookupTableSizeV2",
];

/// Every TensorFlow op ferrite runs natively when it arrives as a Flex op:
/// the interpreter's hash tables and the kernels of the TF op registry.
pub fn native_tf_ops() -> Vec<&'static str> {
    let kernels = registry::named_in(registry::TF_FAMILIES).map(|r| r.name);
    NATIVE_FLEX_OPS.into_iter().chain(kernels).collect()
}

/// Every non-Flex custom op ferrite has a kernel for.
pub fn native_custom_ops() -> Vec<&'static str> {
    let custom = registry::named_in(registry::CUSTOM_FAMILIES);
    custom
        .chain(registry::named_in(registry::TF_FAMILIES))
        .map(|r| r.name)
        .collect()
}

#[derive(Clone, Copy)]
enum FlexKind {
    Table,
    Import,
    Find,
    Size,
}

fn native_flex(tf_op: &str) -> Option<FlexKind> {
    let i = NATIVE_FLEX_OPS.iter().position(|&o| o == tf_op)?;
    Some(
        [
            FlexKind::Table,
            FlexKind::Import,
            FlexKind::Find,
            FlexKind::Size,
        ][i],
    )
}

/// Key types TensorFlow registers HashTableV2 kernels for.
const FLEX_KEYS: [TensorType; 3] = [TensorType::String, TensorType::Int32, TensorType::Int64];
/// Value types ferrite's native HashTableV2 holds.
const FLEX_VALUES: [TensorType; 6] = [
    TensorType::String,
    TensorType::Int32,
    TensorType::Int64,
    TensorType::Float32,
    TensorType::Float64,
    TensorType::Bool,
];

/// The Flex hash-table op `node` runs natively, if it is one.
pub(crate) fn plan_flex(graph: &Graph, s: usize, n: usize, node: &Node) -> Result<Option<Control>> {
    let OpKind::Custom(code) = &node.kind else {
        return Ok(None);
    };
    if !flex::is_flex(code) {
        return Ok(None);
    }
    let Some(op) = node
        .custom_options
        .as_ref()
        .and_then(|c| flex::decode(graph.const_bytes(c)))
    else {
        return Err(RuntimeError::invalid(format!(
            "{code}: custom options are not a Flex NodeDef"
        )));
    };
    let Some(kind) = native_flex(&op.tf_op) else {
        return Ok(None);
    };
    let attrs = nodedef::attrs(op.node_def).unwrap_or_default();
    let string = |k: &str| match nodedef::attr(&attrs, k) {
        Some(Attr::Str(s)) => s.clone(),
        _ => String::new(),
    };
    let dtype = |k: &str| match nodedef::attr(&attrs, k) {
        Some(Attr::Type(t)) => t.tensor_type(),
        _ => None,
    };
    Ok(Some(match kind {
        FlexKind::Table => {
            let (key, value) = match (dtype("key_dtype"), dtype("value_dtype")) {
                (Some(k), Some(v)) if FLEX_KEYS.contains(&k) && FLEX_VALUES.contains(&v) => (k, v),
                (k, v) => {
                    return Err(RuntimeError::unsupported(format!(
                        "Flex HashTableV2 with key dtype {} and value dtype {}",
                        k.map_or("unknown", |t| t.name()),
                        v.map_or("unknown", |t| t.name())
                    )))
                }
            };
            let mut shared = string("shared_name");
            if shared.is_empty() {
                let sharing = matches!(
                    nodedef::attr(&attrs, "use_node_name_sharing"),
                    Some(Attr::Bool(true))
                );
                shared = match (sharing, nodedef::node_name(op.node_def)) {
                    (true, Some(name)) => name,
                    // An unshared table belongs to this op alone.
                    _ => format!("\0op:{s}:{n}"),
                };
            }
            Control::FlexHashTable {
                name: (string("container"), shared),
                key,
                value,
            }
        }
        FlexKind::Import => Control::FlexImport,
        FlexKind::Find => Control::FlexFind,
        FlexKind::Size => Control::FlexSize,
    }))
}

fn subgraph_index(graph: &Graph, i: i32, what: &str) -> Result<usize> {
    usize::try_from(i)
        .ok()
        .filter(|&i| i < graph.subgraphs.len())
        .ok_or_else(|| RuntimeError::invalid(format!("{what} subgraph {i} does not exist")))
}

/// The control action for `node`, or `None` for ordinary kernels.
pub(crate) fn plan(graph: &Graph, node: &Node) -> Result<Option<Control>> {
    let OpKind::Builtin { name, .. } = &node.kind else {
        return Ok(None);
    };
    Ok(Some(match (*name, &node.options) {
        ("WHILE", BuiltinOptions::WhileOptions(o)) => {
            let cond = subgraph_index(graph, o.cond_subgraph_index, "WHILE cond")?;
            let body = subgraph_index(graph, o.body_subgraph_index, "WHILE body")?;
            let n = node.inputs.len();
            if graph.subgraphs[cond].inputs.len() != n
                || graph.subgraphs[body].inputs.len() != n
                || graph.subgraphs[body].outputs.len() != n
                || node.outputs.len() != n
                || graph.subgraphs[cond].outputs.len() != 1
            {
                return Err(RuntimeError::invalid(
                    "WHILE cond/body inputs and outputs do not match the loop state",
                ));
            }
            Control::While { cond, body }
        }
        ("IF", BuiltinOptions::IfOptions(o)) => {
            let then_branch = subgraph_index(graph, o.then_subgraph_index, "IF then")?;
            let else_branch = subgraph_index(graph, o.else_subgraph_index, "IF else")?;
            for b in [then_branch, else_branch] {
                if graph.subgraphs[b].inputs.len() + 1 != node.inputs.len()
                    || graph.subgraphs[b].outputs.len() != node.outputs.len()
                {
                    return Err(RuntimeError::invalid(format!(
                        "IF branch subgraph {b} does not match the op's inputs and outputs"
                    )));
                }
            }
            Control::If {
                then_branch,
                else_branch,
            }
        }
        ("CALL_ONCE", BuiltinOptions::CallOnceOptions(o)) => {
            let init = subgraph_index(graph, o.init_subgraph_index, "CALL_ONCE init")?;
            if !graph.subgraphs[init].inputs.is_empty() || !graph.subgraphs[init].outputs.is_empty()
            {
                return Err(RuntimeError::invalid(
                    "CALL_ONCE init subgraph must have no inputs and no outputs",
                ));
            }
            Control::CallOnce { init }
        }
        ("VAR_HANDLE", opts) => {
            let (container, shared_name) = match opts {
                BuiltinOptions::VarHandleOptions(o) => (
                    o.container.clone().unwrap_or_default(),
                    o.shared_name.clone().unwrap_or_default(),
                ),
                _ => (String::new(), String::new()),
            };
            Control::VarHandle {
                container,
                shared_name,
            }
        }
        ("READ_VARIABLE", _) => Control::ReadVariable,
        ("ASSIGN_VARIABLE", _) => Control::AssignVariable,
        ("HASHTABLE", BuiltinOptions::HashtableOptions(o)) => {
            let key = TensorType::from_code(o.key_dtype);
            let value = TensorType::from_code(o.value_dtype);
            match (key, value) {
                (Some(k @ TensorType::Int64), Some(v @ TensorType::String))
                | (Some(k @ TensorType::String), Some(v @ TensorType::Int64)) => Control::HashTable {
                    table_id: o.table_id,
                    key: k,
                    value: v,
                },
                _ => {
                    return Err(RuntimeError::unsupported(format!(
                        "HASHTABLE with key dtype {} and value dtype {}: builtin hash tables map only int64->string and string->int64",
                        key.map_or("unknown", |t| t.name()),
                        value.map_or("unknown", |t| t.name())
                    )))
                }
            }
        }
        ("HASHTABLE_FIND", _) => Control::HashTableFind,
        ("HASHTABLE_IMPORT", _) => Control::HashTableImport,
        ("HASHTABLE_SIZE", _) => Control::HashTableSize,
        ("WHILE" | "IF" | "CALL_ONCE" | "HASHTABLE", _) => {
            return Err(RuntimeError::invalid(format!("{name} without its options")))
        }
        _ => return Ok(None),
    }))
}

/// The message for a custom op ferrite does not run.
/// A kernel found for a custom op by name.
pub(crate) struct NamedKernel<'g> {
    /// The name the kernel sees: the TensorFlow op of a Flex op, else the
    /// custom code.
    pub name: &'g str,
    pub attrs: Vec<(String, Attr)>,
    pub build: registry::NamedBuilder,
}

/// The kernel for custom op `code`: a Flex op by its TensorFlow op name
/// (attributes from its NodeDef), else a registered custom op (attributes
/// from its options when they are a flexbuffer map; MediaPipe's ops, for
/// one, carry a raw C struct instead, which their kernels read themselves).
pub(crate) fn named_kernel<'g>(
    graph: &Graph,
    ops: &registry::OpRegistry,
    code: &'g str,
    node: &Node,
) -> Option<NamedKernel<'g>> {
    let options = node.custom_options.as_ref().map(|c| graph.const_bytes(c));
    if flex::is_flex(code) {
        let op = flex::decode(options?)?;
        let build = ops.tf(&op.tf_op)?;
        let attrs = nodedef::attrs(op.node_def)?;
        // The Flex prefix is ASCII, so the rest of the code is the TF name.
        let name = &code[flex::FLEX_PREFIX.len()..];
        (name == op.tf_op).then_some(NamedKernel { name, attrs, build })
    } else {
        let build = ops.custom(code)?;
        let attrs = options
            .filter(|o| !o.is_empty())
            .and_then(flexmap::decode)
            .unwrap_or_default();
        Some(NamedKernel {
            name: code,
            attrs,
            build,
        })
    }
}

pub(crate) fn custom_op_message(graph: &Graph, code: &str, node: &Node) -> String {
    if flex::is_flex(code) {
        let tf_op = node
            .custom_options
            .as_ref()
            .and_then(|c| flex::decode(graph.const_bytes(c)))
            .map(|f| f.tf_op)
            .unwrap_or_else(|| code.trim_start_matches(flex::FLEX_PREFIX).to_string());
        format!(
            "Flex op {code} (TensorFlow op {tf_op}) is not implemented natively; run `ferrite check` to see what the model needs"
        )
    } else {
        format!(
            "custom op {code} is not registered; run `ferrite check` to see what the model needs"
        )
    }
}

/// A tensor value held by the interpreter between invokes.
#[derive(Debug, Clone)]
pub(crate) struct StoredTensor {
    pub dtype: TensorType,
    pub shape: Vec<usize>,
    pub data: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum TableKey {
    Int(i64),
    Bytes(Vec<u8>),
}

/// A hash table: keys normalised (integers widened), values as the raw
/// bytes of one element (or one string).
#[derive(Debug)]
pub(crate) struct HashTable {
    pub key: TensorType,
    pub value: TensorType,
    pub imported: bool,
    pub map: HashMap<TableKey, Vec<u8>>,
}

/// Builtin tables are named by `table_id`, Flex ones by container and
/// shared name; the two never mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum TableRef {
    Builtin(i32),
    Flex(i32),
}

/// Interpreter state that outlives one invoke.
#[derive(Debug, Default)]
pub(crate) struct State {
    pub resource_ids: HashMap<(String, String), i32>,
    pub variables: HashMap<i32, StoredTensor>,
    pub tables: HashMap<TableRef, HashTable>,
    pub flex_table_ids: HashMap<(String, String), i32>,
    pub call_once_done: HashSet<usize>,
}

impl State {
    pub fn resource_id(&mut self, container: &str, shared_name: &str) -> i32 {
        let next = self.resource_ids.len() as i32;
        *self
            .resource_ids
            .entry((container.to_string(), shared_name.to_string()))
            .or_insert(next)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use ferrite_format::build::ModelBuilder;
    use ferrite_format::{builtin_code, builtin_name, BuiltinOptions2, Model, ModelBytes};
    use ferrite_graph::{Graph, Node, OpKind};

    use super::*;

    /// Every schema operator for which `plan` takes charge (an action or an
    /// error about its options) is listed in INTERPRETER_OPS, and only those.
    #[test]
    fn interpreter_ops_match_plan() {
        let mut b = ModelBuilder::new();
        b.subgraph("main");
        let bytes = b.finish().unwrap();
        let model = Model::parse(&bytes).unwrap();
        let graph = Graph::build(&model, Arc::new(ModelBytes::from(bytes.to_vec()))).unwrap();
        for code in 0.. {
            let Some(name) = builtin_name(code) else {
                break;
            };
            let node = Node {
                kind: OpKind::Builtin { code, name },
                version: 1,
                inputs: vec![],
                outputs: vec![],
                intermediates: vec![],
                options: BuiltinOptions::None,
                options2: BuiltinOptions2::None,
                custom_options: None,
            };
            let handled = !matches!(plan(&graph, &node), Ok(None));
            assert_eq!(handled, INTERPRETER_OPS.contains(&name), "{name}");
        }
        for op in INTERPRETER_OPS {
            assert!(builtin_code(op).is_some(), "{op}");
        }
    }

    #[test]
    fn native_flex_ops_dispatch() {
        for op in NATIVE_FLEX_OPS {
            assert!(native_flex(op).is_some(), "{op}");
        }
        assert!(native_flex("StringSplitV2").is_none());
    }
}
