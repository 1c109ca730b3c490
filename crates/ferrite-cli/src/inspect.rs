//! `ferrite inspect`: a human report or a JSON summary of one model.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context;
use ferrite_format::{Model, ModelBytes};
use ferrite_graph::summary::{ModelSummary, OpLocation, QuantParams, SignatureTensor, TensorInfo};

/// Show what a model contains
///
/// Reports the header and metadata, subgraphs, signatures, the primary
/// subgraph's inputs and outputs, an operator histogram with versions,
/// tensors and constant bytes by dtype, the quantisation scheme, resources
/// (variables, hash tables), control flow, custom and Flex ops, sparse
/// tensors and where the file's bytes go.
///
/// The model is fully verified first; a malformed file gives a one-line
/// error and exit status 2.
#[derive(clap::Args)]
pub struct Args {
    /// The .tflite model file to inspect.
    pub model: PathBuf,
    /// Print one JSON object (the full summary, machine readable) instead of
    /// the text report.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: Args, out: &mut dyn Write) -> anyhow::Result<()> {
    let bytes = ModelBytes::map(&args.model)?;
    let model = Model::parse(&bytes).with_context(|| args.model.display().to_string())?;
    let summary = ModelSummary::from_model(&model, bytes.len() as u64);
    if args.json {
        // Serialised first so a closed pipe surfaces as a plain io::Error.
        writeln!(out, "{}", serde_json::to_string(&summary)?)?;
    } else {
        report(&args.model.display().to_string(), &summary, out)?;
    }
    Ok(())
}

fn report(path: &str, s: &ModelSummary, out: &mut dyn Write) -> std::io::Result<()> {
    header(path, s, out)?;
    subgraphs(s, out)?;
    signatures(s, out)?;
    io_tensors("Inputs", &s.inputs, out)?;
    io_tensors("Outputs", &s.outputs, out)?;
    operators(s, out)?;
    dtypes(s, out)?;
    resources(s, out)?;
    control_flow(s, out)?;
    custom_ops(s, out)?;
    sparse(s, out)
}

fn header(path: &str, s: &ModelSummary, out: &mut dyn Write) -> std::io::Result<()> {
    let z = &s.sizes;
    let mut rows = vec![
        row(["model", path]),
        row(["description", s.description.as_deref().unwrap_or("-")]),
        vec![
            "schema".into(),
            format!(
                "version {}, min runtime {}",
                s.schema_version,
                s.min_runtime_version.as_deref().unwrap_or("-")
            ),
        ],
    ];
    if !s.metadata_names.is_empty() {
        rows.push(vec!["metadata".into(), s.metadata_names.join(", ")]);
    }
    let q = &s.quantization;
    rows.push(vec![
        "quantization".into(),
        format!(
            "{} ({} per-tensor, {} per-axis)",
            q.kind, q.per_tensor, q.per_axis
        ),
    ]);
    rows.push(vec![
        "size".into(),
        format!(
            "{} = {} constants + {} metadata + {} graph",
            bytes(z.file_bytes),
            bytes(z.constant_bytes),
            bytes(z.metadata_bytes),
            bytes(z.graph_bytes)
        ),
    ]);
    table(out, "", &rows, &[])
}

fn subgraphs(s: &ModelSummary, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "\nSubgraphs ({})", s.subgraphs.len())?;
    let mut rows = vec![row(["#", "name", "ops", "tensors", "inputs", "outputs"])];
    for g in &s.subgraphs {
        rows.push(vec![
            g.index.to_string(),
            g.name.clone().unwrap_or_else(|| "-".into()),
            g.num_ops.to_string(),
            g.num_tensors.to_string(),
            list(&g.inputs),
            list(&g.outputs),
        ]);
    }
    table(out, "  ", &rows, &[0, 2, 3])
}

