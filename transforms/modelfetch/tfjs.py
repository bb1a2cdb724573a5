"""A small TensorFlow.js graph-model -> ONNX converter for the op types of NanoDet-m.

Run once at fetch time (transforms.ai.weights); no TensorFlow needed.  Everything that
depends only on constants (shape arithmetic: SparseToDense, AddV2 of int64...) is
folded in numpy; the rest becomes ONNX nodes.  TensorFlow's NHWC convolutions, pools
and resizes are wrapped in transposes to ONNX's NCHW (onnxruntime cancels the pairs).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

_DTYPES = {"float32": np.float32, "int32": np.int32, "float16": np.float16, "int64": np.int64, "bool": np.bool_}
_TF_DTYPES = {"DT_FLOAT": np.float32, "DT_INT32": np.int32, "DT_INT64": np.int64, "DT_BOOL": np.bool_}


class ConversionError(RuntimeError):
    pass


def load_weights(model: dict, directory: Path) -> dict[str, np.ndarray]:
    weights: dict[str, np.ndarray] = {}
    for group in model["weightsManifest"]:
        data = b"".join((directory / path).read_bytes() for path in group["paths"])
        offset = 0
        for spec in group["weights"]:
            shape = [int(s) for s in spec["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quant = spec.get("quantization")
            dtype = np.dtype(_DTYPES[quant["dtype"]] if quant else _DTYPES[spec["dtype"]])
            raw = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
            offset += count * dtype.itemsize
            if quant and "scale" in quant:
                raw = raw.astype(np.float32) * quant["scale"] + quant.get("min", 0.0)
            weights[spec["name"]] = raw.astype(_DTYPES[spec["dtype"]]).reshape(shape)
    return weights


def _attr(node: dict, name: str, default=None):
    value = node.get("attr", {}).get(name)
    if value is None:
        return default
    if "list" in value:
        return [int(i) for i in value["list"].get("i", [])]
    if "s" in value:
        import base64

        return base64.b64decode(value["s"]).decode()
    if "f" in value:
        return float(value["f"])
    if "i" in value:
        return int(value["i"])
    if "b" in value:
        return bool(value["b"])
    if "type" in value:
        return value["type"]
    return value


def convert(model_json: Path, opset: int = 17):
    """The ONNX ModelProto for a TF.js graph model (model.json + its weight files)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    model = json.loads(model_json.read_text())
    weights = load_weights(model, model_json.parent)
    nodes = {n["name"]: n for n in model["modelTopology"]["node"]}
    consts: dict[str, np.ndarray] = {}
    onnx_nodes, initializers, counter = [], [], [0]
    emitted: dict[str, str] = {}  # tensor name -> ONNX value name

    def fresh(base: str) -> str:
        counter[0] += 1
        return f"{base}__{counter[0]}"

    def const_of(name: str):
        if name in consts:
            return consts[name]
        node = nodes.get(name.split(":")[0])
        if node is None or node["op"] != "Const":
            return None
        dtype = _TF_DTYPES.get(_attr(node, "dtype"), np.float32)
        if node["name"] not in weights:
            raise ConversionError(f"constant {node['name']} has no weights")
        consts[name] = weights[node["name"]].astype(dtype)
        return consts[name]

    def value(name: str):
        """(numpy array, None) for a constant, (None, onnx name) for a tensor."""
        name = name.lstrip("^")
        base, _, index = name.partition(":")
        key = base if index in ("", "0") else name
        if key in consts:
            return consts[key], None
        if key in emitted:
            return None, emitted[key]
        c = const_of(key)
        if c is not None:
            return c, None
        visit(nodes[base])
        if key in consts:
            return consts[key], None
        return None, emitted[key]

    def as_input(name: str) -> str:
        array, onnx_name = value(name)
        if onnx_name is not None:
            return onnx_name
        init = fresh("const")
        initializers.append(numpy_helper.from_array(np.asarray(array), init))
        return init

    def emit(op: str, inputs: list[str], outputs: int = 1, **attrs) -> list[str]:
        names = [fresh(op) for _ in range(outputs)]
        onnx_nodes.append(helper.make_node(op, inputs, names, **attrs))
        return names

    def nchw(x: str) -> str:
        return emit("Transpose", [x], perm=[0, 3, 1, 2])[0]

    def nhwc(x: str) -> str:
        return emit("Transpose", [x], perm=[0, 2, 3, 1])[0]

    def visit(node: dict) -> None:
        name, op = node["name"], node["op"]
        inputs = [i for i in node.get("input", []) if not i.startswith("^")]
        if op == "Placeholder":
            emitted[name] = name
            return
        vals = [value(i) for i in inputs]
        if all(v[0] is not None for v in vals):  # constant folding
            args = [v[0] for v in vals]
            consts[name] = _fold(op, args, node)
            return
        x = lambda k: as_input(inputs[k])  # noqa: E731
        if op in ("Identity",):
            emitted[name] = x(0)
        elif op in ("Add", "AddV2"):
            emitted[name] = emit("Add", [x(0), x(1)])[0]
        elif op == "Sigmoid":
            emitted[name] = emit("Sigmoid", [x(0)])[0]
        elif op == "LeakyRelu":
            emitted[name] = emit("LeakyRelu", [x(0)], alpha=_attr(node, "alpha", 0.2))[0]
        elif op == "Transpose":
            emitted[name] = emit("Transpose", [x(0)], perm=[int(p) for p in vals[1][0]])[0]
        elif op == "Reshape":
            shape = np.asarray(vals[1][0], dtype=np.int64)
            emitted[name] = emit("Reshape", [x(0), as_input_array(shape)])[0]
        elif op == "ConcatV2":
            axis = int(vals[-1][0])
            emitted[name] = emit("Concat", [x(k) for k in range(len(inputs) - 1)], axis=axis)[0]
        elif op in ("Pad", "PadV2"):
            pads = np.asarray(vals[1][0], dtype=np.int64)
            ins = [x(0), as_input_array(np.concatenate([pads[:, 0], pads[:, 1]]))]
            if op == "PadV2":
                ins.append(as_input_array(np.asarray(vals[2][0], dtype=np.float32).reshape(())))
            emitted[name] = emit("Pad", ins, mode="constant")[0]
        elif op == "SplitV":
            sizes = np.asarray(vals[1][0], dtype=np.int64)
            axis = int(vals[2][0])
            outs = emit("Split", [x(0), as_input_array(sizes)], outputs=len(sizes), axis=axis)
            emitted[name] = outs[0]
            for k, out in enumerate(outs):
                emitted[f"{name}:{k}"] = out
        elif op == "Conv2D":
            if _attr(node, "data_format", "NHWC") != "NHWC":
                raise ConversionError(f"{name}: only NHWC convolutions are handled")
            kernel = vals[1][0]  # HWIO
            if kernel is None:
                raise ConversionError(f"{name}: the kernel is not constant")
            strides, dilations = _attr(node, "strides"), _attr(node, "dilations", [1, 1, 1, 1])
            padding = _attr(node, "padding")
            w = as_input_array(np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)).astype(np.float32))
            channels = _channels_hint(node)
            attrs = dict(strides=strides[1:3], dilations=dilations[1:3], kernel_shape=list(kernel.shape[:2]))
            if padding == "SAME":
                attrs["auto_pad"] = "SAME_UPPER"
            elif padding != "VALID":
                raise ConversionError(f"{name}: padding {padding}")
            if channels:
                attrs["group"] = channels // kernel.shape[2]
            emitted[name] = nhwc(emit("Conv", [nchw(x(0)), w], **attrs)[0])
        elif op == "MaxPool":
            ksize, strides = _attr(node, "ksize"), _attr(node, "strides")
            attrs = dict(kernel_shape=ksize[1:3], strides=strides[1:3])
            if _attr(node, "padding") == "SAME":
                attrs["auto_pad"] = "SAME_UPPER"
            emitted[name] = nhwc(emit("MaxPool", [nchw(x(0))], **attrs)[0])
        elif op == "ResizeBilinear":
            size = np.asarray(vals[1][0], dtype=np.int64)
            mode = "half_pixel" if _attr(node, "half_pixel_centers") else (
                "align_corners" if _attr(node, "align_corners") else "asymmetric")
            sizes = as_input_array(np.concatenate([[1, 0], size]).astype(np.int64))  # channels patched below
            resized = emit("Resize", [nchw(x(0)), "", "", sizes], mode="linear",
                           coordinate_transformation_mode=mode)[0]
            pending_resize.append((resized, sizes, node))
            emitted[name] = nhwc(resized)
        else:
            raise ConversionError(f"unsupported op {op} ({name})")

    def as_input_array(array: np.ndarray) -> str:
        init = fresh("const")
        initializers.append(numpy_helper.from_array(np.asarray(array), init))
        return init

    pending_resize: list = []
    channel_hints.clear()
    signature = model["signature"]
    input_name = next(iter(signature["inputs"])).split(":")[0]
    input_shape = [int(d["size"]) for d in signature["inputs"][f"{input_name}:0"]["tensorShape"]["dim"]]
    output_names = [k.split(":")[0] for k in signature["outputs"]]
    # Channel counts (grouped convolutions, Resize sizes) from static shape inference.
    _infer_channels(nodes, weights, input_name, input_shape)
    outputs = []
    output_shapes = {k.split(":")[0]: [int(d["size"]) for d in v["tensorShape"]["dim"]]
                     for k, v in signature["outputs"].items()}
    for out in output_names:
        _, onnx_name = value(out)
        emit("Identity", [onnx_name])
        onnx_nodes[-1].output[0] = out
        outputs.append(out)
    for resized, sizes, node in pending_resize:
        channels = channel_hints[node["input"][0]]
        for init in initializers:
            if init.name == sizes:
                arr = numpy_helper.to_array(init).copy()
                arr[1] = channels
                init.CopyFrom(numpy_helper.from_array(arr, sizes))
    graph = helper.make_graph(
        onnx_nodes, "tfjs",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, output_shapes[o]) for o in outputs],
        initializers,
    )
    result = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="dam-tfjs")
    result.ir_version = 8
    onnx.checker.check_model(result)
    return result


