"""Import TensorFlow without the lines its native libraries print on stderr while they load.

While ``import tensorflow`` runs, its C++ libraries write start-up notices straight to file
descriptor 2 ("Could not find cuda drivers", the absl "before InitializeLog" warning, oneDNN and
CPU-feature notices). Measured with TensorFlow 2.21, ``TF_CPP_MIN_LOG_LEVEL`` does not reach them
however early it is set, and ``sys.stderr`` is not involved, so only the descriptor can be
filtered. :func:`import_quietly` points descriptor 2 at a pipe for the length of the import; a
small filter process drops TensorFlow's known start-up lines and passes every other line on at
once. A process rather than a thread or a buffer, because TensorFlow may abort the interpreter
while it loads (a CPU without AVX, a broken CUDA library): its last words must reach the user even
then. An import that raises raises as usual, after the lines it printed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator

__all__ = ["NOISE", "LITERT_NOISE", "CONVERTER_NOISE", "import_quietly", "import_keras", "filtered_stderr"]

#: TensorFlow's start-up lines that tell a CPU user nothing they can act on. A line of level F
#: (fatal) never matches: it explains why the process is about to die.
NOISE = re.compile(
    "|".join(
        [
            r"All log messages before absl::InitializeLog\(\) is called are written to STDERR",
            r"^[IWE]\d{4} .*cudart_stub\.cc:\d+\]",
            r"^[IWE]\d{4} .*cpu_feature_guard\.cc:\d+\] This TensorFlow binary is optimized",
            r"^To enable the following instructions: .* rebuild TensorFlow with the appropriate compiler flags",
            r"^[IWE]\d{4} .*oneDNN custom operations are on",
            r"^[IWE]\d{4} .*failed call to cuInit",
            r"^[IWE]\d{4} .*Unable to register cu(DNN|FFT|BLAS) factory",
            r"^[IWE]\d{4} .*computation placer already registered",
            r"TF-TRT Warning: Could not find TensorRT",
        ]
    )
)

#: What LiteRT's interpreter prints, once per process, on its first run (no setting silences it).
LITERT_NOISE = re.compile(r"^INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.")

#: What TensorFlow's LiteRT converter prints while it converts: its C++ log lines (shown unless
#: TF_CPP_MIN_LOG_LEVEL hides them) and, when it quantizes, a plain line of its settings that no
#: setting hides.
CONVERTER_NOISE = re.compile(
    r"^fully_quantize: \d+, inference_type: "
    r"|^[IW]\d{4} .*(tf_tfl_flatbuffer_helpers|reader|loader|mlir_graph_optimization_pass|dump_mlir_util"
    r"|flatbuffer_export)\.cc:\d+\]"
)

# Run by a fresh interpreter (-I -S: nothing from the environment or site-packages, so it starts
# in milliseconds): copy stdin to stdout line by line, leaving out the lines the pattern matches.
_FILTER = """
import re, signal, sys
signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the importer, which then closes the pipe
noise = re.compile(sys.argv[1].encode())
for line in sys.stdin.buffer:
    if not noise.search(line):
        sys.stdout.buffer.write(line)
        sys.stdout.buffer.flush()
"""

# Seconds to wait for the filter to pass on the last lines once the import is over. It ends as
# soon as the pipe is closed; the limit only matters if a process started during the import still
# holds the pipe open.
_DRAIN_TIMEOUT = 10

_lock = threading.Lock()


def import_quietly() -> None:
    """Import TensorFlow, unless something already has, with its start-up lines kept off stderr.

    Call it before the first ``import tensorflow`` or ``import keras`` (Keras imports TensorFlow);
    afterwards those imports cost nothing. Every other line printed during the import still reaches
    stderr, and an import that fails raises its own exception.
    """
    # Keras traces a new training function for every model it fits; after a few in one process
    # (compare --seeds) TensorFlow warns of "retracing", which says nothing a user can act on.
    logging.getLogger("tensorflow").addFilter(_drop_retracing)  # once: logging keeps no duplicates
    with _lock:
        if "tensorflow" in sys.modules:
            return
        with filtered_stderr(NOISE):
            import tensorflow

            # Looking for devices is when TensorFlow tries CUDA ("failed call to cuInit"): done
            # here, that line is filtered too rather than printed at the first operation.
            tensorflow.config.list_physical_devices("GPU")


def _drop_retracing(record: logging.LogRecord) -> bool:
    return "triggered tf.function retracing" not in record.getMessage()


def import_keras():
    """``keras``, with TensorFlow imported quietly first: what the library's entry points call."""
    import_quietly()
    import keras

    return keras


@contextlib.contextmanager
def filtered_stderr(noise: re.Pattern[str]) -> Iterator[None]:
    """Inside the block, lines written to file descriptor 2 that ``noise`` matches are dropped.

    Every other line passes on at once; if no filter can be started, all lines pass.
    """
    _flush_stderr()
    try:
        original = os.dup(2)
    except OSError:  # descriptor 2 is closed: nothing to filter
        yield
        return
    try:
        filter_ = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", _FILTER, noise.pattern], stdin=subprocess.PIPE, stdout=original
        )
    except (OSError, ValueError):  # no interpreter to start (embedded Python …): lines pass unfiltered
        os.close(original)
        yield
        return
    try:
        os.dup2(filter_.stdin.fileno(), 2)
        yield
    finally:
        _flush_stderr()
        os.dup2(original, 2)
        os.close(original)
        filter_.stdin.close()
        try:
            filter_.wait(_DRAIN_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass  # it still forwards whatever comes and ends when the pipe closes


def _flush_stderr() -> None:
    """Text Python buffered for stderr goes out on the descriptor it was written for."""
    with contextlib.suppress(AttributeError, OSError, ValueError):  # None, closed or broken stderr
        sys.stderr.flush()
