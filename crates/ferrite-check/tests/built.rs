//! `check` on models built in code, so every rule is exercised without the
//! corpus.

use ferrite_check::{check, Finding, Severity, Target, TargetReport};
use ferrite_format::build::{le_bytes, ModelBuilder};
use ferrite_format::options::{
    AddOptions, CallOnceOptions, ConcatenationOptions, Conv2DOptions, FullyConnectedOptions,
    HashtableOptions, ReshapeOptions, StridedSliceOptions, VarHandleOptions,
};
use ferrite_format::{BuiltinOptions, Model, Quantization, TensorType};

fn target(name: &str) -> Target {
    Target::builtin(name).unwrap_or_else(|| panic!("no target {name}"))
}

fn run(bytes: &[u8], name: &str) -> TargetReport {
    check(bytes, &[target(name)]).unwrap().remove(0)
}

fn errors<'a>(r: &'a TargetReport, kind: &str) -> Vec<&'a Finding> {
    r.findings
        .iter()
        .filter(|f| f.severity == Severity::Error && f.kind == kind)
        .collect()
}

fn add_options() -> BuiltinOptions {
    BuiltinOptions::AddOptions(AddOptions::default())
}

/// y = x + x over float32 [2, 3] (or the given input shape).
fn add_model(shape: &[i32]) -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let x = b.tensor(sg, "x", TensorType::Float32, shape);
    let y = b.tensor(sg, "y", TensorType::Float32, shape);
    b.op(sg, "ADD", &[x, x], &[y], add_options());
    b.inputs(sg, &[x]);
    b.outputs(sg, &[y]);
    b.finish().unwrap()
}

/// A single builtin op `name` from x to y, with no options.
fn single_op_model(name: &str) -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let x = b.tensor(sg, "x", TensorType::Float32, &[4]);
    let y = b.tensor(sg, "y", TensorType::Float32, &[4]);
    b.op(sg, name, &[x], &[y], BuiltinOptions::None);
    b.inputs(sg, &[x]);
    b.outputs(sg, &[y]);
    b.finish().unwrap()
}

fn custom_model(code: &str) -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let x = b.tensor(sg, "x", TensorType::Float32, &[4]);
    let y = b.tensor(sg, "y", TensorType::Float32, &[4]);
    b.custom_op(sg, code, &[x], &[y], vec![]);
    b.inputs(sg, &[x]);
    b.outputs(sg, &[y]);
    b.finish().unwrap()
}

#[test]
fn registered_ops_pass_on_ferrite() {
    let r = run(&add_model(&[2, 3]), "ferrite");
    assert!(r.runnable, "{:#?}", r.findings);
    assert!(r.findings.is_empty());
}

/// Derived from the registry, so it holds as kernels land.
#[test]
fn an_op_missing_from_the_registry_fails_ferrite_with_its_name() {
    let registered: Vec<&str> = ferrite_kernels::registry::all().map(|r| r.op).collect();
    let missing = (0..)
        .map_while(ferrite_format::builtin_name)
        .find(|n| {
            !registered.contains(n)
                && !ferrite_runtime::INTERPRETER_OPS.contains(n)
                && !["CUSTOM", "DELEGATE", "PLACEHOLDER_FOR_GREATER_OP_CODES"].contains(n)
        })
        .expect("some builtin op has no kernel");
    let r = run(&single_op_model(missing), "ferrite");
    assert!(!r.runnable);
    let e = errors(&r, "unsupported-op");
    assert_eq!(e.len(), 1, "{:#?}", r.findings);
    assert_eq!(e[0].op.as_deref(), Some(missing));
    assert_eq!((e[0].subgraph, e[0].op_index), (Some(0), Some(0)));
    assert!(e[0].message.contains(missing));
    // Planning fails at the same op, which adds no second finding.
    assert_eq!(r.errors(), 1, "{:#?}", r.findings);
}