fn signatures(s: &ModelSummary, out: &mut dyn Write) -> std::io::Result<()> {
    if s.signatures.is_empty() {
        return writeln!(out, "\nSignatures: none");
    }
    writeln!(out, "\nSignatures ({})", s.signatures.len())?;
    for sig in &s.signatures {
        writeln!(
            out,
            "  {} -> subgraph {}",
            sig.key.as_deref().unwrap_or("<no key>"),
            sig.subgraph_index
        )?;
        let mut rows = side_rows("in", &sig.inputs);
        rows.extend(side_rows("out", &sig.outputs));
        table(out, "    ", &rows, &[])?;
    }
    Ok(())
}

fn side_rows(dir: &str, ts: &[SignatureTensor]) -> Vec<Vec<String>> {
    ts.iter()
        .map(|t| {
            vec![
                dir.to_string(),
                t.name.clone().unwrap_or_else(|| "-".into()),
                t.tensor_name.clone(),
                t.dtype.to_string(),
                shape(&t.shape, &t.shape_signature),
            ]
        })
        .collect()
}

fn io_tensors(title: &str, ts: &[TensorInfo], out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "\n{title} (subgraph 0)")?;
    let rows: Vec<_> = ts
        .iter()
        .map(|t| {
            vec![
                t.index.to_string(),
                t.name.clone(),
                t.dtype.to_string(),
                shape(&t.shape, &t.shape_signature),
                t.quantization.as_ref().map_or_else(String::new, quant),
            ]
        })
        .collect();
    table(out, "  ", &rows, &[0])
}

fn operators(s: &ModelSummary, out: &mut dyn Write) -> std::io::Result<()> {
    let total: usize = s.op_histogram.values().sum();
    writeln!(
        out,
        "\nOperators ({total} in all subgraphs, {} kinds)",
        s.op_histogram.len()
    )?;
    let mut ops: Vec<_> = s.op_histogram.iter().collect();
    // Most frequent first; ties by name (the map order).
    ops.sort_by(|a, b| b.1.cmp(a.1));
    let rows: Vec<_> = ops
        .into_iter()
        .map(|(name, n)| {
            let v = s.op_versions.get(name).map_or(&[][..], |v| &v[..]);
            let v: Vec<String> = v.iter().map(|v| format!("v{v}")).collect();
            vec![name.clone(), n.to_string(), v.join(",")]
        })
        .collect();
    table(out, "  ", &rows, &[1])
}

fn dtypes(s: &ModelSummary, out: &mut dyn Write) -> std::io::Result<()> {
    writeln!(out, "\nTensors by dtype")?;
    let mut rows = vec![row(["dtype", "tensors", "constant", "bytes"])];
    for (name, d) in &s.tensors_by_dtype {
        rows.push(vec![
            name.clone(),
            d.tensors.to_string(),
            d.constant_tensors.to_string(),
            bytes(d.constant_bytes),
        ]);
    }
    table(out, "  ", &rows, &[1, 2, 3])
}

fn resources(s: &ModelSummary, out: &mut dyn Write) -> std::io::Result<()> {
    let r = &s.resources;
    if r.variables.is_empty() && r.hash_tables.is_empty() {
        return writeln!(out, "\nResources: none");
    }
    writeln!(out, "\nResources")?;
    for v in &r.variables {
        writeln!(
            out,
            "  variable {:?} (container {:?})",
            v.shared_name, v.container
        )?;
        writeln!(out, "    VAR_HANDLE at {}", locations(&v.handles))?;
        writeln!(
            out,
            "    read in subgraphs {}, assigned in subgraphs {}",
            subgraph_set(&v.read_in),
            subgraph_set(&v.assigned_in)
        )?;
    }
    for t in &r.hash_tables {
        let id = match (&t.table_id, &t.shared_name) {
            (Some(id), _) => format!("table_id {id}"),
            (None, Some(name)) => format!("shared_name {name:?}"),
            (None, None) => "unnamed".into(),
        };
        writeln!(
            out,
            "  hash table {id} ({}): {} -> {}",
            t.kind, t.key_dtype, t.value_dtype
        )?;
        writeln!(out, "    created at {}", locations(&t.handles))?;
        for (op, sgs) in &t.used_by {
            writeln!(out, "    {op} in subgraphs {}", subgraph_set(sgs))?;
        }
    }
    Ok(())
}

