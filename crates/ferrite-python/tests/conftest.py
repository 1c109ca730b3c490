import json
import pathlib

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[3]
FIXTURES = ROOT / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus"


def manifest_models():
    """(folder, manifest entry) for every fixture and every corpus model present."""
    out = []
    for base in (FIXTURES, CORPUS):
        path = base / "manifest.json"
        if path.exists():
            for entry in json.loads(path.read_text())["models"]:
                if (base / entry["path"]).exists():
                    out.append((base, entry))
    return out


def close_enough(got, ref, xnn_diff=0.0):
    """The corpus tolerance rule (../shared/corpus/README.md)."""
    got = np.asarray(got)
    ref = np.asarray(ref)
    assert got.shape == ref.shape, (got.shape, ref.shape)
    if ref.dtype.kind in "SUO":
        assert [bytes(x) for x in got.reshape(-1)] == [bytes(x) for x in ref.reshape(-1)]
    elif ref.dtype.kind == "f":
        tol = max(1e-4 * float(np.max(np.abs(ref))) if ref.size else 0.0, 4 * xnn_diff)
        diff = float(np.max(np.abs(got.astype(np.float64) - ref))) if ref.size else 0.0
        assert diff <= tol, "max diff %g > tol %g" % (diff, tol)
    elif ref.dtype in (np.int8, np.uint8, np.int16):
        diff = np.max(np.abs(got.astype(np.int64) - ref.astype(np.int64))) if ref.size else 0
        assert diff <= 1, "quantized diff %d" % diff
    else:
        np.testing.assert_array_equal(got, ref)


@pytest.fixture
def tiny_add_model():
    return str(FIXTURES / "binary_broadcast_relu" / "model.tflite")
