//! Per-op rules: is the op registered (name, version, input dtype), Flex
//! and custom ops, and the op-level feature rules (hash tables, variable
//! writes, quantization).

use ferrite_format::TensorType;

use super::Ctx;
use crate::report::Severity::{Error, Warning};
use crate::target::{FindRule, FlexMode, HybridRule, OpEntry, Scope};

pub(super) fn check(cx: &mut Ctx<'_, '_>) {
    let subgraphs: Vec<usize> = cx.in_scope().collect();
    for s in subgraphs {
        for i in 0..cx.facts.ops[s].len() {
            if supported(cx, s, i) {
                features(cx, s, i);
            }
        }
    }
}

fn ranges(entries: &[&OpEntry]) -> String {
    let r: Vec<String> = entries
        .iter()
        .map(|e| match e.versions {
            Some((a, b)) if a == b => a.to_string(),
            Some((a, b)) => format!("{a}-{b}"),
            None => "any".into(),
        })
        .collect();
    r.join(", ")
}

/// " (IF: then subgraph 1, else subgraph 2)" for ops that call subgraphs.
fn calls(cx: &Ctx<'_, '_>, s: usize, i: usize) -> String {
    let c = &cx.facts.ops[s][i].calls;
    if c.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = c
        .iter()
        .map(|(role, t)| format!("{role} subgraph {t}"))
        .collect();
    format!(
        "; it is control flow calling {}, which cannot run without it",
        parts.join(", ")
    )
}

/// Reports why op `i` of `s` cannot be resolved; true when it can.
fn supported(cx: &mut Ctx<'_, '_>, s: usize, i: usize) -> bool {
    let info = cx.facts.ops[s][i].clone();
    let t = cx.target;
    if let Some(code) = &info.custom_code {
        if t.ops.custom.contains(code) {
            return true;
        }
        return custom_or_flex(cx, s, i, code, info.flex_tf_op.as_deref());
    }
    let Some(name) = info.builtin else {
        let msg = format!(
            "{} is a builtin operator code unknown to ferrite's schema, so no target here can be said to run it",
            info.name
        );
        let fix = "check that the file is a TFLite model from a known converter version".into();
        cx.op(Error, s, i, "unsupported-op", msg, fix, &t.ops.source);
        return false;
    };
    let entries: Vec<&OpEntry> = t.ops.builtin.iter().filter(|e| e.name == name).collect();
    if entries.is_empty() && name.starts_with("HASHTABLE") && t.hash_tables.pairs.is_empty() {
        let msg = format!("{name}: {} has no hash tables at all", t.name);
        let fix = "do the lookup outside the model (map strings to ids in pre-processing and ids to strings in post-processing)".into();
        cx.op(Error, s, i, "hash-table", msg, fix, &t.hash_tables.source);
        return false;
    }
    if entries.is_empty() {
        let msg = format!(
            "{name} (version {}) is not registered in {}{}",
            info.version,
            t.name,
            calls(cx, s, i)
        );
        let fix = match &t.ops.missing_fix {
            Some(f) => f
                .replace("{op}", name)
                .replace("{version}", &info.version.to_string()),
            None => format!(
                "{} has no kernel for {name}: change the source model so the converter emits other ops, or run it on a target that has {name}",
                t.name
            ),
        };
        cx.op(Error, s, i, "unsupported-op", msg, fix, &t.ops.source);
        return false;
    }
    let in_range = |e: &&&OpEntry| match e.versions {
        Some((a, b)) => !t.ops.versions_checked || (a..=b).contains(&info.version),
        None => true,
    };
    let Some(entry) = entries.iter().find(in_range) else {
        let msg = format!(
            "{name} version {} is not supported by {} (it registers versions {})",
            info.version,
            t.name,
            ranges(&entries)
        );
        let fix = format!(
            "the model needs a newer {name} kernel than {} has: upgrade the runtime, or convert with the converter release that matches it",
            t.name
        );
        cx.op(Error, s, i, "op-version", msg, fix, &t.ops.source);
        return false;
    };
    let op = &cx.facts.model.subgraphs[s].operators[i];
    let in0 = op.inputs.first().and_then(|&x| cx.facts.tensor(s, x));
    if let (Some(allowed), Some(x)) = (&entry.input_dtypes, in0) {
        if !allowed.contains(&x.dtype) {
            let names: Vec<&str> = allowed.iter().map(|&d| dtype(d)).collect();
            let msg = format!(
                "{name} takes input '{}' of dtype {} here; {} accepts only {}",
                x.display_name(),
                dtype(x.dtype),
                t.name,
                names.join(", ")
            );
            let fix = if name == "DEQUANTIZE" && x.dtype == TensorType::Float16 {
                "convert without float16 weights (no supported_types=[tf.float16]), or with full-integer quantization".to_string()
            } else {
                format!("change the model so {name} gets {}", names.join(" or "))
            };
            cx.op(Error, s, i, "op-dtype", msg, fix, &t.ops.source);
            return false;
        }
    }
    true
}

