//! Small models with resource variables, built in code for tests and for
//! the committed fixtures under `fixtures/freeze/` (TensorFlow's converter
//! folds variables that are only read, so it cannot make them).

use ferrite_format::build::{le_bytes, ModelBuilder};
use ferrite_format::options::{
    AddOptions, AssignVariableOptions, CallOnceOptions, DivOptions, MulOptions,
    ReadVariableOptions, ReshapeOptions, SubOptions, VarHandleOptions,
};
use ferrite_format::{BuiltinOptions, TensorType};

const F32: TensorType = TensorType::Float32;

fn var_handle(b: &mut ModelBuilder, sg: usize, name: &str) -> i32 {
    let h = b.tensor(sg, &format!("{name}_handle"), TensorType::Resource, &[]);
    let opts = VarHandleOptions {
        container: None,
        shared_name: Some(name.to_string()),
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

fn assign(b: &mut ModelBuilder, sg: usize, handle: i32, value: i32) {
    let opts = BuiltinOptions::AssignVariableOptions(AssignVariableOptions {});
    b.op(sg, "ASSIGN_VARIABLE", &[handle, value], &[], opts);
}

fn read(b: &mut ModelBuilder, sg: usize, handle: i32, name: &str, shape: &[i32]) -> i32 {
    let v = b.tensor(sg, name, F32, shape);
    let opts = BuiltinOptions::ReadVariableOptions(ReadVariableOptions {});
    b.op(sg, "READ_VARIABLE", &[handle], &[v], opts);
    v
}

fn call_once(b: &mut ModelBuilder, sg: usize, init: usize) {
    let opts = CallOnceOptions {
        init_subgraph_index: init as i32,
    };
    b.op(
        sg,
        "CALL_ONCE",
        &[],
        &[],
        BuiltinOptions::CallOnceOptions(opts),
    );
}

fn f32_const(b: &mut ModelBuilder, sg: usize, name: &str, values: &[f32]) -> i32 {
    b.constant(sg, name, F32, &[values.len() as i32], le_bytes(values))
}

/// Statically initialised variables, as TVM's importer expects them:
/// `y = x * scale + bias`, `flat = reshape(y, [-1])` for `x: float32[-1, 3]`.
/// The init subgraph assigns `scale` a constant and `bias` the value of
/// `(c1 - c2) / c3`, ops over constants.
pub fn static_init() -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let main = b.subgraph("main");
    let init = b.subgraph("init");

    let x = b.tensor(main, "x", F32, &[-1, 3]);
    call_once(&mut b, main, init);
    let hs = var_handle(&mut b, main, "scale");
    let scale = read(&mut b, main, hs, "scale_read", &[3]);
    let hb = var_handle(&mut b, main, "bias");
    let bias = read(&mut b, main, hb, "bias_read", &[3]);
    let xs = b.tensor(main, "x_scaled", F32, &[-1, 3]);
    let mul = BuiltinOptions::MulOptions(MulOptions::default());
    b.op(main, "MUL", &[x, scale], &[xs], mul);
    let y = b.tensor(main, "y", F32, &[-1, 3]);
    let add = BuiltinOptions::AddOptions(AddOptions::default());
    b.op(main, "ADD", &[xs, bias], &[y], add);
    let flat_shape = b.constant(
        main,
        "flat_shape",
        TensorType::Int32,
        &[1],
        le_bytes(&[-1i32]),
    );
    let flat = b.tensor(main, "flat", F32, &[-1]);
    let reshape = BuiltinOptions::ReshapeOptions(ReshapeOptions { new_shape: None });
    b.op(main, "RESHAPE", &[y, flat_shape], &[flat], reshape);
    b.inputs(main, &[x]);
    b.outputs(main, &[y, flat]);
    b.signature(
        "serving_default",
        main,
        &[("x", x)],
        &[("y", y), ("flat", flat)],
    );

    let hs = var_handle(&mut b, init, "scale");
    let scale = f32_const(&mut b, init, "scale_init", &[0.5, -1.25, 2.0]);
    assign(&mut b, init, hs, scale);
    let hb = var_handle(&mut b, init, "bias");
    let c1 = f32_const(&mut b, init, "c1", &[1.0, 2.0, 3.0]);
    let c2 = f32_const(&mut b, init, "c2", &[0.25, 0.5, 4.75]);
    let c3 = f32_const(&mut b, init, "c3", &[3.0, 0.5, 7.0]);
    let d = b.tensor(init, "c1_minus_c2", F32, &[3]);
    let sub = BuiltinOptions::SubOptions(SubOptions::default());
    b.op(init, "SUB", &[c1, c2], &[d], sub);
    let bias = b.tensor(init, "bias_init", F32, &[3]);
    let div = BuiltinOptions::DivOptions(DivOptions::default());
    b.op(init, "DIV", &[d, c3], &[bias], div);
    assign(&mut b, init, hb, bias);
    b.finish().expect("the sample model writes")
}

/// Streaming state: `total = acc + x; acc = total` on every invoke, with
/// `acc` initialised to zeros by CALL_ONCE. Cannot be frozen.
pub fn streaming() -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let main = b.subgraph("main");
    let init = b.subgraph("init");

    let x = b.tensor(main, "x", F32, &[4]);
    call_once(&mut b, main, init);
    let h = var_handle(&mut b, main, "acc");
    let acc = read(&mut b, main, h, "acc_read", &[4]);
    let total = b.tensor(main, "total", F32, &[4]);
    let add = BuiltinOptions::AddOptions(AddOptions::default());
    b.op(main, "ADD", &[acc, x], &[total], add);
    assign(&mut b, main, h, total);
    b.inputs(main, &[x]);
    b.outputs(main, &[total]);
    b.signature("serving_default", main, &[("x", x)], &[("total", total)]);

    let h = var_handle(&mut b, init, "acc");
    let zeros = f32_const(&mut b, init, "zeros", &[0.0; 4]);
    assign(&mut b, init, h, zeros);
    b.finish().expect("the sample model writes")
}

/// Two signatures sharing one init subgraph that sits between them:
/// `first` (subgraph 0) returns `x * w`, `second` (subgraph 2) `x - w`.
/// Freezing removes subgraph 1, so `second` must be renumbered to 1.
pub fn two_readers() -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let first = b.subgraph("first");
    let init = b.subgraph("init");
    let second = b.subgraph("second");

    let h = var_handle(&mut b, init, "w");
    let w = f32_const(&mut b, init, "w_init", &[1.5, -2.0, 0.25, 4.0]);
    assign(&mut b, init, h, w);

    for (sg, op, key) in [(first, "MUL", "first"), (second, "SUB", "second")] {
        let x = b.tensor(sg, "x", F32, &[2, 4]);
        call_once(&mut b, sg, init);
        let h = var_handle(&mut b, sg, "w");
        let w = read(&mut b, sg, h, "w_read", &[4]);
        let y = b.tensor(sg, "y", F32, &[2, 4]);
        let opts = match op {
            "MUL" => BuiltinOptions::MulOptions(MulOptions::default()),
            _ => BuiltinOptions::SubOptions(SubOptions::default()),
        };
        b.op(sg, op, &[x, w], &[y], opts);
        b.inputs(sg, &[x]);
        b.outputs(sg, &[y]);
        b.signature(key, sg, &[("x", x)], &[("y", y)]);
    }
    b.finish().expect("the sample model writes")
}
