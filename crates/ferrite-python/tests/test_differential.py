"""Every fixture and corpus model through ferrite.Interpreter and LiteRT."""

import json

import numpy as np
import pytest

from conftest import FIXTURES, close_enough, manifest_models

import ferrite

try:
    from ai_edge_litert import interpreter as litert
except ImportError:  # reported as skipped, never silently passed
    litert = None

MODELS = manifest_models()
INDEPENDENT = ("default_shape", "case", "resized_input")
# Models ferrite refuses (the conformance test does not lock them either):
# the refusal must come at load and name the op.
REFUSED = {"tf_fractional_pool_custom": "FractionalAvgPool"}
# Whether LiteRT's builtin resolver runs each model, as recorded by
# `make_fixtures.py litert-outcomes`: Flex and unregistered custom ops fail.
OUTCOMES = json.loads((FIXTURES / "litert_outcomes.json").read_text())["models"]
# Eigen- and singular-vector outputs are unique only up to sign per column
# (the conformance test's rule).
SIGN_FREE_COLUMNS = {"tf_eigh_attention_custom": (0, 1, 2)}


def _litert_runs(base, entry):
    key = ("fixtures/" if base == FIXTURES else "corpus/") + entry["name"]
    return OUTCOMES[key]["builtin_without_default_delegates"]["runs"]


def _align_column_signs(got, ref):
    """The reference with each column flipped to agree with `got` in sign."""
    got, ref = np.asarray(got, np.float64), np.array(ref)
    if ref.ndim < 2 or ref.shape != got.shape or ref.dtype != np.float32:
        return ref
    dots = np.sum(got * ref, axis=-2, keepdims=True)
    return np.where(dots < 0, -ref, ref).astype(np.float32)


def _litert(path):
    return litert.Interpreter(
        model_path=path,
        experimental_op_resolver_type=litert.OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES,
    )


def _same_details(a, b):
    assert list(a) == list(b) if isinstance(a, dict) else len(a) == len(b)
    pairs = zip(a.values(), b.values()) if isinstance(a, dict) else zip(a, b)
    for x, y in pairs:
        assert set(x) == set(y), (set(x) ^ set(y))
        for key in x:
            if key == "quantization_parameters":
                for k in ("scales", "zero_points", "quantized_dimension"):
                    np.testing.assert_array_equal(x[key][k], y[key][k], err_msg=f"{x['name']} {k}")
            elif key in ("shape", "shape_signature"):
                np.testing.assert_array_equal(x[key], y[key], err_msg=f"{x['name']} {key}")
            elif key == "quantization":
                assert x[key] == pytest.approx(y[key]), x["name"]
            else:
                assert x[key] == y[key], (x["name"], key, x[key], y[key])


def _positional(interp, z, ref):
    details = interp.get_input_details()
    for i, d in enumerate(details):
        value = z["input_%d" % i]
        if tuple(value.shape) != tuple(d["shape"]):
            interp.resize_tensor_input(d["index"], value.shape)
    interp.allocate_tensors()
    for i, d in enumerate(interp.get_input_details()):
        interp.set_tensor(d["index"], z["input_%d" % i])
    interp.invoke()
    return [interp.get_tensor(d["index"]) for d in interp.get_output_details()]


def _signature(interp, z, ref):
    runner = interp.get_signature_runner(ref["signature"])
    kwargs = {k[len("input_"):]: z[k] for k in ref["inputs"]}
    out = runner(**kwargs)
    return [out[k[len("output_"):]] for k in ref["outputs"]], runner


@pytest.mark.parametrize("base,entry", MODELS, ids=[e["name"] for _, e in MODELS])
def test_model(base, entry):
    path = str(base / entry["path"])
    lite_ok = litert is not None and _litert_runs(base, entry)
    if litert is not None and not lite_ok:
        with pytest.raises(RuntimeError):
            _litert(path).allocate_tensors()
    if entry["name"] in REFUSED:
        with pytest.raises(RuntimeError, match=REFUSED[entry["name"]]):
            ferrite.Interpreter(model_path=path)
        return
    shared = {}
    for ref in entry["references"]:
        z = np.load(base / ref["file"], allow_pickle=False)
        fresh = ref["kind"] in INDEPENDENT
        if fresh or "ferrite" not in shared:
            shared["ferrite"] = ferrite.Interpreter(model_path=path)
            shared["litert"] = _litert(path) if lite_ok else None
        fi, li = shared["ferrite"], shared["litert"]
        diffs = ref.get("xnnpack_vs_builtin_max_abs_diff", [])
        if ref["kind"] == "signature_step":
            got, frun = _signature(fi, z, ref)
            if li is not None:
                lgot, lrun = _signature(li, z, ref)
                _same_details(frun.get_input_details(), lrun.get_input_details())
                _same_details(frun.get_output_details(), lrun.get_output_details())
        else:
            got = _positional(fi, z, ref)
            if li is not None:
                _positional(li, z, ref)
                _same_details(fi.get_input_details(), li.get_input_details())
                _same_details(fi.get_output_details(), li.get_output_details())
        sign_free = SIGN_FREE_COLUMNS.get(entry["name"], ())
        for j, key in enumerate(ref["outputs"]):
            want = _align_column_signs(got[j], z[key]) if j in sign_free else z[key]
            close_enough(got[j], want, float(diffs[j]) if j < len(diffs) else 0.0)
    stateful = [r for r in entry["references"] if r["kind"] in ("stateful_invoke", "signature_step")]
    if stateful:
        # reset_all_variables, then the first step again: LiteRT resets only
        # variable tensors, so this must match what LiteRT does, not the
        # first step's reference.
        first = stateful[0]
        z = np.load(base / first["file"], allow_pickle=False)
        step = (lambda i: _signature(i, z, first)[0]) if first["kind"] == "signature_step" else (
            lambda i: _positional(i, z, first)
        )
        fi.reset_all_variables()
        got = step(fi)
        if li is not None:
            li.reset_all_variables()
            want = step(li)
            for j in range(len(first["outputs"])):
                close_enough(got[j], want[j], 1e-6)
        # reset_state (beyond LiteRT) gives the first step's answer back.
        fi.reset_state()
        got = step(fi)
        for j, key in enumerate(first["outputs"]):
            close_enough(got[j], z[key], 1e-6)
    if lite_ok and shared["litert"] is not None:
        assert fi.get_signature_list() == shared["litert"].get_signature_list()


def test_litert_present():
    if litert is None:
        pytest.skip("ai_edge_litert is not installed: the LiteRT half of the suite is skipped")
