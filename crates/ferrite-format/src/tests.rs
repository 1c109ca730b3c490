//! Verifier rules on small hand-built models: each broken model must be
//! rejected with the right error variant and a path naming the culprit.

use std::borrow::Cow;

use crate::builder::{self, TableNode};
use crate::options::{CallOnceOptions, IfOptions, WhileOptions};
use crate::{
    builtin_code, Buffer, BuiltinOptions, BuiltinOptions2, DimensionMetadata, FormatError, Limits,
    Model, Operator, OperatorCode, Quantization, Sparsity, SubGraph, Tensor, TensorType,
    FILE_IDENTIFIER,
};

fn tensor(shape: &[i32], dtype: TensorType, buffer: u32) -> Tensor {
    Tensor {
        shape: Some(shape.to_vec()),
        dtype,
        buffer,
        name: None,
        quantization: None,
        is_variable: false,
        sparsity: None,
        shape_signature: None,
        has_rank: false,
        variant_tensors: Vec::new(),
    }
}

fn op(opcode_index: u32, inputs: &[i32], outputs: &[i32]) -> Operator<'static> {
    Operator {
        opcode_index,
        inputs: inputs.to_vec(),
        outputs: outputs.to_vec(),
        builtin_options: BuiltinOptions::None,
        custom_options: None,
        custom_options_format: 0,
        mutating_variable_inputs: None,
        intermediates: None,
        builtin_options_2: BuiltinOptions2::None,
        debug_metadata_index: -1,
    }
}

fn subgraph(tensors: Vec<Tensor>, operators: Vec<Operator<'static>>) -> SubGraph<'static> {
    SubGraph {
        tensors,
        inputs: vec![0],
        outputs: vec![2],
        operators,
        name: None,
        debug_metadata_index: -1,
    }
}

fn buffer(data: &[u8]) -> Buffer<'static> {
    Buffer {
        data: Cow::Owned(data.to_vec()),
        external: false,
    }
}

/// A valid model: one ADD of an input and a two-float constant.
fn base() -> Model<'static> {
    Model {
        version: 3,
        operator_codes: vec![OperatorCode::builtin(0, 1)],
        subgraphs: vec![subgraph(
            vec![
                tensor(&[2], TensorType::Float32, 0),
                tensor(&[2], TensorType::Float32, 1),
                tensor(&[2], TensorType::Float32, 0),
            ],
            vec![op(0, &[0, 1], &[2])],
        )],
        description: Some("hand-built".into()),
        buffers: vec![buffer(&[]), buffer(&[0; 8])],
        metadata_buffer: None,
        metadata: Vec::new(),
        signature_defs: Vec::new(),
    }
}

/// A control-flow op (by schema name) whose options call subgraphs.
fn control_op(name: &str, options: BuiltinOptions) -> (OperatorCode, Operator<'static>) {
    let code = OperatorCode::builtin(builtin_code(name).unwrap(), 1);
    let mut o = op(0, &[0], &[2]);
    o.builtin_options = options;
    (code, o)
}

/// `base()` plus subgraphs 1..=extra, each a copy of subgraph 0 without ops.
fn with_subgraphs(extra: usize) -> Model<'static> {
    let mut m = base();
    for _ in 0..extra {
        let mut sg = m.subgraphs[0].clone();
        sg.operators.clear();
        m.subgraphs.push(sg);
    }
    m
}

/// Makes subgraph `from` call `to` through a CALL_ONCE op.
fn call(m: &mut Model<'static>, from: usize, to: i32) {
    let (code, mut o) = control_op(
        "CALL_ONCE",
        BuiltinOptions::CallOnceOptions(CallOnceOptions {
            init_subgraph_index: to,
        }),
    );
    o.opcode_index = m.operator_codes.len() as u32;
    m.operator_codes.push(code);
    m.subgraphs[from].operators.push(o);
}

fn parse_written(m: &Model<'_>, limits: &Limits) -> crate::Result<()> {
    let bytes = m.write().expect("hand-built models are writable");
    Model::parse_with_limits(&bytes, limits).map(|_| ())
}