#[test]
fn planning_errors_the_registry_cannot_see_are_findings() {
    // ADD is registered, but its kernel rejects bool tensors.
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let x = b.tensor(sg, "x", TensorType::Bool, &[2]);
    let y = b.tensor(sg, "y", TensorType::Bool, &[2]);
    b.op(sg, "ADD", &[x, x], &[y], add_options());
    b.inputs(sg, &[x]);
    b.outputs(sg, &[y]);
    let r = run(&b.finish().unwrap(), "ferrite");
    let e = errors(&r, "plan");
    assert_eq!(e.len(), 1, "{:#?}", r.findings);
    assert_eq!(e[0].op.as_deref(), Some("ADD"));
    assert!(run(&b.finish().unwrap(), "litert").runnable);
}

#[test]
fn flex_ops_need_the_delegate() {
    // An op without a native kernel: the note says ferrite lacks it too.
    let m = custom_model("FlexTensorListReserve");
    let r = run(&m, "litert");
    let e = errors(&r, "flex-op");
    assert_eq!(e.len(), 1);
    assert!(e[0].message.contains("TensorListReserve"));
    assert!(e[0].message.contains("ferrite does not run it natively"));
    let native = run(&custom_model("FlexStringSplitV2"), "litert");
    assert!(errors(&native, "flex-op")[0]
        .message
        .contains("ferrite runs it natively"));
    assert!(e[0].fix.contains("litert-flex"));
    let r = run(&m, "litert-flex");
    assert!(r.runnable);
    assert_eq!(r.warnings(), 1);
    for t in ["ferrite", "tflite-micro", "tvm-relax"] {
        assert!(!run(&m, t).runnable, "{t}");
    }
}

#[test]
fn custom_ops_need_registration() {
    let m = custom_model("MyOp");
    let r = run(&m, "litert");
    let e = errors(&r, "custom-op");
    assert_eq!(e.len(), 1);
    assert!(e[0].fix.contains("AddCustom(\"MyOp\""));
    // Detection post-processing is built into LiteRT and mapped by TVM.
    let m = custom_model("TFLite_Detection_PostProcess");
    assert!(run(&m, "litert").runnable);
    assert!(run(&m, "tvm-relax").runnable);
}

#[test]
fn bundled_custom_ops_run_on_ferrite_and_say_what_others_need() {
    for code in [
        "TFLite_Detection_PostProcess",
        "Convolution2DTransposeBias",
        "MaxPoolingWithArgmax2D",
        "MaxUnpooling2D",
    ] {
        let t = target("ferrite");
        assert!(t.ops.custom.iter().any(|c| c == code), "{code}");
        let r = run(&custom_model(code), "ferrite");
        // The op is known; what remains is its kernel checking this toy
        // model's inputs, which is a plan finding, not a custom-op one.
        assert!(
            errors(&r, "custom-op").is_empty(),
            "{code}: {:#?}",
            r.findings
        );
    }
    let r = run(&custom_model("MaxUnpooling2D"), "litert");
    let e = errors(&r, "custom-op");
    assert_eq!(e.len(), 1);
    assert!(
        e[0].fix
            .contains("mediapipe::tflite_operations::RegisterMaxUnpooling2D()"),
        "{}",
        e[0].fix
    );
    let r = run(&custom_model("MaxUnpooling2D"), "tvm-relax");
    assert!(errors(&r, "custom-op")[0]
        .fix
        .contains("Relax frontend rejects custom ops"));
}

