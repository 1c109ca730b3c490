//! The `ferrite run` contract: one invoke per --input on one interpreter,
//! outputs by position, npz keys by tensor or signature name, resizing, and
//! one-line errors with no output file for a failed invoke.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use ferrite_npz::{read_npz, write_npz, Array};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrite-run-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn ferrite(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .args(args)
        .output()
        .unwrap()
}

fn npz(path: &Path) -> BTreeMap<String, Array> {
    read_npz(path).unwrap().into_iter().collect()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// Writes the reference's `input_<from>` under `key` and returns the path.
fn input_file(reference: &Path, from: &str, key: &str, name: &str) -> PathBuf {
    let arrays = npz(reference);
    let path = tmp(name);
    write_npz(&path, &[(key.to_string(), arrays[from].clone())]).unwrap();
    path
}

#[test]
fn invokes_share_one_interpreter_and_outputs_go_by_position() {
    let dir = fixtures().join("variable_counter");
    let mut args = vec!["run".to_string(), p(&dir.join("model.tflite")).to_string()];
    let mut outs = Vec::new();
    for k in 0..4 {
        let r = dir.join(format!("ref_invoke{k}.npz"));
        let input = input_file(
            &r,
            "input_0",
            "serving_default_x:0",
            &format!("vc_in{k}.npz"),
        );
        let out = tmp(&format!("vc_out{k}.npz"));
        args.extend([
            "--input".into(),
            p(&input).into(),
            "--output".into(),
            p(&out).into(),
        ]);
        outs.push((r, out));
    }
    let result = Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .args(&args)
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    for (r, out) in outs {
        let want = npz(&r);
        let got = npz(&out);
        // Keys are the model's output tensor names, in output order.
        assert_eq!(
            got["StatefulPartitionedCall:1"].data,
            want["output_0"].data,
            "{}",
            r.display()
        );
        assert_eq!(
            got["StatefulPartitionedCall:0"].data,
            want["output_1"].data,
            "{}",
            r.display()
        );
    }
}

#[test]
fn signatures_pair_with_inputs_by_position() {
    let dir = fixtures().join("two_signatures_shared_variable");
    let steps = ["get", "set", "get", "set", "get"];
    let mut args = vec!["run".to_string(), p(&dir.join("model.tflite")).to_string()];
    let mut outs = Vec::new();
    for (k, sig) in steps.iter().enumerate() {
        let r = dir.join(format!("ref_step{k}_{sig}.npz"));
        let name = if *sig == "get" { "x" } else { "new_w" };
        let input = input_file(&r, &format!("input_{name}"), name, &format!("ts_in{k}.npz"));
        let out = tmp(&format!("ts_out{k}.npz"));
        args.extend([
            "--signature".into(),
            sig.to_string(),
            "--input".into(),
            p(&input).into(),
        ]);
        args.extend(["--output".into(), p(&out).into()]);
        outs.push((r, out, if *sig == "get" { "y" } else { "w" }));
    }
    let result = Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .args(&args)
        .output()
        .unwrap();
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    for (r, out, name) in outs {
        let got = npz(&out);
        let want = npz(&r);
        let (g, w) = (
            got[name].to_f64().unwrap(),
            want[&format!("output_{name}")].to_f64().unwrap(),
        );
        let diff = g
            .iter()
            .zip(&w)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f64::max);
        assert!(diff < 1e-5, "{}: {name} differs by {diff}", r.display());
    }
}

#[test]
fn a_differently_shaped_input_is_resized() {
    let dir = fixtures().join("dynamic_batch_mlp");
    let r = dir.join("ref_shape_5x6.npz");
    let input = input_file(&r, "input_0", "serving_default_x:0", "mlp_in.npz");
    let out = tmp("mlp_out.npz");
    let result = ferrite(&[
        "run",
        p(&dir.join("model.tflite")),
        "--input",
        p(&input),
        "--output",
        p(&out),
    ]);
    assert!(
        result.status.success(),
        "{}",
        String::from_utf8_lossy(&result.stderr)
    );
    let got = &npz(&out)["PartitionedCall:0"];
    assert_eq!(got.shape, npz(&r)["output_0"].shape);
}

#[test]
fn random_inputs_print_a_summary() {
    let model = fixtures().join("dynamic_batch_mlp/model.tflite");
    let result = ferrite(&["run", p(&model), "--seed", "7"]);
    assert!(result.status.success());
    let text = String::from_utf8_lossy(&result.stdout);
    assert!(
        text.contains("PartitionedCall:0 float32 [1, 3]") && text.contains("mean"),
        "{text}"
    );
}

/// Runs a failing command; checks the one-line error and that no output
/// file appeared.
fn fails(args: &[&str], out: &Path, needle: &str) {
    let result = ferrite(args);
    assert!(!result.status.success(), "{args:?} succeeded");
    let err = String::from_utf8_lossy(&result.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "not one line: {err}");
    assert!(err.contains(needle), "{err} lacks {needle}");
    assert!(!out.exists(), "{} was written", out.display());
}

#[test]
fn bad_inputs_fail_with_one_line_and_no_output() {
    let dir = fixtures().join("dynamic_batch_mlp");
    let model = dir.join("model.tflite");
    let r = dir.join("ref.npz");
    let out = tmp("bad_out.npz");
    let wrong_key = input_file(&r, "input_0", "not_an_input", "bad_key.npz");
    fails(
        &[
            "run",
            p(&model),
            "--input",
            p(&wrong_key),
            "--output",
            p(&out),
        ],
        &out,
        "no array for input",
    );
    let mut arrays = npz(&r);
    let mut as_f64 = arrays.remove("input_0").unwrap();
    let values = as_f64.to_f64().unwrap();
    as_f64 = Array::new(
        ferrite_npz::DType::F64,
        as_f64.shape,
        values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    );
    let wrong_dtype = tmp("bad_dtype.npz");
    write_npz(&wrong_dtype, &[("serving_default_x:0".into(), as_f64)]).unwrap();
    fails(
        &[
            "run",
            p(&model),
            "--input",
            p(&wrong_dtype),
            "--output",
            p(&out),
        ],
        &out,
        "float64",
    );
    let rank3 = tmp("bad_rank.npz");
    let a = Array::new(ferrite_npz::DType::F32, vec![1, 1, 6], vec![0; 24]);
    write_npz(&rank3, &[("serving_default_x:0".into(), a)]).unwrap();
    fails(
        &["run", p(&model), "--input", p(&rank3), "--output", p(&out)],
        &out,
        "cannot resize",
    );
    fails(
        &["run", p(&model), "--signature", "nope", "--output", p(&out)],
        &out,
        "unknown signature 'nope'",
    );
}

#[test]
fn an_unsupported_op_is_named_and_writes_nothing() {
    use ferrite_format::build::ModelBuilder;
    use ferrite_format::{BuiltinOptions, TensorType};
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let x = b.tensor(sg, "x", TensorType::Float32, &[4]);
    let y = b.tensor(sg, "y", TensorType::Float32, &[4]);
    b.op(sg, "RFFT2D", &[x], &[y], BuiltinOptions::None);
    b.inputs(sg, &[x]);
    b.outputs(sg, &[y]);
    let model = tmp("unsupported.tflite");
    std::fs::write(&model, b.finish().unwrap()).unwrap();
    let out = tmp("unsupported_out.npz");
    fails(
        &["run", p(&model), "--output", p(&out)],
        &out,
        "unsupported: operator RFFT2D",
    );
}