/// Asserts `m` is rejected as `Invalid` at exactly `path`; returns the reason.
#[track_caller]
fn invalid_at(m: &Model<'_>, path: &str) -> String {
    match parse_written(m, &Limits::default()) {
        Err(FormatError::Invalid { path: p, reason }) => {
            assert_eq!(p, path, "wrong path (reason: {reason})");
            reason
        }
        other => panic!("expected Invalid at {path}, got {other:?}"),
    }
}

/// Asserts `m` exceeds a limit of `limits` at exactly `path`; returns what.
#[track_caller]
fn limit_at(m: &Model<'_>, limits: &Limits, path: &str) -> &'static str {
    match parse_written(m, limits) {
        Err(FormatError::LimitExceeded { path: p, what, .. }) => {
            assert_eq!(p, path, "wrong path (limit on {what})");
            what
        }
        other => panic!("expected LimitExceeded at {path}, got {other:?}"),
    }
}

#[test]
fn base_model_is_valid_and_round_trips() {
    let m = base();
    let bytes = m.write().unwrap();
    let parsed = Model::parse(&bytes).unwrap();
    assert_eq!(parsed, m);
}

#[test]
fn schema_version_must_be_3() {
    let mut m = base();
    m.version = 2;
    assert!(invalid_at(&m, "version").contains("not 3"));
}

#[test]
fn operator_tensor_index_out_of_range() {
    let mut m = base();
    m.subgraphs[0].operators[0].inputs = vec![0, 7];
    let reason = invalid_at(&m, "subgraphs[0].operators[0].inputs[1]");
    assert!(reason.contains("7 out of range (3 tensors)"), "{reason}");

    // -1 marks an omitted optional input, but outputs are never optional.
    let mut m = base();
    m.subgraphs[0].operators[0].inputs = vec![0, -1];
    parse_written(&m, &Limits::default()).unwrap();
    m.subgraphs[0].operators[0].outputs = vec![-1];
    invalid_at(&m, "subgraphs[0].operators[0].outputs[0]");

    let mut m = base();
    m.subgraphs[0].outputs = vec![3];
    invalid_at(&m, "subgraphs[0].outputs[0]");
}

#[test]
fn opcode_index_out_of_range() {
    let mut m = base();
    m.subgraphs[0].operators[0].opcode_index = 1;
    let reason = invalid_at(&m, "subgraphs[0].operators[0].opcode_index");
    assert!(
        reason.contains("opcode 1 out of range (1 operator codes)"),
        "{reason}"
    );
}

#[test]
fn buffer_index_out_of_range() {
    let mut m = base();
    m.subgraphs[0].tensors[1].buffer = 9;
    let reason = invalid_at(&m, "subgraphs[0].tensors[1].buffer");
    assert!(
        reason.contains("buffer 9 out of range (2 buffers)"),
        "{reason}"
    );

    let mut m = base();
    m.metadata.push(crate::Metadata {
        name: Some("meta".into()),
        buffer: 2,
    });
    invalid_at(&m, "metadata[0].buffer");
}

#[test]
fn buffer_too_small_for_shape() {
    let mut m = base();
    m.subgraphs[0].tensors[1].shape = Some(vec![3]);
    let reason = invalid_at(&m, "subgraphs[0].tensors[1].buffer");
    assert!(
        reason.contains("8 bytes") && reason.contains("needs 12"),
        "{reason}"
    );
}

#[test]
fn negative_dimension() {
    let mut m = base();
    m.subgraphs[0].tensors[0].shape = Some(vec![-1, 2]);
    let reason = invalid_at(&m, "subgraphs[0].tensors[0].shape");
    assert!(reason.contains("negative"), "{reason}");
}

#[test]
fn rank_over_limit() {
    let mut m = base();
    m.subgraphs[0].tensors[2].shape = Some(vec![1; 17]);
    let what = limit_at(&m, &Limits::default(), "subgraphs[0].tensors[2].shape");
    assert_eq!(what, "rank");

    let mut m = base();
    m.subgraphs[0].tensors[0].shape = Some(vec![1, 1, 1, 2]);
    let tight = Limits {
        max_rank: 3,
        ..Limits::default()
    };
    limit_at(&m, &tight, "subgraphs[0].tensors[0].shape");
    parse_written(&m, &Limits::default()).unwrap();
}

#[test]
fn control_flow_subgraph_index_out_of_range() {
    let cases = [
        (
            "WHILE",
            BuiltinOptions::WhileOptions(WhileOptions {
                cond_subgraph_index: 1,
                body_subgraph_index: 2,
            }),
            "body_subgraph_index",
            "subgraph 2 out of range (2 subgraphs)",
        ),
        (
            "IF",
            BuiltinOptions::IfOptions(IfOptions {
                then_subgraph_index: -1,
                else_subgraph_index: 1,
            }),
            "then_subgraph_index",
            "subgraph -1 out of range",
        ),
        (
            "CALL_ONCE",
            BuiltinOptions::CallOnceOptions(CallOnceOptions {
                init_subgraph_index: 5,
            }),
            "init_subgraph_index",
            "subgraph 5 out of range",
        ),
    ];
    for (name, options, field, why) in cases {
        let mut m = with_subgraphs(1);
        let (code, mut o) = control_op(name, options);
        o.opcode_index = 1;
        m.operator_codes.push(code);
        m.subgraphs[0].operators.push(o);
        let reason = invalid_at(&m, &format!("subgraphs[0].operators[1].{field}"));
        assert!(reason.contains(why), "{name}: {reason}");
    }
}

#[test]
fn subgraph_recursion_is_rejected() {
    // A subgraph calling itself.
    let mut m = with_subgraphs(1);
    call(&mut m, 0, 1);
    call(&mut m, 1, 1);
    let reason = invalid_at(&m, "subgraphs[1]");
    assert!(reason.contains("recursion"), "{reason}");

    // A longer cycle: 0 -> 1 -> 2 -> 1.
    let mut m = with_subgraphs(2);
    call(&mut m, 0, 1);
    call(&mut m, 1, 2);
    call(&mut m, 2, 1);
    let reason = invalid_at(&m, "subgraphs[2]");
    assert!(reason.contains("calls subgraph 1"), "{reason}");

    // Calling the same subgraph from two places is not recursion.
    let mut m = with_subgraphs(2);
    call(&mut m, 0, 1);
    call(&mut m, 0, 2);
    call(&mut m, 2, 1);
    parse_written(&m, &Limits::default()).unwrap();
}

#[test]
fn subgraph_nesting_over_limit() {
    // A chain 0 -> 1 -> ... -> 5 nests 5 deep.
    let mut m = with_subgraphs(5);
    for i in 0..5 {
        call(&mut m, i, i as i32 + 1);
    }
    parse_written(&m, &Limits::default()).unwrap();
    let tight = Limits {
        max_subgraph_nesting: 4,
        ..Limits::default()
    };
    // The first subgraph over the limit is the chain's head.
    let what = limit_at(&m, &tight, "subgraphs[0]");
    assert_eq!(what, "subgraph nesting depth");
    let exact = Limits {
        max_subgraph_nesting: 5,
        ..Limits::default()
    };
    parse_written(&m, &exact).unwrap();
}

/// A STRING buffer: count, count + 1 offsets from the buffer start, bytes.
fn string_buffer(count: i32, offsets: &[i32], bytes: &[u8]) -> Vec<u8> {
    let mut v = count.to_le_bytes().to_vec();
    for o in offsets {
        v.extend_from_slice(&o.to_le_bytes());
    }
    v.extend_from_slice(bytes);
    v
}

fn string_model(data: Vec<u8>) -> Model<'static> {
    let mut m = base();
    m.subgraphs[0].tensors[1] = tensor(&[2], TensorType::String, 1);
    m.buffers[1] = buffer(&data);
    m
}

