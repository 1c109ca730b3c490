//! `ferrite check`: exit status, the table, the JSON shape and usage errors.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ferrite_format::build::ModelBuilder;
use ferrite_format::options::{AddOptions, VarHandleOptions};
use ferrite_format::{BuiltinOptions, TensorType};
use serde_json::Value;

fn ferrite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .args(args)
        .output()
        .expect("run ferrite")
}

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p =
            std::env::temp_dir().join(format!("ferrite-cli-check-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }

    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, bytes).unwrap();
        p.display().to_string()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn add_model() -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let x = b.tensor(sg, "x", TensorType::Float32, &[2]);
    let y = b.tensor(sg, "y", TensorType::Float32, &[2]);
    b.op(
        sg,
        "ADD",
        &[x, x],
        &[y],
        BuiltinOptions::AddOptions(AddOptions::default()),
    );
    b.inputs(sg, &[x]);
    b.outputs(sg, &[y]);
    b.finish().unwrap()
}

fn flex_model() -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let x = b.tensor(sg, "x", TensorType::Float32, &[2]);
    let y = b.tensor(sg, "y", TensorType::Float32, &[2]);
    b.custom_op(sg, "FlexErf", &[x], &[y], vec![]);
    b.inputs(sg, &[x]);
    b.outputs(sg, &[y]);
    b.finish().unwrap()
}

fn variable_model() -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let h = b.tensor(sg, "h", TensorType::Resource, &[]);
    let opts = VarHandleOptions {
        container: None,
        shared_name: Some("v".into()),
    };
    b.op(
        sg,
        "VAR_HANDLE",
        &[],
        &[h],
        BuiltinOptions::VarHandleOptions(opts),
    );
    b.outputs(sg, &[h]);
    b.finish().unwrap()
}

fn json(out: &Output) -> Value {
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(text.trim_end().lines().count(), 1, "one line: {text}");
    serde_json::from_str(&text).unwrap()
}

#[test]
fn runnable_model_exits_zero_with_the_default_target() {
    let dir = TempDir::new("ok");
    let m = dir.write("add.tflite", &add_model());
    let out = ferrite(&["check", &m]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("ferrite") && text.contains("runnable"),
        "{text}"
    );
}

#[test]
fn json_report_and_exit_one_when_a_target_cannot_run() {
    let dir = TempDir::new("flex");
    let m = dir.write("flex.tflite", &flex_model());
    let out = ferrite(&[
        "check",
        &m,
        "--target",
        "litert",
        "--target",
        "litert-flex",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    assert_eq!(v["model"], m.as_str());
    let t = v["targets"].as_array().unwrap();
    assert_eq!(t.len(), 2);
    assert_eq!(t[0]["target"], "litert");
    assert_eq!(t[0]["runnable"], false);
    let f = &t[0]["findings"][0];
    assert_eq!(f["severity"], "error");
    assert_eq!(f["subgraph"], 0);
    assert_eq!(f["op_index"], 0);
    assert_eq!(f["op"], "CUSTOM:FlexErf");
    assert!(f["message"].as_str().unwrap().contains("Erf"));
    assert!(!f["fix"].as_str().unwrap().is_empty());
    assert_eq!(t[1]["target"], "litert-flex");
    assert_eq!(t[1]["runnable"], true);
    assert_eq!(t[1]["findings"][0]["severity"], "warning");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("cannot run on: litert"), "{stderr}");
}

#[test]
fn model_level_findings_have_null_locations() {
    let dir = TempDir::new("var");
    let m = dir.write("var.tflite", &variable_model());
    let out = ferrite(&["check", &m, "--target", "tflite-micro", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    let f = &v["targets"][0]["findings"][0];
    assert_eq!(f["severity"], "warning");
    assert!(f["subgraph"].is_null() && f["op_index"].is_null() && f["op"].is_null());
}

#[test]
fn table_groups_and_explains() {
    let dir = TempDir::new("table");
    let m = dir.write("flex.tflite", &flex_model());
    let out = ferrite(&["check", &m, "--target", "litert"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    for want in ["NOT RUNNABLE", "subgraph 0 op 0 CUSTOM:FlexErf", "fix: "] {
        assert!(text.contains(want), "{want}: {text}");
    }
}

#[test]
fn usage_and_model_errors_exit_two() {
    let dir = TempDir::new("usage");
    let m = dir.write("add.tflite", &add_model());
    let bad = dir.write("bad.tflite", b"TFL3 but not a model at all");
    let missing = dir.0.join("missing.tflite").display().to_string();
    let no_ops = format!("ops:{}", dir.0.join("none.txt").display());
    for args in [
        vec!["check", m.as_str(), "--target", "tensorrt"],
        vec!["check", m.as_str(), "--target", no_ops.as_str()],
        vec!["check", bad.as_str()],
        vec!["check", missing.as_str()],
        vec!["check"],
    ] {
        let out = ferrite(&args);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn ops_file_target() {
    let dir = TempDir::new("ops");
    let m = dir.write("add.tflite", &add_model());
    let ops = dir.write("ops.txt", b"# reduced build\nMUL 1-7\n");
    let spec = format!("ops:{ops}");
    let out = ferrite(&["check", &m, "--target", &spec, "--json"]);
    assert_eq!(out.status.code(), Some(1));
    let v = json(&out);
    let f = &v["targets"][0]["findings"][0];
    assert_eq!(f["op"], "ADD");
    assert!(f["fix"]
        .as_str()
        .unwrap()
        .contains("AddBuiltin(BuiltinOperator_ADD"));
    std::fs::write(&ops, "ADD 1-5\n").unwrap();
    assert_eq!(
        ferrite(&["check", &m, "--target", &spec]).status.code(),
        Some(0)
    );
}

#[test]
fn help_explains_targets_and_exit_codes() {
    let out = ferrite(&["check", "--help"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    for name in ferrite_check::TARGET_NAMES {
        assert!(text.contains(name), "{name}");
    }
    assert!(
        text.contains("ops:FILE") && text.contains("Exit status"),
        "{text}"
    );
}

/// The corpus through the binary, when it is present.
#[test]
fn corpus_flex_model_on_litert_targets() {
    let dir = std::env::var_os("FERRITE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"));
    let m = dir.join("flex_strings_split/model.tflite");
    if !m.exists() {
        eprintln!(
            "note: corpus not found at {} (set FERRITE_CORPUS); skipping",
            dir.display()
        );
        return;
    }
    let m = m.display().to_string();
    let out = ferrite(&["check", &m, "--target", "litert-flex", "--json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(json(&out)["targets"][0]["runnable"], true);
    let out = ferrite(&["check", &m, "--target", "litert"]);
    assert_eq!(out.status.code(), Some(1));
}
