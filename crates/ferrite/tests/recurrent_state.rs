//! LSTM state lives in the model's variable tensors and carries across
//! invokes, as in LiteRT; `reset_state` puts it back.

use std::path::Path;

use ferrite::{Interpreter, Model, Options};

fn f32s(a: &ferrite_npz::Array) -> Vec<f32> {
    a.to_f64().unwrap().into_iter().map(|v| v as f32).collect()
}

fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn lstm_state_carries_over_like_litert_and_resets() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/lstm_unidirectional");
    let refs: std::collections::BTreeMap<_, _> =
        ferrite_npz::read_npz(dir.join("ref_two_invokes.npz"))
            .unwrap()
            .into_iter()
            .collect();
    let model = Model::load(dir.join("model.tflite")).unwrap();
    let mut interp = Interpreter::new(&model, Options::default()).unwrap();
    let input = &refs["input_0"];
    let run = |interp: &mut Interpreter| {
        interp.set_input_bytes(0, &input.data).unwrap();
        interp.invoke().unwrap();
        interp.output_as::<f32>(0).unwrap().to_vec()
    };
    let first = run(&mut interp);
    let second = run(&mut interp);
    let want_first = f32s(&refs["output_first"]);
    let want_second = f32s(&refs["output_second"]);
    assert!(max_diff(&first, &want_first) < 1e-5);
    assert!(max_diff(&second, &want_second) < 1e-5);
    assert!(
        max_diff(&want_first, &want_second) > 1e-3,
        "the reference shows state carrying over"
    );
    interp.reset_state();
    assert!(max_diff(&run(&mut interp), &want_first) < 1e-5);
}