fn control_flow(s: &ModelSummary, out: &mut dyn Write) -> std::io::Result<()> {
    if s.control_flow.is_empty() {
        return writeln!(out, "\nControl flow: none");
    }
    writeln!(out, "\nControl flow")?;
    let rows: Vec<_> = s
        .control_flow
        .iter()
        .map(|e| {
            vec![
                format!("subgraph {} op {}", e.subgraph, e.op_index),
                e.op.clone(),
                format!("-> subgraph {}", e.target),
                e.target_name.clone().unwrap_or_else(|| "-".into()),
                format!("({})", e.role),
            ]
        })
        .collect();
    table(out, "  ", &rows, &[])
}

fn custom_ops(s: &ModelSummary, out: &mut dyn Write) -> std::io::Result<()> {
    if s.custom_ops.is_empty() {
        return writeln!(out, "\nCustom ops: none");
    }
    writeln!(out, "\nCustom ops")?;
    let rows: Vec<_> = s
        .custom_ops
        .iter()
        .map(|c| {
            let op = c.tf_op.as_deref().unwrap_or("?");
            let kind = match (c.flex, c.options_decoded) {
                (true, true) => format!("Flex, TensorFlow op {op}"),
                (true, false) => format!("Flex, TensorFlow op {op} (options do not decode)"),
                (false, _) => "custom".into(),
            };
            vec![c.custom_code.clone(), format!("x{}", c.count), kind]
        })
        .collect();
    table(out, "  ", &rows, &[1])
}

fn sparse(s: &ModelSummary, out: &mut dyn Write) -> std::io::Result<()> {
    if s.sparse_tensors.is_empty() {
        return writeln!(out, "\nSparse tensors: none");
    }
    writeln!(out, "\nSparse tensors ({})", s.sparse_tensors.len())?;
    let rows: Vec<_> = s
        .sparse_tensors
        .iter()
        .map(|t| {
            vec![
                format!("subgraph {} tensor {}", t.subgraph, t.tensor_index),
                t.name.clone(),
                t.dtype.to_string(),
                list(&t.shape),
            ]
        })
        .collect();
    table(out, "  ", &rows, &[])
}

fn row<const N: usize>(cells: [&str; N]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

/// Writes `rows` as aligned columns; columns in `right` align right.
fn table(
    out: &mut dyn Write,
    indent: &str,
    rows: &[Vec<String>],
    right: &[usize],
) -> std::io::Result<()> {
    let cols = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..cols)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for r in rows {
        let mut line = indent.to_string();
        for (c, cell) in r.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            if right.contains(&c) {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(pad));
            }
            line.push_str("  ");
        }
        writeln!(out, "{}", line.trim_end())?;
    }
    Ok(())
}

fn list<T: std::fmt::Display>(v: &[T]) -> String {
    let items: Vec<String> = v.iter().map(ToString::to_string).collect();
    format!("[{}]", items.join(", "))
}

/// The shape, with the signature beside it when some dimension is dynamic.
fn shape(shape: &[i32], signature: &[i32]) -> String {
    if shape == signature {
        list(shape)
    } else {
        format!("{} (signature {})", list(shape), list(signature))
    }
}

fn quant(q: &QuantParams) -> String {
    match (&q.scale[..], &q.zero_point[..]) {
        ([s], [z]) => format!("scale {s} zero_point {z}"),
        ([s], []) => format!("scale {s}"),
        (s, _) => format!(
            "per-axis (dimension {}), {} scales",
            q.quantized_dimension,
            s.len()
        ),
    }
}

fn locations(v: &[OpLocation]) -> String {
    let items: Vec<String> = v
        .iter()
        .map(|l| format!("subgraph {} op {}", l.subgraph, l.op_index))
        .collect();
    items.join(", ")
}

fn subgraph_set(v: &[usize]) -> String {
    if v.is_empty() {
        "-".into()
    } else {
        list(v)
    }
}

/// Bytes with a binary-prefixed approximation beside them when large.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}
