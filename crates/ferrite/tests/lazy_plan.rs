//! A model whose default input shape cannot be planned (a 512-tap CONV_2D
//! window over a `[-1, -1]` input that defaults to `[1, 1]`) constructs,
//! lists its tensors and resizes; planning waits for the first invoke.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ferrite::{ErrorKind, Interpreter, Model, Options};
use ferrite_npz::{read_npz, Array};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/mel_frontend_dynamic")
}

fn reference(shape: &str) -> BTreeMap<String, Array> {
    read_npz(fixture().join(format!("ref_shape_{shape}.npz")))
        .unwrap()
        .into_iter()
        .collect()
}

fn floats(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// Runs at the reference's input shape and compares with LiteRT's output
/// under the corpus tolerance rule.
fn run_reference(interp: &mut Interpreter, shape: &str) {
    let r = reference(shape);
    let x = &r["input_0"];
    interp.resize_input(0, &x.shape).unwrap();
    interp.set_input(0, &floats(&x.data)).unwrap();
    interp.invoke().unwrap();
    let want = &r["output_0"];
    let got = interp.output(0).unwrap();
    assert_eq!(got.shape, want.shape.as_slice());
    let (got, want) = (floats(got.data), floats(&want.data));
    let max_ref = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() <= 1e-4 * max_ref, "{g} vs {w}");
    }
}

#[test]
fn constructs_and_reports_tensors_at_the_default_shape() {
    let model = Model::load(fixture().join("model.tflite")).unwrap();
    let interp = Interpreter::new(&model, Options::default()).unwrap();
    let inputs = interp.inputs();
    assert_eq!(inputs.len(), 1);
    assert_eq!(inputs[0].shape, [1, 1]);
    assert_eq!(inputs[0].shape_signature, [-1, -1]);
    assert_eq!(interp.outputs().len(), 1);
}

#[test]
fn invoke_at_an_unplannable_shape_says_the_input_needs_a_resize() {
    let model = Model::load(fixture().join("model.tflite")).unwrap();
    let mut interp = Interpreter::new(&model, Options::default()).unwrap();
    interp.set_input(0, &[0.5f32]).unwrap();
    let e = interp.invoke().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(e.location().op.as_deref(), Some("CONV_2D"));
    let msg = e.to_string();
    for part in [
        "512-tap",
        "[1, 1, 1, 1]",
        "[1, 1]",
        "[-1, -1]",
        "needs a resize",
    ] {
        assert!(msg.contains(part), "{part:?} missing from: {msg}");
    }
    // Still too short for one window: the same error, at the new shape.
    interp.resize_input(0, &[1, 300]).unwrap();
    interp.set_input(0, &vec![0.0f32; 300]).unwrap();
    let msg = interp.invoke().unwrap_err().to_string();
    assert!(
        msg.contains("[1, 300]") && msg.contains("needs a resize"),
        "{msg}"
    );
}

#[test]
fn resize_then_invoke_matches_litert_at_several_shapes() {
    let model = Model::load(fixture().join("model.tflite")).unwrap();
    let mut interp = Interpreter::new(&model, Options::default()).unwrap();
    run_reference(&mut interp, "1x1280");
    run_reference(&mut interp, "2x1600");
    // A failed plan leaves the interpreter usable at a good shape again.
    interp.resize_input(0, &[1, 2]).unwrap();
    interp.set_input(0, &[0.0f32, 0.0]).unwrap();
    assert!(interp.invoke().is_err());
    run_reference(&mut interp, "1x1280");
}

#[test]
fn signature_runner_resizes_and_runs() {
    let model = Model::load(fixture().join("model.tflite")).unwrap();
    let mut interp = Interpreter::new(&model, Options::default()).unwrap();
    let r = reference("1x1280");
    let mut sig = interp.signature("serving_default").unwrap();
    let x = &r["input_0"];
    sig.resize_input("x", &x.shape).unwrap();
    sig.set_input("x", &floats(&x.data)).unwrap();
    sig.invoke().unwrap();
    let (name, _) = sig.outputs().remove(0);
    assert_eq!(sig.output(&name).unwrap().shape, [1, 5, 8]);
}