#[test]
fn ops_file_is_a_reduced_build() {
    let dir = std::env::temp_dir().join(format!("ferrite-check-ops-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ops.txt");
    std::fs::write(&path, "# my app\nADD 1-2   # only old adds\nMyOp\n").unwrap();
    let t = Target::from_spec(&format!("ops:{}", path.display())).unwrap();
    assert!(check(&add_model(&[2]), std::slice::from_ref(&t)).unwrap()[0].runnable);
    assert!(check(&custom_model("MyOp"), std::slice::from_ref(&t)).unwrap()[0].runnable);
    let r = check(&single_op_model("RELU"), std::slice::from_ref(&t))
        .unwrap()
        .remove(0);
    let e = errors(&r, "unsupported-op");
    assert_eq!(e.len(), 1);
    assert!(e[0].fix.contains("AddBuiltin(BuiltinOperator_RELU"));
    // ADD version 3 is not in 1-2.
    let r = check(&with_version(&add_model(&[2]), 3), &[t])
        .unwrap()
        .remove(0);
    assert_eq!(errors(&r, "op-version").len(), 1, "{:#?}", r.findings);
    assert!(Target::from_spec("ops:/nonexistent/ops.txt").is_err());
    std::fs::write(&path, "ADD 5-1\n").unwrap();
    assert!(Target::from_spec(&format!("ops:{}", path.display())).is_err());
    std::fs::remove_dir_all(&dir).unwrap();
}

fn with_version(bytes: &[u8], version: i32) -> Vec<u8> {
    let mut m = Model::parse(bytes).unwrap();
    for c in &mut m.operator_codes {
        c.version = version;
    }
    m.write().unwrap()
}

#[test]
fn op_versions_are_checked_where_the_runtime_checks_them() {
    let m = with_version(&add_model(&[2]), 99);
    let r = run(&m, "litert");
    let e = errors(&r, "op-version");
    assert_eq!(e.len(), 1);
    assert!(e[0].message.contains("version 99"), "{}", e[0].message);
    // TFLM and TVM match ops by code only.
    assert!(run(&m, "tflite-micro").runnable);
    assert!(run(&m, "tvm-relax").runnable);
}

#[test]
fn unknown_targets_are_errors() {
    assert!(Target::from_spec("tensorrt").is_err());
    for name in ferrite_check::TARGET_NAMES {
        assert!(Target::from_spec(name).is_ok(), "{name}");
    }
}

/// A string -> float32 builtin table: outside what builtin kernels map.
#[test]
fn hash_table_dtype_pairs() {
    let table = |key: TensorType, value: TensorType| {
        let mut b = ModelBuilder::new();
        let sg = b.subgraph("main");
        let h = b.tensor(sg, "table", TensorType::Resource, &[]);
        let opts = HashtableOptions {
            table_id: 7,
            key_dtype: key.code(),
            value_dtype: value.code(),
        };
        b.op(
            sg,
            "HASHTABLE",
            &[],
            &[h],
            BuiltinOptions::HashtableOptions(opts),
        );
        b.outputs(sg, &[h]);
        b.finish().unwrap()
    };
    let bad = table(TensorType::String, TensorType::Float32);
    for t in ["litert", "ferrite", "tvm-relax"] {
        let r = run(&bad, t);
        assert_eq!(
            errors(&r, "hash-table-dtypes").len(),
            1,
            "{t}: {:#?}",
            r.findings
        );
    }
    let good = table(TensorType::String, TensorType::Int64);
    assert!(run(&good, "litert").runnable);
    assert_eq!(errors(&run(&good, "tflite-micro"), "hash-table").len(), 1);
}

/// An accumulator (acc += x, `streaming`) or a setter (v = x) over a
/// variable initialised by CALL_ONCE.
fn variable_model(streaming: bool) -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let main = b.subgraph("main");
    let init = b.subgraph("init");
    let var = || {
        BuiltinOptions::VarHandleOptions(VarHandleOptions {
            container: None,
            shared_name: Some("acc".into()),
        })
    };
    // init: acc = 0
    let h0 = b.tensor(init, "h0", TensorType::Resource, &[]);
    let zero = b.constant(
        init,
        "zero",
        TensorType::Float32,
        &[2],
        le_bytes(&[0f32, 0.0]),
    );
    b.op(init, "VAR_HANDLE", &[], &[h0], var());
    b.op(
        init,
        "ASSIGN_VARIABLE",
        &[h0, zero],
        &[],
        BuiltinOptions::None,
    );
    // main: CALL_ONCE(init); acc = acc + x (or acc = x); return acc
    let x = b.tensor(main, "x", TensorType::Float32, &[2]);
    let h = b.tensor(main, "h", TensorType::Resource, &[]);
    let old = b.tensor(main, "old", TensorType::Float32, &[2]);
    let new = b.tensor(main, "new", TensorType::Float32, &[2]);
    let once = CallOnceOptions {
        init_subgraph_index: init as i32,
    };
    b.op(
        main,
        "CALL_ONCE",
        &[],
        &[],
        BuiltinOptions::CallOnceOptions(once),
    );
    b.op(main, "VAR_HANDLE", &[], &[h], var());
    b.op(main, "READ_VARIABLE", &[h], &[old], BuiltinOptions::None);
    let value = if streaming {
        b.op(main, "ADD", &[old, x], &[new], add_options());
        new
    } else {
        x
    };
    b.op(
        main,
        "ASSIGN_VARIABLE",
        &[h, value],
        &[],
        BuiltinOptions::None,
    );
    b.inputs(main, &[x]);
    b.outputs(main, &[old]);
    b.finish().unwrap()
}

