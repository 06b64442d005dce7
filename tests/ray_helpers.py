"""Ray in the tests, reachable from this machine alone.

Ray's servers listen on every interface and ignore 127.0.0.1 as a node address, so the tests run
every Ray process in a network namespace of its own whose only interface is the loopback one
(``tools/loopback_only.py``): nothing there can be reached from outside, whatever Ray binds.
:func:`loopback_only` is the command prefix that does it; :data:`CLUSTER` is a script that starts a two-node cluster there (``ray start --block``, so
that each node's processes end with it), runs a command against it and stops it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from helpers import ROOT, TESTS

RAY = str(Path(sys.executable).with_name("ray"))
CLUSTER = str(TESTS / "ray_cluster.py")



def namespaces_work() -> bool:
    """Whether Ray can be kept in a loopback-only namespace here (user namespaces allowed, unshare present)."""
    done = subprocess.run(loopback_only("true"), capture_output=True, timeout=60)
    return done.returncode == 0


def loopback_only(*command: str) -> list[str]:
    """``command`` run in a network namespace whose only interface is loopback (tools/loopback_only.py)."""
    return [sys.executable, str(ROOT / "tools" / "loopback_only.py"), *command]


def digitzoo(*args: str) -> list[str]:
    """The ``digitzoo`` command of this interpreter."""
    return [str(Path(sys.executable).with_name("digitzoo")), *args]


def short_temp_folder() -> Path:
    """A folder with a short path: Ray's socket paths below it must stay under 108 characters."""
    return Path(tempfile.mkdtemp(prefix="dz-", dir="/tmp"))


def processes_with(text: str) -> list[str]:
    """This machine's processes whose command line or environment contains ``text``: a test gives its
    Ray a TMPDIR of its own, which every Ray process inherits (their command lines say "ray::IDLE")."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
            environ = (entry / "environ").read_bytes()
        except OSError:  # ended meanwhile, or not ours to read
            continue
        if text.encode() in cmdline + b"\0" + environ:
            found.append(f"{entry.name}: {cmdline[:200].decode(errors='replace')}")
    return found


def wait_for_none(text: str, seconds: float = 30) -> list[str]:
    """:func:`processes_with` once it is empty, or what is left after ``seconds``."""
    deadline = time.monotonic() + seconds
    while (left := processes_with(text)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


def stop_group(process: subprocess.Popen) -> None:
    """Kill what is left of a test's process group (a failed test must not leave Ray running)."""
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(30)
