//! Every fixture and corpus model x every built-in target: the verdict
//! agrees with what the target does. `litert` and `litert-flex` are judged
//! by ai-edge-litert's recorded outcomes (fixtures/litert_outcomes.json,
//! written by `make_fixtures.py litert-outcomes`), `ferrite` by running the
//! model, `tflite-micro` and `tvm-relax` by an evaluation of their target
//! data written apart from the rules in src/.

use std::path::{Path, PathBuf};

use ferrite_check::{
    check, DynamicShapes, HybridRule, Imported, Scope, StringSupport, Target, TARGET_NAMES,
};
use ferrite_format::{Model, TensorType};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// (key as in litert_outcomes.json, folder) of every model present.
fn models() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let corpus = std::env::var_os("FERRITE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus"));
    for (prefix, dir) in [
        ("fixtures", workspace().join("fixtures")),
        ("corpus", corpus),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            eprintln!("note: {} absent", dir.display());
            continue;
        };
        let mut v: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.join("model.tflite").exists())
            .collect();
        v.sort();
        for p in v {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            out.push((format!("{prefix}/{name}"), p));
        }
    }
    out
}

/// The first reference npz's positional inputs, if any.
fn ref_inputs(folder: &Path) -> Vec<ferrite_npz::Array> {
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            n.starts_with("ref") && n.ends_with(".npz")
        })
        .collect();
    files.sort();
    for f in files {
        let arrays = ferrite_npz::read_npz_bytes(&std::fs::read(f).unwrap()).unwrap();
        let mut inputs: Vec<(usize, ferrite_npz::Array)> = arrays
            .into_iter()
            .filter_map(|(k, a)| Some((k.strip_prefix("input_")?.parse().ok()?, a)))
            .collect();
        if !inputs.is_empty() {
            inputs.sort_by_key(|(i, _)| *i);
            return inputs.into_iter().map(|(_, a)| a).collect();
        }
    }
    Vec::new()
}

/// Whether ferrite constructs and invokes the model (reference inputs,
/// resized to their shapes; zeros where there are none).
fn ferrite_runs(folder: &Path) -> Result<(), String> {
    let bytes = std::fs::read(folder.join("model.tflite")).unwrap();
    let model = ferrite::Model::from_bytes(bytes).map_err(|e| e.to_string())?;
    let mut it = ferrite::Interpreter::new(&model, ferrite::Options::default())
        .map_err(|e| e.to_string())?;
    // Zeros first: signature-step references name inputs, not positions.
    for (i, info) in it.inputs().iter().enumerate() {
        if info.dtype == ferrite::DType::String {
            it.set_input_strings(i, &vec![b"a"; info.shape.iter().product()])
        } else {
            let n = info.shape.iter().product::<usize>() * info.dtype.element_size().unwrap_or(0);
            it.set_input_bytes(i, &vec![0; n])
        }
        .map_err(|e| e.to_string())?;
    }
    let refs = ref_inputs(folder);
    for (i, a) in refs.iter().enumerate().take(it.inputs().len()) {
        if it.inputs()[i].shape != a.shape {
            it.resize_input(i, &a.shape).map_err(|e| e.to_string())?;
        }
        if a.dtype == ferrite_npz::DType::Bytes {
            it.set_input_strings(i, &a.strings)
        } else {
            it.set_input_bytes(i, &a.data)
        }
        .map_err(|e| e.to_string())?;
    }
    it.invoke().map_err(|e| e.to_string())
}

