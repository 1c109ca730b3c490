//! Interpreter tests on small built models: planning deferred past default
//! shapes, and control flow whose subgraphs return their inputs.

use std::sync::Arc;

use ferrite_format::build::{le_bytes, ModelBuilder};
use ferrite_format::options::*;
use ferrite_format::{Model, ModelBytes, TensorType as T};
use ferrite_graph::Graph;

use crate::{ErrorKind, Interpreter, Options};

fn interpreter(b: &ModelBuilder) -> crate::Result<Interpreter> {
    let bytes = b.finish().unwrap();
    let model = Model::parse(&bytes).unwrap();
    let graph = Graph::build(&model, Arc::new(ModelBytes::from(bytes.to_vec()))).unwrap();
    Interpreter::new(Arc::new(graph), Options::default())
}

fn f32s(data: &[f32]) -> Vec<u8> {
    le_bytes(data)
}

fn output(interp: &Interpreter, s: usize, t: i32) -> (Vec<usize>, Vec<f32>) {
    let v = interp.tensor(s, t as usize).unwrap();
    let values = v
        .data
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (v.shape.to_vec(), values)
}

/// x -> RESHAPE to [2, 2]: needs four elements, which x's default shape
/// [1, 1] does not have when `shape` is dynamic.
fn reshape_model(shape: &[i32]) -> (ModelBuilder, i32, i32) {
    let mut b = ModelBuilder::new();
    let g = b.subgraph("main");
    let x = b.tensor(g, "x", T::Float32, shape);
    let new_shape = b.constant(g, "shape", T::Int32, &[2], le_bytes(&[2i32, 2]));
    let y = b.tensor(g, "y", T::Float32, &[2, 2]);
    let opts = BuiltinOptions::ReshapeOptions(ReshapeOptions { new_shape: None });
    b.op(g, "RESHAPE", &[x, new_shape], &[y], opts);
    b.inputs(g, &[x]);
    b.outputs(g, &[y]);
    (b, x, y)
}

#[test]
fn fixed_shapes_that_cannot_be_planned_fail_at_construction() {
    let (b, _, _) = reshape_model(&[1, 3]);
    let e = interpreter(&b).err().expect("planning fails");
    assert_eq!(e.location.op.as_deref(), Some("RESHAPE"));
}

#[test]
fn resizable_inputs_are_planned_at_the_first_run() {
    let (b, x, y) = reshape_model(&[-1, -1]);
    let mut interp = interpreter(&b).unwrap();
    let x = x as usize;
    interp.set_tensor_data(0, x, &f32s(&[1.0])).unwrap();
    let e = interp.run_subgraph(0).unwrap_err();
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    assert_eq!(e.location.op.as_deref(), Some("RESHAPE"));
    assert!(e.message.contains("needs a resize"), "{e}");
    assert!(e.message.contains("'x' [1, 1]"), "{e}");
    interp.resize_tensor(0, x, &[1, 4]).unwrap();
    interp
        .set_tensor_data(0, x, &f32s(&[1.0, 2.0, 3.0, 4.0]))
        .unwrap();
    interp.run_subgraph(0).unwrap();
    assert_eq!(
        output(&interp, 0, y),
        (vec![2, 2], vec![1.0, 2.0, 3.0, 4.0])
    );
}

/// main: (a, b) = IF(flag, x); then: (x + x, x * x); else: (x, x) with no op.
#[test]
fn if_branch_returns_its_input_twice() {
    let mut b = ModelBuilder::new();
    let main = b.subgraph("main");
    let then_g = b.subgraph("then");
    let else_g = b.subgraph("else");
    let flag = b.tensor(main, "flag", T::Bool, &[]);
    let x = b.tensor(main, "x", T::Float32, &[2]);
    let (oa, ob) = (
        b.tensor(main, "a", T::Float32, &[2]),
        b.tensor(main, "b", T::Float32, &[2]),
    );
    let opts = IfOptions {
        then_subgraph_index: then_g as i32,
        else_subgraph_index: else_g as i32,
    };
    b.op(
        main,
        "IF",
        &[flag, x],
        &[oa, ob],
        BuiltinOptions::IfOptions(opts),
    );
    b.inputs(main, &[flag, x]);
    b.outputs(main, &[oa, ob]);
    let tx = b.tensor(then_g, "x", T::Float32, &[2]);
    let (ta, tb) = (
        b.tensor(then_g, "a", T::Float32, &[2]),
        b.tensor(then_g, "b", T::Float32, &[2]),
    );
    b.op(
        then_g,
        "ADD",
        &[tx, tx],
        &[ta],
        BuiltinOptions::AddOptions(AddOptions::default()),
    );
    b.op(
        then_g,
        "MUL",
        &[tx, tx],
        &[tb],
        BuiltinOptions::MulOptions(MulOptions::default()),
    );
    b.inputs(then_g, &[tx]);
    b.outputs(then_g, &[ta, tb]);
    let ex = b.tensor(else_g, "x", T::Float32, &[2]);
    b.inputs(else_g, &[ex]);
    b.outputs(else_g, &[ex, ex]);
    let mut interp = interpreter(&b).unwrap();
    for (taken, want) in [
        (1u8, [[6.0, 8.0], [9.0, 16.0]]),
        (0, [[3.0, 4.0], [3.0, 4.0]]),
    ] {
        interp.set_tensor_data(0, flag as usize, &[taken]).unwrap();
        interp
            .set_tensor_data(0, x as usize, &f32s(&[3.0, 4.0]))
            .unwrap();
        interp.run_subgraph(0).unwrap();
        assert_eq!(output(&interp, 0, oa).1, want[0]);
        assert_eq!(output(&interp, 0, ob).1, want[1]);
    }
}

