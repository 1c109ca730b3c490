//! Native half of the `ferrite` Python package: bytes in, bytes out. The
//! numpy conversion and LiteRT's dict layout live in `python/ferrite`.

use ferrite::{DType, Error, ErrorKind, Model, Options, TensorInfo, TensorView};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes};

fn err(e: Error) -> PyErr {
    match e.kind() {
        ErrorKind::InvalidInput | ErrorKind::MalformedModel => PyValueError::new_err(e.to_string()),
        _ => PyRuntimeError::new_err(e.to_string()),
    }
}

fn dtype_name(d: DType) -> &'static str {
    match d {
        DType::Float32 => "float32",
        DType::Float16 => "float16",
        DType::Float64 => "float64",
        DType::Int8 => "int8",
        DType::Uint8 => "uint8",
        DType::Int16 => "int16",
        DType::Uint16 => "uint16",
        DType::Int32 => "int32",
        DType::Uint32 => "uint32",
        DType::Int64 => "int64",
        DType::Uint64 => "uint64",
        DType::Bool => "bool",
        DType::String => "string",
        DType::Complex64 => "complex64",
        DType::Complex128 => "complex128",
        DType::Resource => "resource",
        DType::Variant => "variant",
        DType::Int4 => "int4",
        DType::Bfloat16 => "bfloat16",
    }
}

/// (name, dtype, shape, shape_signature, scales, zero_points, quantized_dimension)
type Info = (
    String,
    &'static str,
    Vec<usize>,
    Vec<i64>,
    Vec<f32>,
    Vec<i64>,
    usize,
);

type SigIo = Vec<(usize, String, Info)>;

fn info(t: TensorInfo) -> Info {
    let (s, z, d) = match t.quantization {
        Some(q) => (q.scale, q.zero_point, q.quantized_dimension),
        None => (vec![], vec![], 0),
    };
    (
        t.name,
        dtype_name(t.dtype),
        t.shape,
        t.shape_signature,
        s,
        z,
        d,
    )
}

/// (dtype, shape, payload): a bytearray, or a list of bytes for STRING tensors.
fn view(py: Python<'_>, v: TensorView<'_>) -> PyResult<(&'static str, Vec<usize>, PyObject)> {
    let payload = if v.dtype == DType::String {
        let items = ferrite::strings_of(&v).map_err(err)?;
        let list: Vec<Py<PyBytes>> = items.iter().map(|s| PyBytes::new(py, s).unbind()).collect();
        list.into_pyobject(py)?.into_any().unbind()
    } else {
        PyByteArray::new(py, v.data).into_any().unbind()
    };
    Ok((dtype_name(v.dtype), v.shape.to_vec(), payload))
}

/// One interpreter. pyo3's borrow flag makes a second thread's call during
/// `invoke` fail with a clear RuntimeError instead of sharing the buffers.
#[pyclass(module = "ferrite._ferrite")]
struct Native {
    model: Model,
    interp: ferrite::Interpreter,
}

#[pymethods]
impl Native {
    #[new]
    #[pyo3(signature = (path=None, content=None, num_threads=None))]
    fn new(
        py: Python<'_>,
        path: Option<String>,
        content: Option<Vec<u8>>,
        num_threads: Option<usize>,
    ) -> PyResult<Self> {
        py.allow_threads(|| {
            let model = match (path, content) {
                (Some(p), None) => Model::load(p),
                (None, Some(c)) => Model::from_bytes(c),
                _ => {
                    return Err(PyValueError::new_err(
                        "Exactly one of model_path or model_content must be given",
                    ))
                }
            }
            .map_err(err)?;
            let mut options = Options::default();
            if let Some(n) = num_threads {
                options.threads = n.max(1);
            }
            let interp = ferrite::Interpreter::new(&model, options).map_err(err)?;
            Ok(Native { model, interp })
        })
    }

    /// Tensor indices (in subgraph 0) of the primary inputs and outputs.
    fn io_indices(&self) -> (Vec<usize>, Vec<usize>) {
        let sg = &self.model.graph().subgraphs[0];
        (sg.inputs.clone(), sg.outputs.clone())
    }

    fn inputs(&self) -> Vec<Info> {
        self.interp.inputs().into_iter().map(info).collect()
    }

    fn outputs(&self) -> Vec<Info> {
        self.interp.outputs().into_iter().map(info).collect()
    }

    fn set_input(&mut self, i: usize, data: &[u8]) -> PyResult<()> {
        self.interp.set_input_bytes(i, data).map_err(err)
    }

    fn set_input_strings(&mut self, i: usize, items: Vec<Vec<u8>>) -> PyResult<()> {
        self.interp.set_input_strings(i, &items).map_err(err)
    }

    fn resize_input(&mut self, i: usize, shape: Vec<usize>) -> PyResult<()> {
        self.interp.resize_input(i, &shape).map_err(err)
    }

    fn invoke(&mut self, py: Python<'_>) -> PyResult<()> {
        let interp = &mut self.interp;
        py.allow_threads(|| interp.invoke()).map_err(err)
    }

    fn output(&self, py: Python<'_>, i: usize) -> PyResult<(&'static str, Vec<usize>, PyObject)> {
        view(py, self.interp.output(i).map_err(err)?)
    }

    fn reset_state(&mut self) {
        self.interp.reset_state()
    }

    fn reset_variable_tensors(&mut self) {
        self.interp.reset_variable_tensors()
    }

