//! A model whose `[-1, -1]` input defaults to `[1, 1]`, a shape its 512-tap
//! CONV_2D cannot take: `run` applies the npz shapes before planning,
//! `bench` takes `--input-shape`, and `check` accepts the model.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ferrite_npz::{read_npz, write_npz};

fn model() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/mel_frontend_dynamic/model.tflite")
}

fn reference() -> PathBuf {
    model().with_file_name("ref_shape_1x1280.npz")
}

fn ferrite(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ferrite"))
        .args(args)
        .output()
        .unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[test]
fn run_applies_npz_shapes_before_planning() {
    let dir = std::env::temp_dir().join(format!("ferrite-dyn-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let r: Vec<_> = read_npz(reference()).unwrap();
    let get = |k: &str| r.iter().find(|(n, _)| n == k).unwrap().1.clone();
    let input = dir.join("in.npz");
    write_npz(&input, &[("serving_default_x:0".into(), get("input_0"))]).unwrap();
    let out = dir.join("out.npz");
    let o = ferrite(&[
        "run",
        p(&model()),
        "--input",
        p(&input),
        "--output",
        p(&out),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let got = read_npz(&out).unwrap().remove(0).1;
    let want = get("output_0");
    assert_eq!(got.shape, [1, 5, 8]);
    let (g, w) = (got.to_f64().unwrap(), want.to_f64().unwrap());
    let max_ref = w.iter().fold(0f64, |m, v| m.max(v.abs()));
    for (a, b) in g.iter().zip(&w) {
        assert!((a - b).abs() <= 1e-4 * max_ref, "{a} vs {b}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bench_takes_input_shapes() {
    for name in ["x", "serving_default_x:0"] {
        let shape = format!("{name}=1,1280");
        let o = ferrite(&[
            "bench",
            p(&model()),
            "--runs",
            "2",
            "--warmup",
            "0",
            "--json",
            "--input-shape",
            &shape,
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        assert_eq!(report["runs"], 2);
    }
}

#[test]
fn bench_without_a_shape_fails_cleanly() {
    let o = ferrite(&["bench", p(&model()), "--runs", "1"]);
    assert_eq!(o.status.code(), Some(1));
    let e = stderr(&o);
    assert!(
        e.contains("needs a resize") && e.contains("--input-shape"),
        "{e}"
    );
    let o = ferrite(&["bench", p(&model()), "--input-shape", "y=1,1280"]);
    assert!(stderr(&o).contains("no input 'y'"), "{}", stderr(&o));
}

#[test]
fn check_accepts_the_model() {
    let o = ferrite(&["check", p(&model()), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let report: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(report["targets"][0]["runnable"], true);
}
