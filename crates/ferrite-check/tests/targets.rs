//! The target data files: they parse, every rule names its source, and
//! every op they list is a TFLite operator.

use ferrite_check::{parse_op_line, Target, TARGET_NAMES};

/// Operators newer than ferrite's schema declaration that LiteRT and TVM
/// already register; a model using them shows them as BUILTIN_<code>.
const NEWER_THAN_SCHEMA: [&str; 3] = ["STABLEHLO_SHIFT_LEFT", "STABLEHLO_CASE", "STABLEHLO_CBRT"];

#[test]
fn every_target_parses_and_cites_its_sources() {
    for name in TARGET_NAMES {
        let t = Target::builtin(name).unwrap();
        assert_eq!(t.name, name);
        let sources = [
            &t.ops.source,
            &t.flex.source,
            &t.hash_tables.source,
            &t.variables.source,
            &t.shapes.source,
            &t.strings.source,
            &t.quantization.source,
            &t.dtypes.source,
            &t.subgraphs.source,
        ];
        for s in sources {
            assert!(s.trim().len() > 10, "{name}: a rule without a source");
        }
        assert!(!t.ops.builtin.is_empty(), "{name}");
        let mut seen = std::collections::HashSet::new();
        for e in &t.ops.builtin {
            assert!(
                ferrite_format::builtin_code(&e.name).is_some()
                    || NEWER_THAN_SCHEMA.contains(&e.name.as_str()),
                "{name}: unknown operator {}",
                e.name
            );
            // The ferrite registry may split one op across version ranges.
            if name != "ferrite" {
                assert!(seen.insert(e.name.clone()), "{name}: {} twice", e.name);
            }
        }
        for op in t.quantization.quantized_ops.iter().flatten() {
            assert!(
                ferrite_format::builtin_code(op).is_some() || t.ops.custom.contains(op),
                "{name}: quantized op {op}"
            );
        }
    }
}

#[test]
fn ferrite_target_is_the_registry() {
    let t = Target::builtin("ferrite").unwrap();
    assert!(t.plan_with_ferrite);
    for r in ferrite_kernels::registry::all() {
        assert!(t
            .ops
            .builtin
            .iter()
            .any(|e| e.name == r.op && e.versions == Some((r.min_version, r.max_version))));
    }
    for op in ferrite_runtime::INTERPRETER_OPS {
        assert!(t.ops.builtin.iter().any(|e| e.name == op));
    }
    let expected =
        ferrite_kernels::registry::all().count() + ferrite_runtime::INTERPRETER_OPS.len();
    assert_eq!(t.ops.builtin.len(), expected);
    assert_eq!(
        t.flex.native,
        ferrite_runtime::native_tf_ops()
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>()
    );
}

#[test]
fn op_lines() {
    let e = parse_op_line("ADD").unwrap();
    assert_eq!((e.name.as_str(), e.versions), ("ADD", None));
    assert_eq!(parse_op_line("CONV_2D 1-8").unwrap().versions, Some((1, 8)));
    assert_eq!(parse_op_line("RELU 3").unwrap().versions, Some((3, 3)));
    let e = parse_op_line("DEQUANTIZE in=int8,int16").unwrap();
    assert_eq!(e.input_dtypes.unwrap().len(), 2);
    for bad in ["", "ADD 0-2", "ADD 3-1", "ADD x", "DEQUANTIZE in=int9"] {
        assert!(parse_op_line(bad).is_err(), "{bad}");
    }
}

#[test]
fn litert_registers_versions_as_register_cc() {
    let t = Target::builtin("litert").unwrap();
    let get = |op: &str| {
        t.ops
            .builtin
            .iter()
            .find(|e| e.name == op)
            .unwrap()
            .versions
    };
    assert_eq!(get("FULLY_CONNECTED"), Some((1, 13)));
    assert_eq!(get("BROADCAST_TO"), Some((2, 3)));
    // AddBuiltin without versions registers version 1 only.
    assert_eq!(get("HARD_SWISH"), Some((1, 1)));
    assert!(t.ops.versions_checked);
    assert!(
        !Target::builtin("tflite-micro")
            .unwrap()
            .ops
            .versions_checked
    );
}