#[test]
fn variables_written_at_run_time() {
    let m = variable_model(true);
    let r = run(&m, "tvm-relax");
    let e = errors(&r, "runtime-assign");
    assert_eq!(e.len(), 1, "{:#?}", r.findings);
    assert_eq!(e[0].op.as_deref(), Some("ASSIGN_VARIABLE"));
    assert!(e[0].message.contains("streaming state"));
    assert!(!e[0].fix.contains("`ferrite freeze`"), "{}", e[0].fix);
    let m = variable_model(false);
    let e = run(&m, "tvm-relax");
    let e = errors(&e, "runtime-assign");
    assert_eq!(e.len(), 1);
    assert!(e[0].fix.contains("`ferrite freeze`"), "{}", e[0].fix);
    // Runtimes with resource variables run both; TFLM with a caveat.
    assert!(run(&m, "litert").runnable);
    assert!(
        run(&m, "ferrite").runnable,
        "{:#?}",
        run(&m, "ferrite").findings
    );
    let r = run(&m, "tflite-micro");
    assert!(r.runnable);
    assert!(r.findings.iter().any(|f| f.kind == "resource-variables"));
}

#[test]
fn dynamic_shapes_and_their_flow() {
    let m = add_model(&[-1, 8]);
    assert!(run(&m, "ferrite").findings.is_empty());
    // LiteRT runs it, after resize_tensor_input when the stored shape
    // cannot be planned: a caveat, not an error.
    for t in ["litert", "litert-flex"] {
        let r = run(&m, t);
        assert!(r.runnable, "{t}");
        assert_eq!(r.warnings(), 1, "{t}: {:#?}", r.findings);
        let f = &r.findings[0];
        assert_eq!(f.kind, "dynamic-shape");
        assert!(f.message.contains("stored shape [1, 8]"), "{}", f.message);
        assert!(f.message.contains("resize_tensor_input"), "{}", f.message);
    }
    for t in ["tflite-micro", "tvm-relax"] {
        let r = run(&m, t);
        assert!(r.runnable, "{t}");
        let f = r
            .findings
            .iter()
            .find(|f| f.kind == "dynamic-shape")
            .unwrap();
        assert_eq!(f.tensor.as_deref(), Some("x"));
        assert!(f.message.contains("[-1, 8]"), "{}", f.message);
        assert!(f.message.contains("outputs 'y'"), "{}", f.message);
        assert!(
            f.fix.contains("ferrite freeze --input-shape x=N,8"),
            "{}",
            f.fix
        );
    }
}

