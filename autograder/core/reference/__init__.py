"""The course's reference implementation: the ground truth student answers are graded against.

Everything computes in float64 with torch on ``get_device()`` (override with the
``AUTOGRADER_DEVICE`` environment variable); ops and grads take and return numpy.
"""

from .device import DTYPE, ENV_VAR, get_device, to_index_tensor, to_numpy, to_tensor
from .grads import (
    avg_pool2d_backward,
    conv2d_backward,
    linear_backward,
    max_pool2d_backward,
    mse_backward,
    relu_backward,
    softmax_cross_entropy_backward,
    vjp,
)
from .network import PARAM_NAMES, ReferenceCNN, init_params, reference_forward
from .ops import (
    avg_pool2d,
    conv2d,
    conv_output_size,
    cross_entropy_loss,
    flatten,
    im2col,
    linear,
    log_softmax,
    max_pool2d,
    mse_loss,
    one_hot,
    relu,
    sigmoid,
    softmax,
    tanh,
)

__all__ = [
    "DTYPE",
    "ENV_VAR",
    "PARAM_NAMES",
    "ReferenceCNN",
    "avg_pool2d",
    "avg_pool2d_backward",
    "conv2d",
    "conv2d_backward",
    "conv_output_size",
    "cross_entropy_loss",
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
    "vjp",
]
