"""mini-mlc-llm: a small package with the shape of MLC-LLM's ``mlc_llm``.

Importing it loads the native libraries (libtvm_runtime, libmlc_llm), as MLC-LLM does.
"""

from . import base
from .base import MLCError, backends
from .libinfo import __version__

__all__ = ["MLCError", "__version__", "backends", "base"]
