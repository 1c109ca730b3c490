//! Hostile inputs: truncated and corrupted versions of every model we can
//! find must load or fail with an error, never panic. Models that still load
//! must survive everything a caller does next: writing, re-reading the
//! written bytes, and decoding Flex custom options and their NodeDefs.
//!
//! Inputs found by fuzzing live in `<workspace>/tests/regression/` and are
//! replayed here too, both as models and as Flex options.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use ferrite_format::{flex, flexmap, nodedef, Model};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// All `model.tflite` files under the fixtures and (when present) the corpus.
fn model_files() -> Vec<PathBuf> {
    let corpus = std::env::var_os("FERRITE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus"));
    let mut files = Vec::new();
    for root in [workspace().join("fixtures"), corpus] {
        let Ok(entries) = std::fs::read_dir(&root) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path().join("model.tflite");
            if p.is_file() {
                files.push(p);
            }
        }
    }
    files.sort();
    files
}

fn load_models() -> Vec<(String, Vec<u8>)> {
    model_files()
        .into_iter()
        .map(|p| {
            // `fixtures-x` and `corpus-x`: the two share some model names.
            let part = |n: usize| {
                p.ancestors()
                    .nth(n)
                    .and_then(Path::file_name)
                    .map_or_else(String::new, |s| s.to_string_lossy().into_owned())
            };
            let name = format!("{}-{}", part(2), part(1));
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (name, bytes)
        })
        .collect()
}

/// xorshift64*: deterministic, so a failure names a reproducible case.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn seed_of(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
    })
}

/// A position biased towards where flatbuffer tables and vtables live: the
/// first few KiB and the last KiB of the file.
fn hot_position(rng: &mut Rng, len: usize) -> usize {
    let head = len.min(4096);
    let tail = len.min(1024);
    match rng.below(8) {
        0..=3 => rng.below(head),
        4 | 5 => len - tail + rng.below(tail),
        _ => rng.below(len),
    }
}

/// Flex options and NodeDefs as raw bytes (the `flex` fuzz target).
fn exercise_flex(bytes: &[u8]) {
    if let Some(op) = flex::decode(bytes) {
        let _ = nodedef::attrs(op.node_def);
    }
    let _ = nodedef::attrs(bytes);
    let _ = nodedef::op_name(bytes);
    let _ = flexmap::decode(bytes);
}

/// Everything a caller may do with a loaded model. Panics only on a bug.
fn exercise(bytes: &[u8]) {
    let Ok(model) = Model::parse(bytes) else {
        return;
    };
    for sg in &model.subgraphs {
        for op in &sg.operators {
            let _ = op.custom_options.as_deref().and_then(flexmap::decode);
            if let Some(flex) = op.custom_options.as_deref().and_then(flex::decode) {
                let _ = nodedef::attrs(flex.node_def);
                let _ = nodedef::op_name(flex.node_def);
            }
        }
    }
    // Writing may refuse (e.g. an option type unknown to the writer), but
    // whatever it writes must load again.
    if let Ok(out) = model.write() {
        if let Err(e) = Model::parse(&out) {
            panic!("written model does not load: {e}");
        }
    }
}

#[derive(Default)]
struct Outcome {
    cases: usize,
    failures: Vec<String>,
}

impl Outcome {
    /// Runs `exercise` on `bytes`; a panic is recorded with `what` and the
    /// input is saved so it can be replayed or added to tests/regression/.
    fn run(&mut self, model: &str, what: impl FnOnce() -> String, bytes: &[u8]) {
        self.run_with(exercise, model, what, bytes)
    }

