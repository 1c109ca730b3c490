//! Rules of stateful execution, on models assembled with the writer:
//! builtin hash tables, resource variables, CALL_ONCE and WHILE.

use ferrite::{DType, ErrorKind, Interpreter, Model, Options};
use ferrite_format::build::{le_bytes, ModelBuilder};
use ferrite_format::options::*;
use ferrite_format::TensorType as T;

fn strings(v: &[&str]) -> Vec<u8> {
    ferrite_kernels::strings::encode(v)
}

fn load(b: &ModelBuilder) -> Model {
    Model::from_bytes(b.finish().expect("writes")).expect("loads")
}

fn output_strings(interp: &Interpreter, i: usize) -> Vec<String> {
    let view = interp.output(i).unwrap();
    ferrite::strings_of(&view)
        .unwrap()
        .into_iter()
        .map(|s| String::from_utf8_lossy(s).into_owned())
        .collect()
}

/// HASHTABLE(id 7, int64->string) with two imports, then FIND and SIZE.
fn table_model(second_import: bool) -> ModelBuilder {
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let keys = b.tensor(sg, "keys", T::Int64, &[3]);
    let handle = b.tensor(sg, "table", T::Resource, &[]);
    let k1 = b.constant(sg, "k1", T::Int64, &[2], le_bytes(&[1i64, 2]));
    let v1 = b.constant(sg, "v1", T::String, &[2], strings(&["one", "two"]));
    let k2 = b.constant(sg, "k2", T::Int64, &[2], le_bytes(&[1i64, 3]));
    let v2 = b.constant(sg, "v2", T::String, &[2], strings(&["uno", "tres"]));
    let default = b.constant(sg, "default", T::String, &[], strings(&["?"]));
    let found = b.tensor(sg, "found", T::String, &[3]);
    let size = b.tensor(sg, "size", T::Int64, &[1]);
    let opts = HashtableOptions {
        table_id: 7,
        key_dtype: T::Int64.code(),
        value_dtype: T::String.code(),
    };
    b.op(
        sg,
        "HASHTABLE",
        &[],
        &[handle],
        BuiltinOptions::HashtableOptions(opts),
    );
    b.op(
        sg,
        "HASHTABLE_IMPORT",
        &[handle, k1, v1],
        &[],
        BuiltinOptions::None,
    );
    if second_import {
        b.op(
            sg,
            "HASHTABLE_IMPORT",
            &[handle, k2, v2],
            &[],
            BuiltinOptions::None,
        );
    }
    b.op(
        sg,
        "HASHTABLE_FIND",
        &[handle, keys, default],
        &[found],
        BuiltinOptions::None,
    );
    b.op(
        sg,
        "HASHTABLE_SIZE",
        &[handle],
        &[size],
        BuiltinOptions::None,
    );
    b.inputs(sg, &[keys]);
    b.outputs(sg, &[found, size]);
    b
}

#[test]
fn hashtable_first_import_wins_and_absent_keys_get_the_default() {
    let model = load(&table_model(true));
    let mut interp = Interpreter::new(&model, Options::default()).unwrap();
    interp.set_input(0, &[1i64, 3, 2]).unwrap();
    interp.invoke().unwrap();
    // Key 1 keeps "one" from the first import; 3 only came in the ignored
    // second import, so it is absent.
    assert_eq!(output_strings(&interp, 0), ["one", "?", "two"]);
    assert_eq!(interp.output_as::<i64>(1).unwrap(), &[2]);
    assert_eq!(interp.output(1).unwrap().shape, &[1]);
}

#[test]
fn hashtable_find_keeps_the_query_shape() {
    let mut b = table_model(false);
    // Re-declare the query as [3] -> resize to [1, 3].
    b.tensor_mut(0, 0).shape_signature = Some(vec![-1, 3]);
    b.tensor_mut(0, 0).shape = Some(vec![1, 3]);
    b.tensor_mut(0, 7).shape = Some(vec![1, 3]);
    let model = load(&b);
    let mut interp = Interpreter::new(&model, Options::default()).unwrap();
    interp.resize_input(0, &[2, 3]).unwrap();
    interp.set_input(0, &[1i64, 2, 9, 9, 2, 1]).unwrap();
    interp.invoke().unwrap();
    assert_eq!(interp.output(0).unwrap().shape, &[2, 3]);
    assert_eq!(
        output_strings(&interp, 0),
        ["one", "two", "?", "?", "two", "one"]
    );
}

