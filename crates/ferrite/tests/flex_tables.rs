//! TensorFlow's hash-table ops, run natively from Flex custom ops, for the
//! key/value dtypes TensorFlow registers. Models are assembled in code: the
//! custom options are a flexbuffer [op name, NodeDef] as the converter writes.

use ferrite::{ErrorKind, Interpreter, Model, Options};
use ferrite_format::build::{le_bytes, ModelBuilder};
use ferrite_format::TensorType as T;

#[path = "support/flex.rs"]
mod flex;
use flex::{flex_options, node_def, Attr};

fn tf_type(t: T) -> u64 {
    match t {
        T::Float32 => 1,
        T::Float64 => 2,
        T::Int32 => 3,
        T::String => 7,
        T::Int64 => 9,
        T::Bool => 10,
        _ => 0,
    }
}

fn encode(t: T, values: &[&str]) -> Vec<u8> {
    match t {
        T::String => ferrite_kernels::strings::encode(values),
        T::Int64 => le_bytes(
            &values
                .iter()
                .map(|v| v.parse::<i64>().unwrap())
                .collect::<Vec<_>>(),
        ),
        T::Int32 => le_bytes(
            &values
                .iter()
                .map(|v| v.parse::<i32>().unwrap())
                .collect::<Vec<_>>(),
        ),
        T::Float32 => le_bytes(
            &values
                .iter()
                .map(|v| v.parse::<f32>().unwrap())
                .collect::<Vec<_>>(),
        ),
        T::Float64 => le_bytes(
            &values
                .iter()
                .map(|v| v.parse::<f64>().unwrap())
                .collect::<Vec<_>>(),
        ),
        T::Bool => values.iter().map(|v| u8::from(*v == "true")).collect(),
        _ => unreachable!(),
    }
}

/// HashTableV2 + two imports (the second may conflict) + find + size.
fn table_model(key: T, value: T, imports: &[(&[&str], &[&str])], default: &str) -> Vec<u8> {
    let mut b = ModelBuilder::new();
    let sg = b.subgraph("main");
    let query = b.tensor(sg, "query", key, &[3]);
    let handle = b.tensor(sg, "table", T::Resource, &[]);
    let found = b.tensor(sg, "found", value, &[3]);
    let size = b.tensor(sg, "size", T::Int64, &[]);
    let def = node_def(
        "HashTableV2",
        &[
            ("key_dtype", Attr::Type(tf_type(key))),
            ("value_dtype", Attr::Type(tf_type(value))),
            ("shared_name", Attr::Str("table")),
        ],
    );
    b.custom_op(
        sg,
        "FlexHashTableV2",
        &[],
        &[handle],
        flex_options("HashTableV2", &def),
    );
    for (i, (keys, values)) in imports.iter().enumerate() {
        let k = b.constant(
            sg,
            &format!("k{i}"),
            key,
            &[keys.len() as i32],
            encode(key, keys),
        );
        let v = b.constant(
            sg,
            &format!("v{i}"),
            value,
            &[values.len() as i32],
            encode(value, values),
        );
        let def = node_def("LookupTableImportV2", &[]);
        b.custom_op(
            sg,
            "FlexLookupTableImportV2",
            &[handle, k, v],
            &[],
            flex_options("LookupTableImportV2", &def),
        );
    }
    let d = b.constant(sg, "default", value, &[], encode(value, &[default]));
    let def = node_def("LookupTableFindV2", &[]);
    b.custom_op(
        sg,
        "FlexLookupTableFindV2",
        &[handle, query, d],
        &[found],
        flex_options("LookupTableFindV2", &def),
    );
    let def = node_def("LookupTableSizeV2", &[]);
    b.custom_op(
        sg,
        "FlexLookupTableSizeV2",
        &[handle],
        &[size],
        flex_options("LookupTableSizeV2", &def),
    );
    b.inputs(sg, &[query]);
    b.outputs(sg, &[found, size]);
    b.finish().unwrap()
}

fn run(model: Vec<u8>, key: T, query: &[&str]) -> ferrite::Result<(Vec<u8>, i64)> {
    let model = Model::from_bytes(model)?;
    let mut interp = Interpreter::new(&model, Options::default())?;
    interp.set_input_bytes(0, &encode(key, query))?;
    interp.invoke()?;
    let found = interp.output(0)?.data.to_vec();
    let size = interp.output_as::<i64>(1)?[0];
    assert_eq!(
        interp.output(1)?.shape,
        &[] as &[usize],
        "TensorFlow's size is a scalar"
    );
    Ok((found, size))
}

#[test]
fn every_registered_dtype_pair_finds_and_defaults() {
    // key, value, imported keys and values, default, query, expected
    type Case<'a> = (
        T,
        T,
        [&'a str; 2],
        [&'a str; 2],
        &'a str,
        [&'a str; 3],
        [&'a str; 3],
    );
    let cases: [Case; 6] = [
        (
            T::Int64,
            T::Float64,
            ["1", "2"],
            ["0.5", "1.5"],
            "-1",
            ["2", "9", "1"],
            ["1.5", "-1", "0.5"],
        ),
        (
            T::Int32,
            T::Bool,
            ["7", "8"],
            ["true", "false"],
            "true",
            ["8", "7", "0"],
            ["false", "true", "true"],
        ),
        (
            T::String,
            T::String,
            ["a", "b"],
            ["x", "y"],
            "?",
            ["b", "c", "a"],
            ["y", "?", "x"],
        ),
        (
            T::Int64,
            T::Int32,
            ["5", "6"],
            ["50", "60"],
            "0",
            ["6", "6", "4"],
            ["60", "60", "0"],
        ),
        (
            T::String,
            T::Float32,
            ["cat", "dog"],
            ["1.25", "2.5"],
            "0",
            ["dog", "cow", "cat"],
            ["2.5", "0", "1.25"],
        ),
        (
            T::Int32,
            T::Int64,
            ["1", "2"],
            ["10", "20"],
            "-7",
            ["3", "1", "2"],
            ["-7", "10", "20"],
        ),
    ];
    for (key, value, keys, values, default, query, want) in cases {
        let model = table_model(key, value, &[(&keys, &values)], default);
        let (found, size) = run(model, key, &query).unwrap();
        assert_eq!(found, encode(value, &want), "{key}->{value}");
        assert_eq!(size, 2, "{key}->{value}");
    }
}

#[test]
fn importing_a_key_again_needs_the_same_value() {
    let same = table_model(
        T::Int64,
        T::Int64,
        &[(&["1", "2"], &["10", "20"]), (&["2", "3"], &["20", "30"])],
        "0",
    );
    let (found, size) = run(same, T::Int64, &["1", "2", "3"]).unwrap();
    assert_eq!(found, encode(T::Int64, &["10", "20", "30"]));
    assert_eq!(size, 3);
    let clash = table_model(
        T::Int64,
        T::Int64,
        &[(&["1"], &["10"]), (&["1"], &["11"])],
        "0",
    );
    let err = run(clash, T::Int64, &["1", "1", "1"]).unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.to_string().contains("FlexLookupTableImportV2"), "{err}");
}

#[test]
fn unsupported_key_types_fail_at_plan_time_naming_the_op() {
    let model = table_model(T::Float32, T::Int64, &[], "0");
    let err = Model::from_bytes(model)
        .and_then(|m| Interpreter::new(&m, Options::default()).map(|_| ()))
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unsupported);
    assert!(
        err.to_string().contains("HashTableV2") && err.to_string().contains("FLOAT32"),
        "{err}"
    );
}