#[test]
fn data_dependent_shapes_fail_static_runtimes() {
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let x = b.tensor(sg, "x", TensorType::Float32, &[4]);
    let y = b.tensor(sg, "y", TensorType::Float32, &[-1]);
    b.op(sg, "ADD", &[x, x], &[y], add_options());
    b.inputs(sg, &[x]);
    b.outputs(sg, &[y]);
    let m = b.finish().unwrap();
    assert_eq!(errors(&run(&m, "tflite-micro"), "dynamic-tensor").len(), 1);
    assert!(run(&m, "litert").runnable);
}

/// FULLY_CONNECTED with float input and int8 quantized weights.
#[test]
fn dynamic_range_quantization() {
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let x = b.tensor(sg, "x", TensorType::Float32, &[1, 2]);
    let w = b.constant(sg, "w", TensorType::Int8, &[3, 2], vec![1, 2, 3, 4, 5, 6]);
    b.tensor_mut(sg, w).quantization = Some(Quantization {
        scale: Some(vec![0.5]),
        zero_point: Some(vec![0]),
        ..Default::default()
    });
    let y = b.tensor(sg, "y", TensorType::Float32, &[1, 3]);
    let opts = BuiltinOptions::FullyConnectedOptions(FullyConnectedOptions::default());
    b.op(sg, "FULLY_CONNECTED", &[x, w, -1], &[y], opts);
    b.inputs(sg, &[x]);
    b.outputs(sg, &[y]);
    let m = b.finish().unwrap();
    assert!(run(&m, "litert").runnable);
    for t in ["tflite-micro", "tvm-relax"] {
        let r = run(&m, t);
        assert_eq!(
            errors(&r, "dynamic-range").len(),
            1,
            "{t}: {:#?}",
            r.findings
        );
    }
}

#[test]
fn string_tensors() {
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let x = b.tensor(sg, "text", TensorType::String, &[2]);
    let y = b.tensor(sg, "shape", TensorType::Int32, &[1]);
    b.op(sg, "SHAPE", &[x], &[y], BuiltinOptions::None);
    b.inputs(sg, &[x]);
    b.outputs(sg, &[y]);
    let m = b.finish().unwrap();
    assert!(run(&m, "litert").runnable);
    for t in ["tflite-micro", "tvm-relax"] {
        let r = run(&m, t);
        let e = errors(&r, "string-tensor");
        assert_eq!(e.len(), 1, "{t}");
        assert_eq!(e[0].tensor.as_deref(), Some("text"));
        assert_eq!(e[0].op_index, None);
    }
}

