"""ferrite.check and ferrite.freeze."""

import numpy as np
import pytest

from conftest import FIXTURES

import ferrite


def test_check_reports_findings_as_dicts():
    path = str(FIXTURES / "hashtable_str_to_int64" / "model.tflite")
    reports = ferrite.check(path, targets=["ferrite", "tflite-micro"])
    assert [r["target"] for r in reports] == ["ferrite", "tflite-micro"]
    micro = reports[1]
    assert micro["findings"] and all(isinstance(f, dict) for f in micro["findings"])
    assert any(f["severity"] == "error" for f in micro["findings"])
    with pytest.raises(ValueError, match="unknown target"):
        ferrite.check(path, targets=["nope"])


def test_freeze_writes_a_model_that_runs_the_same(tmp_path):
    src = str(FIXTURES / "freeze" / "static_init.tflite")
    dst = str(tmp_path / "frozen.tflite")
    names = ferrite.freeze(src, dst)
    assert names
    a, b = ferrite.Interpreter(model_path=src), ferrite.Interpreter(model_path=dst)
    for interp in (a, b):
        for d in interp.get_input_details():
            interp.set_tensor(d["index"], np.ones(d["shape"], d["dtype"]))
        interp.invoke()
    for da, db in zip(a.get_output_details(), b.get_output_details()):
        np.testing.assert_allclose(a.get_tensor(da["index"]), b.get_tensor(db["index"]), rtol=1e-6)
    with pytest.raises(ValueError):
        ferrite.freeze(str(FIXTURES / "freeze" / "streaming.tflite"), str(tmp_path / "no.tflite"))
    assert not (tmp_path / "no.tflite").exists()
