"""Tests for autograder.reference: hand-worked values, finite differences, device choice."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
import torch

import autograder.core.reference as ref

LN2, LN3 = math.log(2.0), math.log(3.0)


def numeric_grad(
    f: Callable[[np.ndarray], np.ndarray], x: np.ndarray, dout, eps: float = 1e-6
):
    """Centred finite differences of sum(f(x) * dout) with respect to x (float64)."""
    x = x.astype(np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        plus = np.sum(f(x) * dout)
        x[idx] = old - eps
        minus = np.sum(f(x) * dout)
        x[idx] = old
        grad[idx] = (plus - minus) / (2 * eps)
    return grad


def assert_grad_close(analytic: np.ndarray, numeric: np.ndarray) -> None:
    assert analytic.shape == numeric.shape
    assert analytic.dtype == np.float64
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8)


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


# ----------------------------------------------------------------------------- device


def test_env_var_cpu(monkeypatch):
    monkeypatch.setenv("AUTOGRADER_DEVICE", "cpu")
    assert ref.get_device() == torch.device("cpu")
    assert ref.to_tensor([1, 2]).device == torch.device("cpu")


def test_auto_picks_cuda_only_when_available(monkeypatch):
    monkeypatch.delenv("AUTOGRADER_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert ref.get_device().type == expected
    monkeypatch.setenv("AUTOGRADER_DEVICE", "auto")
    assert ref.get_device().type == expected


def test_explicit_override_beats_env(monkeypatch):
    monkeypatch.setenv("AUTOGRADER_DEVICE", "bogus")
    assert ref.get_device("cpu") == torch.device("cpu")
    assert ref.get_device(torch.device("cpu")) == torch.device("cpu")


@pytest.mark.parametrize("value", ["bogus", "gpu", "cuda:x", "cpu:0:1"])
def test_bogus_device_raises_helpful_error(monkeypatch, value):
    monkeypatch.setenv("AUTOGRADER_DEVICE", value)
    with pytest.raises(ValueError, match="AUTOGRADER_DEVICE") as info:
        ref.get_device()
    message = str(info.value)
    assert "\n" not in message
    assert repr(value) in message
    assert "'cpu'" in message and "'auto'" in message


def test_bogus_override_raises():
    with pytest.raises(ValueError, match="not a device"):
        ref.get_device("tpu")


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA exists on this machine")
@pytest.mark.parametrize("value", ["cuda", "cuda:1"])
def test_cuda_without_cuda_raises(monkeypatch, value):
    monkeypatch.setenv("AUTOGRADER_DEVICE", value)
    with pytest.raises(ValueError, match="CUDA is not available.*'cpu'"):
        ref.get_device()
    with pytest.raises(ValueError, match="CUDA is not available"):
        ref.get_device(value)


def test_tensor_conversions():
    t = ref.to_tensor(np.array([1, 2], dtype=np.int32), requires_grad=True)
    assert t.dtype == torch.float64 and t.requires_grad and t.device == ref.get_device()
    assert ref.to_tensor(3).shape == () and ref.to_tensor(3).item() == 3.0

    source = torch.ones(2, dtype=torch.float32)
    copy = ref.to_tensor(source)
    copy += 1
    assert source.tolist() == [1.0, 1.0]  # a copy, not a view

    idx = ref.to_index_tensor(np.array([2, 0, 1]))
    assert idx.dtype == torch.int64 and idx.tolist() == [2, 0, 1]
    assert ref.to_index_tensor([1.0, 3.0]).tolist() == [1, 3]
    with pytest.raises(ValueError, match="integer class indices"):
        ref.to_index_tensor([0.5, 1.0])

    out = ref.to_numpy(torch.tensor([1.5], requires_grad=True) * 2)
    assert (
        isinstance(out, np.ndarray)
        and out.dtype == np.float64
        and out.tolist() == [3.0]
    )


# ----------------------------------------------------------------------------- convolution


def test_conv2d_stride2_padding1_by_hand():
    x = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # [[1,2,3],[4,5,6],[7,8,9]]
    w = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    # Zero-padded 5x5 input, 2x2 windows at rows/cols {0,1} and {2,3}:
    #   [[0,0],[0,1]] -> 4     [[0,0],[2,3]] -> 3*2 + 4*3 = 18
    #   [[0,4],[0,7]] -> 2*4 + 4*7 = 36     [[5,6],[8,9]] -> 5 + 12 + 24 + 36 = 77
    out = ref.conv2d(x, w, np.array([0.5]), stride=2, padding=1)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[[[4.5, 18.5], [36.5, 77.5]]]])
    np.testing.assert_array_equal(
        ref.conv2d(x, w, stride=(2, 2), padding=(1, 1)), out - 0.5
    )


def test_conv2d_sums_channels_and_orders_filters():
    # x: (1, 2, 2, 2)
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]], [[10.0, 20.0], [30.0, 40.0]]]])
    w = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, -1.0]]).reshape(3, 2, 1, 1)
    b = np.array([0.0, 0.0, 1.0])
    expected = [[[[1, 2], [3, 4]], [[10, 20], [30, 40]], [[-8, -17], [-26, -35]]]]
    np.testing.assert_array_equal(ref.conv2d(x, w, b), expected)


def test_conv2d_rectangular_stride_and_padding():
    x = np.arange(1.0, 7.0).reshape(1, 1, 2, 3)  # [[1,2,3],[4,5,6]]
    w = np.ones((1, 1, 1, 1))
    # padding (0, 1) -> [[0,1,2,3,0],[0,4,5,6,0]]; stride (1, 2) keeps columns 0, 2, 4.
    out = ref.conv2d(x, w, stride=(1, 2), padding=(0, 1))
    np.testing.assert_array_equal(out, [[[[0, 2, 0], [0, 5, 0]]]])


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((32, 3, 1, 1), 32),
        ((3, 2, 2, 1), 2),
        ((5, 2, 2, 0), 2),
        ((7, 3, 2, 0), 3),
        ((8, 2, 2), 4),
    ],
)
def test_conv_output_size(args, expected):
    assert ref.conv_output_size(*args) == expected


def test_conv_output_size_rejects_kernel_too_big():
    with pytest.raises(ValueError, match="does not fit"):
        ref.conv_output_size(3, 5)


def test_im2col_order_by_hand():
    x = np.arange(1.0, 7.0).reshape(1, 1, 2, 3)  # [[1,2,3],[4,5,6]]
    # Two 2x2 windows: [[1,2],[4,5]] and [[2,3],[5,6]]; rows are kernel positions.
    cols = ref.im2col(x, 2, 2)
    np.testing.assert_array_equal(cols, [[[1, 2], [2, 3], [4, 5], [5, 6]]])

    # x2: (1, 2, 1, 2); rows run over channels first, then kernel positions.
    x2 = np.array([[[[1.0, 2.0]], [[10.0, 20.0]]]])
    np.testing.assert_array_equal(ref.im2col(x2, 1, 2), [[[1], [2], [10], [20]]])


def test_im2col_times_weights_is_conv2d(rng):
    x, w = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(4)
    cols = ref.im2col(x, 3, 2, stride=2, padding=1)
    h_out, w_out = ref.conv_output_size(5, 3, 2, 1), ref.conv_output_size(4, 2, 2, 1)
    assert cols.shape == (2, 3 * 3 * 2, h_out * w_out)
    via_cols = (w.reshape(4, -1) @ cols + b[:, None]).reshape(2, 4, h_out, w_out)
    np.testing.assert_allclose(
        ref.conv2d(x, w, b, stride=2, padding=1), via_cols, rtol=1e-12, atol=1e-12
    )


# ----------------------------------------------------------------------------- activations and pooling


def test_activations_by_hand():
    np.testing.assert_array_equal(ref.relu([-2.0, 0.0, 3.0]), [0.0, 0.0, 3.0])
    np.testing.assert_allclose(
        ref.sigmoid([0.0, LN3, -LN3]), [0.5, 0.75, 0.25], rtol=1e-14
    )
    np.testing.assert_allclose(
        ref.tanh([0.0, LN2, -LN2]), [0.0, 0.6, -0.6], rtol=1e-14, atol=1e-15
    )


def test_pooling_by_hand():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    np.testing.assert_array_equal(ref.max_pool2d(x, 2), [[[[5, 7], [13, 15]]]])
    np.testing.assert_array_equal(ref.avg_pool2d(x, 2), [[[[2.5, 4.5], [10.5, 12.5]]]])

    x5 = np.arange(25.0).reshape(1, 1, 5, 5)  # floor mode drops the last row and column
    np.testing.assert_array_equal(ref.max_pool2d(x5, 2), [[[[6, 8], [16, 18]]]])

    x3 = np.arange(1.0, 10.0).reshape(1, 1, 3, 3)  # explicit stride 1
    np.testing.assert_array_equal(ref.max_pool2d(x3, 2, stride=1), [[[[5, 6], [8, 9]]]])
    np.testing.assert_array_equal(ref.avg_pool2d(x3, 2, stride=1), [[[[3, 4], [6, 7]]]])


def test_pooling_padding_conventions():
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    # Each padded 2x2 window holds one real value and three padded zeros, divided by 4.
    np.testing.assert_array_equal(
        ref.avg_pool2d(x, 2, padding=1), [[[[0.25, 0.5], [0.75, 1.0]]]]
    )
    # Max-pool padding is -inf, so negative values survive.
    np.testing.assert_array_equal(ref.max_pool2d(-x, 2, padding=1), -x)


def test_flatten_keeps_batch_in_c_order():
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    out = ref.flatten(x)
    assert out.shape == (2, 12)
    np.testing.assert_array_equal(out, [np.arange(12.0), np.arange(12.0, 24.0)])


def test_linear_uses_x_at_w_plus_b():
    x = np.array([[1.0, 2.0]])
    w = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])  # (D=2, M=3)
    np.testing.assert_array_equal(
        ref.linear(x, w, [0.5, 0.0, -1.0]), [[9.5, 12.0, 14.0]]
    )
    with pytest.raises(ValueError, match=r"w: \(D, M\)"):
        ref.linear(x, w.T, [0.5, 0.0, -1.0])  # torch's (M, D) layout


# ----------------------------------------------------------------------------- softmax and losses


def test_softmax_by_hand():
    np.testing.assert_allclose(
        ref.softmax([[0.0, LN2, LN3]]), [[1 / 6, 2 / 6, 3 / 6]], rtol=1e-14
    )
    column = np.array([[0.0], [LN2], [LN3]])
    np.testing.assert_allclose(
        ref.softmax(column, axis=0), [[1 / 6], [2 / 6], [3 / 6]], rtol=1e-14
    )
    # Default axis=1: one class per row.
    np.testing.assert_allclose(ref.softmax(column), np.ones((3, 1)))
    expected_log = np.log([[1 / 6, 2 / 6, 3 / 6]])
    np.testing.assert_allclose(
        ref.log_softmax([[0.0, LN2, LN3]]), expected_log, rtol=1e-14
    )


@pytest.mark.parametrize("shift", [1000.0, -1000.0])
def test_softmax_stable_for_huge_logits(shift):
    logits = np.array([[0.0, LN2, LN3]]) + shift
    np.testing.assert_allclose(ref.softmax(logits), [[1 / 6, 2 / 6, 3 / 6]], rtol=1e-12)
    np.testing.assert_allclose(
        ref.log_softmax(logits), np.log([[1 / 6, 2 / 6, 3 / 6]]), rtol=1e-12
    )
    np.testing.assert_allclose(ref.cross_entropy_loss(logits, [2]), LN2, rtol=1e-12)


def test_softmax_and_losses_stable_for_opposite_extremes():
    logits = np.array([[1000.0, -1000.0]])
    np.testing.assert_array_equal(ref.softmax(logits), [[1.0, 0.0]])
    np.testing.assert_array_equal(ref.log_softmax(logits), [[0.0, -2000.0]])
    assert ref.cross_entropy_loss(logits, [0]) == 0.0
    assert ref.cross_entropy_loss(logits, [1]) == 2000.0
    loss, dlogits = ref.softmax_cross_entropy_backward(logits, [1])
    assert loss == 2000.0
    np.testing.assert_array_equal(dlogits, [[1.0, -1.0]])


def test_cross_entropy_by_hand():
    assert ref.cross_entropy_loss(np.zeros((3, 10)), [0, 4, 9]) == pytest.approx(
        math.log(10), rel=1e-14
    )
    logits = np.array([[0.0, LN2, LN3], [0.0, LN2, LN3]])  # softmax [1/6, 2/6, 3/6]
    labels = np.array([2, 0])  # per example -ln(1/2) = ln 2 and -ln(1/6) = ln 6
    np.testing.assert_allclose(
        ref.cross_entropy_loss(logits, labels), (LN2 + math.log(6)) / 2
    )
    np.testing.assert_allclose(
        ref.cross_entropy_loss(logits, labels, reduction="sum"), LN2 + math.log(6)
    )
    np.testing.assert_allclose(
        ref.cross_entropy_loss(logits, labels, reduction="none"), [LN2, math.log(6)]
    )
    with pytest.raises(ValueError, match="reduction"):
        ref.cross_entropy_loss(logits, labels, reduction="avg")
    with pytest.raises(ValueError, match=r"labels \(N,\)"):
        ref.cross_entropy_loss(logits, [[2], [0]])


def test_mse_half_convention_by_hand():
    target, pred = np.array([[0.0, 0.0, 0.0, 1.0]]), np.array([[0.1, 0.1, 0.1, 0.1]])
    # One example: 1/2 * (3 * 0.1**2 + 0.9**2) = 1/2 * 0.84 = 0.42
    np.testing.assert_allclose(ref.mse_loss(pred, target), 0.42, rtol=1e-14)
    # The same numbers as a batch of four 1-value examples: mean of 1/2 * d**2 = 0.105
    np.testing.assert_allclose(ref.mse_loss(pred[0], target[0]), 0.105, rtol=1e-14)

    # Two examples with losses 0.42 and 1/2 * 4 * 0.1**2 = 0.02.
    pred2 = np.vstack([pred, pred])
    target2 = np.vstack([target, np.zeros((1, 4))])
    np.testing.assert_allclose(ref.mse_loss(pred2, target2), 0.22, rtol=1e-14)
    np.testing.assert_allclose(
        ref.mse_loss(pred2, target2, reduction="sum"), 0.44, rtol=1e-14
    )
    np.testing.assert_allclose(
        ref.mse_loss(pred2, target2, reduction="none"), [0.42, 0.02], rtol=1e-14
    )
    with pytest.raises(ValueError, match="same shape"):
        ref.mse_loss(pred2, target2[:, :1])  # would silently broadcast otherwise


def test_one_hot():
    out = ref.one_hot(np.array([2, 0, 1]), 3)
    assert out.dtype == np.float64
    np.testing.assert_array_equal(out, [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    assert ref.one_hot([1], 4).tolist() == [[0.0, 1.0, 0.0, 0.0]]


# ----------------------------------------------------------------------------- gradients


@pytest.mark.parametrize(("stride", "padding"), [(1, 0), (2, 1), ((1, 2), (2, 0))])
def test_conv2d_backward_matches_finite_differences(rng, stride, padding):
    x, w = rng.standard_normal((2, 2, 5, 4)), rng.standard_normal((3, 2, 3, 3))
    b = rng.standard_normal(3)
    dout = rng.standard_normal(ref.conv2d(x, w, b, stride, padding).shape)
    dx, dw, db = ref.conv2d_backward(dout, x, w, b, stride, padding)
    assert_grad_close(
        dx, numeric_grad(lambda v: ref.conv2d(v, w, b, stride, padding), x, dout)
    )
    assert_grad_close(
        dw, numeric_grad(lambda v: ref.conv2d(x, v, b, stride, padding), w, dout)
    )
    assert_grad_close(
        db, numeric_grad(lambda v: ref.conv2d(x, w, v, stride, padding), b, dout)
    )

    dx_nb, dw_nb, db_nb = ref.conv2d_backward(dout, x, w, None, stride, padding)
    assert db_nb is None
    np.testing.assert_allclose(dx_nb, dx)
    np.testing.assert_allclose(dw_nb, dw)


def test_relu_backward(rng):
    x = rng.standard_normal((3, 4))
    x[np.abs(x) < 0.1] = 0.5  # stay away from the kink
    dout = rng.standard_normal(x.shape)
    assert_grad_close(ref.relu_backward(dout, x), numeric_grad(ref.relu, x, dout))
    np.testing.assert_array_equal(
        ref.relu_backward([1.0, 1.0, 1.0], [-1.0, 0.0, 2.0]), [0.0, 0.0, 1.0]
    )


@pytest.mark.parametrize(
    ("kernel", "stride", "padding"), [(2, None, 0), (3, 2, 1), (2, 1, 0)]
)
def test_pool_backward_matches_finite_differences(rng, kernel, stride, padding):
    # Distinct values, so no ties in the max.
    x = rng.permutation(2 * 2 * 5 * 5).reshape(2, 2, 5, 5) / 10.0
    for forward, backward in [
        (ref.max_pool2d, ref.max_pool2d_backward),
        (ref.avg_pool2d, ref.avg_pool2d_backward),
    ]:
        dout = rng.standard_normal(forward(x, kernel, stride, padding).shape)
        dx = backward(dout, x, kernel, stride, padding)
        assert_grad_close(
            dx,
            numeric_grad(lambda v, f=forward: f(v, kernel, stride, padding), x, dout),
        )


def test_pool_backward_by_hand():
    x = np.array([[[[1.0, 4.0], [3.0, 2.0]]]])
    np.testing.assert_array_equal(
        ref.max_pool2d_backward([[[[5.0]]]], x, 2), [[[[0, 5], [0, 0]]]]
    )
    np.testing.assert_array_equal(
        ref.avg_pool2d_backward([[[[4.0]]]], x, 2), np.ones((1, 1, 2, 2))
    )


def test_linear_backward_matches_finite_differences(rng):
    x, w, b = (
        rng.standard_normal((4, 3)),
        rng.standard_normal((3, 5)),
        rng.standard_normal(5),
    )
    dout = rng.standard_normal((4, 5))
    dx, dw, db = ref.linear_backward(dout, x, w, b)
    assert_grad_close(dx, numeric_grad(lambda v: ref.linear(v, w, b), x, dout))
    assert_grad_close(dw, numeric_grad(lambda v: ref.linear(x, v, b), w, dout))
    assert_grad_close(db, numeric_grad(lambda v: ref.linear(x, w, v), b, dout))


def test_softmax_cross_entropy_backward(rng):
    logits, labels = rng.standard_normal((4, 6)), np.array([0, 5, 2, 2])
    loss, dlogits = ref.softmax_cross_entropy_backward(logits, labels)
    assert isinstance(loss, float)
    assert loss == pytest.approx(
        float(ref.cross_entropy_loss(logits, labels)), rel=1e-14
    )
    assert_grad_close(
        dlogits, numeric_grad(lambda v: ref.cross_entropy_loss(v, labels), logits, 1.0)
    )
    # Uniform logits over K=10 classes, N=2: loss ln 10, gradient (1/10 - one_hot) / 2.
    loss, dlogits = ref.softmax_cross_entropy_backward(np.zeros((2, 10)), [3, 7])
    assert loss == pytest.approx(math.log(10), rel=1e-14)
    np.testing.assert_allclose(dlogits, (0.1 - ref.one_hot([3, 7], 10)) / 2, atol=1e-15)


def test_mse_backward(rng):
    loss, dpred = ref.mse_backward([[0.1, 0.1, 0.1, 0.1]], [[0.0, 0.0, 0.0, 1.0]])
    assert loss == pytest.approx(0.42, rel=1e-14)
    # dpred = (pred - target) / N
    np.testing.assert_allclose(dpred, [[0.1, 0.1, 0.1, -0.9]], rtol=1e-14)

    pred, target = rng.standard_normal((3, 2, 2)), rng.standard_normal((3, 2, 2))
    loss, dpred = ref.mse_backward(pred, target)
    assert loss == pytest.approx(float(ref.mse_loss(pred, target)), rel=1e-14)
    assert_grad_close(dpred, numeric_grad(lambda v: ref.mse_loss(v, target), pred, 1.0))


def test_vjp_generic_and_shape_check():
    (dx,) = ref.vjp(lambda t: t**3, ([1.0, 2.0],), [1.0, 0.5])
    np.testing.assert_allclose(dx, [3.0, 6.0])  # 3 x**2 * dout
    dx, dy = ref.vjp(lambda a, b: a * 2, ([1.0], [5.0]), [1.0])
    np.testing.assert_array_equal(dy, [0.0])  # unused input -> zero gradient
    with pytest.raises(ValueError, match="dout has shape"):
        ref.vjp(torch.relu, (np.ones((2, 3)),), np.ones((3, 2)))


# ----------------------------------------------------------------------------- network


def test_init_params_shapes_and_determinism():
    params = ref.init_params(seed=1, in_channels=1, num_classes=10, image_size=8)
    shapes = {name: p.shape for name, p in params.items()}
    assert shapes == {
        "conv1_w": (8, 1, 3, 3),
        "conv1_b": (8,),
        "conv2_w": (16, 8, 3, 3),
        "conv2_b": (16,),
        "fc_w": (64, 10),
        "fc_b": (10,),
    }
    again = ref.init_params(seed=1)
    other = ref.init_params(seed=2)
    assert all(np.array_equal(params[k], again[k]) for k in params)
    assert not np.array_equal(params["conv1_w"], other["conv1_w"])
    assert ref.init_params(0, 3, 10, 32)["fc_w"].shape == (16 * 8 * 8, 10)


def test_module_construction_is_deterministic_and_leaves_global_rng_alone():
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a, b = ref.ReferenceCNN(seed=5), ref.ReferenceCNN(seed=5)
    assert torch.rand(1) == expected_next
    for k, v in a.get_params().items():
        np.testing.assert_array_equal(v, b.get_params()[k])
        np.testing.assert_array_equal(v, ref.init_params(5)[k])
    assert not np.array_equal(
        a.get_params()["fc_w"], ref.ReferenceCNN(seed=6).get_params()["fc_w"]
    )


@pytest.mark.parametrize(
    ("in_channels", "image_size", "num_classes"), [(1, 8, 10), (3, 32, 10), (2, 6, 4)]
)
def test_reference_forward_agrees_with_module(
    rng, in_channels, image_size, num_classes
):
    model = ref.ReferenceCNN(in_channels, num_classes, image_size, seed=0)
    # Random biases too, so a forgotten bias would show up.
    params = {
        k: v + 0.1 * rng.standard_normal(v.shape) for k, v in model.get_params().items()
    }
    model.load_params(params)
    for k, v in model.get_params().items():  # round trip, fc_w back in (D, M) layout
        np.testing.assert_array_equal(v, params[k])
    x = rng.standard_normal((3, in_channels, image_size, image_size))
    with torch.no_grad():
        expected = ref.to_numpy(model(ref.to_tensor(x)))
    logits = ref.reference_forward(params, x)
    assert logits.shape == (3, num_classes) and logits.dtype == np.float64
    np.testing.assert_allclose(logits, expected, rtol=1e-10, atol=1e-12)
    assert np.abs(logits).max() > 1e-3  # a non-trivial output


def test_reference_forward_architecture_by_hand():
    # All weights zero except biases: every pre-activation is its bias, so
    # logits = relu-ed conv2 bias (flattened) @ fc_w + fc_b.
    # 4x4 images -> D = 16 * 1 * 1; ReLU zeroes the odd channels' -1 bias.
    params = {k: np.zeros_like(v) for k, v in ref.init_params(0, 1, 3, 4).items()}
    params["conv2_b"] = np.where(np.arange(16) % 2 == 0, 1.0, -1.0)
    params["fc_w"] = np.ones((16, 3))
    params["fc_b"] = np.array([0.0, 1.0, 2.0])
    logits = ref.reference_forward(params, np.ones((2, 1, 4, 4)))
    np.testing.assert_array_equal(logits, [[8.0, 9.0, 10.0], [8.0, 9.0, 10.0]])


def test_reference_forward_errors_are_helpful(rng):
    params = ref.init_params(0)
    x = rng.standard_normal((1, 1, 8, 8))
    with pytest.raises(ValueError, match="missing.*fc_b"):
        ref.reference_forward({k: v for k, v in params.items() if k != "fc_b"}, x)
    with pytest.raises(ValueError, match="transposed"):
        ref.reference_forward({**params, "fc_w": params["fc_w"].T}, x)
