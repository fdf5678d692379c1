"""The course's reference implementation: the ground truth student answers are graded against.

Everything computes in float64 with torch on ``get_device()`` (override with the
``AUTOGRADER_DEVICE`` environment variable); ops and grads take and return numpy.

Importing this package does not import torch (it takes about two seconds): the checks name the
reference's functions when a chapter's module is imported, and ``check()`` in a student's kernel
compares with expected values shipped with the package (:mod:`autograder.core.expected`) without
calling them. A function named here before its module is loaded is a :class:`Deferred` stand-in,
which loads the module (and torch) on its first call; once loaded, the real function is given.
``torch`` and ``functional`` are stand-ins for the modules of those names, loaded on first
attribute access, for the checks' own uses of torch (``from ..reference import torch``).
"""

from __future__ import annotations

import importlib
import sys

# Each public name and the submodule that defines it.
_WHERE = {
    "debugging": ("cures", "training_run"),
    "device": ("DTYPE", "ENV_VAR", "get_device", "to_index_tensor", "to_numpy", "to_tensor"),
    "grads": ("avg_pool2d_backward", "conv2d_backward", "linear_backward", "max_pool2d_backward", "mse_backward",
              "relu_backward", "softmax_cross_entropy_backward", "vjp"),
    "network": ("PARAM_NAMES", "DigitsCNN", "ReferenceCNN", "init_params", "reference_forward"),
    "ops": ("avg_pool2d", "conv2d", "cross_entropy_loss", "flatten", "im2col", "linear",
            "log_softmax", "max_pool2d", "mse_loss", "one_hot", "relu", "sigmoid", "softmax", "tanh"),
    "sizes": ("conv_output_size",),
}
_MODULE_OF = {name: module for module, names in _WHERE.items() for name in names}
# Names that are not functions, and functions that need no torch: reading one loads its module at once.
_EAGER = {"DTYPE", "DigitsCNN", "ENV_VAR", "PARAM_NAMES", "ReferenceCNN", "conv_output_size"}

__all__ = [
    "DTYPE",
    "ENV_VAR",
    "PARAM_NAMES",
    "DigitsCNN",
    "ReferenceCNN",
    "avg_pool2d",
    "avg_pool2d_backward",
    "conv2d",
    "conv2d_backward",
    "conv_output_size",
    "cross_entropy_loss",
    "cures",
    "flatten",
    "get_device",
    "im2col",
    "init_params",
    "linear",
    "linear_backward",
    "log_softmax",
    "max_pool2d",
    "max_pool2d_backward",
    "mse_backward",
    "mse_loss",
    "one_hot",
    "reference_forward",
    "relu",
    "relu_backward",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy_backward",
    "tanh",
    "to_index_tensor",
    "to_numpy",
    "to_tensor",
    "training_run",
    "vjp",
]


class Deferred:
    """A reference function whose module (and torch) is loaded on its first call.

    It behaves as the function when called; it pickles by module and name, like a function."""

    def __init__(self, module: str, name: str):
        self.module, self.name = module, name
        self.__name__ = self.__qualname__ = name

    def target(self):
        """The real function (loading its module)."""
        return getattr(importlib.import_module(f"{__name__}.{self.module}"), self.name)

    def __call__(self, *args, **kwargs):
        return self.target()(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<reference function {self.name} (not loaded yet)>"


class LazyModule:
    """A stand-in for the module ``name``, imported on the first attribute access."""

    def __init__(self, name: str):
        self.__name = name

    def __getattr__(self, attribute: str):
        return getattr(importlib.import_module(self.__name), attribute)

    def __repr__(self) -> str:
        return f"<module {self.__name!r} (loaded on first use)>"


torch = LazyModule("torch")
functional = LazyModule("torch.nn.functional")


def __getattr__(name: str):
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    qualified = f"{__name__}.{module}"
    if name in _EAGER or qualified in sys.modules:
        value = getattr(importlib.import_module(qualified), name)
        globals()[name] = value  # found directly from now on
        return value
    return Deferred(module, name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
