//! `ferrite freeze`: exit codes, messages and what is (not) written.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("FERRITE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus"))
}

fn ferrite(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .args(args)
        .output()
        .expect("run ferrite")
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrite-freeze-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn freeze(input: &Path, output: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["freeze".as_ref(), input.as_os_str(), output.as_os_str()];
    args.extend(extra.iter().map(std::ffi::OsStr::new));
    ferrite(&args)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn op_names(bytes: &[u8]) -> Vec<String> {
    let m = ferrite_format::Model::parse(bytes).expect("output verifies");
    m.subgraphs
        .iter()
        .flat_map(|s| &s.operators)
        .map(|op| m.operator_codes[op.opcode_index as usize].display_name())
        .collect()
}

#[test]
fn freezes_static_initialisation() {
    let dir = scratch("static");
    let input = workspace().join("fixtures/freeze/static_init.tflite");
    let out = dir.join("frozen.tflite");
    let r = freeze(&input, &out, &[]);
    assert!(r.status.success(), "{}", stderr(&r));
    let text = String::from_utf8_lossy(&r.stdout);
    assert!(text.contains("froze variable \"scale\""), "{text}");
    assert!(text.contains("[\"init\"]"), "{text}");
    assert_eq!(
        op_names(&std::fs::read(&out).unwrap()),
        ["MUL", "ADD", "RESHAPE"]
    );
    // The frozen model runs.
    let r = ferrite(&["run".as_ref(), out.as_os_str()]);
    assert!(r.status.success(), "{}", stderr(&r));
}

/// Refusals exit 1, name the variable and the op, and write nothing.
fn assert_refused(input: &Path, name: &str, variable: &str, op: &str, why: &str) {
    let dir = scratch(name);
    let out = dir.join("out.tflite");
    let before = std::fs::read(input).unwrap();
    let r = freeze(input, &out, &[]);
    let err = stderr(&r);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("variable \"{variable}\"")), "{err}");
    assert!(err.contains(op), "{err}");
    assert!(err.contains(why), "{err}");
    assert!(err.contains("was not written"), "{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(!out.exists(), "OUT must not be created");
    assert_eq!(
        std::fs::read(input).unwrap(),
        before,
        "IN must be untouched"
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "no stray files"
    );
}

#[test]
fn refuses_streaming_state() {
    let input = workspace().join("fixtures/freeze/streaming.tflite");
    let op = "ASSIGN_VARIABLE at subgraph 0 op 4";
    assert_refused(&input, "streaming", "acc", op, "streaming state");
}

#[test]
fn refuses_corpus_runtime_assignments() {
    let dir = corpus_dir();
    if !dir.is_dir() {
        eprintln!("corpus absent at {}; skipped", dir.display());
        return;
    }
    let model = |n: &str| dir.join(n).join("model.tflite");
    assert_refused(
        &model("resource_variable_counter"),
        "counter",
        "acc",
        "ASSIGN_VARIABLE at subgraph 0 op",
        "streaming state",
    );
    assert_refused(
        &model("variable_read_with_setter"),
        "setter",
        "w",
        "ASSIGN_VARIABLE at subgraph 1 op",
        "setter",
    );
}

#[test]
fn pins_input_shapes() {
    let dir = scratch("pin");
    let input = workspace().join("fixtures/freeze/static_init.tflite");
    let out = dir.join("pinned.tflite");
    let r = freeze(&input, &out, &["--input-shape", "x=4,3"]);
    assert!(r.status.success(), "{}", stderr(&r));
    let bytes = std::fs::read(&out).unwrap();
    let m = ferrite_format::Model::parse(&bytes).unwrap();
    assert!(m.subgraphs[0].tensors.iter().all(|t| !t.is_dynamic()));
    let r = ferrite(&["run".as_ref(), out.as_os_str()]);
    assert!(r.status.success(), "{}", stderr(&r));
    assert!(String::from_utf8_lossy(&r.stdout).contains("[4, 3]"));

    // Malformed values are usage errors; unknown names fail without output.
    let r = freeze(&input, &out, &["--input-shape", "x=4,a"]);
    assert_eq!(r.status.code(), Some(2), "{}", stderr(&r));
    let other = dir.join("other.tflite");
    let r = freeze(&input, &other, &["--input-shape", "y=4,3"]);
    assert_eq!(r.status.code(), Some(1), "{}", stderr(&r));
    assert!(
        stderr(&r).contains("no input is called 'y'"),
        "{}",
        stderr(&r)
    );
    assert!(!other.exists());
}

/// TVM's Relax importer only takes variables as static initialisation;
/// `check` says so for the original and stays quiet about variables once
/// `freeze` has folded them.
#[test]
fn check_for_tvm_stops_reporting_variables_after_freeze() {
    let kinds = |model: &Path| -> Vec<String> {
        let r = ferrite(&[
            "check".as_ref(),
            model.as_os_str(),
            "--target".as_ref(),
            "tvm-relax".as_ref(),
            "--json".as_ref(),
        ]);
        assert!(r.status.success(), "{}", stderr(&r));
        let v: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
        v["targets"][0]["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["kind"].as_str().unwrap_or("").to_string())
            .collect()
    };
    let original = workspace().join("fixtures/freeze/static_init.tflite");
    assert!(kinds(&original).iter().any(|k| k == "resource-variables"));
    let dir = scratch("check-after-freeze");
    let out = dir.join("frozen.tflite");
    assert!(freeze(&original, &out, &[]).status.success());
    let after = kinds(&out);
    assert!(!after.iter().any(|k| k.contains("variable")), "{after:?}");
}
