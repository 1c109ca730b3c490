//! The public custom-op API: an op registered on an `OpResolver` runs inside
//! a model built in code, reads its flexbuffer-map options as attributes,
//! and `ferrite check` given the resolver counts it as a ferrite op.

use ferrite::custom::{CustomOp, EvalContext, OpError, OpResolver, OutputSpec, PrepareContext};
use ferrite::{DType, ErrorKind, Interpreter, Model, Options};
use ferrite_format::build::{le_bytes, ModelBuilder};
use ferrite_format::TensorType as T;

#[path = "support/flex.rs"]
mod flex;

/// `{"factor": 2.5}` as flexbuffers.Dumps writes it.
const FACTOR_2_5: &[u8] = &[
    102, 97, 99, 116, 111, 114, 0, 1, 8, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 32, 64,
    14, 5, 38, 1,
];

/// y = x * factor + sum(b), and count = number of elements of x (int32 [1]):
/// two inputs, two outputs of different dtypes.
struct ScaleAdd;

impl CustomOp for ScaleAdd {
    fn name(&self) -> &str {
        "ScaleAdd"
    }

    fn prepare(&self, cx: &PrepareContext<'_>) -> Result<Vec<OutputSpec>, OpError> {
        let x = cx.input(0)?;
        if x.dtype() != DType::Float32 {
            return Err(OpError::unsupported(format!("ScaleAdd on {}", x.dtype())));
        }
        let b = cx.input(1)?;
        if b.shape().len() != 1 {
            return Err(OpError::invalid("b must be a vector"));
        }
        Ok(vec![
            OutputSpec::new(DType::Float32, x.shape()),
            OutputSpec::new(DType::Int32, &[1]),
        ])
    }

    fn eval(&self, cx: &mut EvalContext<'_, '_>) -> Result<(), OpError> {
        let factor = cx.attr_f32("factor").unwrap_or(1.0);
        let x = cx.input(0)?.as_slice::<f32>()?;
        let bias: f32 = cx.input(1)?.as_slice::<f32>()?.iter().sum();
        let mut outs = cx.outputs();
        for (y, x) in outs[0].as_slice_mut::<f32>()?.iter_mut().zip(x) {
            *y = x * factor + bias;
        }
        outs[1].as_slice_mut::<i32>()?[0] = x.len() as i32;
        Ok(())
    }
}

fn model(code: &str, options: Vec<u8>) -> Model {
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let x = b.tensor(sg, "x", T::Float32, &[2, 3]);
    b.tensor_mut(sg, x).shape_signature = Some(vec![-1, 3]);
    let bias = b.constant(sg, "b", T::Float32, &[2], le_bytes(&[0.25f32, 0.5]));
    let y = b.tensor(sg, "y", T::Float32, &[2, 3]);
    let n = b.tensor(sg, "n", T::Int32, &[1]);
    b.custom_op(sg, code, &[x, bias], &[y, n], options);
    b.inputs(sg, &[x]);
    b.outputs(sg, &[y, n]);
    Model::from_bytes(b.finish().unwrap()).unwrap()
}

fn resolver() -> OpResolver {
    let mut r = OpResolver::new();
    r.add(ScaleAdd);
    r
}

#[test]
fn a_registered_op_runs_inside_a_model_with_its_attrs() {
    let m = model("ScaleAdd", FACTOR_2_5.to_vec());
    let mut interp = Interpreter::with_resolver(&m, Options::default(), &resolver()).unwrap();
    interp.set_input(0, &[1.0f32, 2., 3., 4., 5., -6.]).unwrap();
    interp.invoke().unwrap();
    let y: &[f32] = interp.output_as(0).unwrap();
    assert_eq!(y, [3.25, 5.75, 8.25, 10.75, 13.25, -14.25]);
    assert_eq!(interp.output_as::<i32>(1).unwrap(), [6]);
    // Resizing re-runs prepare with the new shapes.
    interp.resize_input(0, &[1, 3]).unwrap();
    interp.set_input(0, &[0.0f32, 1., 2.]).unwrap();
    interp.invoke().unwrap();
    assert_eq!(interp.output(0).unwrap().shape, [1, 3]);
    assert_eq!(interp.output_as::<f32>(0).unwrap(), [0.75, 3.25, 5.75]);
    assert_eq!(interp.output_as::<i32>(1).unwrap(), [3]);
}

