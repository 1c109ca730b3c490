//! Input and output buffers read and written in place (what the Python
//! package's `tensor()` views rest on), and resetting only the variable
//! tensors.

use std::path::Path;

use ferrite::{Interpreter, Model, Options};

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fixtures")
        .join(name)
}

fn refs(dir: &Path, file: &str) -> std::collections::BTreeMap<String, ferrite_npz::Array> {
    ferrite_npz::read_npz(dir.join(file))
        .unwrap()
        .into_iter()
        .collect()
}

#[test]
fn writing_an_input_buffer_in_place_is_what_invoke_reads() {
    let dir = fixture("lstm_unidirectional");
    let refs = refs(&dir, "ref_two_invokes.npz");
    let model = Model::load(dir.join("model.tflite")).unwrap();
    let mut interp = Interpreter::new(&model, Options::default()).unwrap();
    let input = &refs["input_0"].data;

    let buf = interp.input_buffer_mut(0).unwrap();
    assert_eq!(buf.len(), input.len(), "sized to the input's shape");
    assert!(
        buf.iter().all(|&b| b == 0),
        "a never-set input starts zeroed"
    );
    let at = buf.as_ptr();
    buf.copy_from_slice(input);
    assert_eq!(interp.input(0).unwrap().data, &input[..]);
    interp.invoke().unwrap();
    let first = interp.output_as::<f32>(0).unwrap().to_vec();
    let want: Vec<f32> = refs["output_first"]
        .to_f64()
        .unwrap()
        .into_iter()
        .map(|v| v as f32)
        .collect();
    let diff = first.iter().zip(&want).map(|(a, b)| (a - b).abs());
    assert!(diff.fold(0.0, f32::max) < 1e-5);

    // Steady state: the same buffers, so a numpy view stays valid.
    interp.set_input_bytes(0, input).unwrap();
    assert_eq!(interp.input_buffer_mut(0).unwrap().as_ptr(), at);
    let out_at = interp.output(0).unwrap().data.as_ptr();
    interp.invoke().unwrap();
    assert_eq!(interp.output_buffer_mut(0).unwrap().as_ptr(), out_at);

    // Only the LSTM state is reset, so the first answer comes back.
    interp.reset_variable_tensors();
    interp.invoke().unwrap();
    assert_eq!(interp.output_as::<f32>(0).unwrap(), &first[..]);
}

#[test]
fn reset_variable_tensors_leaves_resource_variables() {
    let dir = fixture("variable_counter");
    let model = Model::load(dir.join("model.tflite")).unwrap();
    let mut interp = Interpreter::new(&model, Options::default()).unwrap();
    let r0 = refs(&dir, "ref_invoke0.npz");
    let r1 = refs(&dir, "ref_invoke1.npz");
    let run = |interp: &mut Interpreter,
               r: &std::collections::BTreeMap<String, ferrite_npz::Array>| {
        for i in 0..interp.inputs().len() {
            interp
                .set_input_bytes(i, &r[&format!("input_{i}")].data)
                .unwrap();
        }
        interp.invoke().unwrap();
        interp.output(0).unwrap().data.to_vec()
    };
    assert_eq!(run(&mut interp, &r0), r0["output_0"].data);
    interp.reset_variable_tensors();
    assert_eq!(
        run(&mut interp, &r1),
        r1["output_0"].data,
        "the variable kept its value"
    );
    interp.reset_state();
    assert_eq!(
        run(&mut interp, &r0),
        r0["output_0"].data,
        "reset_state clears it"
    );
}

#[test]
fn string_and_unknown_tensors_have_no_in_place_buffer() {
    let model = Model::load(fixture("string_ops").join("model.tflite")).unwrap();
    let mut interp = Interpreter::new(&model, Options::default()).unwrap();
    let strings = (0..interp.inputs().len())
        .find(|&i| interp.inputs()[i].dtype == ferrite::DType::String)
        .expect("a STRING input");
    let err = interp.input_buffer_mut(strings).unwrap_err().to_string();
    assert!(err.contains("cannot be viewed in place"), "{err}");
    assert!(interp.input_buffer_mut(99).is_err());
}
