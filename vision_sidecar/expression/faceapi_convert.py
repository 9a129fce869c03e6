"""Rebuild face-api's expression net (tfjs weights) in PyTorch and export it as ONNX.

`@vladmandic/face-api` (npm, MIT) ships `face_expression_model.bin` with its tfjs weights
manifest: the tensors one after another in the manifest's order, most of them uint8-quantised
(value = byte × scale + min, per tensor), the biases float32. The network, as face-api's
`FaceFeatureExtractor` and `FaceExpressionNet` run it: four dense blocks (the first opens with
a plain 3×3 convolution, the others with a depthwise-separable one, each at stride 2; three more
separable 3×3 convolutions at stride 1 whose inputs are the ReLU of the sum of every earlier
output in the block), a 7×7 average pool, a fully connected layer and softmax. Padding is
TensorFlow's `same`: at stride 2 on an even side the extra row and column go at the end.

The ONNX input `x` is (N, 3, 112, 112) float32, **BGR in [-1, 1]**, which is what the native
crop kernel gives for a colour frame (`prepare_faces`); the graph turns it into face-api's own
input (RGB 0-255 minus its mean pixel, divided by 255). Output `probs`: (N, 7) softmax over
FACEAPI_CLASSES (`emotical_shared.labels`). Run: `python -m
vision_sidecar.expression.faceapi_convert MANIFEST.json OUT.onnx` (the weight files beside the
manifest).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any, Dict, List, Mapping

import numpy as np

#: Side of the square colour crop the net takes.
INPUT_SIZE = 112
#: face-api's mean pixel (RGB), subtracted before dividing by 255.
MEAN_RGB = (122.782, 117.001, 104.298)
#: Dense blocks and the separable convolutions after each block's first one.
BLOCKS, CONVS_PER_BLOCK = 4, 4
_QUANTISED = {"uint8": np.uint8, "uint16": np.uint16}
_DTYPES = {"float32": np.float32, "int32": np.int32}


def decode_weights(spec: List[Mapping[str, Any]], data: bytes) -> Dict[str, np.ndarray]:
    """The tensors of a tfjs weights manifest group (`spec`: its `weights` list) read from the
    concatenated bytes `data`, dequantised to float32 where the manifest says they are
    quantised (uint8/uint16 with a per-tensor scale and min). Raises ValueError when the
    bytes do not match the manifest."""
    out: Dict[str, np.ndarray] = {}
    pos = 0
    for entry in spec:
        shape = [int(d) for d in entry["shape"]]
        count = math.prod(shape)
        quant = entry.get("quantization")
        if quant:
            if quant.get("dtype") not in _QUANTISED:
                raise ValueError(f"{entry['name']}: quantisation {quant.get('dtype')!r} is "
                                 "not supported (uint8 or uint16)")
            stored = np.dtype(_QUANTISED[quant["dtype"]]).newbyteorder("<")
        else:
            if entry["dtype"] not in _DTYPES:
                raise ValueError(f"{entry['name']}: dtype {entry['dtype']!r} is not supported")
            stored = np.dtype(_DTYPES[entry["dtype"]]).newbyteorder("<")
        size = count * stored.itemsize
        if pos + size > len(data):
            raise ValueError(f"{entry['name']}: the weights file ends at byte {len(data)}, "
                             f"the manifest needs {pos + size}")
        raw = np.frombuffer(data, dtype=stored, count=count, offset=pos)
        pos += size
        if quant:
            values = raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])
        else:
            values = raw.astype(np.float32)
        out[entry["name"]] = values.reshape(shape)
    if pos != len(data):
        raise ValueError(f"the weights file holds {len(data)} bytes, the manifest {pos}")
    return out


def load_weights(manifest_path: Path, bin_dir: Path | None = None) -> Dict[str, np.ndarray]:
    """Every tensor a tfjs manifest names, read from its weight files (beside the manifest
    unless `bin_dir` is given)."""
    groups = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    folder = Path(bin_dir) if bin_dir is not None else Path(manifest_path).parent
    out: Dict[str, np.ndarray] = {}
    for group in groups:
        data = b"".join((folder / name).read_bytes() for name in group["paths"])
        out.update(decode_weights(group["weights"], data))
    return out


def build_net(weights: Mapping[str, np.ndarray]) -> Any:
    """The expression net as a torch module holding `weights` (face-api's tensor names)."""
    import torch
    from torch import nn
    from torch.nn import functional

    def tensor(name: str, *axes: int) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(weights[name].transpose(*axes)))

    class SeparableConv(nn.Module):
        """tfjs `separableConv2d` (depthwise, then pointwise) plus bias, `same` padding."""

        def __init__(self, prefix: str, stride: int) -> None:
            super().__init__()
            depthwise = tensor(f"{prefix}/depthwise_filter", 2, 3, 0, 1)  # (C, 1, 3, 3)
            self.depthwise = nn.Conv2d(depthwise.shape[0], depthwise.shape[0], 3, stride,
                                       padding=0 if stride == 2 else 1,
                                       groups=depthwise.shape[0], bias=False)
            self.depthwise.weight = nn.Parameter(depthwise)
            pointwise = tensor(f"{prefix}/pointwise_filter", 3, 2, 0, 1)  # (out, in, 1, 1)
            self.pointwise = nn.Conv2d(pointwise.shape[1], pointwise.shape[0], 1)
            self.pointwise.weight = nn.Parameter(pointwise)
            self.pointwise.bias = nn.Parameter(torch.from_numpy(weights[f"{prefix}/bias"].copy()))
            self.stride = stride

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if self.stride == 2:
                x = functional.pad(x, (0, 1, 0, 1))  # TF `same` on an even side at stride 2
            return self.pointwise(self.depthwise(x))

    class FirstConv(nn.Module):
        """dense0/conv0: a plain 3×3 convolution at stride 2, `same` padding."""

        def __init__(self) -> None:
            super().__init__()
            filters = tensor("dense0/conv0/filters", 3, 2, 0, 1)  # (out, in, 3, 3)
            self.conv = nn.Conv2d(filters.shape[1], filters.shape[0], 3, 2, padding=0)
            self.conv.weight = nn.Parameter(filters)
            self.conv.bias = nn.Parameter(torch.from_numpy(weights["dense0/conv0/bias"].copy()))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.conv(functional.pad(x, (0, 1, 0, 1)))

    class DenseBlock(nn.Module):
        """face-api's `denseBlock4`: each conv after the first sees the ReLU of the sum of
        all earlier outputs; the block returns the ReLU of the sum of all four."""

        def __init__(self, index: int) -> None:
            super().__init__()
            first: nn.Module = FirstConv() if index == 0 else SeparableConv(f"dense{index}/conv0", 2)
            self.convs = nn.ModuleList(
                [first] + [SeparableConv(f"dense{index}/conv{k}", 1)
                           for k in range(1, CONVS_PER_BLOCK)])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            total = torch.relu(self.convs[0](x))
            for conv in self.convs[1:]:
                total = total + conv(torch.relu(total))
            return torch.relu(total)

    class ExpressionNet(nn.Module):
        """BGR [-1, 1] crop in, probabilities over FACEAPI_CLASSES out."""

        offset: torch.Tensor

        def __init__(self) -> None:
            super().__init__()
            self.blocks = nn.Sequential(*[DenseBlock(i) for i in range(BLOCKS)])
            fc = weights["fc/weights"]  # (256, 7): x @ W
            self.fc = nn.Linear(fc.shape[0], fc.shape[1])
            self.fc.weight = nn.Parameter(torch.from_numpy(np.ascontiguousarray(fc.T)))
            self.fc.bias = nn.Parameter(torch.from_numpy(weights["fc/bias"].copy()))
            # (x + 1) * 127.5 is the 0-255 pixel; minus the mean, / 255: x / 2 + offset
            offset = [(127.5 - m) / 255.0 for m in MEAN_RGB]
            self.register_buffer("offset", torch.tensor(offset, dtype=torch.float32)
                                 .reshape(1, 3, 1, 1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            rgb = torch.cat([x[:, 2:3], x[:, 1:2], x[:, 0:1]], dim=1)
            out = self.blocks(rgb * 0.5 + self.offset)
            out = out.mean(dim=(2, 3))  # avgPool 7×7 over the 7×7 map
            return torch.softmax(self.fc(out), dim=1)

    return ExpressionNet().eval()


def convert(manifest_path: Path, onnx_path: Path) -> None:
    """Write the ONNX graph of the net whose tfjs manifest (weights beside it) is given."""
    import onnx
    import torch

    net = build_net(load_weights(manifest_path))
    example = torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = onnx_path.with_suffix(".tmp")
    with torch.no_grad():
        torch.onnx.export(net, (example,), str(tmp), input_names=["x"], output_names=["probs"],
                          dynamic_axes={"x": {0: "N"}, "probs": {0: "N"}}, opset_version=13,
                          dynamo=False)
    onnx.checker.check_model(onnx.load(str(tmp)))
    tmp.replace(onnx_path)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m vision_sidecar.expression.faceapi_convert MANIFEST.json OUT.onnx")
    convert(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"wrote {sys.argv[2]}")
