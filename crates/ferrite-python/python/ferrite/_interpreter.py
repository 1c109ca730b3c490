"""LiteRT-compatible Interpreter over the native ``ferrite._ferrite`` module."""

import ctypes
import enum
import warnings

import numpy as np

from . import _ferrite

_DTYPES = {
    "float32": np.float32,
    "float16": np.float16,
    "float64": np.float64,
    "int8": np.int8,
    "uint8": np.uint8,
    "int16": np.int16,
    "uint16": np.uint16,
    "int32": np.int32,
    "uint32": np.uint32,
    "int64": np.int64,
    "uint64": np.uint64,
    "bool": np.bool_,
    "string": np.bytes_,
    "complex64": np.complex64,
    "complex128": np.complex128,
    "resource": np.int32,
    "variant": np.int32,
    "int4": np.int8,
    "bfloat16": np.uint16,
}

# LiteRT-only constructor arguments that ferrite accepts but ignores.
_IGNORED = (
    "experimental_delegates",
    "experimental_disable_delegate_clustering",
    "experimental_default_delegate_latest_features",
    "experimental_compress_quantization_zero_points",
    "experimental_disable_delegate_node_fusion",
    "experimental_force_delegate_node_profiling",
)


class OpResolverType(enum.Enum):
    """Accepted for compatibility; ferrite has one kernel set."""

    AUTO = 0
    BUILTIN = 1
    BUILTIN_REF = 2
    BUILTIN_WITHOUT_DEFAULT_DELEGATES = 3


def _details(index, info):
    name, dtype, shape, signature, scales, zero_points, qdim = info
    per_tensor = (float(scales[0]), int(zero_points[0])) if len(scales) == 1 else (0.0, 0)
    return {
        "name": name,
        "index": int(index),
        "shape": np.array(shape, dtype=np.int32),
        "shape_signature": np.array(signature if signature else shape, dtype=np.int32),
        "dtype": _DTYPES[dtype],
        "quantization": per_tensor,
        "quantization_parameters": {
            "scales": np.array(scales, dtype=np.float32),
            "zero_points": np.array(zero_points, dtype=np.int32),
            "quantized_dimension": int(qdim),
            "block_size": 0,
        },
        "sparsity_parameters": {},
    }


def _to_array(out):
    dtype, shape, payload = out
    if dtype == "string":
        arr = np.empty(len(payload), dtype=object)
        arr[:] = payload
        return arr.reshape(shape)
    # The payload is a fresh bytearray, so the array owns a writable copy.
    return np.frombuffer(payload, dtype=_DTYPES[dtype]).reshape(shape)


def _string_items(value):
    flat = np.asarray(value, dtype=object).reshape(-1)
    return [v.encode() if isinstance(v, str) else bytes(v) for v in flat]


def _check_value(details, value, what):
    want = details["dtype"]
    if want is np.bytes_:
        if value.dtype.kind not in "OSU":
            raise ValueError(
                "Cannot set tensor: Got value of type %s but expected type STRING for %s, name: %s"
                % (value.dtype.name.upper(), what, details["name"])
            )
    elif value.dtype != want:
        raise ValueError(
            "Cannot set tensor: Got value of type %s but expected type %s for %s, name: %s"
            % (value.dtype.name.upper(), np.dtype(want).name.upper(), what, details["name"])
        )
    shape = tuple(int(d) for d in details["shape"])
    if value.ndim != len(shape):
        raise ValueError(
            "Cannot set tensor: Dimension mismatch. Got %d but expected %d for %s."
            % (value.ndim, len(shape), what)
        )
    for d, (got, exp) in enumerate(zip(value.shape, shape)):
        if got != exp:
            raise ValueError(
                "Cannot set tensor: Dimension mismatch. Got %d but expected %d for dimension %d of %s."
                % (got, exp, d, what)
            )