#[test]
fn unsupported_control_flow_names_its_subgraphs() {
    let mut b = ModelBuilder::new();
    let main = b.subgraph("main");
    let init = b.subgraph("init");
    let _ = init;
    let once = CallOnceOptions {
        init_subgraph_index: 1,
    };
    b.op(
        main,
        "CALL_ONCE",
        &[],
        &[],
        BuiltinOptions::CallOnceOptions(once),
    );
    let m = b.finish().unwrap();
    let dir = std::env::temp_dir().join(format!("ferrite-check-cf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ops.txt");
    std::fs::write(&path, "ADD\n").unwrap();
    let t = Target::from_spec(&format!("ops:{}", path.display())).unwrap();
    let r = check(&m, &[t]).unwrap().remove(0);
    let e = errors(&r, "unsupported-op");
    assert!(e[0].message.contains("init subgraph 1"), "{}", e[0].message);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn malformed_models_are_errors_not_findings() {
    assert!(check(b"not a model", &[target("litert")]).is_err());
}

fn quantize(b: &mut ModelBuilder, sg: usize, t: i32, scale: Vec<f32>, zero: Vec<i64>, dim: i32) {
    b.tensor_mut(sg, t).quantization = Some(Quantization {
        scale: Some(scale),
        zero_point: Some(zero),
        quantized_dimension: dim,
        ..Default::default()
    });
}

const STATES: usize = 6;

/// A full-integer streaming keyword spotter as the converter writes one:
/// int8 input [1, 3, 40], a per-channel int8 1x1 CONV_2D, then six
/// streaming stages, each keeping the last two frames in an int8 variable
/// (initialised to zeros by CALL_ONCE): 12 VAR_HANDLE, 6 READ_VARIABLE,
/// 12 ASSIGN_VARIABLE.
fn streaming_kws_model() -> Vec<u8> {
    const C: i32 = 40;
    let (scale, zero) = (0.05f32, -3i64);
    let mut b = ModelBuilder::new();
    let main = b.subgraph("main");
    let init = b.subgraph("init");
    let var = |k: usize| {
        BuiltinOptions::VarHandleOptions(VarHandleOptions {
            container: None,
            shared_name: Some(format!("stream_{k}")),
        })
    };
    for k in 0..STATES {
        let h = b.tensor(init, &format!("h{k}"), TensorType::Resource, &[]);
        let zeros = vec![zero as i8 as u8; 2 * C as usize];
        let z = b.constant(
            init,
            &format!("zeros{k}"),
            TensorType::Int8,
            &[1, 2, C],
            zeros,
        );
        quantize(&mut b, init, z, vec![scale], vec![zero], 0);
        b.op(init, "VAR_HANDLE", &[], &[h], var(k));
        b.op(init, "ASSIGN_VARIABLE", &[h, z], &[], BuiltinOptions::None);
    }
    let act = |b: &mut ModelBuilder, name: &str, shape: &[i32]| {
        let t = b.tensor(main, name, TensorType::Int8, shape);
        quantize(b, main, t, vec![scale], vec![zero], 0);
        t
    };
    let x = act(&mut b, "x", &[1, 3, C]);
    let once = CallOnceOptions {
        init_subgraph_index: init as i32,
    };
    b.op(
        main,
        "CALL_ONCE",
        &[],
        &[],
        BuiltinOptions::CallOnceOptions(once),
    );
    let reshape = |b: &mut ModelBuilder, from: i32, to: i32, shape: &[i32]| {
        let opts = ReshapeOptions {
            new_shape: Some(shape.to_vec()),
        };
        b.op(
            main,
            "RESHAPE",
            &[from],
            &[to],
            BuiltinOptions::ReshapeOptions(opts),
        );
    };
    let x4 = act(&mut b, "x4", &[1, 3, 1, C]);
    reshape(&mut b, x, x4, &[1, 3, 1, C]);
    let w: Vec<u8> = (0..C * C)
        .map(|i| ((i * 7) % 23 - 11) as i8 as u8)
        .collect();
    let w = b.constant(main, "w", TensorType::Int8, &[C, 1, 1, C], w);
    let scales: Vec<f32> = (0..C).map(|c| 0.002 + 0.0001 * c as f32).collect();
    let bias_scales: Vec<f32> = scales.iter().map(|s| s * scale).collect();
    quantize(&mut b, main, w, scales, vec![0; C as usize], 0);
    let bias = b.constant(main, "bias", TensorType::Int32, &[C], le_bytes(&[0i32; 40]));
    quantize(&mut b, main, bias, bias_scales, vec![0; C as usize], 0);
    let y4 = act(&mut b, "y4", &[1, 3, 1, C]);
    let conv = Conv2DOptions {
        stride_w: 1,
        stride_h: 1,
        ..Default::default()
    };
    b.op(
        main,
        "CONV_2D",
        &[x4, w, bias],
        &[y4],
        BuiltinOptions::Conv2DOptions(conv),
    );
    let mut h = act(&mut b, "y", &[1, 3, C]);
    reshape(&mut b, y4, h, &[1, 3, C]);
    let ints = |b: &mut ModelBuilder, name: &str, v: [i32; 3]| {
        b.constant(main, name, TensorType::Int32, &[3], le_bytes(&v))
    };
    let slice = |b: &mut ModelBuilder, from: i32, to: i32, begin: i32, end: i32, k: usize| {
        let bg = ints(b, &format!("begin{k}_{begin}"), [0, begin, 0]);
        let en = ints(b, &format!("end{k}_{begin}"), [1, end, C]);
        let st = ints(b, &format!("strides{k}_{begin}"), [1, 1, 1]);
        let opts = StridedSliceOptions::default();
        b.op(
            main,
            "STRIDED_SLICE",
            &[from, bg, en, st],
            &[to],
            BuiltinOptions::StridedSliceOptions(opts),
        );
    };
    for k in 0..STATES {
        let handle = b.tensor(main, &format!("h{k}"), TensorType::Resource, &[]);
        b.op(main, "VAR_HANDLE", &[], &[handle], var(k));
        let old = act(&mut b, &format!("old{k}"), &[1, 2, C]);
        b.op(
            main,
            "READ_VARIABLE",
            &[handle],
            &[old],
            BuiltinOptions::None,
        );
        let cat = act(&mut b, &format!("cat{k}"), &[1, 5, C]);
        let opts = ConcatenationOptions {
            axis: 1,
            ..Default::default()
        };
        b.op(
            main,
            "CONCATENATION",
            &[old, h],
            &[cat],
            BuiltinOptions::ConcatenationOptions(opts),
        );
        let new = act(&mut b, &format!("new{k}"), &[1, 2, C]);
        slice(&mut b, cat, new, 3, 5, k);
        b.op(
            main,
            "ASSIGN_VARIABLE",
            &[handle, new],
            &[],
            BuiltinOptions::None,
        );
        let next = act(&mut b, &format!("out{k}"), &[1, 3, C]);
        slice(&mut b, cat, next, 0, 3, k);
        h = next;
    }
    b.inputs(main, &[x]);
    b.outputs(main, &[h]);
    b.finish().unwrap()
}

/// Resource handles and data movement are never hybrid: the streaming
/// model runs on tflite-micro (with the resource-variable caveat), and the
/// hybrid FULLY_CONNECTED still fails there.
#[test]
fn full_integer_streaming_model_is_not_hybrid() {
    let m = streaming_kws_model();
    let parsed = Model::parse(&m).unwrap();
    let count = |name: &str| {
        parsed
            .subgraphs
            .iter()
            .flat_map(|sg| &sg.operators)
            .filter(|op| parsed.operator_codes[op.opcode_index as usize].display_name() == name)
            .count()
    };
    assert_eq!(
        [
            count("VAR_HANDLE"),
            count("READ_VARIABLE"),
            count("ASSIGN_VARIABLE")
        ],
        [12, 6, 12]
    );
    let r = run(&m, "tflite-micro");
    assert!(r.runnable, "{:#?}", r.findings);
    assert!(r.findings.iter().all(|f| f.kind == "resource-variables"));
    for t in ["litert", "litert-flex", "ferrite"] {
        let r = run(&m, t);
        assert!(r.runnable, "{t}: {:#?}", r.findings);
    }
    // TVM imports variables only as CALL_ONCE constants, and its importer
    // heuristic takes ASSIGN_VARIABLE of an int8 value for a hybrid op.
    let r = run(&m, "tvm-relax");
    assert_eq!(
        errors(&r, "runtime-assign").len(),
        STATES,
        "{:#?}",
        r.findings
    );
    assert!(errors(&r, "dynamic-range")
        .iter()
        .all(|f| f.op.as_deref() == Some("ASSIGN_VARIABLE") && f.message.contains("importer")));
    // Ferrite plans and invokes it, twice on the same state.
    let model = ferrite::Model::from_bytes(m.clone()).unwrap();
    let mut interp = ferrite::Interpreter::new(&model, ferrite::Options::default()).unwrap();
    interp.set_input(0, &[5i8; 120]).unwrap();
    interp.invoke().unwrap();
    interp.invoke().unwrap();
    assert_eq!(interp.output_as::<i8>(0).unwrap().len(), 120);
}
