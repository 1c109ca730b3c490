"""One script text, run with LiteRT's import line and with ferrite's."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import FIXTURES

SCRIPT = '''
import json, sys
import numpy as np
IMPORT_LINE

interpreter = Interpreter(model_path=sys.argv[1])
interpreter.allocate_tensors()
input_details = interpreter.get_input_details()
output_details = interpreter.get_output_details()
rng = np.random.default_rng(7)
for d in input_details:
    interpreter.set_tensor(d["index"], rng.standard_normal(d["shape"]).astype(d["dtype"]))
interpreter.invoke()
result = {d["name"]: interpreter.get_tensor(d["index"]).round(4).tolist() for d in output_details}
runner = interpreter.get_signature_runner()
outs = runner(**{k: rng.standard_normal(v["shape"]).astype(v["dtype"])
                 for k, v in runner.get_input_details().items()})
result["signature"] = {k: v.round(4).tolist() for k, v in outs.items()}
result["inputs"] = [(d["name"], d["shape"].tolist(), d["dtype"].__name__) for d in input_details]
print(json.dumps(result, sort_keys=True))
'''


def _run(import_line, model):
    text = SCRIPT.replace("IMPORT_LINE", import_line)
    done = subprocess.run([sys.executable, "-c", text, model], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_same_script_both_packages():
    pytest.importorskip("ai_edge_litert")
    model = str(FIXTURES / "binary_broadcast_relu" / "model.tflite")
    lite = _run("from ai_edge_litert.interpreter import Interpreter", model)
    ours = _run("from ferrite import Interpreter", model)
    assert ours.keys() == lite.keys()
    assert ours["inputs"] == lite["inputs"]
    assert ours["signature"].keys() == lite["signature"].keys()
    for k in lite["signature"]:
        np.testing.assert_allclose(ours["signature"][k], lite["signature"][k], atol=2e-4)
    for k in lite:
        if k not in ("inputs", "signature"):
            np.testing.assert_allclose(ours[k], lite[k], atol=2e-4)
