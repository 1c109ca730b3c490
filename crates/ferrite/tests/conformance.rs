//! Conformance over the project's fixtures and the shared corpus: every
//! reference run must pass within tolerance or fail with a clean
//! `Unsupported` error; models listed in `conformance_expected.txt` must pass.
//!
//! `FERRITE_CORPUS` overrides the corpus directory; `FERRITE_CONFORMANCE`
//! narrows the run to models whose name contains it;
//! `FERRITE_CONFORMANCE_VERBOSE=1` prints the worst element of each output.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ferrite::{DType, ErrorKind, Interpreter, Model, Options};
use ferrite_npz::{read_npz, Array, DType as NpDType};
use serde_json::Value;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn corpus_dir() -> PathBuf {
    std::env::var_os("FERRITE_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("../shared/corpus"))
}

#[derive(Debug, PartialEq)]
enum Outcome {
    Pass,
    Unsupported(String),
    Fail(String),
}

fn np_dtype(d: DType) -> Option<NpDType> {
    Some(match d {
        DType::Float32 => NpDType::F32,
        DType::Float64 => NpDType::F64,
        DType::Float16 => NpDType::F16,
        DType::Int8 => NpDType::I8,
        DType::Uint8 => NpDType::U8,
        DType::Int16 => NpDType::I16,
        DType::Uint16 => NpDType::U16,
        DType::Int32 => NpDType::I32,
        DType::Uint32 => NpDType::U32,
        DType::Int64 => NpDType::I64,
        DType::Uint64 => NpDType::U64,
        DType::Bool => NpDType::Bool,
        DType::String => NpDType::Bytes,
        _ => return None,
    })
}

fn input_bytes(a: &Array) -> Vec<u8> {
    if a.dtype == NpDType::Bytes {
        ferrite_kernels::strings::encode(&a.strings)
    } else {
        a.data.clone()
    }
}

/// Integer (int8/uint8/int16) outputs checked: how many, and how many of
/// those also equal LiteRT's XNNPACK result where the reference has one.
#[derive(Default)]
struct QuantTally {
    outputs: usize,
    with_xnnpack: usize,
    equal_to_xnnpack: usize,
    differing: Vec<String>,
    model: String,
}

static QUANT_TALLY: Mutex<QuantTally> = Mutex::new(QuantTally {
    outputs: 0,
    with_xnnpack: 0,
    equal_to_xnnpack: 0,
    differing: Vec::new(),
    model: String::new(),
});

/// Compares one output against its reference. Floats use the corpus
/// tolerance rule; int8/uint8/int16 outputs must equal LiteRT's builtin
/// kernels bit for bit (stricter than the corpus rule's ±1).
fn compare(
    name: &str,
    got: ferrite::TensorView<'_>,
    want: &Array,
    (xnn_diff, xnn_output): (f64, Option<&Array>),
) -> Result<(), String> {
    if got.shape != want.shape.as_slice() {
        return Err(format!(
            "{name}: shape {:?}, reference {:?}",
            got.shape, want.shape
        ));
    }
    if np_dtype(got.dtype) != Some(want.dtype) {
        return Err(format!(
            "{name}: dtype {}, reference {}",
            got.dtype,
            want.dtype.name()
        ));
    }
    if want.dtype == NpDType::Bytes {
        let g = ferrite::strings_of(&got).map_err(|e| e.to_string())?;
        let w: Vec<&[u8]> = want.strings.iter().map(Vec::as_slice).collect();
        return if g == w {
            Ok(())
        } else {
            Err(format!("{name}: strings differ"))
        };
    }
    let got_arr = Array::new(want.dtype, want.shape.clone(), got.data.to_vec());
    let g = got_arr.to_f64().ok_or("cannot compare dtype")?;
    let w = want.to_f64().ok_or("cannot compare dtype")?;
    let (tol, what) = match want.dtype {
        NpDType::F32 | NpDType::F64 | NpDType::F16 => {
            let max_ref = w.iter().fold(0f64, |m, v| m.max(v.abs()));
            ((1e-4 * max_ref).max(4.0 * xnn_diff), "float")
        }
        NpDType::I8 | NpDType::U8 | NpDType::I16 => (0.0, "bit-exact"),
        _ => (0.0, "exact"),
    };
    let mut worst = (0usize, 0f64);
    for (i, (a, b)) in g.iter().zip(&w).enumerate() {
        let d = if a.is_nan() && b.is_nan() {
            0.0
        } else {
            (a - b).abs()
        };
        if d.is_nan() || d > worst.1 {
            worst = (i, if d.is_nan() { f64::INFINITY } else { d });
        }
    }
    if std::env::var_os("FERRITE_CONFORMANCE_VERBOSE").is_some() {
        eprintln!(
            "    {name}: max diff {:.3e} at {} (tolerance {tol:.3e} {what})",
            worst.1, worst.0
        );
    }
    if worst.1 > tol {
        return Err(format!(
            "{name}: max diff {:.4e} at element {} (got {}, want {}), tolerance {tol:.4e} ({what})",
            worst.1, worst.0, g[worst.0], w[worst.0]
        ));
    }
    if what == "bit-exact" {
        let mut tally = QUANT_TALLY.lock().unwrap_or_else(|p| p.into_inner());
        tally.outputs += 1;
        if let Some(x) = xnn_output {
            tally.with_xnnpack += 1;
            if x.data == got.data {
                tally.equal_to_xnnpack += 1;
            } else {
                let n = x.data.len().min(got.data.len());
                let elems = (0..n).filter(|&i| x.data[i] != got.data[i]).count();
                let model = tally.model.clone();
                tally
                    .differing
                    .push(format!("{model} {name}: {elems} of {n} bytes"));
            }
        }
    }
    Ok(())
}

/// Per-model rule: outputs holding eigenvectors or singular vectors (the
/// columns of each matrix in the last two dims) are unique only up to sign
/// per column, so those columns are compared after taking the reference's
/// sign; everything else about the comparison is unchanged.
const SIGN_FREE_COLUMNS: &[(&str, &[usize])] = &[
    // u, eigenvectors, v (outputs 0, 1, 2).
    ("tf_eigh_attention_custom", &[0, 1, 2]),
];

/// The float32 reference with each column's sign flipped to agree with
/// `got` (by the sign of their dot product).
fn align_column_signs(got: &ferrite::TensorView<'_>, want: &Array) -> Array {
    let (Some(&cols), Some(&rows)) = (want.shape.last(), want.shape.iter().rev().nth(1)) else {
        return want.clone();
    };
    if want.dtype != NpDType::F32 || got.data.len() != want.data.len() || rows * cols == 0 {
        return want.clone();
    }
    let f = |b: &[u8]| -> Vec<f32> {
        b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    let (g, mut w) = (f(got.data), f(&want.data));
    for m in 0..w.len() / (rows * cols) {
        for c in 0..cols {
            let at = |r: usize| m * rows * cols + r * cols + c;
            let dot: f32 = (0..rows).map(|r| g[at(r)] * w[at(r)]).sum();
            if dot < 0.0 {
                (0..rows).for_each(|r| w[at(r)] = -w[at(r)]);
            }
        }
    }
    let data = w.iter().flat_map(|v| v.to_le_bytes()).collect();
    Array::new(want.dtype, want.shape.clone(), data)
}

fn xnn_diffs(reference: &Value) -> Vec<f64> {
    reference["xnnpack_vs_builtin_max_abs_diff"]
        .as_array()
        .map(|v| v.iter().map(|x| x.as_f64().unwrap_or(0.0)).collect())
        .unwrap_or_default()
}

fn classify(e: ferrite::Error) -> Outcome {
    if e.kind() == ErrorKind::Unsupported {
        Outcome::Unsupported(e.to_string())
    } else {
        Outcome::Fail(format!("{:?}: {e}", e.kind()))
    }
}

/// Runs every reference of one model, in order, sharing one interpreter for
/// stateful and signature sequences.
fn run_model(dir: &Path, entry: &Value) -> Outcome {
    let model_path = dir.join(entry["path"].as_str().unwrap_or_default());
    let model = match Model::load(&model_path) {
        Ok(m) => m,
        Err(e) => return Outcome::Fail(format!("load: {e}")),
    };
    let mut shared: Option<Interpreter> = None;
    QUANT_TALLY.lock().unwrap_or_else(|p| p.into_inner()).model =
        entry["name"].as_str().unwrap_or("?").to_string();
    for reference in entry["references"].as_array().into_iter().flatten() {
        let kind = reference["kind"].as_str().unwrap_or("");
        let file = dir.join(reference["file"].as_str().unwrap_or_default());
        let arrays: BTreeMap<String, Array> = match read_npz(&file) {
            Ok(a) => a.into_iter().collect(),
            Err(e) => return Outcome::Fail(format!("{}: {e}", file.display())),
        };
        let sequential = kind == "stateful_invoke" || kind == "signature_step";
        if !sequential || shared.is_none() {
            match Interpreter::new(&model, Options::default()) {
                Ok(i) => shared = Some(i),
                Err(e) => return classify(e),
            }
        }
        let interp = shared.as_mut().expect("interpreter");
        let diffs = xnn_diffs(reference);
        let result = if kind == "signature_step" {
            run_signature(interp, reference, &arrays, &diffs)
        } else {
            let name = entry["name"].as_str().unwrap_or("");
            let sign_free = SIGN_FREE_COLUMNS
                .iter()
                .find(|(m, _)| *m == name)
                .map_or(&[][..], |(_, o)| o);
            run_positional(interp, &arrays, &diffs, sign_free)
        };
        if let Err(outcome) = result {
            return match outcome {
                Outcome::Fail(m) => Outcome::Fail(format!("{}: {m}", file.display())),
                o => o,
            };
        }
    }
    Outcome::Pass
}

fn run_positional(
    interp: &mut Interpreter,
    arrays: &BTreeMap<String, Array>,
    diffs: &[f64],
    sign_free: &[usize],
) -> Result<(), Outcome> {
    for i in 0..interp.inputs().len() {
        let a = arrays
            .get(&format!("input_{i}"))
            .ok_or_else(|| Outcome::Fail(format!("reference lacks input_{i}")))?;
        if interp.inputs()[i].shape != a.shape {
            interp.resize_input(i, &a.shape).map_err(classify)?;
        }
        interp
            .set_input_bytes(i, &input_bytes(a))
            .map_err(classify)?;
    }
    interp.invoke().map_err(classify)?;
    for i in 0..interp.outputs().len() {
        let Some(want) = arrays.get(&format!("output_{i}")) else {
            continue;
        };
        let got = interp.output(i).map_err(classify)?;
        let xnn = arrays.get(&format!("xnnpack_output_{i}"));
        let aligned;
        let want = if sign_free.contains(&i) {
            aligned = align_column_signs(&got, want);
            &aligned
        } else {
            want
        };
        compare(
            &format!("output_{i}"),
            got,
            want,
            (diffs.get(i).copied().unwrap_or(0.0), xnn),
        )
        .map_err(Outcome::Fail)?;
    }
    Ok(())
}

fn run_signature(
    interp: &mut Interpreter,
    reference: &Value,
    arrays: &BTreeMap<String, Array>,
    diffs: &[f64],
) -> Result<(), Outcome> {
    let key = reference["signature"].as_str().unwrap_or("serving_default");
    let mut runner = interp.signature(key).map_err(classify)?;
    for (name, info) in runner.inputs() {
        let a = arrays
            .get(&format!("input_{name}"))
            .ok_or_else(|| Outcome::Fail(format!("reference lacks input_{name}")))?;
        if info.shape != a.shape {
            runner.resize_input(&name, &a.shape).map_err(classify)?;
        }
        runner
            .set_input_bytes(&name, &input_bytes(a))
            .map_err(classify)?;
    }
    runner.invoke().map_err(classify)?;
    let names: Vec<String> = runner.outputs().into_iter().map(|(n, _)| n).collect();
    let listed: Vec<String> = reference["outputs"]
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    for (k, name) in names.iter().enumerate() {
        let Some(want) = arrays.get(&format!("output_{name}")) else {
            continue;
        };
        let pos = listed
            .iter()
            .position(|l| l == &format!("output_{name}"))
            .unwrap_or(k);
        let got = runner.output(name).map_err(classify)?;
        let xnn = arrays.get(&format!("xnnpack_output_{name}"));
        compare(
            &format!("output_{name}"),
            got,
            want,
            (diffs.get(pos).copied().unwrap_or(0.0), xnn),
        )
        .map_err(Outcome::Fail)?;
    }
    Ok(())
}

fn run_manifest(dir: &Path, filter: &str, results: &mut Vec<(String, Outcome)>) {
    let Ok(text) = std::fs::read_to_string(dir.join("manifest.json")) else {
        eprintln!("note: no manifest in {}; skipped", dir.display());
        return;
    };
    let manifest: Value = serde_json::from_str(&text).expect("manifest is JSON");
    for entry in manifest["models"].as_array().into_iter().flatten() {
        let name = entry["name"].as_str().unwrap_or("?").to_string();
        if !name.contains(filter) {
            continue;
        }
        let outcome = run_model(dir, entry);
        results.push((name, outcome));
    }
}

fn expected_passing() -> Vec<String> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance_expected.txt"),
    )
    .unwrap_or_default();
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

#[test]
fn conformance() {
    let filter = std::env::var("FERRITE_CONFORMANCE").unwrap_or_default();
    let mut results = Vec::new();
    run_manifest(&workspace().join("fixtures"), &filter, &mut results);
    run_manifest(&corpus_dir(), &filter, &mut results);
    assert!(!results.is_empty(), "no models ran");
    let (mut pass, mut unsupported, mut fail) = (0, 0, 0);
    for (name, outcome) in &results {
        match outcome {
            Outcome::Pass => {
                pass += 1;
                eprintln!("PASS        {name}");
            }
            Outcome::Unsupported(m) => {
                unsupported += 1;
                eprintln!("UNSUPPORTED {name}: {m}");
            }
            Outcome::Fail(m) => {
                fail += 1;
                eprintln!("FAIL        {name}: {m}");
            }
        }
    }
    eprintln!("conformance: {pass} pass, {unsupported} unsupported, {fail} fail");
    let tally = QUANT_TALLY.lock().unwrap_or_else(|p| p.into_inner());
    eprintln!(
        "integer outputs: {} bit-exact with output_*; {} of {} with an XNNPACK reference also equal xnnpack_output_*",
        tally.outputs, tally.equal_to_xnnpack, tally.with_xnnpack
    );
    for d in &tally.differing {
        eprintln!("  differs from XNNPACK: {d}");
    }
    let missing: Vec<String> = expected_passing()
        .into_iter()
        .filter(|e| results.iter().any(|(n, o)| n == e && *o != Outcome::Pass))
        .collect();
    assert_eq!(fail, 0, "models gave wrong answers or unexpected errors");
    assert!(
        missing.is_empty(),
        "expected to pass but did not: {missing:?}"
    );
}
