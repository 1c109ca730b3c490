"""The LiteRT-shaped API of ferrite.Interpreter; needs no LiteRT."""

import threading
import warnings

import numpy as np
import pytest

from conftest import FIXTURES

import ferrite


def _fill(interp, seed=0):
    rng = np.random.default_rng(seed)
    for d in interp.get_input_details():
        interp.set_tensor(d["index"], rng.standard_normal(d["shape"]).astype(d["dtype"]) + 2)


def test_details_keys_and_types(tiny_add_model):
    interp = ferrite.Interpreter(model_path=tiny_add_model)
    interp.allocate_tensors()
    for d in interp.get_input_details() + interp.get_output_details():
        assert set(d) == {
            "name", "index", "shape", "shape_signature", "dtype", "quantization",
            "quantization_parameters", "sparsity_parameters",
        }
        assert d["shape"].dtype == np.int32 and d["dtype"] is np.float32
        assert set(d["quantization_parameters"]) >= {"scales", "zero_points", "quantized_dimension"}
    assert len(interp.get_tensor_details()) >= 3


def test_run_and_get_tensor_is_a_copy(tiny_add_model):
    interp = ferrite.Interpreter(model_path=tiny_add_model)
    _fill(interp)
    interp.invoke()
    out = interp.get_output_details()[0]["index"]
    a = interp.get_tensor(out)
    a[...] = 123
    assert not np.all(interp.get_tensor(out) == 123)
    assert np.array_equal(interp.tensor(out)(), interp.get_tensor(out))


def test_tensor_is_a_live_view_without_copy(tiny_add_model):
    interp = ferrite.Interpreter(model_path=tiny_add_model)
    ins = interp.get_input_details()
    out = interp.get_output_details()[0]["index"]
    _fill(interp, seed=1)
    interp.invoke()
    view = interp.tensor(out)()
    first = view.copy()
    assert np.shares_memory(view, interp.tensor(out)()), "each call views the same memory"
    # A new invoke shows through the view already taken.
    _fill(interp, seed=2)
    interp.invoke()
    assert not np.array_equal(view, first)
    assert np.array_equal(view, interp.get_tensor(out))
    # Writing an input's view sets that input, as in LiteRT.
    for d in ins:
        v = interp.tensor(d["index"])()
        assert v.shape == tuple(d["shape"]) and v.dtype == d["dtype"]
        v[...] = 1.0
        assert np.all(interp.get_tensor(d["index"]) == 1.0)
    interp.invoke()
    reference = ferrite.Interpreter(model_path=tiny_add_model)
    for d in reference.get_input_details():
        reference.set_tensor(d["index"], np.ones(d["shape"], d["dtype"]))
    reference.invoke()
    assert np.array_equal(view, reference.get_tensor(out))
    with pytest.raises(ValueError, match="neither an input nor an output"):
        interp.tensor(9999)
    # The view keeps the interpreter's memory alive.
    del interp
    assert np.array_equal(view, reference.get_tensor(out))


def test_string_tensors_have_no_view():
    interp = ferrite.Interpreter(model_path=str(FIXTURES / "hashtable_str_to_int64" / "model.tflite"))
    d = next(d for d in interp.get_input_details() if d["dtype"] is np.bytes_)
    with pytest.raises(ValueError, match="STRING"):
        interp.tensor(d["index"])()


def test_set_tensor_errors(tiny_add_model):
    interp = ferrite.Interpreter(model_path=tiny_add_model)
    d = interp.get_input_details()[0]
    with pytest.raises(ValueError, match="FLOAT64"):
        interp.set_tensor(d["index"], np.zeros(d["shape"], np.float64))
    with pytest.raises(ValueError, match="Dimension mismatch"):
        interp.set_tensor(d["index"], np.zeros([7] * len(d["shape"]), np.float32))
    with pytest.raises(ValueError):
        interp.set_tensor(9999, np.zeros(d["shape"], np.float32))
    with pytest.raises(ValueError):
        interp.get_tensor(9999)


def test_constructor_errors_and_warnings(tiny_add_model):
    with pytest.raises(ValueError):
        ferrite.Interpreter()
    with pytest.raises(ValueError):
        ferrite.Interpreter(model_path=tiny_add_model, model_content=b"x")
    with pytest.raises(ValueError, match="Failed to open"):
        ferrite.Interpreter(model_path="/nonexistent.tflite")
    with pytest.raises(ValueError):
        ferrite.Interpreter(model_content=b"not a model")
    with pytest.raises(ValueError):
        ferrite.Interpreter(model_path=tiny_add_model, num_threads=0)
    with pytest.warns(UserWarning, match="experimental_delegates"):
        ferrite.Interpreter(model_path=tiny_add_model, experimental_delegates=[object()])
    with pytest.warns(UserWarning):
        ferrite.Interpreter(model_path=tiny_add_model, experimental_disable_delegate_clustering=True)
    with open(tiny_add_model, "rb") as f:
        content = f.read()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ferrite.Interpreter(model_content=content, num_threads=2)


