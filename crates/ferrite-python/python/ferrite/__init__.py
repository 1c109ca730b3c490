"""ferrite: a pure-Rust TensorFlow Lite runtime.

``from ferrite import Interpreter`` is a drop-in for
``ai_edge_litert.interpreter.Interpreter``: same constructor, methods,
argument names, return types and dict keys.
"""

from ._interpreter import Interpreter, OpResolverType, SignatureRunner
from ._tools import check, freeze

__all__ = ["Interpreter", "OpResolverType", "SignatureRunner", "check", "freeze"]