    fn input(&self, py: Python<'_>, i: usize) -> PyResult<(&'static str, Vec<usize>, PyObject)> {
        view(py, self.interp.input(i).map_err(err)?)
    }

    /// (address, byte length) of input or output `i`'s buffer, for a numpy
    /// view without a copy. The Python side keeps this object alive as long
    /// as the view; the buffer stays put until a resize or a replan, as
    /// LiteRT's buffers do until `allocate_tensors`.
    fn buffer(&mut self, output: bool, i: usize) -> PyResult<(usize, usize)> {
        let buf = if output {
            self.interp.output_buffer_mut(i)
        } else {
            self.interp.input_buffer_mut(i)
        }
        .map_err(err)?;
        Ok((buf.as_mut_ptr() as usize, buf.len()))
    }

    fn signature_keys(&self) -> Vec<String> {
        self.model
            .signature_keys()
            .into_iter()
            .map(String::from)
            .collect()
    }

    /// Inputs and outputs of signature `key`, each as (name, tensor index, info).
    #[allow(clippy::type_complexity)]
    fn signature_io(&mut self, key: &str) -> PyResult<(SigIo, SigIo)> {
        let graph = self.model.graph();
        let index = |outs: bool, n: &str| {
            graph.signature(key).and_then(|s| {
                let list = if outs { &s.outputs } else { &s.inputs };
                list.iter().find(|(m, _)| m == n).map(|(_, t)| *t)
            })
        };
        let r = self.interp.signature(key).map_err(err)?;
        let ins = r.inputs().into_iter();
        let ins = ins
            .map(|(n, t)| (index(false, &n).unwrap_or(0), n, info(t)))
            .collect();
        let outs = r.outputs().into_iter();
        let outs = outs
            .map(|(n, t)| (index(true, &n).unwrap_or(0), n, info(t)))
            .collect();
        Ok((ins, outs))
    }

    fn signature_resize(&mut self, key: &str, name: &str, shape: Vec<usize>) -> PyResult<()> {
        let mut r = self.interp.signature(key).map_err(err)?;
        r.resize_input(name, &shape).map_err(err)
    }

    fn signature_set(&mut self, key: &str, name: &str, data: &[u8]) -> PyResult<()> {
        let mut r = self.interp.signature(key).map_err(err)?;
        r.set_input_bytes(name, data).map_err(err)
    }

    fn signature_invoke(&mut self, py: Python<'_>, key: &str) -> PyResult<()> {
        let interp = &mut self.interp;
        py.allow_threads(|| interp.signature(key)?.invoke())
            .map_err(err)
    }

    fn signature_output(
        &mut self,
        py: Python<'_>,
        key: &str,
        name: &str,
    ) -> PyResult<(&'static str, Vec<usize>, PyObject)> {
        let r = self.interp.signature(key).map_err(err)?;
        view(py, r.output(name).map_err(err)?)
    }
}

/// Encodes strings in the TFLite string-buffer layout (for signature inputs).
#[pyfunction]
fn encode_strings(py: Python<'_>, items: Vec<Vec<u8>>) -> Py<PyBytes> {
    PyBytes::new(py, &ferrite_strings(&items)).unbind()
}

fn ferrite_strings(items: &[Vec<u8>]) -> Vec<u8> {
    // Layout: count, count+1 offsets (all i32 LE), then the bytes.
    let header = 4 * (items.len() + 2);
    let mut out = Vec::with_capacity(header + items.iter().map(Vec::len).sum::<usize>());
    out.extend_from_slice(&(items.len() as i32).to_le_bytes());
    let mut off = header;
    for s in items {
        out.extend_from_slice(&(off as i32).to_le_bytes());
        off += s.len();
    }
    out.extend_from_slice(&(off as i32).to_le_bytes());
    for s in items {
        out.extend_from_slice(s);
    }
    out
}

/// `ferrite check` on model bytes: the per-target reports as JSON text.
#[pyfunction]
fn check(py: Python<'_>, content: Vec<u8>, targets: Vec<String>) -> PyResult<String> {
    py.allow_threads(|| {
        let targets = targets
            .iter()
            .map(|t| ferrite_check::Target::from_spec(t))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let reports = ferrite_check::check(&content, &targets)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        serde_json::to_string(&reports).map_err(|e| PyRuntimeError::new_err(e.to_string()))
    })
}

/// `ferrite freeze`: the frozen model's bytes and the names of the frozen variables.
#[pyfunction]
fn freeze(
    py: Python<'_>,
    content: Vec<u8>,
    input_shapes: Vec<(String, Vec<usize>)>,
) -> PyResult<(Py<PyBytes>, Vec<String>)> {
    let frozen = py.allow_threads(|| {
        let model = ferrite_format::Model::parse(&content)
            .map_err(|e| PyValueError::new_err(e.to_string()))?;
        let options = ferrite_freeze::Options { input_shapes };
        ferrite_freeze::freeze(&model, &options).map_err(|e| PyValueError::new_err(e.to_string()))
    })?;
    let names = frozen
        .report
        .variables
        .iter()
        .map(|v| v.shared_name.clone())
        .collect();
    Ok((PyBytes::new(py, &frozen.bytes).unbind(), names))
}

#[pymodule]
fn _ferrite(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Native>()?;
    m.add_function(wrap_pyfunction!(encode_strings, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(freeze, m)?)?;
    Ok(())
}
