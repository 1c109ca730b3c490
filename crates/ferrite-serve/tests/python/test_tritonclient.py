"""The server driven by the real tritonclient (HTTP and gRPC): answers
must equal `ferrite run` on the same inputs."""

import concurrent.futures

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient
from tritonclient.utils import InferenceServerException

from conftest import FIXTURES, MOBILENET, ferrite_run


@pytest.fixture(scope="module")
def http(server):
    c = httpclient.InferenceServerClient(server.http_url, concurrency=8)
    yield c
    c.close()


@pytest.fixture(scope="module")
def grpc(server):
    c = grpcclient.InferenceServerClient(server.grpc_url)
    yield c
    c.close()


def infer(client, mod, model, arrays, **kw):
    inputs = []
    for name, a in arrays.items():
        dt = "BYTES" if a.dtype.kind in "SO" else {"float32": "FP32", "int64": "INT64", "int32": "INT32"}[str(a.dtype)]
        i = mod.InferInput(name, list(a.shape), dt)
        i.set_data_from_numpy(a)
        inputs.append(i)
    return client.infer(model, inputs, **kw)


def test_health_and_metadata(http, grpc):
    assert http.is_server_live() and http.is_server_ready()
    assert grpc.is_server_live() and grpc.is_server_ready()
    assert http.is_model_ready("fc") and grpc.is_model_ready("fc")
    assert not http.is_model_ready("nope") and not grpc.is_model_ready("nope")
    m = http.get_model_metadata("fc/serving_default")
    assert m["inputs"] == [{"name": "x", "datatype": "FP32", "shape": [3, 10]}]
    g = grpc.get_model_metadata("fc/serving_default")
    assert [(t.name, t.datatype, list(t.shape)) for t in g.inputs] == [("x", "FP32", [3, 10])]
    d = grpc.get_model_metadata("mlp/serving_default")
    assert list(d.inputs[0].shape) == [-1, 6]
    assert grpc.get_server_metadata().name == "ferrite"


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_fixture_model_equals_ferrite_run(http, grpc, protocol):
    client, mod = (http, httpclient) if protocol == "http" else (grpc, grpcclient)
    x = np.random.default_rng(5).standard_normal((3, 10)).astype(np.float32)
    want = ferrite_run(FIXTURES / "fully_connected_2d" / "model.tflite", [{"x": x}], ["serving_default"])[0]
    r = infer(client, mod, "fc/serving_default", {"x": x})
    np.testing.assert_array_equal(r.as_numpy("output_0"), want["output_0"])
    # Primary subgraph, by tensor names.
    r = infer(client, mod, "fc", {"serving_default_x:0": x})
    np.testing.assert_array_equal(r.as_numpy("PartitionedCall:0"), want["output_0"])


@pytest.mark.skipif(not MOBILENET.exists(), reason="no ../shared/corpus/mobilenetv2_float32 (corpus absent)")
@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_mobilenetv2_equals_ferrite_run(http, grpc, protocol):
    client, mod = (http, httpclient) if protocol == "http" else (grpc, grpcclient)
    meta = http.get_model_metadata("mobilenetv2")
    name, shape = meta["inputs"][0]["name"], [abs(d) for d in meta["inputs"][0]["shape"]]
    x = np.random.default_rng(1).uniform(-1, 1, shape).astype(np.float32)
    want = ferrite_run(MOBILENET, [{name: x}])[0]
    r = infer(client, mod, "mobilenetv2", {name: x})
    out = meta["outputs"][0]["name"]
    np.testing.assert_array_equal(r.as_numpy(out), want[out])


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_string_hash_table(http, grpc, protocol):
    client, mod = (http, httpclient) if protocol == "http" else (grpc, grpcclient)
    words = np.array([b"a", b"b", b"hello", b"world", b"x", b"y", b"zzz", b""], dtype=object)
    want = ferrite_run(FIXTURES / "hashtable_str_to_int64" / "model.tflite",
                       [{"words": words.astype("S")}], ["serving_default"])[0]
    r = infer(client, mod, "table/serving_default", {"words": words})
    np.testing.assert_array_equal(r.as_numpy("values"), want["values"])


@pytest.mark.parametrize("protocol", ["http", "grpc"])
def test_two_interleaved_sequences_keep_separate_state(http, grpc, protocol):
    client, mod = (http, httpclient) if protocol == "http" else (grpc, grpcclient)
    rng = np.random.default_rng(11 if protocol == "http" else 12)
    xs = {s: [rng.standard_normal(3).astype(np.float32) for _ in range(4)] for s in (1, 2)}
    want = {s: ferrite_run(FIXTURES / "variable_counter" / "model.tflite",
                           [{"x": x} for x in xs[s]], ["serving_default"]) for s in (1, 2)}
    base = 1000 if protocol == "http" else 2000
    for k in range(4):
        for s in (1, 2):
            r = infer(client, mod, "counter/serving_default", {"x": xs[s][k]},
                      sequence_id=base + s, sequence_start=(k == 0), sequence_end=(k == 3))
            for out in ("mean", "total"):
                np.testing.assert_array_equal(r.as_numpy(out), want[s][k][out], f"seq {s} step {k} {out}")
    with pytest.raises(InferenceServerException, match="sequence_id"):
        infer(client, mod, "counter/serving_default", {"x": xs[1][0]}, sequence_id=base + 1)


def test_signature_model_shares_state_in_a_sequence(http, grpc):
    w = np.random.default_rng(3).standard_normal(
        [abs(d) for d in http.get_model_metadata("sig/set")["inputs"][0]["shape"]]).astype(np.float32)
    x = np.random.default_rng(4).standard_normal((2, 4)).astype(np.float32)
    want = ferrite_run(FIXTURES / "two_signatures_shared_variable" / "model.tflite",
                       [{"new_w": w}, {"x": x}], ["set", "get"])
    for client, mod, seq in ((http, httpclient, "a"), (grpc, grpcclient, "b")):
        infer(client, mod, "sig/set", {"new_w": w}, sequence_id=seq, sequence_start=True)
        r = infer(client, mod, "sig/get", {"x": x}, sequence_id=seq, sequence_end=True)
        np.testing.assert_array_equal(r.as_numpy("y"), want[1]["y"])


def test_errors_are_reported(http, grpc):
    x = np.zeros((3, 9), dtype=np.float32)
    with pytest.raises(InferenceServerException, match=r"inputs\[0\].shape"):
        infer(http, httpclient, "fc/serving_default", {"x": x})
    with pytest.raises(InferenceServerException) as e:
        infer(grpc, grpcclient, "fc/serving_default", {"x": x})
    assert "INVALID_ARGUMENT" in str(e.value.status())
    with pytest.raises(InferenceServerException):
        infer(grpc, grpcclient, "nope", {"x": x})


def test_grpc_overload_is_resource_exhausted(server):
    # mlp: one interpreter, no queue; 16 concurrent big requests.
    x = np.full((100_000, 6), 0.5, dtype=np.float32)

    def one(_):
        c = grpcclient.InferenceServerClient(server.grpc_url)
        try:
            infer(c, grpcclient, "mlp/serving_default", {"x": x})
            return "ok"
        except InferenceServerException as e:
            return str(e.status())
        finally:
            c.close()

    with concurrent.futures.ThreadPoolExecutor(16) as ex:
        results = list(ex.map(one, range(16)))
    assert "ok" in results
    assert all(r in ("ok", "StatusCode.RESOURCE_EXHAUSTED") for r in results), results
    assert "StatusCode.RESOURCE_EXHAUSTED" in results, results
