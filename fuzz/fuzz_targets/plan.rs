//! Load, plan and invoke: a model that verifies must plan and run (or fail
//! with an error) without panicking, hanging or allocating without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(model) = ferrite::Model::from_bytes(data.to_vec()) else {
        return;
    };
    let options = ferrite::Options {
        max_loop_iterations: 100,
        max_tensor_bytes: 16 << 20,
        ..ferrite::Options::default()
    };
    let Ok(mut interp) = ferrite::Interpreter::new(&model, options) else {
        return;
    };
    for (i, info) in interp.inputs().iter().enumerate() {
        let n: usize = info.shape.iter().product();
        let size = info.dtype.element_size().unwrap_or(1);
        if n.saturating_mul(size) > 16 << 20 {
            return;
        }
        // Small values keep index-like inputs mostly in range.
        let bytes: Vec<u8> = (0..n * size).map(|k| (k % 3) as u8).collect();
        let _ = interp.set_input_bytes(i, &bytes);
    }
    let _ = interp.invoke();
});
