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
