"""The documentation cannot go stale: the command reference is the CLI's own ``--help`` as it is
now, and every relative link of the README, ``docs/`` and ``benchmarks/README.md`` leads to a file
(and, after ``#``, to a heading of that file).
"""

from __future__ import annotations

import difflib
import importlib.util
import re
from pathlib import Path

import pytest

from helpers import ROOT

PAGES = sorted([ROOT / "README.md", ROOT / "benchmarks" / "README.md", *(ROOT / "docs").glob("*.md")])

_spec = importlib.util.spec_from_file_location("cli_reference", ROOT / "tools" / "cli_reference.py")
cli_reference = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cli_reference)

_FENCE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.MULTILINE | re.DOTALL)
_CODE = re.compile(r"`[^`\n]*`")
_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t#]*$", re.MULTILINE)


def _prose(text: str) -> str:
    """``text`` without fenced code blocks and inline code, where brackets are not links."""
    return _CODE.sub("", _FENCE.sub("", text))


def links(text: str) -> list[str]:
    """Targets of the Markdown links and images of ``text`` (outside code)."""
    return _LINK.findall(_prose(text))


def anchors(text: str) -> set[str]:
    """The ``#fragment`` of every heading of ``text``, as GitHub makes them (duplicates get -1, -2 …)."""
    seen: dict[str, int] = {}
    result = set()
    for _, title in _HEADING.findall(_FENCE.sub("", text)):
        title = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", title)  # a link in a heading: its text counts
        slug = re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def broken_links(page: Path) -> list[str]:
    """The relative links of ``page`` that lead nowhere, each with the reason."""
    problems = []
    for target in links(page.read_text(encoding="utf-8")):
        if re.match(r"[a-z][a-z0-9+.-]*:", target, re.IGNORECASE):  # https:, mailto: …
            continue
        path, _, fragment = target.partition("#")
        file = (page.parent / path).resolve() if path else page
        if not file.exists():
            problems.append(f"{target}: no file {_shown(file)}")
        elif fragment and file.suffix == ".md" and fragment not in anchors(file.read_text(encoding="utf-8")):
            problems.append(f"{target}: no heading #{fragment} in {_shown(file)}")
    return problems


def test_the_command_reference_is_the_clis_help_as_it_is_now():
    text = cli_reference.PAGE.read_text(encoding="utf-8")
    fresh = cli_reference.update(text)
    diff = "".join(difflib.unified_diff(text.splitlines(True), fresh.splitlines(True), "docs/commands.md", "--help now"))
    assert fresh == text, f"docs/commands.md is stale: run `make docs`\n{diff}"


def test_the_reference_holds_every_command_and_its_examples():
    reference = cli_reference.render()
    for name in cli_reference._commands():
        assert f"## digitzoo {name}\n" in reference
        assert f"$ digitzoo {name} --help\nUsage: digitzoo {name} [OPTIONS]" in reference
    assert reference.count("Example:") == len(cli_reference._commands()) + 1


def test_check_fails_on_a_stale_page_and_passes_on_a_fresh_one(tmp_path, monkeypatch):
    page = tmp_path / "commands.md"
    monkeypatch.setattr(cli_reference, "PAGE", page)
    monkeypatch.setattr(cli_reference, "ROOT", tmp_path)
    page.write_text(f"# Commands\n\nBy hand.\n\n{cli_reference.BEGIN}\nold help\n{cli_reference.END}\n\nAfter.\n")
    assert cli_reference.main(["--check"]) == 1
    assert cli_reference.main([]) == 0
    text = page.read_text()
    assert text.startswith("# Commands\n\nBy hand.\n\n") and text.endswith("\n\nAfter.\n") and "old help" not in text
    assert cli_reference.main(["--check"]) == 0


def test_a_page_without_the_markers_is_an_error():
    with pytest.raises(ValueError, match="must hold the markers"):
        cli_reference.update("# Commands\n")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading(page):
    assert page.exists()
    assert broken_links(page) == []


def test_the_link_check_sees_missing_files_and_headings(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n\n## `digitzoo models [PATTERN]`\n\n## Other page\n")
    page = tmp_path / "page.md"
    page.write_text(
        "# Page\n\n[ok](other.md) [ok](other.md#other-page) [ok](other.md#digitzoo-models-pattern) "
        "[ok](other.md#other-page-1) [ok](#page) [web](https://example.org/x) ![pic](missing.png) "
        "[bad](other.md#nowhere) [bad](#nowhere)\n\n`[code](not-a-link.md)`\n\n```\n[block](not-a-link.md)\n```\n"
    )
    assert [problem.split(":")[0] for problem in broken_links(page)] == ["missing.png", "other.md#nowhere", "#nowhere"]


def test_the_readme_starts_with_the_two_commands_of_the_makefile():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    assert "$ make demo" in quick_start and "$ make test" in quick_start
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", makefile, re.MULTILINE) and re.search(r"^test:", makefile, re.MULTILINE)
    assert re.search(r"^docs:", makefile, re.MULTILINE)