#[test]
fn malformed_string_buffers() {
    // "abc", "de": the header is 4 * (2 + 2) = 16 bytes.
    let good = string_buffer(2, &[16, 19, 21], b"abcde");
    parse_written(&string_model(good), &Limits::default()).unwrap();

    let path = "subgraphs[0].tensors[1].buffer";
    let reason = invalid_at(
        &string_model(string_buffer(3, &[16, 19, 21], b"abcde")),
        path,
    );
    assert!(
        reason.contains("holds 3 strings, shape needs 2"),
        "{reason}"
    );
    let reason = invalid_at(&string_model(string_buffer(-1, &[], b"")), path);
    assert!(reason.contains("holds -1 strings"), "{reason}");
    let reason = invalid_at(
        &string_model(string_buffer(2, &[16, 20, 19], b"abcde")),
        path,
    );
    assert!(reason.contains("out of order"), "{reason}");
    let reason = invalid_at(
        &string_model(string_buffer(2, &[12, 19, 21], b"abcde")),
        path,
    );
    assert!(reason.contains("offset 0"), "{reason}");
    let reason = invalid_at(
        &string_model(string_buffer(2, &[16, 19, 20], b"abcde")),
        path,
    );
    assert!(
        reason.contains("last offset 20 is not the buffer end 21"),
        "{reason}"
    );
    let reason = invalid_at(
        &string_model(string_buffer(2, &[16, 19, 99], b"abcde")),
        path,
    );
    assert!(reason.contains("out of bounds"), "{reason}");
    let reason = invalid_at(&string_model(string_buffer(2, &[16], b"")), path);
    assert!(reason.contains("overruns"), "{reason}");
    let reason = invalid_at(&string_model(vec![2, 0]), path);
    assert!(reason.contains("too short"), "{reason}");
}