#[test]
fn hashtable_rejects_dtype_pairs_litert_does_not_have() {
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let handle = b.tensor(sg, "table", T::Resource, &[]);
    let opts = HashtableOptions {
        table_id: 1,
        key_dtype: T::Int32.code(),
        value_dtype: T::Float32.code(),
    };
    b.op(
        sg,
        "HASHTABLE",
        &[],
        &[handle],
        BuiltinOptions::HashtableOptions(opts),
    );
    b.outputs(sg, &[handle]);
    let err = Interpreter::new(&load(&b), Options::default())
        .err()
        .expect("plan fails");
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    let msg = err.to_string();
    assert!(
        msg.contains("HASHTABLE") && msg.contains("INT32") && msg.contains("FLOAT32"),
        "{msg}"
    );
}

fn var_handle(b: &mut ModelBuilder, sg: usize) -> i32 {
    let h = b.tensor(sg, "handle", T::Resource, &[]);
    let opts = VarHandleOptions {
        container: Some("".into()),
        shared_name: Some("counter".into()),
    };
    b.op(
        sg,
        "VAR_HANDLE",
        &[],
        &[h],
        BuiltinOptions::VarHandleOptions(opts),
    );
    h
}

#[test]
fn reading_a_variable_before_any_assignment_is_a_state_error() {
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let h = var_handle(&mut b, sg);
    let v = b.tensor(sg, "value", T::Float32, &[1]);
    b.op(sg, "READ_VARIABLE", &[h], &[v], BuiltinOptions::None);
    b.outputs(sg, &[v]);
    let mut interp = Interpreter::new(&load(&b), Options::default()).unwrap();
    let err = interp.invoke().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::State);
    let loc = err.location();
    assert_eq!(
        (loc.subgraph, loc.op_index, loc.op.as_deref()),
        (Some(0), Some(1), Some("READ_VARIABLE"))
    );
}

/// main: CALL_ONCE(init: counter = 0); counter += x; output counter.
/// A second signature "set" writes the counter directly.
fn counter_model() -> ModelBuilder {
    let mut b = ModelBuilder::new();
    let main = b.subgraph("main");
    let init = b.subgraph("init");
    let set = b.subgraph("set");
    let h0 = var_handle(&mut b, init);
    let zero = b.constant(init, "zero", T::Float32, &[1], le_bytes(&[0f32]));
    b.op(
        init,
        "ASSIGN_VARIABLE",
        &[h0, zero],
        &[],
        BuiltinOptions::None,
    );

    let x = b.tensor(main, "x", T::Float32, &[1]);
    b.op(
        main,
        "CALL_ONCE",
        &[],
        &[],
        BuiltinOptions::CallOnceOptions(CallOnceOptions {
            init_subgraph_index: 1,
        }),
    );
    let h = var_handle(&mut b, main);
    let old = b.tensor(main, "old", T::Float32, &[1]);
    let new = b.tensor(main, "new", T::Float32, &[1]);
    b.op(main, "READ_VARIABLE", &[h], &[old], BuiltinOptions::None);
    b.op(
        main,
        "ADD",
        &[old, x],
        &[new],
        BuiltinOptions::AddOptions(AddOptions::default()),
    );
    b.op(
        main,
        "ASSIGN_VARIABLE",
        &[h, new],
        &[],
        BuiltinOptions::None,
    );
    b.inputs(main, &[x]);
    b.outputs(main, &[new]);

    let value = b.tensor(set, "value", T::Float32, &[1]);
    b.op(
        set,
        "CALL_ONCE",
        &[],
        &[],
        BuiltinOptions::CallOnceOptions(CallOnceOptions {
            init_subgraph_index: 1,
        }),
    );
    let hs = var_handle(&mut b, set);
    b.op(
        set,
        "ASSIGN_VARIABLE",
        &[hs, value],
        &[],
        BuiltinOptions::None,
    );
    b.inputs(set, &[value]);
    b.signature("step", main, &[("x", x)], &[("total", new)]);
    b.signature("set", set, &[("value", value)], &[]);
    b
}

#[test]
fn variables_persist_across_invokes_and_signatures_and_reset() {
    let model = load(&counter_model());
    let mut interp = Interpreter::new(&model, Options::default()).unwrap();
    let mut totals = Vec::new();
    for _ in 0..3 {
        interp.set_input(0, &[1.5f32]).unwrap();
        interp.invoke().unwrap();
        totals.push(interp.output_as::<f32>(0).unwrap()[0]);
    }
    assert_eq!(totals, [1.5, 3.0, 4.5]);
    {
        let mut set = interp.signature("set").unwrap();
        set.set_input("value", &[100f32]).unwrap();
        set.invoke().unwrap();
    }
    let mut step = interp.signature("step").unwrap();
    step.set_input("x", &[1f32]).unwrap();
    step.invoke().unwrap();
    assert_eq!(step.output_as::<f32>("total").unwrap(), &[101.0]);
    interp.reset_state();
    interp.set_input(0, &[2f32]).unwrap();
    interp.invoke().unwrap();
    assert_eq!(
        interp.output_as::<f32>(0).unwrap(),
        &[2.0],
        "CALL_ONCE runs again after reset"
    );
}

