"""What the quick commands import: each runs in a fresh interpreter, as a user's shell would run it.

Start-up time itself is measured by hand (see the commit log), not here: these tests pin down
the imports that made it slow.
"""

from __future__ import annotations

import inspect
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from digitzoo_cli.main import _COMMANDS, cli

HEAVY = ("tensorflow", "keras", "cv2", "numpy")

_PROBE = textwrap.dedent(
    """
    import json, sys
    from digitzoo_cli.main import cli
    try:
        cli.main(sys.argv[1:], prog_name="digitzoo")
    except SystemExit as exit:
        code = exit.code
    print(json.dumps({"exit": code, "modules": sorted(sys.modules)}), file=sys.stderr)
    """
)


def _run(*args: str, pythonpath: Path | None = None) -> tuple[str, set[str]]:
    """Run ``digitzoo ARGS`` in a new interpreter; its stdout and the top-level packages it imported."""
    env = dict(os.environ)
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(pythonpath), env.get("PYTHONPATH")]))
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, env=env)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report["exit"] == 0, done.stderr
    return done.stdout, set(report["modules"])


def _packages(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_help_imports_no_command_and_nothing_heavy():
    out, modules = _run("--help")
    assert "kernels" in out and "models" in out
    assert _packages(modules).isdisjoint(HEAVY + ("rich",))
    assert not {m for m in modules if m.endswith("_cmd")}
    assert "digitzoo" not in modules


def test_models_imports_nothing_heavy_and_no_other_command():
    out, modules = _run("models")
    assert "mlp" in out and "cnn" in out
    assert _packages(modules).isdisjoint(HEAVY)
    assert {m for m in modules if m.endswith("_cmd")} == {"digitzoo_cli.models_cmd"}


def test_models_lists_a_plugin_from_its_entry_point_without_heavy_imports(tmp_path):
    # A plugin whose builder imports Keras when called, as the built-in models do.
    (tmp_path / "zoo_lazy.py").write_text(
        textwrap.dedent(
            """
            from digitzoo import Recipe, register_model

            @register_model("lazy-softmax", description="One Dense layer.", params=7850,
                            recipe=Recipe(), behaviour="underfits")
            def lazy_softmax():
                import keras
                raise NotImplementedError
            """
        )
    )
    info = tmp_path / "zoo_lazy-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: zoo-lazy\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[digitzoo.models]\nlazy = zoo_lazy\n")
    out, modules = _run("models", "--json", pythonpath=tmp_path)
    sources = {m["name"]: m["source"] for m in json.loads(out)}
    assert sources["lazy-softmax"] == "zoo-lazy"
    assert sources["mlp"] == "built-in"
    assert _packages(modules).isdisjoint(HEAVY)


def test_kernels_needs_numpy_but_nothing_else_heavy():
    out, modules = _run("kernels")
    assert "vertical" in out
    # The named kernels are numpy arrays (digitzoo.image.kernels), so numpy is the one heavy import.
    assert "numpy" in modules
    assert _packages(modules).isdisjoint(("tensorflow", "keras", "cv2"))


@pytest.mark.parametrize("name", sorted(_COMMANDS))
def test_help_summaries_match_the_commands(name):
    command = cli.get_command(None, name)
    assert command is not None
    assert inspect.cleandoc(command.help).split("\n\n")[0] == _COMMANDS[name][2]


def test_every_command_is_listed():
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0, result.output
    listed = result.output.split("Commands:")[1].split()
    assert set(_COMMANDS) <= set(listed)
