//! Mutated models that still verify must plan and run (or fail) without
//! panicking: the promise is that no input makes a verified model panic.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

use ferrite::{DType, Interpreter, Model, Options};

/// xorshift64*: a tiny seeded generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

fn input_bytes(dtype: DType, shape: &[usize], rng: &mut Rng) -> Vec<u8> {
    let n: usize = shape.iter().product();
    if dtype == DType::String {
        let words: Vec<String> = (0..n)
            .map(|i| format!("w{}", rng.next() % 7 + i as u64 % 2))
            .collect();
        return ferrite_kernels::strings::encode(&words);
    }
    let size = dtype.element_size().unwrap_or(1);
    (0..n * size).map(|_| (rng.next() % 4) as u8).collect()
}

/// Plans and runs `bytes` if it verifies; returns whether it got to invoke.
fn exercise(bytes: Vec<u8>, rng: &mut Rng) -> bool {
    let Ok(model) = Model::from_bytes(bytes) else {
        return false;
    };
    let options = Options {
        max_loop_iterations: 1000,
        max_tensor_bytes: 64 << 20,
        ..Options::default()
    };
    let Ok(mut interp) = Interpreter::new(&model, options) else {
        return false;
    };
    for (i, info) in interp.inputs().iter().enumerate() {
        if info.shape.iter().product::<usize>() > 1 << 22 {
            return false;
        }
        let data = input_bytes(info.dtype, &info.shape, rng);
        let _ = interp.set_input_bytes(i, &data);
    }
    let _ = interp.invoke();
    let _ = interp.invoke();
    true
}

#[test]
fn mutated_fixtures_plan_and_run_without_panicking() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures");
    let mut dirs: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    dirs.sort();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut cases, mut invoked) = (0, 0);
    for dir in dirs {
        let Ok(original) = std::fs::read(dir.join("model.tflite")) else {
            continue;
        };
        for m in 0..120 {
            let mut bytes = original.clone();
            // Mostly small edits in the flatbuffer's tables; some anywhere.
            let span = if m % 3 == 0 {
                bytes.len()
            } else {
                bytes.len().min(2048)
            };
            for _ in 0..1 + rng.next() % 3 {
                let at = (rng.next() as usize) % span;
                bytes[at] = match rng.next() % 4 {
                    0 => bytes[at] ^ (1 << (rng.next() % 8)),
                    1 => 0,
                    2 => 0xff,
                    _ => bytes[at].wrapping_add(1),
                };
            }
            cases += 1;
            let mut local = Rng(rng.next() | 1);
            match catch_unwind(AssertUnwindSafe(|| exercise(bytes.clone(), &mut local))) {
                Ok(ran) => invoked += ran as usize,
                Err(_) => {
                    let path = std::env::temp_dir().join(format!("ferrite-panic-{}.tflite", cases));
                    std::fs::write(&path, &bytes).unwrap();
                    panic!(
                        "{}: mutation {m} panicked; input saved to {}",
                        dir.display(),
                        path.display()
                    );
                }
            }
        }
    }
    eprintln!("{cases} mutated models, {invoked} planned and invoked");
    assert!(
        invoked > cases / 10,
        "too few mutations reached invoke: {invoked} of {cases}"
    );
}
