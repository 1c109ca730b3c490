"""`ferrite check` and `ferrite freeze` from Python."""

import json

from . import _ferrite


def check(model_path, targets=("ferrite",)):
    """Checks a model against runtimes (``ferrite``, ``litert``, ``litert-flex``,
    ``tflite-micro``, ``tvm-relax`` or ``ops:FILE``).

    Returns one dict per target, with its findings as dicts.
    """
    with open(model_path, "rb") as f:
        content = f.read()
    return json.loads(_ferrite.check(content, list(targets)))


def freeze(src, dst, input_shapes=None):
    """Folds init-only resource variables of ``src`` into constants, writes ``dst``.

    ``input_shapes`` maps input names to dimensions to pin. Returns the frozen
    variables' names; raises ValueError when the model cannot be frozen
    (nothing is written then).
    """
    with open(src, "rb") as f:
        content = f.read()
    shapes = [(name, [int(d) for d in dims]) for name, dims in (input_shapes or {}).items()]
    data, names = _ferrite.freeze(content, shapes)
    with open(dst, "wb") as f:
        f.write(data)
    return names