def test_resize(tmp_path):
    path = str(FIXTURES / "dynamic_batch_mlp" / "model.tflite")
    interp = ferrite.Interpreter(model_path=path)
    d = interp.get_input_details()[0]
    assert -1 in list(d["shape_signature"])
    shape = [3] + list(d["shape"][1:])
    interp.resize_tensor_input(d["index"], shape, strict=True)
    interp.allocate_tensors()
    assert list(interp.get_input_details()[0]["shape"]) == shape
    interp.set_tensor(d["index"], np.ones(shape, np.float32))
    interp.invoke()
    assert interp.get_tensor(interp.get_output_details()[0]["index"]).shape[0] == 3
    if len(shape) > 1:
        bad = list(shape)
        bad[-1] += 1
        with pytest.raises(ValueError, match="unknown dimensions"):
            interp.resize_tensor_input(d["index"], bad, strict=True)


def test_signatures_state_and_reset():
    path = str(FIXTURES / "two_signatures_shared_variable" / "model.tflite")
    interp = ferrite.Interpreter(model_path=path)
    sigs = interp.get_signature_list()
    assert set(sigs) == {"get", "set"}
    get, set_ = interp.get_signature_runner("get"), interp.get_signature_runner("set")
    x_name = sigs["get"]["inputs"][0]
    x_shape = get.get_input_details()[x_name]["shape"]
    x = np.ones(x_shape, np.float32)
    before = get(**{x_name: x})
    w_name = sigs["set"]["inputs"][0]
    w_shape = set_.get_input_details()[w_name]["shape"]
    set_(**{w_name: np.full(w_shape, 3.0, np.float32)})
    after = get(**{x_name: x})
    assert not all(np.array_equal(before[k], after[k]) for k in before)
    # As in LiteRT, reset_all_variables resets variable tensors only: the
    # resource variable keeps the value `set` gave it.
    interp.reset_all_variables()
    kept = get(**{x_name: x})
    assert all(np.array_equal(after[k], kept[k]) for k in after)
    # reset_state (beyond LiteRT) forgets it.
    interp.reset_state()
    again = get(**{x_name: x})
    assert all(np.array_equal(before[k], again[k]) for k in before)
    with pytest.raises(ValueError):
        interp.get_signature_runner()
    with pytest.raises(ValueError):
        interp.get_signature_runner("nope")
    with pytest.raises(ValueError, match="Invalid Input name"):
        get(bogus=x)


def test_strings():
    path = str(FIXTURES / "hashtable_str_to_int64" / "model.tflite")
    interp = ferrite.Interpreter(model_path=path)
    d = interp.get_input_details()[0]
    assert d["dtype"] is np.bytes_
    z = np.load(FIXTURES / "hashtable_str_to_int64" / "ref.npz")
    value = z["input_0"]
    if tuple(value.shape) != tuple(d["shape"]):
        interp.resize_tensor_input(d["index"], value.shape)
    interp.set_tensor(d["index"], value.astype(object))
    interp.invoke()
    np.testing.assert_array_equal(interp.get_tensor(interp.get_output_details()[0]["index"]), z["output_0"])


def test_two_threads_two_interpreters(tiny_add_model):
    interps = [ferrite.Interpreter(model_path=tiny_add_model) for _ in range(2)]
    for i in interps:
        _fill(i)
    errors = []

    def run(i):
        try:
            for _ in range(200):
                i.invoke()
        except Exception as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,)) for i in interps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors


def test_one_interpreter_two_threads_never_corrupts():
    path = str(FIXTURES / "conv2d_same_bias_relu6" / "model.tflite")
    interp = ferrite.Interpreter(model_path=path)
    _fill(interp)
    interp.invoke()
    out = interp.get_output_details()[0]["index"]
    expected = interp.get_tensor(out)
    errors = []

    def run():
        for _ in range(100):
            try:
                interp.invoke()
                got = interp.get_tensor(out)
            except RuntimeError as e:
                errors.append(str(e))
                continue
            if not np.array_equal(got, expected):
                errors.append("corrupted output")

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # Contention is reported as a clear error, never as wrong numbers.
    assert all("borrow" in e.lower() for e in errors), errors[:3]


def test_unwritten_tensors_read_as_zeros(tiny_add_model):
    interp = ferrite.Interpreter(model_path=tiny_add_model)
    interp.allocate_tensors()
    for d in interp.get_input_details() + interp.get_output_details():
        got = interp.get_tensor(d["index"])
        assert got.shape == tuple(d["shape"]) and got.dtype == d["dtype"]
        assert not got.any()