#[test]
fn call_once_init_with_inputs_is_rejected_at_plan_time() {
    let mut b = ModelBuilder::new();
    let main = b.subgraph("main");
    let init = b.subgraph("init");
    let t = b.tensor(init, "in", T::Float32, &[1]);
    b.inputs(init, &[t]);
    b.op(
        main,
        "CALL_ONCE",
        &[],
        &[],
        BuiltinOptions::CallOnceOptions(CallOnceOptions {
            init_subgraph_index: 1,
        }),
    );
    let err = Interpreter::new(&load(&b), Options::default())
        .err()
        .expect("plan fails");
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("CALL_ONCE"), "{err}");
}

/// while (i < n) i = i + 1; output i.
fn counting_loop() -> ModelBuilder {
    let mut b = ModelBuilder::new();
    let main = b.subgraph("main");
    let cond = b.subgraph("cond");
    let body = b.subgraph("body");
    let n = b.tensor(main, "n", T::Int32, &[]);
    let i0 = b.constant(main, "i0", T::Int32, &[], le_bytes(&[0i32]));
    let i_out = b.tensor(main, "i_out", T::Int32, &[]);
    let n_out = b.tensor(main, "n_out", T::Int32, &[]);
    let opts = WhileOptions {
        cond_subgraph_index: 1,
        body_subgraph_index: 2,
    };
    b.op(
        main,
        "WHILE",
        &[i0, n],
        &[i_out, n_out],
        BuiltinOptions::WhileOptions(opts),
    );
    b.inputs(main, &[n]);
    b.outputs(main, &[i_out]);

    let ci = b.tensor(cond, "i", T::Int32, &[]);
    let cn = b.tensor(cond, "n", T::Int32, &[]);
    let go = b.tensor(cond, "go", T::Bool, &[]);
    b.op(
        cond,
        "LESS",
        &[ci, cn],
        &[go],
        BuiltinOptions::LessOptions(LessOptions {}),
    );
    b.inputs(cond, &[ci, cn]);
    b.outputs(cond, &[go]);

    let bi = b.tensor(body, "i", T::Int32, &[]);
    let bn = b.tensor(body, "n", T::Int32, &[]);
    let one = b.constant(body, "one", T::Int32, &[], le_bytes(&[1i32]));
    let next = b.tensor(body, "next", T::Int32, &[]);
    b.op(
        body,
        "ADD",
        &[bi, one],
        &[next],
        BuiltinOptions::AddOptions(AddOptions::default()),
    );
    b.inputs(body, &[bi, bn]);
    b.outputs(body, &[next, bn]);
    b
}

#[test]
fn while_loops_run_and_stop_at_the_iteration_cap() {
    let model = load(&counting_loop());
    let mut interp = Interpreter::new(&model, Options::default()).unwrap();
    interp.set_input(0, &[25i32]).unwrap();
    interp.invoke().unwrap();
    assert_eq!(interp.output_as::<i32>(0).unwrap(), &[25]);
    let capped = Options {
        max_loop_iterations: 10,
        ..Options::default()
    };
    let mut interp = Interpreter::new(&model, capped).unwrap();
    interp.set_input(0, &[1_000_000i32]).unwrap();
    let err = interp.invoke().unwrap_err();
    assert_eq!(err.kind(), ErrorKind::LimitExceeded, "{err}");
    assert!(err.to_string().contains("WHILE"), "{err}");
}

/// Current resident set size of this process in bytes.
fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

#[test]
fn ten_thousand_stateful_invokes_keep_memory_flat() {
    let model = load(&counter_model());
    let mut interp = Interpreter::new(&model, Options::default()).unwrap();
    let run = |interp: &mut Interpreter, n: usize| {
        for _ in 0..n {
            interp.set_input(0, &[1f32]).unwrap();
            interp.invoke().unwrap();
        }
    };
    run(&mut interp, 1_000);
    let before = rss_bytes();
    run(&mut interp, 10_000);
    let after = rss_bytes();
    assert_eq!(interp.output_as::<f32>(0).unwrap(), &[11_000.0]);
    assert_eq!(interp.inputs()[0].dtype, DType::Float32);
    assert!(
        after <= before + (1 << 20),
        "RSS grew from {before} to {after} bytes over 10,000 invokes"
    );
}