/// (go, i, y) = WHILE(go0, i0, y0): cond returns `go` with no op; the body
/// sets go = i + 1 < 3, i = i + 1 and runs an IF whose zero-op else branch
/// passes y through unchanged, so y only ever changes in the then branch
/// (taken while go stays true).
#[test]
fn while_cond_and_nested_branch_return_their_inputs() {
    let mut b = ModelBuilder::new();
    let main = b.subgraph("main");
    let cond_g = b.subgraph("cond");
    let body_g = b.subgraph("body");
    let then_g = b.subgraph("then");
    let else_g = b.subgraph("else");
    let state = |b: &mut ModelBuilder, g: usize| {
        [
            b.tensor(g, "go", T::Bool, &[]),
            b.tensor(g, "i", T::Int32, &[]),
            b.tensor(g, "y", T::Float32, &[2]),
        ]
    };
    let ins = state(&mut b, main);
    let outs = state(&mut b, main);
    let opts = WhileOptions {
        cond_subgraph_index: cond_g as i32,
        body_subgraph_index: body_g as i32,
    };
    b.op(
        main,
        "WHILE",
        &ins,
        &outs,
        BuiltinOptions::WhileOptions(opts),
    );
    b.inputs(main, &ins);
    b.outputs(main, &outs);
    let c = state(&mut b, cond_g);
    b.inputs(cond_g, &c);
    b.outputs(cond_g, &[c[0]]);
    let [_, i, y] = state(&mut b, body_g);
    let go_in = b.tensor(body_g, "go_in", T::Bool, &[]);
    let one = b.constant(body_g, "one", T::Int32, &[], le_bytes(&[1i32]));
    let three = b.constant(body_g, "three", T::Int32, &[], le_bytes(&[3i32]));
    let i1 = b.tensor(body_g, "i1", T::Int32, &[]);
    let go = b.tensor(body_g, "go", T::Bool, &[]);
    let y1 = b.tensor(body_g, "y1", T::Float32, &[2]);
    b.op(
        body_g,
        "ADD",
        &[i, one],
        &[i1],
        BuiltinOptions::AddOptions(AddOptions::default()),
    );
    b.op(
        body_g,
        "LESS",
        &[i1, three],
        &[go],
        BuiltinOptions::LessOptions(LessOptions {}),
    );
    let opts = IfOptions {
        then_subgraph_index: then_g as i32,
        else_subgraph_index: else_g as i32,
    };
    b.op(
        body_g,
        "IF",
        &[go, y],
        &[y1],
        BuiltinOptions::IfOptions(opts),
    );
    b.inputs(body_g, &[go_in, i, y]);
    b.outputs(body_g, &[go, i1, y1]);
    let ty = b.tensor(then_g, "y", T::Float32, &[2]);
    let ty2 = b.tensor(then_g, "y2", T::Float32, &[2]);
    b.op(
        then_g,
        "ADD",
        &[ty, ty],
        &[ty2],
        BuiltinOptions::AddOptions(AddOptions::default()),
    );
    b.inputs(then_g, &[ty]);
    b.outputs(then_g, &[ty2]);
    let ey = b.tensor(else_g, "y", T::Float32, &[2]);
    b.inputs(else_g, &[ey]);
    b.outputs(else_g, &[ey]);
    let mut interp = interpreter(&b).unwrap();
    // go=false: no iteration, everything passes through the WHILE.
    // go=true: iterations at i=0,1,2; the IF doubles y at i=0 and 1 only.
    for (go0, want_i, want_y) in [(0u8, 0, [1.0, -2.0]), (1, 3, [4.0, -8.0])] {
        interp.set_tensor_data(0, ins[0] as usize, &[go0]).unwrap();
        interp
            .set_tensor_data(0, ins[1] as usize, &le_bytes(&[0i32]))
            .unwrap();
        interp
            .set_tensor_data(0, ins[2] as usize, &f32s(&[1.0, -2.0]))
            .unwrap();
        interp.run_subgraph(0).unwrap();
        let i = interp.tensor(0, outs[1] as usize).unwrap();
        assert_eq!(i.data, le_bytes(&[want_i]));
        assert_eq!(output(&interp, 0, outs[2]).1, want_y);
        assert_eq!(interp.tensor(0, outs[0] as usize).unwrap().data, [0]);
    }
}

/// A kernel that writes its own input is refused when planned, in a loop
/// body as anywhere else (its output buffer is taken before it reads).
#[test]
fn an_op_writing_its_own_input_is_refused() {
    let mut b = ModelBuilder::new();
    let g = b.subgraph("main");
    let x = b.tensor(g, "x", T::Float32, &[2]);
    b.op(
        g,
        "ADD",
        &[x, x],
        &[x],
        BuiltinOptions::AddOptions(AddOptions::default()),
    );
    b.inputs(g, &[x]);
    b.outputs(g, &[x]);
    let e = interpreter(&b).err().expect("refused");
    assert_eq!(e.kind, ErrorKind::InvalidInput);
    assert_eq!(e.location.tensor.as_deref(), Some("x"));
}