/// An evaluation of `t` written from the target data, not from the rules:
/// op list, strings, data-dependent shapes, run-time variable writes,
/// quantized lowerings and hybrid ops. Empty when the model can run.
fn independent(bytes: &[u8], t: &Target) -> Vec<String> {
    let m = Model::parse(bytes).unwrap();
    let mut scope = vec![t.subgraphs.imported == Imported::All; m.subgraphs.len()];
    if t.subgraphs.imported == Imported::Primary {
        let mut stack = vec![0usize];
        while let Some(s) = stack.pop() {
            if std::mem::replace(&mut scope[s], true) {
                continue;
            }
            for op in &m.subgraphs[s].operators {
                for (_, target) in ferrite_format::verify::called_subgraphs(
                    &op.builtin_options,
                    &op.builtin_options_2,
                ) {
                    stack.push(target as usize);
                }
            }
        }
    }
    // Subgraphs an invoke runs: from subgraph 0 (and the signatures), not
    // through CALL_ONCE's init edge.
    let mut runtime = vec![false; m.subgraphs.len()];
    let mut stack: Vec<usize> = std::iter::once(0)
        .chain(m.signature_defs.iter().map(|d| d.subgraph_index as usize))
        .filter(|&s| scope[s])
        .collect();
    while let Some(s) = stack.pop() {
        if std::mem::replace(&mut runtime[s], true) {
            continue;
        }
        for op in &m.subgraphs[s].operators {
            for (field, target) in
                ferrite_format::verify::called_subgraphs(&op.builtin_options, &op.builtin_options_2)
            {
                if field != "init_subgraph_index" {
                    stack.push(target as usize);
                }
            }
        }
    }
    let mut why = Vec::new();
    for (s, sg) in m.subgraphs.iter().enumerate().filter(|(s, _)| scope[*s]) {
        for (k, x) in sg.tensors.iter().enumerate() {
            let string = x.dtype == TensorType::String;
            let is_const = !m.buffer_data(x.buffer).is_empty();
            let bad = match t.strings.value {
                StringSupport::Any => false,
                StringSupport::None => string,
                StringSupport::Constant => string && !is_const,
            };
            if bad {
                why.push(format!("{s}: string tensor {k}"));
            }
        }
        // Static runtimes: a -1 that no dynamic input explains.
        let mut tainted: Vec<i32> = sg
            .inputs
            .iter()
            .copied()
            .filter(|&x| {
                sg.tensors[x as usize]
                    .shape_signature
                    .as_ref()
                    .is_some_and(|d| d.contains(&-1))
            })
            .collect();
        for (i, op) in sg.operators.iter().enumerate() {
            if op.inputs.iter().any(|x| tainted.contains(x)) {
                tainted.extend(&op.outputs);
                continue;
            }
            let dynamic = op.outputs.iter().any(|&x| {
                sg.tensors[x as usize]
                    .shape_signature
                    .as_ref()
                    .is_some_and(|d| d.contains(&-1))
            });
            if t.shapes.value == DynamicShapes::Static && dynamic {
                why.push(format!("{s}:{i} data-dependent shape"));
            }
        }
        let quantized = |x: i32| {
            sg.tensors
                .get(x as usize)
                .and_then(|t| t.quantization.as_ref())
                .is_some_and(|q| q.scale.as_ref().is_some_and(|s| !s.is_empty()))
        };
        let constant = |x: i32| {
            sg.tensors
                .get(x as usize)
                .is_some_and(|t| !m.buffer_data(t.buffer).is_empty())
        };
        let dtype = |x: i32| sg.tensors.get(x as usize).map(|t| t.dtype);
        for (i, op) in sg.operators.iter().enumerate() {
            let code = &m.operator_codes[op.opcode_index as usize];
            let name = code.display_name();
            if code.is_custom() {
                let c = code.custom_code.clone().unwrap_or_default();
                if !t.ops.custom.contains(&c) {
                    why.push(format!("{s}:{i} custom {c}"));
                }
                continue;
            }
            let listed = t.ops.builtin.iter().any(|e| {
                e.name == name
                    && (!t.ops.versions_checked
                        || e.versions
                            .is_none_or(|(a, b)| (a..=b).contains(&code.version)))
                    && e.input_dtypes.as_ref().is_none_or(|d| {
                        op.inputs
                            .first()
                            .and_then(|&x| dtype(x))
                            .is_some_and(|x| d.contains(&x))
                    })
            });
            if !listed {
                why.push(format!("{s}:{i} {name} not listed"));
                continue;
            }
            if name == "ASSIGN_VARIABLE" && t.variables.assign == Scope::CallOnceInit && runtime[s]
            {
                why.push(format!("{s}:{i} run-time ASSIGN_VARIABLE"));
            }
            let any_quantized = op.inputs.iter().chain(&op.outputs).any(|&x| quantized(x));
            if let Some(list) = &t.quantization.quantized_ops {
                if any_quantized && !list.contains(&name) {
                    why.push(format!("{s}:{i} quantized {name}"));
                }
            }
            if t.quantization.dynamic_range {
                continue;
            }
            let hybrid = match t.quantization.hybrid {
                HybridRule::FirstInput => {
                    !op.inputs.first().is_some_and(|&x| quantized(x))
                        && !op.outputs.iter().any(|&x| quantized(x))
                        && op.inputs.iter().skip(1).any(|&x| quantized(x))
                }
                // Compute ops only: those that take weights in LiteRT's
                // hybrid kernels.
                HybridRule::FloatActivation => {
                    [
                        "FULLY_CONNECTED",
                        "CONV_2D",
                        "DEPTHWISE_CONV_2D",
                        "TRANSPOSE_CONV",
                        "BATCH_MATMUL",
                        "SVDF",
                        "UNIDIRECTIONAL_SEQUENCE_LSTM",
                        "LSTM",
                        "BIDIRECTIONAL_SEQUENCE_LSTM",
                        "RNN",
                        "UNIDIRECTIONAL_SEQUENCE_RNN",
                        "BIDIRECTIONAL_SEQUENCE_RNN",
                        "CONV_3D",
                    ]
                    .contains(&name.as_str())
                        && op.inputs.iter().any(|&x| {
                            dtype(x) == Some(TensorType::Float32) && !quantized(x) && !constant(x)
                        })
                        && op.inputs.iter().any(|&x| {
                            quantized(x)
                                && matches!(
                                    dtype(x),
                                    Some(TensorType::Int8 | TensorType::Uint8 | TensorType::Int4)
                                )
                        })
                }
            };
            if hybrid {
                why.push(format!("{s}:{i} {name} hybrid"));
            }
        }
    }
    why
}

