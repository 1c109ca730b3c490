"""`ferrite serve` on a folder of every corpus model: each model ferrite runs
answers tritonclient (HTTP and gRPC) exactly as `ferrite run` does on the
corpus inputs; a model it cannot run leaves the server up and is not ready."""

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import tritonclient.grpc as grpcclient
import tritonclient.http as httpclient

from conftest import CORPUS, Server, ferrite_run

TRITON = {
    "float32": "FP32", "float16": "FP16", "float64": "FP64", "int8": "INT8", "uint8": "UINT8",
    "int16": "INT16", "int32": "INT32", "int64": "INT64", "bool": "BOOL",
}
# Models the conformance test requires to pass; any other corpus model is one
# ferrite refuses at load, so the server must report it not ready.
EXPECTED = Path(__file__).resolve().parents[3] / "ferrite" / "tests" / "conformance_expected.txt"
RUNNABLE = {
    line.strip() for line in EXPECTED.read_text().splitlines() if line.strip() and not line.startswith("#")
}


def _entries():
    path = CORPUS / "manifest.json"
    if not path.exists():
        return []
    m = json.loads(path.read_text())
    return m["models"] if isinstance(m, dict) else m


ENTRIES = _entries()
pytestmark = pytest.mark.skipif(not ENTRIES, reason="no ../shared/corpus (corpus absent)")


@pytest.fixture(scope="module")
def corpus_server():
    repo = Path(tempfile.mkdtemp(prefix="ferrite-serve-corpus-"))
    for e in ENTRIES:
        (repo / e["name"] / "1").mkdir(parents=True)
        shutil.copy(CORPUS / e["path"], repo / e["name"] / "1" / "model.tflite")
    s = Server(repo)
    yield s
    s.stop()
    assert s.proc.returncode == 0, f"server exited with {s.proc.returncode}"
    shutil.rmtree(repo, ignore_errors=True)


def _first_request(entry):
    """(served model name, inputs by name, signature or None) of the first
    reference: primary inputs by tensor name, or a signature's by its names."""
    ref = entry["references"][0]
    with np.load(CORPUS / ref["file"], allow_pickle=False) as z:
        if ref["kind"] == "signature_step":
            sig = ref["signature"]
            arrays = {k[len("input_"):]: z[k] for k in ref["inputs"]}
            return f"{entry['name']}/{sig}", arrays, sig
        arrays = {d["name"]: z[k] for d, k in zip(entry["inputs"], ref["inputs"])}
        return entry["name"], arrays, None


@pytest.mark.parametrize("entry", ENTRIES, ids=[e["name"] for e in ENTRIES])
def test_corpus_model_served_equals_ferrite_run(corpus_server, entry):
    http = httpclient.InferenceServerClient(corpus_server.http_url)
    grpc = grpcclient.InferenceServerClient(corpus_server.grpc_url)
    name = entry["name"]
    if name not in RUNNABLE:
        assert corpus_server.proc.poll() is None, "the server stays up"
        assert not http.is_model_ready(name) and not grpc.is_model_ready(name)
        return
    assert http.is_model_ready(name) and grpc.is_model_ready(name)
    model, arrays, sig = _first_request(entry)
    want = ferrite_run(CORPUS / entry["path"], [arrays], [sig] if sig else None)[0]
    for client, mod in ((http, httpclient), (grpc, grpcclient)):
        inputs = []
        for n, a in arrays.items():
            dt = "BYTES" if a.dtype.kind in "SO" else TRITON[str(a.dtype)]
            i = mod.InferInput(n, list(a.shape), dt)
            i.set_data_from_numpy(a.astype(object) if dt == "BYTES" else a)
            inputs.append(i)
        r = client.infer(model, inputs)
        for out in want:
            got = r.as_numpy(out)
            assert got is not None, f"{name}: no output {out}"
            if want[out].dtype.kind in "SO":
                assert [bytes(x) for x in got.reshape(-1)] == [bytes(x) for x in want[out].reshape(-1)]
            else:
                np.testing.assert_array_equal(got, want[out], err_msg=f"{name} {out}")
    http.close()
    grpc.close()