class Interpreter:
    """Runs a .tflite model; a drop-in for LiteRT's ``Interpreter``.

    Give exactly one of ``model_path`` (a file) or ``model_content`` (bytes).
    ``num_threads`` sets the worker count. Unsupported ops are reported here,
    naming the op. LiteRT-only options (delegates, resolver choices) are
    accepted with a warning where they would change behaviour.
    """

    def __init__(
        self,
        model_path=None,
        model_content=None,
        experimental_delegates=None,
        num_threads=None,
        experimental_op_resolver_type=OpResolverType.AUTO,
        experimental_preserve_all_tensors=False,
        **kwargs,
    ):
        for key in kwargs:
            if key not in _IGNORED:
                raise TypeError("Interpreter() got an unexpected keyword argument '%s'" % key)
            warnings.warn("ferrite ignores the LiteRT-only argument %s" % key, stacklevel=2)
        if experimental_delegates:
            warnings.warn(
                "ferrite ignores experimental_delegates: it runs every op itself", stacklevel=2
            )
        if experimental_preserve_all_tensors:
            warnings.warn(
                "ferrite does not preserve intermediate tensors: get_tensor works on inputs and"
                " outputs only",
                stacklevel=2,
            )
        if num_threads is not None:
            if not isinstance(num_threads, int):
                raise ValueError("type of num_threads should be int")
            if num_threads < 1:
                raise ValueError("num_threads should >= 1")
        if model_path is None and model_content is None:
            raise ValueError("`model_path` or `model_content` must be specified.")
        if model_path is not None and model_content is not None:
            raise ValueError("Can't both provide `model_path` and `model_content`")
        if model_path is not None:
            try:
                with open(model_path, "rb"):
                    pass
            except OSError:
                raise ValueError("Failed to open {}".format(model_path)) from None
            self._native = _ferrite.Native(path=str(model_path), num_threads=num_threads)
        else:
            self._native = _ferrite.Native(content=bytes(model_content), num_threads=num_threads)
        self._inputs, self._outputs = self._native.io_indices()
        self._cached_inputs = None  # details, dropped whenever a shape may change

    def allocate_tensors(self):
        """Accepted for compatibility: ferrite plans at load and after a resize."""

    def invoke(self):
        """Runs the model; the GIL is released meanwhile.

        Raises RuntimeError naming the op and tensor when an op fails.
        """
        self._native.invoke()

    def reset_all_variables(self):
        """Restores the variable tensors (LSTM-style kernel state), as LiteRT does.

        Resource variables and hash tables keep their values, also as in
        LiteRT; ``reset_state`` clears them too.
        """
        self._native.reset_variable_tensors()

    def reset_state(self):
        """Beyond LiteRT: forgets resource variables, hash tables and CALL_ONCE
        history as well, so the next invoke runs as on a fresh interpreter."""
        self._native.reset_state()

    def get_input_details(self):
        """Details dicts (name, index, shape, dtype, quantization...) of the inputs."""
        return [_details(i, info) for i, info in zip(self._inputs, self._native.inputs())]

    def _input_details_cached(self):
        if self._cached_inputs is None:
            details = self.get_input_details()
            # (dtype, shape) per input: set_tensor's fast acceptance test.
            self._cached_expect = [(np.dtype(d["dtype"]), tuple(int(n) for n in d["shape"])) for d in details]
            self._cached_inputs = details
        return self._cached_inputs

    def get_output_details(self):
        """Details dicts of the outputs, with the same keys as get_input_details."""
        return [_details(i, info) for i, info in zip(self._outputs, self._native.outputs())]

    def get_tensor_details(self):
        """Details of the inputs and outputs (ferrite does not expose intermediates)."""
        seen = {}
        for d in self.get_input_details() + self.get_output_details():
            seen.setdefault(d["index"], d)
        return [seen[k] for k in sorted(seen)]

    def _input_position(self, tensor_index):
        try:
            return self._inputs.index(int(tensor_index))
        except ValueError:
            raise ValueError(
                "Tensor %s is not an input of the model (inputs: %s)" % (tensor_index, self._inputs)
            ) from None

    def set_tensor(self, tensor_index, value):
        """Copies ``value`` into input tensor ``tensor_index``; dtype and shape must match."""
        pos = self._input_position(tensor_index)
        details = self._input_details_cached()[pos]
        value = np.asarray(value)
        if (value.dtype, value.shape) != self._cached_expect[pos]:
            _check_value(details, value, "input %d" % pos)
        if details["dtype"] is np.bytes_:
            self._native.set_input_strings(pos, _string_items(value))
        else:
            self._native.set_input(pos, np.ascontiguousarray(value).tobytes())

    def resize_tensor_input(self, input_index, tensor_size, strict=False):
        """Changes an input's shape; with ``strict`` only -1 dimensions may change."""
        pos = self._input_position(input_index)
        shape = [int(d) for d in np.asarray(tensor_size).reshape(-1)]
        if strict:
            sig = self.get_input_details()[pos]["shape_signature"]
            for d, (want, cur) in enumerate(zip(shape, sig)):
                if cur != -1 and want != cur:
                    raise ValueError(
                        "ResizeInputTensorStrict only allows mutating unknown dimensions"
                        " identified by -1 (dimension %d of input %d)" % (d, pos)
                    )
        self._native.resize_input(pos, shape)
        self._cached_inputs = None

    def get_tensor(self, tensor_index, subgraph_index=0):
        """A copy of tensor ``tensor_index`` (an input or an output)."""
        if subgraph_index != 0:
            raise ValueError("ferrite reads tensors of subgraph 0 only")
        output, pos = self._io_position(tensor_index)
        dtype, shape, payload = (self._native.output if output else self._native.input)(pos)
        if len(payload) == 0 and 0 not in shape:
            # Not written yet: LiteRT's freshly allocated buffer reads as zeros.
            return np.zeros(tuple(shape), dtype=object if dtype == "string" else _DTYPES[dtype])
        return _to_array((dtype, shape, payload))

    def _io_position(self, tensor_index):
        index = int(tensor_index)
        if index in self._outputs:
            return True, self._outputs.index(index)
        if index in self._inputs:
            return False, self._inputs.index(index)
        raise ValueError(
            "Tensor %d is neither an input nor an output; ferrite does not keep intermediates"
            % index
        )

    def tensor(self, tensor_index):
        """A callable returning a numpy view of the tensor's buffer, without a copy.

        As in LiteRT, the view reads and writes the interpreter's memory: an
        output view shows each new invoke's result, and writing an input view
        sets that input. Do not keep a view across ``resize_tensor_input``.
        STRING tensors have no view; use ``get_tensor``.
        """
        output, pos = self._io_position(tensor_index)

        def view():
            details = (self.get_output_details() if output else self._input_details_cached())[pos]
            if details["dtype"] is np.bytes_:
                raise ValueError("tensor() cannot view STRING tensors; use get_tensor()")
            addr, n = self._native.buffer(output, pos)
            buf = (ctypes.c_char * n).from_address(addr)
            buf._owner = self  # the interpreter, and so the memory, outlives the view
            return np.frombuffer(buf, dtype=details["dtype"]).reshape(tuple(details["shape"]))

        return view

    def get_signature_list(self):
        """{key: {'inputs': [...], 'outputs': [...]}} for each signature."""
        out = {}
        for key in self._native.signature_keys():
            ins, outs = self._native.signature_io(key)
            out[key] = {"inputs": sorted(n for _, n, _ in ins), "outputs": sorted(n for _, n, _ in outs)}
        return out

    def get_signature_runner(self, signature_key=None):
        """A callable running signature ``signature_key`` with keyword inputs."""
        keys = self._native.signature_keys()
        if signature_key is None:
            if len(keys) != 1:
                raise ValueError(
                    "SignatureDef signature_key is None and model has {0} Signatures. "
                    "None is only allowed when the model has 1 SignatureDef".format(len(keys))
                )
            signature_key = keys[0]
        return SignatureRunner(self, signature_key)