fn dtype(t: TensorType) -> &'static str {
    ferrite_graph::summary::dtype_name(t)
}

/// MediaPipe's registration function for one of its custom ops
/// (mediapipe/util/tflite/cpu_op_resolver.cc, MediaPipe_RegisterTfLiteOpResolver).
fn mediapipe_registration(code: &str) -> Option<&'static str> {
    match code {
        "MaxPoolingWithArgmax2D" => Some("RegisterMaxPoolingWithArgmax2D"),
        "MaxUnpooling2D" => Some("RegisterMaxUnpooling2D"),
        "Convolution2DTransposeBias" => Some("RegisterConvolution2DTransposeBias"),
        _ => None,
    }
}

fn custom_or_flex(
    cx: &mut Ctx<'_, '_>,
    s: usize,
    i: usize,
    code: &str,
    tf_op: Option<&str>,
) -> bool {
    let t = cx.target;
    let Some(tf_op) = tf_op else {
        let msg = format!(
            "custom op '{code}' is not built into {}; the interpreter fails with an unresolved custom op",
            t.name
        );
        let fix = t.ops.custom_fix.clone().unwrap_or_else(|| match mediapipe_registration(code) {
            Some(reg) => format!("{code} is a MediaPipe op: link MediaPipe's kernel (mediapipe/util/tflite/operations) and register it before building the interpreter (MutableOpResolver::AddCustom(\"{code}\", mediapipe::tflite_operations::{reg}()), or all of them with mediapipe::MediaPipe_RegisterTfLiteOpResolver); ferrite runs it without that"),
            None => format!("register custom op {code} with the op resolver before building the interpreter (MutableOpResolver::AddCustom(\"{code}\", Register_{code}()))"),
        });
        cx.op(Error, s, i, "custom-op", msg, fix, &t.ops.source);
        return false;
    };
    let native = ferrite_runtime::native_tf_ops().contains(&tf_op);
    let ferrite_note = if native {
        "ferrite runs it natively"
    } else {
        "ferrite does not run it natively either"
    };
    let source = t.flex.source.clone();
    match t.flex.mode {
        FlexMode::All => {
            let msg = format!(
                "Flex op {code} runs TensorFlow op {tf_op} through the Select TF ops delegate, which must be linked into the app ({ferrite_note})"
            );
            let fix = "link the Flex delegate (Android: org.tensorflow:tensorflow-lite-select-tf-ops; C++: tensorflow/lite/delegates/flex:delegate), or convert with TFLITE_BUILTINS only to drop it".to_string();
            cx.op(Warning, s, i, "flex-op", msg, fix, &source);
            true
        }
        FlexMode::Native if t.flex.native.iter().any(|n| n == tf_op) => true,
        FlexMode::Native | FlexMode::None => {
            let msg = if t.flex.mode == FlexMode::Native {
                format!("Flex op {code} needs TensorFlow op {tf_op}, which {} does not run natively (only {})", t.name, t.flex.native.join(", "))
            } else {
                format!("Flex op {code} needs TensorFlow op {tf_op} from the Select TF ops (Flex) delegate, which {} does not have ({ferrite_note})", t.name)
            };
            let fix = t.flex.fix.clone().unwrap_or_else(|| {
                format!("convert with TFLITE_BUILTINS only (no SELECT_TF_OPS), rewriting the TensorFlow code that needs {tf_op} with ops that have builtin kernels")
            });
            cx.op(Error, s, i, "flex-op", msg, fix, &source);
            false
        }
    }
}

