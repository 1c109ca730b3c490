//! Targets: what a runtime supports, read from the data files under
//! `targets/` (embedded at build time), from ferrite's own registry, or from
//! a user's list of registered ops.

use std::path::Path;

use ferrite_format::TensorType;
use serde::Deserialize;

use crate::CheckError;

/// The built-in targets, in the order `--help` lists them.
pub const TARGET_NAMES: [&str; 5] = [
    "ferrite",
    "litert",
    "litert-flex",
    "tflite-micro",
    "tvm-relax",
];

const FILES: [(&str, &str); 5] = [
    ("ferrite", include_str!("../../../targets/ferrite.toml")),
    ("litert", include_str!("../../../targets/litert.toml")),
    (
        "litert-flex",
        include_str!("../../../targets/litert-flex.toml"),
    ),
    (
        "tflite-micro",
        include_str!("../../../targets/tflite-micro.toml"),
    ),
    ("tvm-relax", include_str!("../../../targets/tvm-relax.toml")),
];

/// One supported builtin op: any version when `versions` is `None`, and
/// any first-input dtype when `input_dtypes` is `None`.
#[derive(Debug, Clone, PartialEq)]
pub struct OpEntry {
    pub name: String,
    pub versions: Option<(i32, i32)>,
    pub input_dtypes: Option<Vec<TensorType>>,
}

