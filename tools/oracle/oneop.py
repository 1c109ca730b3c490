"""The oracle's one-operator models: writes a .tflite flatbuffer holding one
operator with exactly the given shapes and quantization parameters (including
ones the converter never emits), runs it on LiteRT's builtin kernels
(BUILTIN_WITHOUT_DEFAULT_DELEGATES) and prints values as Rust literals.

A tensor is a dict made by `tensor`: dtype ("f32", "i8", "u8", "i16", "i32",
"i64"), shape, scale and zp (scalars or per-channel lists; None scale = not
quantized), axis (quantized dimension), const (values of a constant tensor)
and variable (a variable tensor, e.g. an LSTM state).
"""

import flatbuffers
import numpy as np
from ai_edge_litert import interpreter as litert
from ai_edge_litert import schema_py_generated as s

TYPES = {
    "i8": (s.TensorType.INT8, np.int8),
    "u8": (s.TensorType.UINT8, np.uint8),
    "i16": (s.TensorType.INT16, np.int16),
    "i32": (s.TensorType.INT32, np.int32),
    "i64": (s.TensorType.INT64, np.int64),
    "f32": (s.TensorType.FLOAT32, np.float32),
}


def tensor(dtype, shape, scale=None, zp=0, const=None, axis=0, variable=False):
    """A tensor description for `model`."""
    return dict(dtype=dtype, shape=list(shape), scale=scale, zp=zp,
                const=const, axis=axis, variable=variable)


def _tensor(name, spec, buffer):
    t = s.TensorT()
    t.name = name
    t.type = TYPES[spec.get("dtype", "f32")][0]
    t.shape = list(spec["shape"])
    t.buffer = buffer
    t.isVariable = bool(spec.get("variable", False))
    if spec.get("scale") is not None:
        q = s.QuantizationParametersT()
        q.scale = [float(v) for v in np.atleast_1d(np.asarray(spec["scale"], np.float32))]
        q.zeroPoint = [int(z) for z in np.atleast_1d(spec.get("zp", 0))]
        if len(q.zeroPoint) == 1 and len(q.scale) > 1:
            q.zeroPoint = q.zeroPoint * len(q.scale)
        q.quantizedDimension = int(spec.get("axis", 0))
        t.quantization = q
    return t


def model(op, inputs, outputs, options=None, version=1):
    """op: BuiltinOperator name; inputs/outputs: `tensor` dicts (None is an
    omitted optional input; inputs without const that are not variable are
    the graph inputs); options: (BuiltinOptions name, options object) or
    None. Returns the flatbuffer bytes."""
    m = s.ModelT()
    m.version = 3
    code = s.OperatorCodeT()
    opcode = getattr(s.BuiltinOperator, op)
    code.builtinCode = opcode
    code.deprecatedBuiltinCode = min(opcode, 127)
    code.version = version
    m.operatorCodes = [code]
    m.buffers = [s.BufferT()]
    sg = s.SubGraphT()
    sg.tensors = []
    graph_inputs, op_inputs = [], []
    for i, spec in enumerate(inputs):
        if spec is None:
            op_inputs.append(-1)
            continue
        buf = 0
        if spec.get("const") is not None:
            b = s.BufferT()
            data = np.asarray(spec["const"], TYPES[spec["dtype"]][1])
            b.data = list(data.tobytes())
            m.buffers.append(b)
            buf = len(m.buffers) - 1
        elif not spec.get("variable", False):
            graph_inputs.append(len(sg.tensors))
        op_inputs.append(len(sg.tensors))
        sg.tensors.append(_tensor(f"in{i}", spec, buf))
    outs = []
    for i, spec in enumerate(outputs):
        outs.append(len(sg.tensors))
        sg.tensors.append(_tensor(f"out{i}", spec, 0))
    o = s.OperatorT()
    o.opcodeIndex = 0
    o.inputs = op_inputs
    o.outputs = outs
    if options is not None:
        o.builtinOptionsType = getattr(s.BuiltinOptions, options[0])
        o.builtinOptions = options[1]
    sg.operators = [o]
    sg.inputs = graph_inputs
    sg.outputs = outs
    m.subgraphs = [sg]
    b = flatbuffers.Builder(1024)
    b.Finish(m.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def invoke(model_bytes, feeds, invokes=1, threads=None):
    """Runs `invokes` times with the same feeds; returns each invoke's list
    of outputs. A feed with the input's element count is reshaped to it; any
    other feed resizes the input. Raises when LiteRT refuses the model."""
    it = litert.Interpreter(
        model_content=model_bytes,
        num_threads=threads,
        experimental_op_resolver_type=litert.OpResolverType.
        BUILTIN_WITHOUT_DEFAULT_DELEGATES)
    ins = it.get_input_details()
    vals = []
    for d, v in zip(ins, feeds):
        v = np.asarray(v, d["dtype"])
        if v.size == int(np.prod(d["shape"])):
            v = v.reshape(d["shape"])
        else:
            it.resize_tensor_input(d["index"], v.shape)
        vals.append(v)
    it.allocate_tensors()
    res = []
    for _ in range(invokes):
        for d, v in zip(ins, vals):
            it.set_tensor(d["index"], v)
        it.invoke()
        res.append([it.get_tensor(d["index"]).copy() for d in it.get_output_details()])
    return res


def run(model_bytes, feeds, threads=None):
    """The list of output arrays, or the first line of the error when
    LiteRT refuses the model."""
    try:
        return invoke(model_bytes, feeds, threads=threads)[0]
    except (RuntimeError, ValueError) as e:
        text = str(e).strip()
        return text.splitlines()[0] if text else "error"


def run1(model_bytes, feeds, threads=None):
    """The first output array, or the error text (see `run`)."""
    y = run(model_bytes, feeds, threads)
    return y if isinstance(y, str) else y[0]


def f32(x):
    """A float32 value printed as the float64 it is (exact in Rust)."""
    return repr(float(np.float32(x)))


def ints(a):
    return "&[" + ", ".join(str(int(v)) for v in np.asarray(a).ravel()) + "]"


def floats(a):
    return "&[" + ", ".join(f32(v) for v in np.asarray(a).ravel()) + "]"


def shape(a):
    return "&[" + ", ".join(str(int(v)) for v in a) + "]"


def rust_f32(values, indent=8):
    """A wrapped Rust array body of float32 literals (shortest round-trip)."""
    vals = [str(np.float32(v)) if np.isfinite(v) else "f32::NAN" for v in np.asarray(values).ravel()]
    vals = [v if ("." in v or "e" in v or "N" in v) else v + ".0" for v in vals]
    return _wrap(vals, indent)


def rust_int(values, indent=8):
    return _wrap([str(int(v)) for v in np.asarray(values).ravel()], indent)


def _wrap(items, indent):
    lines, cur = [], ""
    for it in items:
        if len(cur) + len(it) + 2 > 100 - indent:
            lines.append(cur.rstrip())
            cur = ""
        cur += it + ", "
    if cur:
        lines.append(cur.rstrip())
    pad = " " * indent
    return "\n".join(pad + ln for ln in lines)