/// Op-level feature rules for an op the target resolves.
fn features(cx: &mut Ctx<'_, '_>, s: usize, i: usize) {
    let facts = cx.facts;
    let t = cx.target;
    let info = &facts.ops[s][i];
    let op = &facts.model.subgraphs[s].operators[i];
    let input = |k: usize| op.inputs.get(k).copied().unwrap_or(-1);
    match info.builtin {
        Some("HASHTABLE") => {
            if let ferrite_format::BuiltinOptions::HashtableOptions(o) = &op.builtin_options {
                let k = TensorType::from_code(o.key_dtype);
                let v = TensorType::from_code(o.value_dtype);
                let ok =
                    matches!((k, v), (Some(k), Some(v)) if t.hash_tables.pairs.contains(&(k, v)));
                if !ok {
                    let name = |d: Option<TensorType>| d.map_or("unknown", dtype);
                    let msg = format!(
                        "builtin hash table {} maps {} -> {}; {} builtin hash tables map only int64 -> string and string -> int64",
                        o.table_id,
                        name(k),
                        name(v),
                        t.name
                    );
                    let fix = "convert with SELECT_TF_OPS so the table becomes a Flex HashTableV2 (which ferrite runs natively), or change the table's key/value types".into();
                    cx.op(
                        Error,
                        s,
                        i,
                        "hash-table-dtypes",
                        msg,
                        fix,
                        &t.hash_tables.source,
                    );
                }
            }
        }
        Some("HASHTABLE_IMPORT")
            if t.hash_tables.import == Scope::CallOnceInit && cx.runtime[s] =>
        {
            let msg = format!("HASHTABLE_IMPORT fills a table at invoke time (subgraph {s} is not a CALL_ONCE initialiser); {} imports tables only in CALL_ONCE initialisation", t.name);
            let fix = "initialise the table from constants (tf.lookup.KeyValueTensorInitializer), which the converter puts in a CALL_ONCE subgraph".into();
            cx.op(
                Error,
                s,
                i,
                "hash-table-import",
                msg,
                fix,
                &t.hash_tables.source,
            );
        }
        Some("HASHTABLE_FIND") if t.hash_tables.find == FindRule::ConstantStringToInt64 => {
            let pair = facts.table_of(s, input(0));
            let string_to_int = pair == Some((TensorType::String, TensorType::Int64));
            let constant = facts.is_constant(s, input(1)) && facts.is_constant(s, input(2));
            if !(string_to_int && constant) {
                let why = if string_to_int {
                    format!(
                        "the keys looked up ('{}') are computed at run time",
                        facts.tensor_name(s, input(1))
                    )
                } else {
                    let p = pair.map_or("is unknown".into(), |(k, v)| {
                        format!("maps {} -> {}", dtype(k), dtype(v))
                    });
                    format!("this table {p}")
                };
                let msg = format!("HASHTABLE_FIND cannot be imported: {} folds only lookups of constant strings in string -> int64 tables, and {why}", t.name);
                let fix = "do the lookup outside the model (tokenise in pre-processing and feed ids), or run the model on a target with run-time hash tables (ferrite, litert)".into();
                cx.op(
                    Error,
                    s,
                    i,
                    "hash-table-find",
                    msg,
                    fix,
                    &t.hash_tables.source,
                );
            }
        }
        Some("ASSIGN_VARIABLE") if t.variables.assign == Scope::CallOnceInit && cx.runtime[s] => {
            runtime_assign(cx, s, i, input(0), input(1));
        }
        Some("READ_VARIABLE") if t.variables.assign == Scope::CallOnceInit => {
            let var = facts.variable_of(s, input(0));
            let initialised = var.as_ref().is_some_and(|v| {
                cx.in_scope().filter(|&x| cx.init_only(x)).any(|x| {
                    (0..facts.ops[x].len()).any(|k| {
                        let o = &facts.model.subgraphs[x].operators[k];
                        facts.ops[x][k].builtin == Some("ASSIGN_VARIABLE")
                            && o.inputs
                                .first()
                                .and_then(|&h| facts.variable_of(x, h))
                                .as_ref()
                                == Some(v)
                    })
                })
            });
            if !initialised {
                let name = var.map_or_else(|| facts.tensor_name(s, input(0)), |v| v.1);
                let msg = format!("READ_VARIABLE reads variable '{name}', which no CALL_ONCE initialiser assigns; {} only reads variables set by CALL_ONCE initialisation", t.name);
                let fix = "give the variable an initial value in the TensorFlow model (tf.Variable(initial_value)) so the converter emits a CALL_ONCE initialiser".into();
                cx.op(
                    Error,
                    s,
                    i,
                    "uninitialised-variable",
                    msg,
                    fix,
                    &t.variables.source,
                );
            }
        }
        _ => {}
    }
    quantization(cx, s, i);
}

