"""Run a command against a two-node Ray cluster on loopback, then stop the cluster.

    python ray_cluster.py TEMP_DIR COMMAND...

Starts a head node and a second node with ``ray start --block`` (one CPU and a resource of its own
each, their files under TEMP_DIR), runs COMMAND with ``{address}`` replaced by the head's
HOST:PORT, stops both nodes, and exits with COMMAND's exit code. Run it inside
``ray_helpers.loopback_only``: the nodes listen on every interface there is, and there only
loopback is. The token authentication comes from the environment (RAY_AUTH_MODE and the token).
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))
STARTED = "Ray runtime started"
TIMEOUT = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(*args: str) -> subprocess.Popen:
    node = subprocess.Popen(
        [RAY, "start", "--block", "--node-ip-address=127.0.0.1", "--num-cpus=1", "--disable-usage-stats", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    seen = []
    deadline = time.monotonic() + TIMEOUT
    for line in node.stdout:
        seen.append(line)
        if STARTED in line:
            return node
        if time.monotonic() > deadline:
            break
    node.kill()
    sys.exit(f"ray start failed:\n{''.join(seen)}")


def stop(node: subprocess.Popen) -> None:
    node.terminate()  # ray start --block stops its node's processes as it ends
    try:
        node.wait(60)
    except subprocess.TimeoutExpired:
        node.kill()
        node.wait()


def main() -> int:
    temp, command = sys.argv[1], sys.argv[2:]
    port = free_port()
    address = f"127.0.0.1:{port}"
    head = start("--head", f"--port={port}", f"--temp-dir={temp}", "--include-dashboard=false", '--resources={"head": 1}')
    nodes = [head]
    try:
        nodes.append(start(f"--address={address}", '--resources={"second": 1}'))
        done = subprocess.run([part.replace("{address}", address) for part in command], timeout=600)
        return done.returncode
    finally:
        for node in reversed(nodes):
            stop(node)


if __name__ == "__main__":
    sys.exit(main())
