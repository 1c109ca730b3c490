//! The committed `fixtures/freeze/` files against the code that made them,
//! and LiteRT's recorded verdict on them (`tools/fixtures/freeze_fixtures.sh`
//! regenerates all of it).

use std::path::PathBuf;

use ferrite_format::Model;
use ferrite_freeze::{freeze, samples, Options};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/freeze")
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// FNV-1a 64, as `check_freeze.py` records it.
fn fnv1a64(data: &[u8]) -> String {
    let h = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    format!("{h:016x}")
}

const REGENERATE: &str = "run tools/fixtures/freeze_fixtures.sh";

#[test]
fn committed_models_are_what_the_samples_build() {
    for (name, bytes) in [
        ("static_init.tflite", samples::static_init()),
        ("two_readers.tflite", samples::two_readers()),
        ("streaming.tflite", samples::streaming()),
    ] {
        assert!(read(name) == bytes, "{name} is stale: {REGENERATE}");
    }
}

#[test]
fn committed_frozen_models_are_what_freeze_writes() {
    let pin = Options {
        input_shapes: vec![("x".into(), vec![4, 3])],
    };
    for (orig, frozen, options) in [
        (
            "static_init.tflite",
            "static_init.frozen.tflite",
            Options::default(),
        ),
        ("static_init.tflite", "static_init.pinned.tflite", pin),
        (
            "two_readers.tflite",
            "two_readers.frozen.tflite",
            Options::default(),
        ),
    ] {
        let bytes = read(orig);
        let got = freeze(&Model::parse(&bytes).unwrap(), &options).unwrap();
        assert!(got.bytes == read(frozen), "{frozen} is stale: {REGENERATE}");
    }
}

#[test]
fn litert_gave_identical_outputs_for_the_committed_files() {
    let report: Value = serde_json::from_slice(&read("litert.json")).unwrap();
    let models = report["models"].as_array().expect("models");
    assert_eq!(models.len(), 3);
    for m in models {
        let (orig, frozen) = (
            m["original"].as_str().unwrap(),
            m["frozen"].as_str().unwrap(),
        );
        assert_eq!(
            m["original_fnv1a64"],
            fnv1a64(&read(orig)).as_str(),
            "{orig}: {REGENERATE}"
        );
        assert_eq!(
            m["frozen_fnv1a64"],
            fnv1a64(&read(frozen)).as_str(),
            "{frozen}: {REGENERATE}"
        );
        assert_eq!(
            m["outputs_identical"], true,
            "LiteRT: {frozen} differs from {orig}"
        );
        assert_eq!(m["variable_ops_left"], serde_json::json!([]), "{frozen}");
        let runs = m["runs"].as_array().unwrap();
        assert!(!runs.is_empty() && runs.iter().all(|r| r["identical"] == true));
    }
}