/// ASSIGN_VARIABLE outside CALL_ONCE initialisation: streaming state
/// (written from its own read) cannot be frozen away; a setter can.
fn runtime_assign(cx: &mut Ctx<'_, '_>, s: usize, i: usize, handle: i32, value: i32) {
    let facts = cx.facts;
    let t = cx.target;
    let var = facts.variable_of(s, handle);
    let name = var
        .as_ref()
        .map_or_else(|| facts.tensor_name(s, handle), |v| v.1.clone());
    let streaming = var
        .as_ref()
        .is_some_and(|v| facts.derives_from_read(s, value, v));
    let (msg, fix) = if streaming {
        (
            format!("ASSIGN_VARIABLE writes variable '{name}' on every invoke with a value computed from its own previous value: the model keeps streaming state across invokes (an accumulator or recurrent state); {} has no mutable state, it imports variables only as CALL_ONCE initial values", t.name),
            "freezing cannot help, since the state changes at run time: export the model with the state as an explicit input and output that the caller carries between invokes, or run it where resource variables work (ferrite, litert)".to_string(),
        )
    } else {
        (
            format!("ASSIGN_VARIABLE writes variable '{name}' at invoke time from values outside the variable (a setter); {} imports variables only as CALL_ONCE initial values", t.name),
            "if the model only needs the variable's initial value, run `ferrite freeze` to turn it into a constant and drop the writes; otherwise pass the value as a model input".to_string(),
        )
    };
    cx.op(Error, s, i, "runtime-assign", msg, fix, &t.variables.source);
}

/// Ops that hold, route or move data: a quantized tensor next to a float
/// one there is never a float activation meeting quantized weights.
const NOT_HYBRID: [&str; 36] = [
    "VAR_HANDLE",
    "READ_VARIABLE",
    "ASSIGN_VARIABLE",
    "CALL_ONCE",
    "CALL",
    "IF",
    "WHILE",
    "RESHAPE",
    "SQUEEZE",
    "EXPAND_DIMS",
    "CONCATENATION",
    "PACK",
    "UNPACK",
    "SPLIT",
    "SPLIT_V",
    "SLICE",
    "STRIDED_SLICE",
    "GATHER",
    "GATHER_ND",
    "TRANSPOSE",
    "PAD",
    "PADV2",
    "MIRROR_PAD",
    "TILE",
    "BROADCAST_TO",
    "SHAPE",
    "CAST",
    "QUANTIZE",
    "DEQUANTIZE",
    "SELECT",
    "SELECT_V2",
    "DEPTH_TO_SPACE",
    "SPACE_TO_DEPTH",
    "BATCH_TO_SPACE_ND",
    "SPACE_TO_BATCH_ND",
    "REVERSE_V2",
];

