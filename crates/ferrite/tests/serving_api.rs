//! The facade properties a server relies on: interpreters move between
//! threads, models report whether they keep state, and signature runners
//! take string inputs.

use std::path::PathBuf;

use ferrite::{Interpreter, Model, Options};

fn fixture(name: &str) -> Model {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
        .join("model.tflite");
    Model::load(path).expect("fixture loads")
}

#[test]
fn interpreter_and_model_are_send() {
    fn send<T: Send>() {}
    fn sync<T: Sync>() {}
    send::<Interpreter>();
    send::<Model>();
    sync::<Model>();
}

#[test]
fn keeps_state_tells_variables_from_stateless_models() {
    assert!(fixture("variable_counter").keeps_state());
    assert!(fixture("two_signatures_shared_variable").keeps_state());
    assert!(fixture("lstm_unidirectional").keeps_state());
    assert!(!fixture("fully_connected_2d").keeps_state());
    assert!(!fixture("hashtable_str_to_int64").keeps_state());
}

#[test]
fn signature_runner_sets_string_inputs() {
    let model = fixture("hashtable_str_to_int64");
    let mut interp = Interpreter::new(&model, Options::default()).unwrap();
    let keys = model.signature_keys();
    let key = keys.first().expect("a signature").to_string();
    let mut sig = interp.signature(&key).unwrap();
    let (name, _) = sig.inputs().into_iter().next().unwrap();
    let words = ["a", "b", "c", "d", "e", "f", "g", "zzz-absent"];
    sig.set_input_strings(&name, &words).unwrap();
    sig.invoke().unwrap();
    let (out, _) = sig.outputs().into_iter().next().unwrap();
    let view = sig.output(&out).unwrap();
    assert_eq!(view.dtype, ferrite::DType::Int64);
    assert_eq!(view.shape, &[8]);
    // a float input refuses strings
    let model = fixture("fully_connected_2d");
    let mut interp = Interpreter::new(&model, Options::default()).unwrap();
    if let Some(key) = model.signature_keys().first().map(|s| s.to_string()) {
        let mut sig = interp.signature(&key).unwrap();
        let (name, _) = sig.inputs().into_iter().next().unwrap();
        assert!(sig.set_input_strings(&name, &["x"]).is_err());
    }
}