#[test]
fn per_axis_quantization_count_mismatch() {
    let mut m = base();
    let t = &mut m.subgraphs[0].tensors[0];
    t.shape = Some(vec![3, 2]);
    t.dtype = TensorType::Int8;
    t.quantization = Some(Quantization {
        scale: Some(vec![0.5, 0.25]),
        zero_point: Some(vec![0, 0]),
        quantized_dimension: 0,
        ..Quantization::default()
    });
    let reason = invalid_at(
        &m,
        "subgraphs[0].tensors[0].quantization.quantized_dimension",
    );
    assert!(reason.contains("2 per-axis scales"), "{reason}");

    // The same scales along dimension 1 (size 2) are fine.
    m.subgraphs[0].tensors[0]
        .quantization
        .as_mut()
        .unwrap()
        .quantized_dimension = 1;
    parse_written(&m, &Limits::default()).unwrap();

    // An axis past the rank is caught too.
    m.subgraphs[0].tensors[0]
        .quantization
        .as_mut()
        .unwrap()
        .quantized_dimension = 2;
    invalid_at(
        &m,
        "subgraphs[0].tensors[0].quantization.quantized_dimension",
    );

    let q = m.subgraphs[0].tensors[0].quantization.as_mut().unwrap();
    q.quantized_dimension = 1;
    q.zero_point = Some(vec![0, 0, 0]);
    let reason = invalid_at(&m, "subgraphs[0].tensors[0].quantization");
    assert!(reason.contains("2 scales but 3 zero points"), "{reason}");
}

#[test]
fn sparsity_traversal_order_must_be_a_permutation() {
    let sparse = |order: Vec<i32>| {
        let mut m = base();
        m.subgraphs[0].tensors[1].shape = Some(vec![2, 1]);
        m.subgraphs[0].tensors[1].sparsity = Some(Sparsity {
            traversal_order: Some(order),
            block_map: None,
            dim_metadata: vec![
                DimensionMetadata {
                    dense_size: 2,
                    ..DimensionMetadata::default()
                },
                DimensionMetadata {
                    dense_size: 1,
                    ..DimensionMetadata::default()
                },
            ],
        });
        m
    };
    parse_written(&sparse(vec![1, 0]), &Limits::default()).unwrap();
    for order in [vec![0, 0], vec![0, 2], vec![-1, 0]] {
        let reason = invalid_at(&sparse(order.clone()), "subgraphs[0].tensors[1].sparsity");
        assert!(reason.contains("not a permutation"), "{order:?}: {reason}");
    }
    let reason = invalid_at(&sparse(vec![0]), "subgraphs[0].tensors[1].sparsity");
    assert!(reason.contains("rank 2"), "{reason}");
}

#[test]
fn signature_indices_out_of_range() {
    let mut m = base();
    m.signature_defs.push(crate::SignatureDef {
        inputs: vec![crate::TensorMap {
            name: Some("x".into()),
            tensor_index: 3,
        }],
        outputs: Vec::new(),
        signature_key: Some("serving_default".into()),
        subgraph_index: 0,
    });
    invalid_at(&m, "signature_defs[0].inputs[0]");
    m.signature_defs[0].subgraph_index = 1;
    invalid_at(&m, "signature_defs[0].subgraph_index");
}