/// The input that makes op `i` hybrid under the target's rule, if any.
fn hybrid_weight(cx: &Ctx<'_, '_>, s: usize, i: usize) -> Option<i32> {
    let facts = cx.facts;
    let op = &facts.model.subgraphs[s].operators[i];
    let q = |x: &i32| facts.is_quantized(s, *x);
    match cx.target.quantization.hybrid {
        HybridRule::FirstInput => {
            let in0 = op.inputs.first().is_some_and(q);
            let outs = op.outputs.iter().any(q);
            let w = op.inputs.iter().skip(1).copied().find(q);
            w.filter(|_| !in0 && !outs)
        }
        HybridRule::FloatActivation => {
            if facts.ops[s][i]
                .builtin
                .is_none_or(|b| NOT_HYBRID.contains(&b))
            {
                return None;
            }
            let activation = op.inputs.iter().any(|&x| {
                facts
                    .tensor(s, x)
                    .is_some_and(|t| t.dtype == TensorType::Float32)
                    && !q(&x)
                    && !facts.is_constant(s, x)
            });
            let weight = op.inputs.iter().copied().find(|&x| {
                q(&x)
                    && facts.tensor(s, x).is_some_and(|t| {
                        matches!(
                            t.dtype,
                            TensorType::Int8
                                | TensorType::Uint8
                                | TensorType::Int4
                                | TensorType::Int16
                        )
                    })
            });
            weight.filter(|_| activation)
        }
    }
}

fn quantization(cx: &mut Ctx<'_, '_>, s: usize, i: usize) {
    let facts = cx.facts;
    let t = cx.target;
    let op = &facts.model.subgraphs[s].operators[i];
    let info = &facts.ops[s][i];
    if !t.quantization.dynamic_range {
        if let Some(w) = hybrid_weight(cx, s, i) {
            let w = facts.tensor_name(s, w);
            let msg = match t.quantization.hybrid {
                HybridRule::FloatActivation => format!(
                    "{} is dynamic-range (hybrid) quantized: a float activation meets quantized weights '{w}', and {} has no hybrid kernels",
                    info.name, t.name
                ),
                HybridRule::FirstInput => format!(
                    "{} counts as dynamic-range (hybrid) quantized to {}'s importer: its first input and outputs are unquantized while input '{w}' is quantized, and the importer rejects every such op",
                    info.name, t.name
                ),
            };
            let fix = "convert with full-integer quantization (a representative dataset, TFLITE_BUILTINS_INT8) or without quantization".into();
            cx.push(
                Error,
                (Some(s), Some(i)),
                Some(w),
                "dynamic-range",
                msg,
                fix,
                &t.quantization.source,
            );
            return;
        }
    }
    if let Some(allowed) = &t.quantization.quantized_ops {
        // As the importer counts them: any input or output with
        // quantization parameters.
        let quantized = op
            .inputs
            .iter()
            .chain(&op.outputs)
            .any(|x| facts.is_quantized(s, *x));
        let key = info
            .builtin
            .map(str::to_string)
            .or_else(|| info.custom_code.clone())
            .unwrap_or_default();
        if quantized && !allowed.contains(&key) {
            let msg = format!(
                "{} has quantized tensors, and {} has no quantized lowering for {key}",
                info.name, t.name
            );
            let fix = format!("keep {key} in float (dequantize before it), or run the model on a target with a quantized {key} kernel (litert, tflite-micro)");
            cx.op(
                Error,
                s,
                i,
                "quantized-op",
                msg,
                fix,
                &t.quantization.source,
            );
        }
    }
}