channel_hints: dict[str, int] = {}  # tensor -> channels (NHWC last axis); filled per conversion


def _channels_hint(node: dict) -> int | None:
    return channel_hints.get(node["input"][0])


def _fold(op: str, args: list, node: dict):
    if op == "Identity":
        return args[0]
    if op in ("Add", "AddV2"):
        return args[0] + args[1]
    if op == "Cast":
        return args[0]
    if op == "SparseToDense":
        indices, shape, values, default = args
        out = np.full(np.asarray(shape, dtype=np.int64), default, dtype=np.asarray(default).dtype)
        indices, values = np.asarray(indices), np.asarray(values)
        if indices.size:
            indices = indices.reshape(-1, out.ndim) if indices.ndim > 1 else indices.reshape(-1, 1)
            for k, index in enumerate(indices):
                out[tuple(index)] = values[k] if values.ndim else values
        return out
    if op == "Transpose":
        return np.transpose(args[0], args[1])
    if op == "Reshape":
        return np.reshape(args[0], args[1])
    if op == "ConcatV2":
        return np.concatenate(args[:-1], axis=int(args[-1]))
    raise ConversionError(f"cannot fold {op} ({node['name']})")


def _infer_channels(nodes: dict, weights: dict, input_name: str, input_shape: list[int]) -> None:
    """Static shapes of every tensor (numpy shape arithmetic only), kept as the channel
    count (last axis, NHWC) that grouped convolutions and resizes need."""
    shapes: dict[str, tuple] = {input_name: tuple(input_shape)}
    values: dict[str, np.ndarray] = {}

    def const(name):
        base = name.split(":")[0]
        node = nodes.get(base)
        if base in values:
            return values[base]
        if node is not None and node["op"] == "Const":
            return weights[base]
        return None

    def shape(name: str):
        name = name.lstrip("^")
        key = name if ":" in name and not name.endswith(":0") else name.split(":")[0]
        if key in shapes:
            return shapes[key]
        c = const(key)
        if c is not None:
            return np.shape(c)
        node = nodes[key.split(":")[0]]
        compute(node)
        return shapes[key]

    def compute(node):
        name, op = node["name"], node["op"]
        ins = [i for i in node.get("input", []) if not i.startswith("^")]
        cs = [const(i) for i in ins]
        if ins and all(c is not None for c in cs):
            values[name] = _fold(op, [np.asarray(c) for c in cs], node)
            shapes[name] = np.shape(values[name])
            return
        s0 = shape(ins[0])
        if op in ("Identity", "Sigmoid", "LeakyRelu"):
            shapes[name] = s0
        elif op in ("Add", "AddV2"):
            shapes[name] = np.broadcast_shapes(s0, shape(ins[1]))
        elif op == "Transpose":
            shapes[name] = tuple(s0[int(p)] for p in cs[1])
        elif op == "Reshape":
            target = list(np.asarray(cs[1], dtype=np.int64))
            if -1 in target:
                known = int(np.prod([t for t in target if t != -1]))
                target[target.index(-1)] = int(np.prod(s0)) // known
            shapes[name] = tuple(int(t) for t in target)
        elif op == "ConcatV2":
            axis = int(cs[-1])
            parts = [shape(i) for i in ins[:-1]]
            axis = axis % len(parts[0])
            out = list(parts[0])
            out[axis] = sum(p[axis] for p in parts)
            shapes[name] = tuple(out)
        elif op in ("Pad", "PadV2"):
            pads = np.asarray(cs[1])
            shapes[name] = tuple(int(d + a + b) for d, (a, b) in zip(s0, pads))
        elif op == "SplitV":
            sizes, axis = np.asarray(cs[1]), int(cs[2])
            for k, size in enumerate(sizes):
                out = list(s0)
                out[axis] = int(size)
                shapes[f"{name}:{k}"] = tuple(out)
            shapes[name] = shapes[f"{name}:0"]
        elif op in ("Conv2D", "MaxPool"):
            n, h, w, c = s0
            if op == "Conv2D":
                kernel = cs[1]
                kh, kw, _, co = kernel.shape
            else:
                _, kh, kw, _ = _attr(node, "ksize")
                co = c
            _, sh, sw, _ = _attr(node, "strides")
            if _attr(node, "padding") == "SAME":
                oh, ow = -(-h // sh), -(-w // sw)
            else:
                oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
            shapes[name] = (n, oh, ow, co)
        elif op == "ResizeBilinear":
            size = np.asarray(cs[1])
            shapes[name] = (s0[0], int(size[0]), int(size[1]), s0[3])
        else:
            raise ConversionError(f"no shape rule for {op}")
        channel_hints[name] = shapes[name][-1] if shapes[name] else 0

    for node in nodes.values():
        if node["op"] not in ("Const", "Placeholder"):
            shape(node["name"])
    for key, s in shapes.items():
        if len(s) == 4:
            channel_hints[key] = s[-1]