#[test]
fn empty_options_give_no_attrs() {
    let m = model("ScaleAdd", Vec::new());
    let mut interp = Interpreter::with_resolver(&m, Options::default(), &resolver()).unwrap();
    interp.set_input(0, &[1.0f32; 6]).unwrap();
    interp.invoke().unwrap();
    assert_eq!(interp.output_as::<f32>(0).unwrap(), [1.75; 6]);
}

#[test]
fn an_unregistered_custom_op_is_unsupported_naming_its_code() {
    let m = model("ScaleAdd", Vec::new());
    let e = Interpreter::new(&m, Options::default()).err().unwrap();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(
        e.to_string()
            .contains("custom op ScaleAdd is not registered"),
        "{e}"
    );
    let e = Interpreter::with_resolver(
        &model("OtherOp", Vec::new()),
        Options::default(),
        &resolver(),
    )
    .err()
    .unwrap();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert!(e.to_string().contains("OtherOp"), "{e}");
}

/// A TensorFlow op with no native kernel, as a Flex op or as a plain custom
/// op of that name, is refused at load naming the TF op and where it is.
#[test]
fn a_tf_op_without_a_kernel_is_unsupported_naming_the_tf_op() {
    let flex = flex::flex_options(
        "TensorListReserve",
        &flex::node_def("TensorListReserve", &[]),
    );
    for (code, options) in [
        ("FlexTensorListReserve", flex),
        ("TensorListReserve", Vec::new()),
    ] {
        let e = Interpreter::new(&model(code, options), Options::default())
            .err()
            .unwrap();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{code}: {e}");
        let msg = e.to_string();
        assert!(msg.contains("TensorListReserve"), "{msg}");
        assert!(msg.contains("subgraph 0") && msg.contains("op 0"), "{msg}");
    }
}

/// A dtype that disagrees with the model's is caught by the adapter, with
/// the op's location (the input is resizable, so at the first invoke).
#[test]
fn prepare_errors_fail_planning() {
    struct WrongDtype;
    impl CustomOp for WrongDtype {
        fn name(&self) -> &str {
            "ScaleAdd"
        }
        fn prepare(&self, cx: &PrepareContext<'_>) -> Result<Vec<OutputSpec>, OpError> {
            let x = cx.input(0)?;
            Ok(vec![
                OutputSpec::new(DType::Int8, x.shape()),
                OutputSpec::new(DType::Int32, &[1]),
            ])
        }
        fn eval(&self, _: &mut EvalContext<'_, '_>) -> Result<(), OpError> {
            Err(OpError::invalid("not reached"))
        }
    }
    let mut r = OpResolver::builtins_only();
    r.add(WrongDtype);
    let m = model("ScaleAdd", Vec::new());
    let mut interp = Interpreter::with_resolver(&m, Options::default(), &r).unwrap();
    interp.set_input(0, &[1.0f32; 6]).unwrap();
    let e = interp.invoke().err().unwrap();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert!(e.to_string().contains("the model declares FLOAT32"), "{e}");
    assert_eq!(e.location().op_index, Some(0));
}

#[test]
fn check_sees_ops_registered_on_the_resolver() {
    let bytes = {
        let mut b = ModelBuilder::new();
        let sg = b.subgraph("main");
        let x = b.tensor(sg, "x", T::Float32, &[2, 3]);
        let bias = b.constant(sg, "b", T::Float32, &[2], le_bytes(&[0.25f32, 0.5]));
        let y = b.tensor(sg, "y", T::Float32, &[2, 3]);
        let n = b.tensor(sg, "n", T::Int32, &[1]);
        b.custom_op(sg, "ScaleAdd", &[x, bias], &[y, n], Vec::new());
        b.inputs(sg, &[x]);
        b.outputs(sg, &[y, n]);
        b.finish().unwrap()
    };
    let plain = ferrite_check::Target::builtin("ferrite").unwrap();
    let report = ferrite_check::check(&bytes, std::slice::from_ref(&plain)).unwrap();
    assert!(!report[0].runnable);
    assert!(report[0].findings.iter().any(|f| f.kind == "custom-op"));
    let with = plain.with_resolver(&resolver());
    assert!(with.ops.custom.iter().any(|c| c == "ScaleAdd"));
    let report = ferrite_check::check(&bytes, &[with]).unwrap();
    assert!(report[0].runnable, "{:#?}", report[0].findings);
    assert!(report[0].findings.is_empty(), "{:#?}", report[0].findings);
}