    fn run_with(&mut self, f: fn(&[u8]), model: &str, what: impl FnOnce() -> String, bytes: &[u8]) {
        self.cases += 1;
        let Err(payload) = catch_unwind(AssertUnwindSafe(|| f(bytes))) else {
            return;
        };
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "non-string panic".into());
        let what = what();
        let dir = std::env::temp_dir().join("ferrite-hostile");
        let file = dir.join(format!(
            "{model}-{}.tflite",
            what.replace(|c: char| !c.is_ascii_alphanumeric(), "_")
        ));
        let saved = std::fs::create_dir_all(&dir)
            .and_then(|_| std::fs::write(&file, bytes))
            .map_or_else(
                |e| format!("not saved: {e}"),
                |_| format!("saved to {}", file.display()),
            );
        self.failures
            .push(format!("{model}: {what}: panicked: {msg} ({saved})"));
    }

    fn assert_clean(self, kind: &str) {
        eprintln!("{kind}: {} cases", self.cases);
        assert!(
            self.failures.is_empty(),
            "{kind}: {} of {} cases panicked:\n{}",
            self.failures.len(),
            self.cases,
            self.failures
                .iter()
                .take(30)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// Overwrites `buf[pos..]` with `patch`, runs the case, then restores the
/// original bytes, so large models are never copied per case.
fn with_patch(
    out: &mut Outcome,
    model: &str,
    buf: &mut [u8],
    pos: usize,
    patch: &[u8],
    what: String,
) {
    let end = (pos + patch.len()).min(buf.len());
    let saved = buf[pos..end].to_vec();
    buf[pos..end].copy_from_slice(&patch[..end - pos]);
    out.run(model, || what, buf);
    buf[pos..end].copy_from_slice(&saved);
}

const MEDIUM: usize = 128 << 10;
const LARGE: usize = 1 << 20;

#[test]
fn truncated_models_fail_cleanly() {
    let mut out = Outcome::default();
    for (name, bytes) in load_models() {
        let len = bytes.len();
        let mut lengths: Vec<usize> = if len < 8 << 10 {
            (0..=len).collect()
        } else {
            let spread = (0..300).map(|i| i * len / 300);
            (0..1024).chain(spread).chain(len - 64..len).collect()
        };
        lengths.sort_unstable();
        lengths.dedup();
        for l in lengths {
            out.run(&name, || format!("truncated to {l} bytes"), &bytes[..l]);
        }
    }
    out.assert_clean("truncation");
}

#[test]
fn single_byte_corruptions_fail_cleanly() {
    let mut out = Outcome::default();
    for (name, mut bytes) in load_models() {
        let len = bytes.len();
        // Every case that still loads is rewritten and re-read, which costs
        // time proportional to the model in a debug build.
        let positions = match len {
            0..MEDIUM => 300,
            MEDIUM..=LARGE => 80,
            _ => 40,
        };
        let mut rng = Rng::new(seed_of(&name));
        for _ in 0..positions {
            let pos = hot_position(&mut rng, len);
            let bit = rng.below(8);
            let flipped = bytes[pos] ^ (1 << bit);
            with_patch(
                &mut out,
                &name,
                &mut bytes,
                pos,
                &[flipped],
                format!("bit {bit} of byte {pos} flipped"),
            );
            for v in [0x00u8, 0xFF, 0x7F, 0x80] {
                if bytes[pos] != v {
                    with_patch(
                        &mut out,
                        &name,
                        &mut bytes,
                        pos,
                        &[v],
                        format!("byte {pos} set to {v:#04x}"),
                    );
                }
            }
        }
    }
    out.assert_clean("single-byte corruption");
}

#[test]
fn multi_byte_corruptions_fail_cleanly() {
    let mut out = Outcome::default();
    for (name, mut bytes) in load_models() {
        let len = bytes.len();
        if len < 16 {
            continue;
        }
        let cases = if len > MEDIUM { 16 } else { 64 };
        let mut rng = Rng::new(seed_of(&name) ^ 0x5eed);
        for _ in 0..cases {
            // Offsets and lengths are 4-byte aligned words in flatbuffers.
            let word = (hot_position(&mut rng, len - 4)) & !3;
            match rng.below(4) {
                0 => {
                    let values = [
                        0u32,
                        1,
                        4,
                        u32::MAX,
                        0x7fff_ffff,
                        0x8000_0000,
                        len as u32,
                        (len - word) as u32,
                    ];
                    let v = values[rng.below(values.len())];
                    with_patch(
                        &mut out,
                        &name,
                        &mut bytes,
                        word,
                        &v.to_le_bytes(),
                        format!("word at {word} set to {v:#x}"),
                    );
                }
                1 => {
                    // Small signed deltas retarget an offset at a nearby object.
                    let old = u32::from_le_bytes(bytes[word..word + 4].try_into().unwrap());
                    let delta = [-8i32, -4, 4, 8, 12, 16][rng.below(6)];
                    let v = old.wrapping_add(delta as u32);
                    with_patch(
                        &mut out,
                        &name,
                        &mut bytes,
                        word,
                        &v.to_le_bytes(),
                        format!("word at {word} moved by {delta}"),
                    );
                }
                2 => {
                    let n = 2 + rng.below(15);
                    let junk: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                    with_patch(
                        &mut out,
                        &name,
                        &mut bytes,
                        word,
                        &junk,
                        format!("{n} random bytes at {word}"),
                    );
                }
                _ => {
                    // Copies another span over this one, as if two objects were confused.
                    let n = 4 * (1 + rng.below(8));
                    let from = hot_position(&mut rng, len - n.min(len)) & !3;
                    let src = bytes[from..(from + n).min(len)].to_vec();
                    with_patch(
                        &mut out,
                        &name,
                        &mut bytes,
                        word,
                        &src,
                        format!("{n} bytes from {from} copied to {word}"),
                    );
                }
            }
        }
    }
    out.assert_clean("multi-byte corruption");
}

/// Replays the crash inputs kept in `<workspace>/tests/regression/`.
#[test]
fn regression_inputs_fail_cleanly() {
    let Ok(entries) = std::fs::read_dir(workspace().join("tests/regression")) else {
        return;
    };
    let mut out = Outcome::default();
    let mut files: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
    files.sort();
    for p in files
        .into_iter()
        .filter(|p| p.is_file() && p.extension().is_none_or(|e| e != "md"))
    {
        let bytes = std::fs::read(&p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        out.run(&name, || "loaded as a model".into(), &bytes);
        out.run_with(
            exercise_flex,
            &name,
            || "decoded as Flex options".into(),
            &bytes,
        );
    }
    out.assert_clean("regression");
}
