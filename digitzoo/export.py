"""Export a zoo model as a TensorFlow SavedModel, a LiteRT (TFLite) flatbuffer or ONNX.

Every exported file keeps the zoo's input contract (:data:`INPUT_CONTRACT`): a batch of 28×28
images of raw pixels 0–255 as float32 (white digit on black, as MNIST) in, 10 probabilities out.
The model is traced in inference mode (``training=False``), so the random augmentation layers of
``cnn-best`` are left out of the exported graph. The contract is recorded in each file where the
format allows it: the serving signature of a SavedModel, the signature and a metadata entry of a
TFLite file, ``metadata_props`` of an ONNX model.

The converters are the ones made for the job: Keras's ``ExportArchive`` (what ``model.export``
uses) for the SavedModel, TensorFlow's LiteRT converter for TFLite and ``tf2onnx`` for ONNX.
``tf2onnx``, ``onnx`` and the runtimes are in the ``export`` extra (``digitzoo[export]``).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .calibration import Calibrated
from .contract import INPUT_CONTRACT, INPUT_NAME, METADATA_KEY, OUTPUT_NAME, SIGNATURE
from .errors import ExportError, ModelError, NoModelError
from .files import atomic_path, check_writable_folder
from .zoo import TRAINING_OPTIONS, ModelSource, resolve

__all__ = [
    "FORMATS",
    "QUANTIZATIONS",
    "INPUT_CONTRACT",
    "SIGNATURE",
    "INPUT_NAME",
    "OUTPUT_NAME",
    "METADATA_KEY",
    "TRAINING_OPTIONS",
    "ExportError",
    "ModelSource",
    "check_output",
    "check_suffix",
    "calibration_images",
    "export_model",
    "resolve_model",
    "default_path",
    "load_exported",
    "read_contract",
    "accuracy",
    "quantization_accuracy",
]

FORMATS = ("savedmodel", "tflite", "onnx")
QUANTIZATIONS = ("int8",)
_SUFFIX = {"savedmodel": "", "tflite": ".tflite", "onnx": ".onnx"}
_FORMAT_NAME = {"savedmodel": "a SavedModel", "tflite": "a LiteRT", "onnx": "an ONNX"}
#: Names that say a file holds a model of some format: a SavedModel folder must not wear one.
_MODEL_SUFFIXES = (".onnx", ".tflite", ".lite", ".keras", ".h5", ".pb", ".pt", ".pth")
#: Written into every SavedModel folder digitzoo makes: the sign that the folder may be replaced.
MARKER = "digitzoo-export.json"
#: What a SavedModel folder holds; anything else in a folder means it is not only an export.
_SAVEDMODEL_ENTRIES = {"saved_model.pb", "fingerprint.pb", "variables", "assets", MARKER}
_EXTRA = 'install the export extra: pip install "digitzoo[export]"'
#: MNIST training digits the int8 converter calibrates on (enough for stable ranges, a few seconds).
_REPRESENTATIVE_SIZE = 500


def _require(module: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ExportError(f"{module} is needed for this export but is not installed; {_EXTRA}") from exc


def _check_format(format: str, quantize: str | None) -> None:
    if format not in FORMATS:
        raise ExportError(f"unknown export format {format!r}; choose one of {', '.join(FORMATS)}")
    if quantize is not None and quantize not in QUANTIZATIONS:
        raise ExportError(f"unknown quantization {quantize!r}; choose one of {', '.join(QUANTIZATIONS)}")
    if quantize is not None and format != "tflite":
        raise ExportError(f"quantization applies to the tflite format only, not {format}")


def default_path(
    name: str, format: str, quantize: str | None = None, options: dict[str, Any] | None = None
) -> Path:
    """``NAME.onnx``, ``NAME.tflite``, ``NAME-int8.tflite`` or the folder ``NAME-savedmodel``.

    Training ``options`` that name a number join the stem (``cnn-epochs5-seed3.onnx``), so that
    exporting a model trained another way does not replace the default model's file.
    """
    _check_format(format, quantize)
    tags = [f"{key.replace('_', '-')}{value:g}" for key, value in sorted((options or {}).items())
            if isinstance(value, (int, float)) and not isinstance(value, bool)]
    stem = "-".join([name, *tags, *([quantize] if quantize else [])])
    return Path(f"{stem}-savedmodel" if format == "savedmodel" else stem + _SUFFIX[format])


def resolve_model(
    name: str,
    *,
    train_if_needed: bool = True,
    callbacks: Sequence[Any] = (),
    cache: Any = None,
    **train_kwargs: Any,
) -> ModelSource:
    """The Keras model to export for the zoo name ``name``, and where it came from.

    :func:`digitzoo.zoo.resolve` decides: the user's cached model, else the shipped weights (only
    without training options), else — if ``train_if_needed`` — a model trained now, with
    ``callbacks`` passed to ``fit``. ``train_kwargs`` are the training options of
    :func:`digitzoo.training.train`. Bad options raise ``DigitzooError`` before any training; no
    model without training and ``train_if_needed=False`` raises ``ExportError``.
    """
    try:
        return resolve(name, train=train_if_needed, callbacks=callbacks, cache=cache, **train_kwargs)
    except NoModelError as exc:
        raise ExportError(str(exc)) from None


def check_suffix(path: str | os.PathLike, format: str) -> Path:
    """Refuse a name that says another format: ``out.tflite`` for ONNX, ``cnn.onnx`` for a SavedModel folder."""
    _check_format(format, None)
    path = Path(path)
    suffix = path.suffix.lower()
    if format == "savedmodel":
        if suffix in _MODEL_SUFFIXES:
            raise ExportError(f"a SavedModel is a folder, but {path} is named like a {suffix} file")
    elif suffix != _SUFFIX[format]:
        found = f"not {path.suffix}" if path.suffix else "it has no suffix"
        raise ExportError(f"{_FORMAT_NAME[format]} file is named *{_SUFFIX[format]} ({found}): {path}")
    return path


def check_output(path: str | os.PathLike, format: str, *, force: bool = False) -> Path:
    """Refuse an output ``path`` that the export could not write, or not without losing something.

    Called before any conversion or training. A file format needs a name with its suffix whose
    folder can be written and that is not a folder; a SavedModel needs a new folder, an empty one,
    or one that holds a SavedModel digitzoo wrote and nothing else. ``force`` lets any other
    folder be replaced, with all it holds, but never the working folder or one that holds it.
    """
    path = check_suffix(path, format)
    if format == "savedmodel":
        if path.exists() and not path.is_dir():
            raise ExportError(f"{path} is a file; a SavedModel is a folder")
        if path.is_dir():
            if _holds_working_folder(path):
                raise ExportError(f"{path} holds the working folder and cannot be replaced; name a new folder")
            if not force and not _replaceable(path):
                raise ExportError(
                    f"{path} exists and is not a SavedModel that digitzoo wrote; nothing was written: "
                    "name a new folder, or replace this one and everything in it",
                    remedy="force",
                )
    elif path.is_dir():
        raise ExportError(f"{path} is a folder; {_FORMAT_NAME[format]} export is a file")
    try:
        check_writable_folder(path.parent)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {_reason(exc)} (in {path.parent})") from exc
    return path


def _holds_working_folder(path: Path) -> bool:
    here, there = Path.cwd().resolve(), path.resolve()
    return here == there or there in here.parents


def _replaceable(folder: Path) -> bool:
    """An empty folder, or one holding a SavedModel that digitzoo wrote and nothing else."""
    try:
        entries = {p.name for p in folder.iterdir()}
        if not entries:
            return True
        if not entries <= _SAVEDMODEL_ENTRIES or "saved_model.pb" not in entries:
            return False
        if (folder / "assets").is_dir() and any((folder / "assets").iterdir()):
            return False
        if (folder / "variables").is_dir() and any(
            not p.name.startswith("variables.") for p in (folder / "variables").iterdir()
        ):
            return False
        if MARKER in entries:
            return (folder / MARKER).is_file()
        # Written before the marker existed: the contract variable is named in the graph.
        with open(folder / "saved_model.pb", "rb") as f:
            return b"input_contract" in f.read(1 << 24)
    except OSError:
        return False


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


@contextlib.contextmanager
def _writing(dest: Path) -> Iterator[None]:
    """An ``OSError`` while writing ``dest`` (a full disk …) becomes one line naming ``dest``."""
    try:
        yield
    except OSError as exc:
        raise ExportError(f"cannot write {dest}: {_reason(exc)}") from exc


def export_model(
    model_or_name: Any,
    path: str | os.PathLike | None = None,
    *,
    format: str,
    quantize: str | None = None,
    representative: np.ndarray | None = None,
    force: bool = False,
    calibrated: bool = True,
    **train_kwargs: Any,
) -> Path:
    """Write ``model_or_name`` (a Keras model or a zoo name, see :func:`resolve_model`) to ``path``.

    ``format`` is ``"savedmodel"`` (a folder), ``"tflite"`` or ``"onnx"`` (a file); ``path``
    defaults to :func:`default_path` in the working folder. ``quantize="int8"`` (tflite only)
    stores int8 weights and activations, calibrated on ``representative`` — uint8 or float images of
    shape (N, 28, 28), pixels 0–255 — or, by default, on 500 MNIST training digits; input and output
    stay float32, so the contract is unchanged. The write is atomic: a reader sees the old file or
    folder or the new one. ``path`` is checked before any work (:func:`check_output`): an existing
    folder is replaced only when it holds a SavedModel digitzoo wrote, or with ``force=True``.
    Returns the path written. Raises ``ExportError`` and ``ModelError``.

    For a zoo name, ``train_kwargs`` (``epochs``, ``seed``, ``train_size`` …, ``callbacks``) choose
    the model as in :func:`resolve_model`: ``export_model("cnn", format="onnx", epochs=5, seed=3)``
    exports the cached model trained so, training it first if needed.

    A zoo model's temperature (:mod:`digitzoo.calibration`) is baked into the file, so that it
    outputs calibrated probabilities; ``calibrated=False`` exports the model's own. A
    :class:`digitzoo.calibration.Calibrated` model is exported with its temperature too.
    """
    _check_format(format, quantize)
    if not isinstance(model_or_name, str) and train_kwargs:
        raise ExportError(f"training options apply to a zoo name, not to a model: {', '.join(sorted(train_kwargs))}")
    name = model_or_name if isinstance(model_or_name, str) else getattr(model_or_name, "name", "model")
    dest = Path(path) if path is not None else default_path(name, format, quantize)
    check_output(dest, format, force=force)  # before a training or a conversion of seconds
    if quantize is not None and representative is not None:
        representative = _representative_images(representative)
    if isinstance(model_or_name, str):
        found = resolve_model(name, **train_kwargs)
        model = found.calibrated() if calibrated else found.model
    else:
        model = model_or_name
    model = _baked(model)
    if quantize is not None and representative is None and train_kwargs.get("data") is not None:
        representative = calibration_images(train_kwargs["data"])  # the digits the model was trained on
    _check_model(model)
    if format == "savedmodel":
        with _writing(dest), _atomic_folder(dest) as tmp:
            _write_savedmodel(model, tmp, name)
        return dest
    data = _tflite_bytes(model, quantize, representative) if format == "tflite" else _onnx_bytes(model, name)
    with _writing(dest), atomic_path(dest, _SUFFIX[format]) as tmp:
        tmp.write_bytes(data)
    return dest


def _baked(model: Any) -> Any:
    """A Keras model; a calibrated one with its temperature as the last step of the graph."""
    if not isinstance(model, Calibrated):
        return model
    import keras

    inner, temperature = model.model, model.temperature
    inputs = keras.Input(inner.input_shape[1:], name="pixels")
    # softmax(log p / T): the zoo's models end in a softmax, so log p is the logits up to a constant.
    probs = keras.ops.maximum(inner(inputs), 1e-30)
    outputs = keras.ops.softmax(keras.ops.log(probs) / temperature, axis=-1)
    return keras.Model(inputs, outputs, name=inner.name)


def _check_model(model: Any) -> None:
    shape = tuple(getattr(model, "input_shape", ()) or ())
    outputs = tuple(getattr(model, "output_shape", ()) or ())
    if shape[1:] != (28, 28) or outputs[1:] != (10,):
        raise ModelError(
            f"only models taking 28×28 pixels and giving 10 probabilities can be exported, got input "
            f"{shape} and output {outputs}"
        )


def _serving_function(model: Any):
    """The model's inference pass (``training=False``) as a ``tf.function`` with the contract's names."""
    import tensorflow as tf

    spec = tf.TensorSpec([None, 28, 28], tf.float32, name=INPUT_NAME)

    @tf.function(input_signature=[spec])
    def serve(pixels):
        return {OUTPUT_NAME: model(pixels, training=False)}

    return serve


def _archive(model: Any):
    import tensorflow as tf
    from keras.export import ExportArchive

    archive = ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serve",
        lambda pixels: {OUTPUT_NAME: model(pixels, training=False)},
        input_signature=[tf.TensorSpec([None, 28, 28], tf.float32, name=INPUT_NAME)],
    )
    return archive


def _write_savedmodel(model: Any, folder: Path, name: str) -> None:
    import tensorflow as tf

    archive = _archive(model)
    # The contract travels as a string variable, read back as tf.saved_model.load(folder).input_contract[0].
    archive.add_variable_collection("input_contract", [tf.Variable(json.dumps(INPUT_CONTRACT), trainable=False)])
    try:
        archive.write_out(str(folder), verbose=False)
    except tf.errors.OpError as exc:  # TensorFlow's own file errors (a full disk …) are not OSErrors
        raise OSError(exc.message.strip().splitlines()[0]) from exc
    marker = {"written_by": "digitzoo", "model": name, "format": "savedmodel", "input_contract": INPUT_CONTRACT}
    (folder / MARKER).write_text(json.dumps(marker, indent=2) + "\n")


def _tflite_bytes(model: Any, quantize: str | None, representative: np.ndarray | None) -> bytes:
    import tensorflow as tf

    from ._tensorflow import CONVERTER_NOISE, filtered_stderr

    with tempfile.TemporaryDirectory(prefix="digitzoo-export-") as tmp:
        _archive(model).write_out(tmp, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp, signature_keys=[SIGNATURE])
        # Built-in ops only: a file that needs the Flex delegate would not run on ai-edge-litert or a phone.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize == "int8":
            images = _representative_images(representative)
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = lambda: ([image[None]] for image in images)
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        try:
            with filtered_stderr(CONVERTER_NOISE):
                data = converter.convert()
        except Exception as exc:  # the converter raises ConverterError and plain exceptions alike
            raise ExportError(f"the LiteRT converter failed: {str(exc).strip().splitlines()[0]}") from exc
    return _with_tflite_metadata(data, quantize)


def calibration_images(data: Any = None) -> np.ndarray:
    """The MNIST training digits an int8 export calibrates on: 500 of ``data``'s, stratified.

    ``data`` is what :func:`digitzoo.training.train` takes: ``None`` (the usual MNIST), a path, or
    the arrays ``((x_train, y_train), (x_test, y_test))``; uint8 (500, 28, 28), pixels 0–255.
    """
    from .data import load_mnist, stratified_subset

    if isinstance(data, (tuple, list)):
        (x, y), _ = data
        return stratified_subset(np.asarray(x), np.asarray(y), min(_REPRESENTATIVE_SIZE, len(y)))[0]
    (images, _), _ = load_mnist(data, train_size=_REPRESENTATIVE_SIZE)
    return images


def _representative_images(images: np.ndarray | None) -> np.ndarray:
    if images is None:
        images = calibration_images()
    images = np.asarray(images, dtype=np.float32)
    if images.ndim != 3 or images.shape[1:] != (28, 28) or len(images) == 0:
        raise ExportError(f"representative images must have shape (N, 28, 28) with N ≥ 1, got {images.shape}")
    from .image.convert import check_finite

    return check_finite(images, batch=True)


def _with_tflite_metadata(data: bytes, quantize: str | None) -> bytes:
    from tensorflow.lite.python import schema_py_generated as schema
    from tensorflow.lite.tools import flatbuffer_utils

    contract = dict(INPUT_CONTRACT, quantization=quantize or "none")
    tflite = flatbuffer_utils.read_model_from_bytearray(bytearray(data))
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(json.dumps(contract).encode(), dtype=np.uint8)
    tflite.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = METADATA_KEY
    entry.buffer = len(tflite.buffers) - 1
    tflite.metadata = [*(tflite.metadata or []), entry]
    return bytes(flatbuffer_utils.convert_object_to_bytearray(tflite))


def _onnx_bytes(model: Any, name: str) -> bytes:
    tf2onnx = _require("tf2onnx")
    onnx = _require("onnx")
    import tensorflow as tf

    _patch_tf2onnx()
    spec = (tf.TensorSpec([None, 28, 28], tf.float32, name=INPUT_NAME),)
    try:
        proto, _ = tf2onnx.convert.from_function(_serving_function(model), input_signature=spec, opset=17)
    except Exception as exc:  # tf2onnx raises whatever its handlers raise
        raise ExportError(f"tf2onnx could not convert {name}: {str(exc).strip().splitlines()[0]}") from exc
    for key, value in {METADATA_KEY: json.dumps(INPUT_CONTRACT), "digitzoo.model": name}.items():
        onnx.helper.set_model_props(proto, {**{p.key: p.value for p in proto.metadata_props}, key: value})
    proto.doc_string = f"digitzoo {name}: 28×28 raw pixels 0-255 float32 in, 10 probabilities out"
    return proto.SerializeToString()


def _patch_tf2onnx() -> None:
    """tf2onnx 1.17 still uses aliases numpy 2 removed (np.cast, np.object …); Keras patches them."""
    import warnings

    try:
        from keras.src.export.tf2onnx_lib import patch_tf2onnx
    except ImportError:  # a Keras without the patch: a tf2onnx recent enough not to need it
        return
    with warnings.catch_warnings():  # the patch's own probe of np.object warns under numpy 2
        warnings.simplefilter("ignore", FutureWarning)
        patch_tf2onnx()


@contextlib.contextmanager
def _atomic_folder(dest: Path) -> Iterator[Path]:
    """A new folder beside ``dest`` that replaces it only if the block succeeds.

    The old folder, which :func:`check_output` allowed to be replaced, is removed after the swap.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it private; the result should look like any folder made
    old = None
    try:
        yield tmp
        if dest.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".old.tmp", dir=dest.parent))
            os.replace(dest, old / dest.name)
        os.replace(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def load_exported(path: str | os.PathLike, format: str | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """A function images → probabilities running ``path`` with its format's own runtime.

    ``format`` is guessed from the path (a folder is a SavedModel) if not given. The function takes
    images of shape (N, 28, 28), pixels 0–255, and returns float32 probabilities (N, 10). The
    runtimes are TensorFlow's SavedModel loader, ``ai_edge_litert``'s interpreter and onnxruntime.
    """
    path = Path(path)
    if format is None:
        format = "savedmodel" if path.is_dir() else {".tflite": "tflite", ".onnx": "onnx"}.get(path.suffix, "")
    _check_format(format, None)
    if format == "savedmodel":
        return _run_savedmodel(path)
    if format == "tflite":
        return _run_tflite(path)
    return _run_onnx(path)


def _pixels(images: np.ndarray) -> np.ndarray:
    from .image.convert import check_finite  # the check every function that takes pixels makes

    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 2:
        images = images[None]
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ExportError(f"images must have shape (N, 28, 28), got {images.shape}")
    return check_finite(images, batch=True)


def _run_savedmodel(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    import tensorflow as tf

    serve = tf.saved_model.load(str(path)).signatures[SIGNATURE]
    return lambda images: serve(**{INPUT_NAME: tf.constant(_pixels(images))})[OUTPUT_NAME].numpy()


def _run_tflite(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    from .litert import LiteModel  # the runtime predict uses for the shipped weights

    model = LiteModel(path)
    return lambda images: model(_pixels(images))


def _run_onnx(path: Path) -> Callable[[np.ndarray], np.ndarray]:
    ort = _require("onnxruntime")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    input_name = session.get_inputs()[0].name
    return lambda images: session.run(None, {input_name: _pixels(images)})[0]


def read_contract(path: str | os.PathLike) -> dict[str, Any] | None:
    """The input contract recorded in an exported file or folder, or ``None`` if it holds none."""
    path = Path(path)
    if path.is_dir():
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))
        variables = getattr(loaded, "input_contract", None)
        return json.loads(variables[0].numpy().decode()) if variables else None
    if path.suffix == ".onnx":
        onnx = _require("onnx")
        props = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
        return json.loads(props[METADATA_KEY]) if METADATA_KEY in props else None
    from tensorflow.lite.tools import flatbuffer_utils

    tflite = flatbuffer_utils.read_model(str(path))
    for entry in tflite.metadata or []:
        name = entry.name.decode() if isinstance(entry.name, bytes) else entry.name
        if name == METADATA_KEY:
            return json.loads(bytes(tflite.buffers[entry.buffer].data).decode())
    return None


def accuracy(predict: Callable[[np.ndarray], np.ndarray], images: np.ndarray, labels: np.ndarray) -> float:
    """The fraction of ``images`` whose most probable digit under ``predict`` is the label."""
    return float(np.mean(np.argmax(predict(images), axis=1) == np.asarray(labels)))


def quantization_accuracy(
    model: Any, path: str | os.PathLike, test: tuple[np.ndarray, np.ndarray] | None = None
) -> dict[str, float]:
    """Test accuracy of the Keras ``model`` (float) and of its exported ``path`` on the same images.

    ``test`` is ``(images, labels)``, by default the 10 000 MNIST test digits. Returns
    ``{"float_accuracy", "exported_accuracy", "images"}``, accuracies as fractions in [0, 1].
    """
    from .inference import predict_proba

    if test is None:
        from .data import load_mnist

        _, test = load_mnist()
    images, labels = test
    return {
        "float_accuracy": accuracy(lambda x: predict_proba(model, x), images, labels),
        "exported_accuracy": accuracy(load_exported(path), images, labels),
        "images": int(len(labels)),
    }