#[derive(Debug, Clone)]
pub struct OpTable {
    pub builtin: Vec<OpEntry>,
    /// Custom codes the runtime resolves (Flex codes included when listed).
    pub custom: Vec<String>,
    /// False when the runtime matches ops by code alone (TFLM, TVM).
    pub versions_checked: bool,
    /// Fix text for a missing builtin; `{op}` and `{version}` are filled in.
    pub missing_fix: Option<String>,
    pub custom_fix: Option<String>,
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FlexMode {
    /// No Flex delegate: every Flex op is unresolved.
    None,
    /// The Flex delegate runs any TensorFlow op.
    All,
    /// Only the TensorFlow ops in `native` run (ferrite).
    Native,
}

#[derive(Debug, Clone)]
pub struct FlexRule {
    pub mode: FlexMode,
    pub native: Vec<String>,
    pub fix: Option<String>,
    pub source: String,
}

/// Where a state-changing op may sit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    Anywhere,
    /// Only in a subgraph reached solely through CALL_ONCE.
    CallOnceInit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FindRule {
    Runtime,
    /// TVM folds lookups of constant strings in string->int64 tables only.
    ConstantStringToInt64,
}

#[derive(Debug, Clone)]
pub struct HashTableRule {
    pub pairs: Vec<(TensorType, TensorType)>,
    pub import: Scope,
    pub find: FindRule,
    pub source: String,
}

#[derive(Debug, Clone)]
pub struct VariableRule {
    pub assign: Scope,
    /// A caveat reported whenever the model has resource variables, and
    /// what to do about it.
    pub warning: Option<String>,
    pub warning_fix: Option<String>,
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DynamicShapes {
    /// Inputs may be resized and data-dependent shapes are allowed.
    Resizable,
    /// The stored shape is used at import unless the caller overrides it.
    ImportFixed,
    /// Tensors keep their stored shapes; data-dependent shapes fail.
    Static,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StringSupport {
    Any,
    /// Only constant string buffers (e.g. hash table keys) are read.
    Constant,
    None,
}

#[derive(Debug, Clone)]
pub struct ShapeRule {
    pub value: DynamicShapes,
    pub resize_note: Option<String>,
    pub source: String,
}

#[derive(Debug, Clone)]
pub struct Rule<T> {
    pub value: T,
    pub source: String,
}

/// How a target without hybrid kernels recognises a hybrid op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HybridRule {
    /// A compute op fed a float activation next to quantized integer
    /// weights (the kernels' own dtype checks); resource and data-movement
    /// ops are never hybrid.
    #[default]
    FloatActivation,
    /// TVM's importer heuristic, applied to every op it imports: first
    /// input and outputs unquantized, some later input quantized.
    FirstInput,
}

#[derive(Debug, Clone)]
pub struct QuantRule {
    pub dynamic_range: bool,
    pub hybrid: HybridRule,
    /// Ops allowed to touch quantized tensors; `None` allows all.
    pub quantized_ops: Option<Vec<String>>,
    pub source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Imported {
    All,
    /// Only subgraph 0 and the subgraphs its control flow calls.
    Primary,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Invoked {
    Signatures,
    Primary,
}

#[derive(Debug, Clone)]
pub struct SubgraphRule {
    pub imported: Imported,
    pub invoked: Invoked,
    pub source: String,
}

/// Everything `check` needs to know about one runtime.
#[derive(Debug, Clone)]
pub struct Target {
    /// The ops ferrite plans the model with (`plan_with_ferrite` targets).
    pub resolver: ferrite::OpResolver,
    pub name: String,
    pub summary: String,
    pub ops: OpTable,
    pub flex: FlexRule,
    pub hash_tables: HashTableRule,
    pub variables: VariableRule,
    pub shapes: ShapeRule,
    pub strings: Rule<StringSupport>,
    pub quantization: QuantRule,
    pub dtypes: Rule<Option<Vec<TensorType>>>,
    pub subgraphs: SubgraphRule,
    /// Also plan the model with ferrite's interpreter.
    pub plan_with_ferrite: bool,
}

// The file layout; every section is required and names its source.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    name: String,
    summary: String,
    ops: OpsSection,
    flex: FlexSection,
    hash_tables: HashSection,
    variables: VarSection,
    shapes: ShapeSection,
    strings: StringSection,
    quantization: QuantSection,
    dtypes: DtypeSection,
    subgraphs: SubgraphSection,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpsSection {
    versions: String,
    #[serde(default)]
    from_registry: bool,
    builtin: Vec<String>,
    custom: Vec<String>,
    missing_fix: Option<String>,
    custom_fix: Option<String>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlexSection {
    mode: FlexMode,
    fix: Option<String>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HashSection {
    pairs: Vec<String>,
    import: Scope,
    find: FindRule,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VarSection {
    assign: Scope,
    warning: Option<String>,
    #[serde(rename = "warning-fix")]
    warning_fix: Option<String>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ShapeSection {
    dynamic: DynamicShapes,
    /// A caveat for every dynamic input of an entry subgraph.
    resize_note: Option<String>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StringSection {
    tensors: StringSupport,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuantSection {
    dynamic_range: bool,
    #[serde(default)]
    hybrid: HybridRule,
    quantized_ops: Option<Vec<String>>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DtypeSection {
    allowed: Option<Vec<String>>,
    source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SubgraphSection {
    imported: Imported,
    invoked: Invoked,
    source: String,
}

/// The numpy-style dtype called `name` (`float32`, `string`, ...).
pub fn dtype_named(name: &str) -> Option<TensorType> {
    (0..)
        .map_while(TensorType::from_code)
        .find(|&t| ferrite_graph::summary::dtype_name(t) == name)
}

/// Parses `NAME`, `NAME 3`, `NAME 1-5` and an optional `in=int8,int16`.
pub fn parse_op_line(line: &str) -> Result<OpEntry, String> {
    let mut words = line.split_whitespace();
    let name = words.next().ok_or("empty op line")?.to_string();
    let mut entry = OpEntry {
        name,
        versions: None,
        input_dtypes: None,
    };
    for w in words {
        if let Some(list) = w.strip_prefix("in=") {
            let dtypes = list
                .split(',')
                .map(|d| dtype_named(d).ok_or_else(|| format!("unknown dtype '{d}' in '{line}'")))
                .collect::<Result<_, _>>()?;
            entry.input_dtypes = Some(dtypes);
            continue;
        }
        let (lo, hi) = w.split_once('-').unwrap_or((w, w));
        let parse = |s: &str| {
            s.parse::<i32>()
                .ok()
                .filter(|&v| v >= 1)
                .ok_or_else(|| format!("bad version range '{w}' in '{line}'"))
        };
        let (lo, hi) = (parse(lo)?, parse(hi)?);
        if lo > hi {
            return Err(format!("empty version range '{w}' in '{line}'"));
        }
        entry.versions = Some((lo, hi));
    }
    Ok(entry)
}

fn parse_pair(p: &str) -> Result<(TensorType, TensorType), String> {
    let (k, v) = p
        .split_once("->")
        .ok_or_else(|| format!("bad pair '{p}'"))?;
    let get = |d: &str| dtype_named(d.trim()).ok_or_else(|| format!("unknown dtype '{d}'"));
    Ok((get(k)?, get(v)?))
}

fn dtype_list(names: &[String]) -> Result<Vec<TensorType>, String> {
    names
        .iter()
        .map(|n| dtype_named(n).ok_or_else(|| format!("unknown dtype '{n}'")))
        .collect()
}

/// The custom codes ferrite runs with `resolver`: its registered ops and
/// the kernels of the registry's named-op tables.
fn ferrite_custom_ops(resolver: &ferrite::OpResolver) -> Vec<String> {
    let mut names: Vec<String> = resolver
        .custom_ops()
        .into_iter()
        .map(String::from)
        .collect();
    for n in ferrite_runtime::native_custom_ops() {
        if !names.iter().any(|m| m == n) {
            names.push(n.to_string());
        }
    }
    names
}

impl Target {
    /// Parses a target data file.
    pub fn from_toml(text: &str) -> Result<Target, String> {
        let f: File = toml::from_str(text).map_err(|e| e.to_string())?;
        let versions_checked = match f.ops.versions.as_str() {
            "checked" => true,
            "ignored" => false,
            v => {
                return Err(format!(
                    "ops.versions must be checked or ignored, not '{v}'"
                ))
            }
        };
        let mut builtin: Vec<OpEntry> = f
            .ops
            .builtin
            .iter()
            .map(|l| parse_op_line(l))
            .collect::<Result<_, _>>()?;
        let mut native = Vec::new();
        let mut custom = f.ops.custom;
        if f.ops.from_registry {
            builtin.extend(ferrite_ops());
            native = ferrite_runtime::native_tf_ops()
                .into_iter()
                .map(String::from)
                .collect();
            custom.extend(ferrite_custom_ops(ferrite::OpResolver::shared()));
        }
        Ok(Target {
            resolver: ferrite::OpResolver::shared().clone(),
            plan_with_ferrite: f.ops.from_registry,
            name: f.name,
            summary: f.summary,
            ops: OpTable {
                builtin,
                custom,
                versions_checked,
                missing_fix: f.ops.missing_fix,
                custom_fix: f.ops.custom_fix,
                source: f.ops.source,
            },
            flex: FlexRule {
                mode: f.flex.mode,
                native,
                fix: f.flex.fix,
                source: f.flex.source,
            },
            hash_tables: HashTableRule {
                pairs: f
                    .hash_tables
                    .pairs
                    .iter()
                    .map(|p| parse_pair(p))
                    .collect::<Result<_, _>>()?,
                import: f.hash_tables.import,
                find: f.hash_tables.find,
                source: f.hash_tables.source,
            },
            variables: VariableRule {
                assign: f.variables.assign,
                warning: f.variables.warning,
                warning_fix: f.variables.warning_fix,
                source: f.variables.source,
            },
            shapes: ShapeRule {
                value: f.shapes.dynamic,
                resize_note: f.shapes.resize_note,
                source: f.shapes.source,
            },
            strings: Rule {
                value: f.strings.tensors,
                source: f.strings.source,
            },
            quantization: QuantRule {
                dynamic_range: f.quantization.dynamic_range,
                hybrid: f.quantization.hybrid,
                quantized_ops: f.quantization.quantized_ops,
                source: f.quantization.source,
            },
            dtypes: Rule {
                value: f.dtypes.allowed.as_deref().map(dtype_list).transpose()?,
                source: f.dtypes.source,
            },
            subgraphs: SubgraphRule {
                imported: f.subgraphs.imported,
                invoked: f.subgraphs.invoked,
                source: f.subgraphs.source,
            },
        })
    }

    /// This target with ferrite's ops resolved through `resolver`, so
    /// custom ops registered on it count as ferrite ops. Targets that are
    /// not ferrite are returned unchanged.
    pub fn with_resolver(mut self, resolver: &ferrite::OpResolver) -> Target {
        if self.plan_with_ferrite {
            self.ops.custom = ferrite_custom_ops(resolver);
            self.resolver = resolver.clone();
        }
        self
    }

    /// A built-in target by name.
    pub fn builtin(name: &str) -> Option<Target> {
        let (_, text) = FILES.iter().find(|(n, _)| *n == name)?;
        // The embedded files are tested to parse.
        Some(Target::from_toml(text).unwrap_or_else(|e| panic!("targets/{name}.toml: {e}")))
    }

    /// A target from the command line: a built-in name or `ops:FILE`.
    pub fn from_spec(spec: &str) -> Result<Target, CheckError> {
        if let Some(path) = spec.strip_prefix("ops:") {
            let text = std::fs::read_to_string(path).map_err(|e| CheckError::OpsFile {
                path: path.into(),
                reason: e.to_string(),
            })?;
            return Target::from_ops_list(Path::new(path), &text);
        }
        Target::builtin(spec).ok_or_else(|| CheckError::UnknownTarget(spec.to_string()))
    }

    /// A reduced LiteRT build registering only the listed ops: one name per
    /// line, optionally with versions; `#` starts a comment. Names that are
    /// not builtin operators are custom codes (Flex codes included).
    pub fn from_ops_list(path: &Path, text: &str) -> Result<Target, CheckError> {
        let mut t = Target::builtin("litert").expect("litert target");
        let (mut builtin, mut custom) = (Vec::new(), Vec::new());
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let entry = parse_op_line(line).map_err(|reason| CheckError::OpsFile {
                path: path.display().to_string(),
                reason: format!("line {}: {reason}", i + 1),
            })?;
            if ferrite_format::builtin_code(&entry.name).is_some() {
                builtin.push(entry);
            } else {
                custom.push(entry.name);
            }
        }
        t.name = format!("ops:{}", path.display());
        t.summary = "a reduced build that registers only the listed ops".into();
        t.ops = OpTable {
            builtin,
            custom,
            versions_checked: true,
            missing_fix: Some(
                "register it in your op resolver: AddBuiltin(BuiltinOperator_{op}, Register_{op}(), min_version, max_version) covering version {version}, and add it to the list".into(),
            ),
            custom_fix: None,
            source: format!("{} (the user's list of registered ops)", path.display()),
        };
        // A Flex op runs only if its custom code is listed (registered).
        t.flex.mode = FlexMode::None;
        Ok(t)
    }
}

/// Ferrite's builtin ops: the kernel registry plus interpreter-run ops.
fn ferrite_ops() -> Vec<OpEntry> {
    let kernels = ferrite_kernels::registry::all().map(|r| OpEntry {
        name: r.op.to_string(),
        versions: Some((r.min_version, r.max_version)),
        input_dtypes: None,
    });
    let control = ferrite_runtime::INTERPRETER_OPS.iter().map(|op| OpEntry {
        name: op.to_string(),
        versions: None,
        input_dtypes: None,
    });
    kernels.chain(control).collect()
}
