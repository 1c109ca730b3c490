//! Every model we can find (own fixtures and the shared corpus) parses,
//! and write -> read gives an equal model whose rewrite is byte-stable.

use std::path::{Path, PathBuf};

use ferrite_format::Model;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// All `model.tflite` files under the fixtures and (when present) the corpus.
pub fn model_files() -> Vec<PathBuf> {
    let mut roots = vec![workspace().join("fixtures")];
    let corpus = std::env::var_os("FERRITE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus"));
    roots.push(corpus);
    let mut files = Vec::new();
    for root in roots {
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

#[test]
fn read_write_read_is_equal_and_stable() {
    let files = model_files();
    assert!(!files.is_empty(), "no models found");
    for path in files {
        let bytes = std::fs::read(&path).unwrap();
        let model = Model::parse(&bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let once = model
            .write()
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let reread =
            Model::parse(&once).unwrap_or_else(|e| panic!("{}: rewritten: {e}", path.display()));
        assert!(
            model == reread,
            "{}: model changed through write/read",
            path.display()
        );
        let twice = reread.write().unwrap();
        assert!(
            once == twice,
            "{}: rewrite is not byte-stable",
            path.display()
        );
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `fixtures/roundtrip.json` records, per model, that LiteRT computed the
/// same outputs on the original and on ferrite's rewrite (checked by
/// `tools/fixtures/make_fixtures.py roundtrip`). The record holds for the
/// current writer only while it still writes the same bytes: this test
/// rewrites every model it can find and compares the hashes, so a writer
/// change forces the LiteRT check to be run again.
#[test]
fn litert_identity_record_matches_the_current_writer() {
    let record: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(workspace().join("fixtures/roundtrip.json"))
            .expect("roundtrip.json"),
    )
    .expect("JSON");
    let files = model_files();
    let mut checked = 0;
    for entry in record["models"].as_array().expect("models") {
        let name = entry["name"].as_str().unwrap();
        let source = entry["source"].as_str().unwrap();
        let path = files.iter().find(|p| {
            let dir = p.parent().unwrap();
            dir.file_name().unwrap() == name
                && (source == "corpus") != dir.parent().unwrap().ends_with("fixtures")
        });
        let Some(path) = path else { continue };
        let bytes = std::fs::read(path).unwrap();
        assert_eq!(
            sha256_hex(&bytes),
            entry["original_sha256"],
            "{name}: model changed since the record"
        );
        let rewritten = Model::parse(&bytes).unwrap().write().unwrap();
        assert_eq!(
            sha256_hex(&rewritten),
            entry["rewritten_sha256"],
            "{name}: the writer's output changed; rerun tools/fixtures/make_fixtures.py roundtrip"
        );
        match entry["outputs_identical"].as_bool() {
            Some(same) => assert!(same, "{name}: LiteRT outputs differed after the rewrite"),
            None => assert!(
                entry["note"].as_str().unwrap_or("").contains("Flex"),
                "{name}: not compared"
            ),
        }
        checked += 1;
    }
    assert!(checked >= 49, "only {checked} recorded models found");
}