/// Writes `base()` with buffer 1 stored outside the flatbuffer: the Buffer
/// table gets `offset`/`size` (field ids 1 and 2), which `Model::write` never
/// emits, so the tree is assembled here with the crate's builder.
fn external_buffer_file(data: &[u8], offset: Option<u64>, size: u64) -> Vec<u8> {
    let m = base();
    let assemble = |offset: u64| {
        let mut root = TableNode::new();
        root.scalar(0, m.version, 0);
        root.string(3, m.description.as_deref());
        let mut code = TableNode::new();
        code.scalar(3, m.operator_codes[0].builtin_code, 0);
        root.tables(1, vec![code]);
        let sg = &m.subgraphs[0];
        let mut s = TableNode::new();
        s.tables(0, sg.tensors.iter().map(Tensor::write).collect());
        s.scalars(1, Some(&sg.inputs));
        s.scalars(2, Some(&sg.outputs));
        let mut o = TableNode::new();
        o.scalars(1, Some(&sg.operators[0].inputs));
        o.scalars(2, Some(&sg.operators[0].outputs));
        s.tables(3, vec![o]);
        root.tables(2, vec![s]);
        let mut ext = TableNode::new();
        ext.scalar(1, offset, 0);
        ext.scalar(2, size, 0);
        root.tables(4, vec![TableNode::new(), ext]);
        builder::finish(root, FILE_IDENTIFIER).unwrap()
    };
    // The layout does not depend on field values, so a placeholder offset
    // gives the final length.
    let len = assemble(u64::MAX).len();
    let at = len.next_multiple_of(16);
    let mut file = assemble(offset.unwrap_or(at as u64));
    assert_eq!(file.len(), len);
    file.resize(at, 0);
    file.extend_from_slice(data);
    file
}

#[test]
fn external_buffer_inside_the_file_loads() {
    let data: Vec<u8> = (1..=8).collect();
    let file = external_buffer_file(&data, None, 8);
    let m = Model::parse(&file).unwrap();
    assert!(m.buffers[1].external);
    assert_eq!(&m.buffers[1].data[..], &data[..]);
    assert_eq!(m, {
        let mut b = base();
        b.buffers[1] = buffer(&data);
        b
    });
    // Writing stores it inline; the content is unchanged.
    let rewritten = m.write().unwrap();
    let again = Model::parse(&rewritten).unwrap();
    assert!(!again.buffers[1].external);
    assert_eq!(again, m);
}

#[test]
fn external_buffer_past_the_end_is_rejected() {
    let data = [0u8; 8];
    let exact = external_buffer_file(&data, None, 8).len() as u64;
    for (offset, size) in [
        (exact - 8, 9),
        (exact, 8),
        (u64::MAX - 3, 8),
        (exact - 8, u64::MAX),
    ] {
        let file = external_buffer_file(&data, Some(offset), size);
        match Model::parse(&file) {
            Err(FormatError::Invalid { path, reason }) => {
                assert_eq!(path, "buffers[1].data");
                assert!(reason.contains("outside the"), "{reason}");
            }
            other => panic!("offset {offset} size {size}: {other:?}"),
        }
    }
}

#[test]
fn files_too_short_are_malformed() {
    for len in 0..8 {
        match Model::parse(&vec![0u8; len]) {
            Err(FormatError::Malformed { reason, .. }) => {
                assert!(reason.contains("too short"), "{reason}")
            }
            other => panic!("{len} bytes: {other:?}"),
        }
    }
    // Long enough, but the root offset leads to a zero-sized vtable.
    assert!(matches!(
        Model::parse(&[0u8; 8]),
        Err(FormatError::Malformed { .. })
    ));
    // A truncated real model.
    let bytes = base().write().unwrap();
    assert!(matches!(
        Model::parse(&bytes[..bytes.len() / 2]),
        Err(FormatError::Malformed { .. })
    ));
}

