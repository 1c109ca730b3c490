//! `ferrite inspect --json` against the facts the corpus and fixture
//! manifests record (written by independent Python tooling), plus error
//! handling and `ferrite rewrite`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("FERRITE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus"))
}

fn ferrite(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .args(args)
        .output()
        .expect("run ferrite")
}

fn inspect_json(model: &Path) -> Result<Value, String> {
    let out = ferrite(&["inspect".as_ref(), model.as_os_str(), "--json".as_ref()]);
    if !out.status.success() {
        return Err(format!(
            "exit {:?}: {}",
            out.status.code(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let text = String::from_utf8(out.stdout).map_err(|e| e.to_string())?;
    if text.trim_end().lines().count() != 1 {
        return Err("--json output is not one line".into());
    }
    serde_json::from_str(&text).map_err(|e| format!("bad JSON: {e}"))
}

/// Records a mismatch between the manifest (`want`) and inspect (`got`).
fn expect(errors: &mut Vec<String>, model: &str, what: &str, want: &Value, got: &Value) {
    if want != got {
        errors.push(format!(
            "{model}: {what}: manifest {want} but inspect {got}"
        ));
    }
}

/// The manifest's view of an input or output: the fields both sides share.
fn io_view(v: &Value) -> Value {
    let list = v.as_array().cloned().unwrap_or_default();
    list.iter()
        .map(|t| {
            serde_json::json!({
                "name": t["name"], "dtype": t["dtype"],
                "shape": t["shape"], "shape_signature": t["shape_signature"],
            })
        })
        .collect()
}

/// Checks every model of a `tflite-corpus/1` manifest; returns how many
/// models were checked and the mismatches found.
fn check_manifest(root: &Path) -> (usize, Vec<String>) {
    let text = std::fs::read_to_string(root.join("manifest.json")).expect("read manifest");
    let manifest: Value = serde_json::from_str(&text).expect("parse manifest");
    let models = manifest["models"].as_array().expect("models array");
    let mut errors = Vec::new();
    for m in models {
        let name = m["name"].as_str().unwrap_or("?");
        let path = root.join(m["path"].as_str().expect("model path"));
        let got = match inspect_json(&path) {
            Ok(v) => v,
            Err(e) => {
                errors.push(format!("{name}: inspect failed: {e}"));
                continue;
            }
        };
        let e = &mut errors;
        expect(
            e,
            name,
            "op_histogram",
            &m["op_histogram"],
            &got["op_histogram"],
        );
        let subgraphs = got["subgraphs"].as_array().map_or(0, Vec::len);
        expect(
            e,
            name,
            "subgraph_count",
            &m["subgraph_count"],
            &subgraphs.into(),
        );
        if let Some(want) = m["subgraphs"].as_array() {
            let view = |v: &Value| -> Value {
                let list = v.as_array().cloned().unwrap_or_default();
                list.iter()
                    .map(|s| {
                        let n = s["name"].as_str().unwrap_or("");
                        serde_json::json!([n, s["num_ops"], s["num_tensors"]])
                    })
                    .collect()
            };
            expect(
                e,
                name,
                "subgraphs",
                &view(&want.clone().into()),
                &view(&got["subgraphs"]),
            );
        }
        expect(
            e,
            name,
            "inputs",
            &io_view(&m["inputs"]),
            &io_view(&got["inputs"]),
        );
        expect(
            e,
            name,
            "outputs",
            &io_view(&m["outputs"]),
            &io_view(&got["outputs"]),
        );
        let keys = |v: &Value| -> Value {
            let list = v.as_array().cloned().unwrap_or_default();
            list.iter().map(|s| s["key"].clone()).collect()
        };
        expect(
            e,
            name,
            "signature keys",
            &keys(&m["signatures"]),
            &keys(&got["signatures"]),
        );
        let f = &m["features"];
        expect(
            e,
            name,
            "quantization",
            &f["quantization"],
            &got["quantization"]["kind"],
        );
        // Further facts the manifests record, checked when present.
        if let Some(counts) = m["tensor_type_counts"].as_object() {
            let want: serde_json::Map<_, _> = counts
                .iter()
                .map(|(k, v)| (k.to_lowercase(), v.clone()))
                .collect();
            let got_counts: serde_json::Map<_, _> = got["tensors_by_dtype"]
                .as_object()
                .map(|o| {
                    o.iter()
                        .map(|(k, v)| (k.clone(), v["tensors"].clone()))
                        .collect()
                })
                .unwrap_or_default();
            expect(
                e,
                name,
                "tensor_type_counts",
                &want.into(),
                &got_counts.into(),
            );
        }
        if let Some(n) = f.get("sparse_tensors") {
            let got_n = got["sparse_tensors"].as_array().map_or(0, Vec::len);
            expect(e, name, "sparse_tensors", n, &got_n.into());
        }
        if let Some(p) = f.get("per_channel_quant") {
            let per_axis = got["quantization"]["per_axis"].as_u64().unwrap_or(0) > 0;
            expect(e, name, "per_channel_quant", p, &per_axis.into());
        }
        if let Some(flex) = f.get("flex_ops") {
            let got_flex: Value = got["custom_ops"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["flex"] == true)
                .map(|c| c["custom_code"].clone())
                .collect();
            expect(e, name, "flex_ops", flex, &got_flex);
        }
        if let Some(v) = f.get("variables") {
            let has = got["resources"]["variables"]
                .as_array()
                .is_some_and(|a| !a.is_empty());
            expect(e, name, "variables", v, &has.into());
        }
    }
    (models.len(), errors)
}

#[test]
fn corpus_matches_manifest() {
    let root = corpus_dir();
    if !root.join("manifest.json").is_file() {
        eprintln!(
            "note: no corpus at {}; skipping (set FERRITE_CORPUS)",
            root.display()
        );
        return;
    }
    let (n, errors) = check_manifest(&root);
    assert!(
        errors.is_empty(),
        "{} mismatches:\n{}",
        errors.len(),
        errors.join("\n")
    );
    eprintln!("checked {n} corpus models");
}

#[test]
fn fixtures_match_manifest() {
    let root = workspace().join("fixtures");
    if !root.join("manifest.json").is_file() {
        eprintln!("note: no fixtures/manifest.json; skipping");
        return;
    }
    let (n, errors) = check_manifest(&root);
    assert!(
        errors.is_empty(),
        "{} mismatches:\n{}",
        errors.len(),
        errors.join("\n")
    );
    eprintln!("checked {n} fixture models");
}

/// Some model file to damage: the first fixture or corpus model found.
fn any_model() -> Option<PathBuf> {
    [workspace().join("fixtures"), corpus_dir()]
        .iter()
        .filter_map(|root| std::fs::read_dir(root).ok())
        .flat_map(|d| d.flatten().map(|e| e.path().join("model.tflite")))
        .find(|p| p.is_file())
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ferrite-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn assert_one_line_error(out: &Output, what: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: stderr {stderr}");
    assert!(out.stdout.is_empty(), "{what}: printed to stdout");
    assert_eq!(stderr.lines().count(), 1, "{what}: not one line: {stderr}");
    assert!(stderr.starts_with("error: "), "{what}: {stderr}");
}

#[test]
fn bad_files_exit_2_with_one_line() {
    let dir = temp_dir("bad");
    let mut cases = vec![];
    // Deterministic pseudo-random bytes (xorshift), with and without the
    // TFLite file identifier.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let noise: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    cases.push(("random.tflite", noise.clone()));
    let mut tagged = noise;
    tagged[4..8].copy_from_slice(b"TFL3");
    cases.push(("random_tfl3.tflite", tagged));
    cases.push(("empty.tflite", vec![]));
    if let Some(model) = any_model() {
        let bytes = std::fs::read(model).unwrap();
        cases.push(("truncated.tflite", bytes[..bytes.len() / 2].to_vec()));
        cases.push(("header_only.tflite", bytes[..16.min(bytes.len())].to_vec()));
    }
    for (name, data) in &cases {
        let path = dir.join(name);
        std::fs::write(&path, data).unwrap();
        for json in [false, true] {
            let mut args = vec!["inspect".as_ref(), path.as_os_str()];
            if json {
                args.push("--json".as_ref());
            }
            assert_one_line_error(&ferrite(&args), name);
        }
    }
    let missing = dir.join("missing.tflite");
    assert_one_line_error(
        &ferrite(&["inspect".as_ref(), missing.as_os_str()]),
        "missing file",
    );
    assert_one_line_error(&ferrite(&["inspect".as_ref()]), "no model argument");
    assert_one_line_error(
        &ferrite(&["inspect".as_ref(), "--bogus".as_ref()]),
        "unknown flag",
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn rewrite_output_reparses_to_equal_model() {
    let Some(model) = any_model() else {
        eprintln!("note: no models found; skipping");
        return;
    };
    let dir = temp_dir("rewrite");
    let out_path = dir.join("out.tflite");
    let out = ferrite(&["rewrite".as_ref(), model.as_os_str(), out_path.as_os_str()]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    let original = std::fs::read(&model).unwrap();
    let rewritten = std::fs::read(&out_path).unwrap();
    let a = ferrite_format::Model::parse(&original).unwrap();
    let b = ferrite_format::Model::parse(&rewritten).unwrap();
    assert!(a == b, "rewritten model differs");
    // No temporary file is left beside the output.
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(leftovers.len(), 1);
    // A bad input is a one-line error, and OUT is not created.
    let bad = dir.join("bad.tflite");
    std::fs::write(&bad, &original[..original.len() / 3]).unwrap();
    let bad_out = dir.join("bad_out.tflite");
    let out = ferrite(&["rewrite".as_ref(), bad.as_os_str(), bad_out.as_os_str()]);
    assert_one_line_error(&out, "rewrite of truncated model");
    assert!(!bad_out.exists());
    std::fs::remove_dir_all(&dir).unwrap();
}
