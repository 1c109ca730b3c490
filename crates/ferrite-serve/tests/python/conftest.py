"""Starts the real `ferrite serve` binary on free loopback ports over a
temporary model repository, and gives `ferrite run` for reference outputs."""

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[4]
FIXTURES = ROOT / "fixtures"
CORPUS = ROOT.parent / "shared" / "corpus"


def ferrite_bin():
    env = os.environ.get("FERRITE_BIN")
    if env:
        return env
    for profile in ("debug", "release"):
        p = ROOT / "target" / profile / "ferrite"
        if p.exists():
            return str(p)
    pytest.exit("no ferrite binary: build it (cargo build -p ferrite-cli) or set FERRITE_BIN", 2)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


MODELS = {
    # name: (model file, config.toml)
    "fc": (FIXTURES / "fully_connected_2d" / "model.tflite", "instances = 2\n"),
    "counter": (FIXTURES / "variable_counter" / "model.tflite", "max_sequences = 8\n"),
    "sig": (FIXTURES / "two_signatures_shared_variable" / "model.tflite", ""),
    "table": (FIXTURES / "hashtable_str_to_int64" / "model.tflite", ""),
    "mlp": (FIXTURES / "dynamic_batch_mlp" / "model.tflite", "instances = 1\nmax_queue = 0\n"),
}
MOBILENET = CORPUS / "mobilenetv2_float32" / "model.tflite"


class Server:
    def __init__(self, repo):
        self.http_port = free_port()
        self.grpc_port = free_port()
        self.log = open(repo / "server.log", "w+")
        self.proc = subprocess.Popen(
            [ferrite_bin(), "serve", "--model-repository", str(repo), "--host", "127.0.0.1",
             "--http-port", str(self.http_port), "--grpc-port", str(self.grpc_port)],
            stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/v2/health/ready", timeout=1):
                    pass
                with socket.create_connection(("127.0.0.1", self.grpc_port), timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        self.log.seek(0)
        raise RuntimeError("server did not start:\n" + self.log.read())

    @property
    def http_url(self):
        return f"127.0.0.1:{self.http_port}"

    @property
    def grpc_url(self):
        return f"127.0.0.1:{self.grpc_port}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


@pytest.fixture(scope="session")
def server():
    repo = Path(tempfile.mkdtemp(prefix="ferrite-serve-py-"))
    models = dict(MODELS)
    if MOBILENET.exists():
        models["mobilenetv2"] = (MOBILENET, "")
    for name, (path, config) in models.items():
        (repo / name / "1").mkdir(parents=True)
        shutil.copy(path, repo / name / "1" / "model.tflite")
        if config:
            (repo / name / "config.toml").write_text(config)
    s = Server(repo)
    yield s
    s.stop()
    assert s.proc.returncode == 0, f"server exited with {s.proc.returncode}"
    shutil.rmtree(repo, ignore_errors=True)


def ferrite_run(model, inputs, signatures=None):
    """`ferrite run` on one interpreter: one invoke per dict in `inputs`
    (in order), returning each invoke's outputs."""
    tmp = Path(tempfile.mkdtemp(prefix="ferrite-run-"))
    cmd = [ferrite_bin(), "run", str(model)]
    for s in signatures or []:
        cmd += ["--signature", s]
    for k, arrays in enumerate(inputs):
        np.savez(tmp / f"in{k}.npz", **arrays)
        cmd += ["--input", str(tmp / f"in{k}.npz"), "--output", str(tmp / f"out{k}.npz")]
    subprocess.run(cmd, check=True, capture_output=True)
    outs = []
    for k in range(len(inputs)):
        with np.load(tmp / f"out{k}.npz") as z:
            outs.append({key: z[key] for key in z.files})
    shutil.rmtree(tmp, ignore_errors=True)
    return outs