/// Hand-assembles a file whose subgraph vector has `n` entries pointing at
/// one subgraph table, whose vector field `field` (tensors 0, operators 3)
/// has `m` entries pointing at empty tables: one shared table, or `m`
/// distinct ones.
fn shared_tables_file(n: usize, field: u16, m: usize, distinct: bool) -> Vec<u8> {
    fn u16s(f: &mut Vec<u8>, v: &[u16]) {
        v.iter().for_each(|x| f.extend_from_slice(&x.to_le_bytes()));
    }
    fn u32s(f: &mut Vec<u8>, v: &[usize]) {
        v.iter()
            .for_each(|&x| f.extend_from_slice(&(x as u32).to_le_bytes()));
    }
    let mut f = Vec::new();
    u32s(&mut f, &[20]);
    f.extend_from_slice(FILE_IDENTIFIER);
    // Root vtable at 8: version at +4, subgraphs at +8 (padded to 12 bytes).
    u16s(&mut f, &[10, 12, 4, 0, 8, 0]);
    // Root table at 20: soffset, version, offset to the vector at 32.
    u32s(&mut f, &[12, 3, 4]);
    let sg_vtable = f.len() + 4 + 4 * n;
    let slots = field as usize + 1;
    let sg_table = sg_vtable + (4 + 2 * slots).next_multiple_of(4);
    u32s(&mut f, &[n]);
    for _ in 0..n {
        let rel = sg_table - f.len();
        u32s(&mut f, &[rel]);
    }
    // Subgraph vtable: only `field` is present, at +4.
    u16s(&mut f, &[(4 + 2 * slots) as u16, 8]);
    u16s(&mut f, &vec![0; slots - 1]);
    u16s(&mut f, &[4]);
    f.resize(sg_table, 0);
    u32s(&mut f, &[sg_table - sg_vtable, 4, m]);
    let empty_vtable = f.len() + 4 * m;
    for j in 0..m {
        let target = empty_vtable + 4 + if distinct { 4 * j } else { 0 };
        let rel = target - f.len();
        u32s(&mut f, &[rel]);
    }
    u16s(&mut f, &[4, 4]);
    for j in 0..if distinct { m } else { 1 } {
        u32s(&mut f, &[4 + 4 * j]);
    }
    f
}

#[track_caller]
fn assert_over_budget(file: &[u8]) {
    match Model::parse(file) {
        Err(FormatError::LimitExceeded { path, what, .. }) => {
            assert!(path.starts_with("subgraphs["), "{path}");
            assert!(what.contains("decoded bytes"), "{what}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn shared_tables_hit_the_decode_budget() {
    // One subgraph decodes, then fails verification (no buffers at all).
    let small = shared_tables_file(1, 0, 1000, false);
    match Model::parse(&small) {
        Err(FormatError::Invalid { path, .. }) => {
            assert_eq!(path, "subgraphs[0].tensors[0].buffer")
        }
        other => panic!("{other:?}"),
    }
    // A thousand copies of it would decode to a million tensors.
    let file = shared_tables_file(1000, 0, 1000, false);
    assert!(file.len() < 10_000);
    assert_over_budget(&file);
}

#[test]
fn decode_memory_is_bounded_by_file_size() {
    // 100k distinct empty operators: 8 bytes of file each, ~60x that
    // decoded; allowed, then rejected by verification (no operator codes).
    let distinct = shared_tables_file(1, 3, 100_000, true);
    match Model::parse(&distinct) {
        Err(FormatError::Invalid { path, .. }) => {
            assert_eq!(path, "subgraphs[0].operators[0].opcode_index")
        }
        other => panic!("{other:?}"),
    }
    // The same operators sharing one table take half the file: a single
    // vector must not allocate more than the budget allows.
    assert_over_budget(&shared_tables_file(1, 3, 100_000, false));
    // Nesting sharing (8 subgraphs x 50k operators) must not either.
    assert_over_budget(&shared_tables_file(8, 3, 50_000, false));
}

#[test]
fn writer_is_deterministic_and_aligns_buffers() {
    let mut m = base();
    m.buffers
        .extend([1usize, 3, 16, 17, 100].map(|n| buffer(&vec![0xAB; n])));
    m.description = Some("odd length".into());
    let once = m.write().unwrap();
    assert_eq!(once, m.write().unwrap());
    let parsed = Model::parse(&once).unwrap();
    assert_eq!(parsed, m);
    for (i, b) in parsed
        .buffers
        .iter()
        .enumerate()
        .filter(|(_, b)| !b.data.is_empty())
    {
        let at = b.data.as_ptr() as usize - once.as_ptr() as usize;
        assert_eq!(at % 16, 0, "buffer {i} data at byte {at}");
    }
    assert_eq!(parsed.write().unwrap(), once);
}