class SignatureRunner:
    """Runs one signature; state is shared with the interpreter's other signatures."""

    def __init__(self, interpreter=None, signature_key=None):
        if interpreter is None:
            raise ValueError("None interpreter provided.")
        if signature_key is None:
            raise ValueError("None signature_key provided.")
        if signature_key not in interpreter._native.signature_keys():
            raise ValueError(f'Invalid signature_key provided: "{signature_key}".')
        self._interpreter = interpreter
        self._native = interpreter._native
        self._key = signature_key

    def _io(self):
        return self._native.signature_io(self._key)

    def __call__(self, **kwargs):
        """Runs with inputs given by name; returns {output name: array}."""
        ins, outs = self._io()
        by_name = {n: _details(i, info) for i, n, info in ins}
        if len(kwargs) != len(by_name):
            raise ValueError(
                "Invalid number of inputs provided for running a SignatureDef, "
                "expected %s vs provided %s" % (len(by_name), len(kwargs))
            )
        for name, value in kwargs.items():
            if name not in by_name:
                raise ValueError("Invalid Input name (%s) for SignatureDef" % name)
            value = np.asarray(value)
            if tuple(value.shape) != tuple(by_name[name]["shape"]):
                self._interpreter._cached_inputs = None
                self._native.signature_resize(self._key, name, [int(d) for d in value.shape])
                by_name[name]["shape"] = np.array(value.shape, dtype=np.int32)
            _check_value(by_name[name], value, "input %s" % name)
            if by_name[name]["dtype"] is np.bytes_:
                data = _ferrite.encode_strings(_string_items(value))
            else:
                data = np.ascontiguousarray(value).tobytes()
            self._native.signature_set(self._key, name, data)
        self._native.signature_invoke(self._key)
        return {n: _to_array(self._native.signature_output(self._key, n)) for _, n, _ in outs}

    def get_input_details(self):
        """{input name: details dict}."""
        return {n: _details(i, info) for i, n, info in self._io()[0]}

    def get_output_details(self):
        """{output name: details dict}."""
        return {n: _details(i, info) for i, n, info in self._io()[1]}
