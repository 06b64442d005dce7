"""Run a command in a network namespace whose only interface is loopback.

    python tools/loopback_only.py COMMAND...

Ray's servers listen on every interface whatever node address they are given. The tests and the
benchmark that start Ray run it through this script, so that nothing they start can be reached
from another machine: a user namespace (no privilege needed) with a network namespace of its own,
its loopback interface brought up (it starts down), then COMMAND in place of this process.
Without ``unshare`` (util-linux) it says so and exits 2.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import struct
import subprocess
import sys

_INSIDE = "--inside"
_SIOCGIFFLAGS, _SIOCSIFFLAGS, _IFF_UP = 0x8913, 0x8914, 0x1


def command(*args: str) -> list[str]:
    """``args`` as a command that runs inside a loopback-only network namespace."""
    unshare = shutil.which("unshare")
    if unshare is None:
        raise OSError("unshare (util-linux) is needed to keep Ray off the network")
    return [unshare, "--user", "--map-root-user", "--net", "--", sys.executable, os.path.abspath(__file__), _INSIDE, *args]


def works() -> bool:
    """Whether this machine lets an unprivileged user make such a namespace (some disable user namespaces)."""
    try:
        return subprocess.run(command("true"), capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        request = struct.pack("16sH14s", b"lo", 0, b"")
        flags = struct.unpack("16sH14s", fcntl.ioctl(s, _SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(s, _SIOCSIFFLAGS, struct.pack("16sH14s", b"lo", flags | _IFF_UP, b""))


def main(argv: list[str]) -> int:
    if argv[:1] == [_INSIDE]:
        _loopback_up()
        os.execvp(argv[1], argv[1:])
    if not argv:
        print("usage: loopback_only.py COMMAND...", file=sys.stderr)
        return 2
    try:
        full = command(*argv)
    except OSError as exc:
        print(f"loopback_only.py: {exc}", file=sys.stderr)
        return 2
    os.execvp(full[0], full)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