#[test]
fn every_model_on_every_target_gets_a_true_verdict() {
    let outcomes: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace().join("fixtures/litert_outcomes.json")).unwrap(),
    )
    .unwrap();
    let targets: Vec<Target> = TARGET_NAMES
        .iter()
        .map(|n| Target::builtin(n).unwrap())
        .collect();
    let mut problems = Vec::new();
    let all = models();
    assert!(all.len() >= 40, "only {} models found", all.len());
    for (key, folder) in &all {
        let bytes = std::fs::read(folder.join("model.tflite")).unwrap();
        let reports = check(&bytes, &targets).unwrap();
        let Some(o) = outcomes["models"].get(key) else {
            problems.push(format!(
                "{key}: no LiteRT outcome; rerun `make_fixtures.py litert-outcomes`"
            ));
            continue;
        };
        let litert = &o["builtin_without_default_delegates"];
        let litert_runs = litert["runs"].as_bool().unwrap();
        let needs_flex = !litert_runs
            && litert["stored_shape"]["error"]
                .as_str()
                .is_some_and(|e| e.contains("Select TensorFlow op"));
        for (t, r) in targets.iter().zip(&reports) {
            let (want, why) = match t.name.as_str() {
                "litert" => (litert_runs, format!("ai-edge-litert: {litert}")),
                "litert-flex" => (
                    litert_runs || needs_flex,
                    "ai-edge-litert, Flex ops apart".to_string(),
                ),
                "ferrite" => match ferrite_runs(folder) {
                    Ok(()) => (true, "ferrite runs it".into()),
                    Err(e) => (false, format!("ferrite fails: {e}")),
                },
                _ => {
                    let reasons = independent(&bytes, t);
                    if !reasons.is_empty() {
                        (false, reasons.join("; "))
                    } else {
                        (true, String::new())
                    }
                }
            };
            if r.runnable != want {
                let errs: Vec<&str> = r.findings.iter().map(|f| f.message.as_str()).collect();
                problems.push(format!(
                    "{key} on {}: check says runnable={}, want {want} ({why}); findings: {errs:?}",
                    t.name, r.runnable
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
