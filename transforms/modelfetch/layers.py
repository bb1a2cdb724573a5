"""A small TensorFlow.js *layers*-model (Keras topology) -> ONNX converter.

UpscalerJS's super-resolution models (RDN: ``@upscalerjs/esrgan-slim``...) are Keras functional
models saved as TF.js layers models: a ``model_config`` listing layers and their inbound nodes, and
the weights in ``weightsManifest`` (read by `tfjs.load_weights`).  Their layers are few: Conv2D,
Activation (relu), Concatenate, Add, UpSampling2D, and UpscalerJS's own ``MultiplyBeta`` (x0.2) and
``PixelShuffle<n>x`` (depth-to-space).  Run once at fetch time (transforms.ai.weights); no
TensorFlow needed.  The ONNX graph is NCHW throughout (Keras' channels-last axes are mapped), with
one input ``input`` [1, 3, H, W] and one output ``output``; an unknown layer is a ConversionError.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .tfjs import ConversionError, load_weights

_ACTIVATIONS = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}


def convert(model_json: Path, opset: int = 17):
    """The ONNX ModelProto for a TF.js layers model (model.json + its weight files)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = json.loads(model_json.read_text())
    if model.get("format") != "layers-model":
        raise ConversionError(f"{model_json.name} is not a TF.js layers model ({model.get('format')!r})")
    weights = load_weights(model, model_json.parent)
    config = model["modelTopology"]["model_config"]["config"]
    nodes, initializers = [], []
    names: dict[str, str] = {}  # Keras layer name -> ONNX value name

    def const(name: str, array: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def activation(layer: str, kind: str, value: str) -> str:
        if kind in ("linear", None):
            return value
        if kind not in _ACTIVATIONS:
            raise ConversionError(f"{layer}: activation {kind!r} is not handled")
        out = f"{layer}/{kind}"
        nodes.append(helper.make_node(_ACTIVATIONS[kind], [value], [out]))
        return out

    def channel_axis(axis: int) -> int:
        if axis not in (-1, 3):
            raise ConversionError(f"only channel-axis concatenation is handled (axis {axis})")
        return 1

    input_name = None
    for layer in config["layers"]:
        kind, name, cfg = layer["class_name"], layer["name"], layer["config"]
        inbound = [n[0] for n in layer["inbound_nodes"][0]] if layer["inbound_nodes"] else []
        ins = [names[n] for n in inbound]
        out = name
        if kind == "InputLayer":
            if input_name is not None:
                raise ConversionError("only models with one input are handled")
            shape = cfg.get("batch_input_shape") or [None, None, None, 3]
            input_name = "input"
            names[name] = input_name
            channels = shape[-1]
            continue
        if kind == "Conv2D":
            if cfg.get("data_format", "channels_last") != "channels_last" or cfg.get("groups", 1) != 1:
                raise ConversionError(f"{name}: only channels-last, ungrouped convolutions are handled")
            kernel = weights[f"{name}/kernel"]  # HWIO
            inputs = [ins[0], const(f"{name}/W", kernel.transpose(3, 2, 0, 1).astype(np.float32))]
            if cfg.get("use_bias", True):
                inputs.append(const(f"{name}/B", weights[f"{name}/bias"].astype(np.float32)))
            pad = {"same": "SAME_UPPER", "valid": "VALID"}[cfg["padding"]]
            conv = f"{name}/conv" if cfg.get("activation", "linear") != "linear" else out
            nodes.append(helper.make_node("Conv", inputs, [conv], kernel_shape=list(kernel.shape[:2]),
                                          strides=list(cfg["strides"]), dilations=list(cfg["dilation_rate"]),
                                          auto_pad=pad))
            out = activation(name, cfg.get("activation", "linear"), conv)
        elif kind == "Activation":
            out = activation(name, cfg["activation"], ins[0])
        elif kind == "Concatenate":
            nodes.append(helper.make_node("Concat", ins, [out], axis=channel_axis(cfg.get("axis", -1))))
        elif kind == "Add":
            total = ins[0]
            for k, other in enumerate(ins[1:]):
                step = out if k == len(ins) - 2 else f"{name}/{k}"
                nodes.append(helper.make_node("Add", [total, other], [step]))
                total = step
        elif kind == "UpSampling2D":
            if cfg.get("interpolation", "nearest") != "nearest":
                raise ConversionError(f"{name}: only nearest upsampling is handled")
            sy, sx = cfg["size"]
            scales = const(f"{name}/scales", np.array([1, 1, sy, sx], np.float32))
            nodes.append(helper.make_node("Resize", [ins[0], "", scales], [out], mode="nearest",
                                          coordinate_transformation_mode="asymmetric", nearest_mode="floor"))
        elif kind == "MultiplyBeta":
            nodes.append(helper.make_node("Mul", [ins[0], const(f"{name}/beta", np.array(0.2, np.float32))], [out]))
        elif kind.startswith("PixelShuffle") and kind.endswith("x"):
            # TF's depth_to_space orders the depth as (row, column, channel): ONNX's DCR mode
            nodes.append(helper.make_node("DepthToSpace", ins, [out], blocksize=int(kind[12:-1]), mode="DCR"))
        else:
            raise ConversionError(f"layer {name}: {kind} is not handled")
        names[name] = out
    if input_name is None:
        raise ConversionError("the model has no input layer")
    outputs = config["output_layers"]
    if len(outputs) != 1:
        raise ConversionError("only models with one output are handled")
    nodes.append(helper.make_node("Identity", [names[outputs[0][0]]], ["output"]))
    graph = helper.make_graph(
        nodes, model_json.parent.name or "layers-model",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, [1, channels, "height", "width"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, None, None, None])],
        initializers,
    )
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="dam-layers")
    proto.ir_version = 8
    onnx.checker.check_model(proto)
    return proto
