"""Relative links in the README, CONTRIBUTING and docs/ name files that exist in the repository."""

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = sorted([ROOT / "README.md", ROOT / "CONTRIBUTING.md", *(ROOT / "docs").glob("*.md")])

# Raw HTML in Markdown (`<img src=...>`, `<a href=...>`) links too.
HTML_TARGET = re.compile(r"""\b(?:href|src)\s*=\s*["']([^"']+)["']""", re.IGNORECASE)
MARKDOWN = MarkdownIt("commonmark").enable("table")


def _targets(tokens: list[Token]) -> Iterator[str]:
    """Every link and image target in parsed Markdown, code blocks and code spans excluded."""
    for token in tokens:
        if token.type in {"link_open", "image"}:
            target = token.attrGet("href") or token.attrGet("src")
            if isinstance(target, str):
                yield target
        elif token.type in {"html_inline", "html_block"}:
            yield from HTML_TARGET.findall(token.content)
        if token.children:
            yield from _targets(token.children)


def broken_links(document: Path, root: Path = ROOT) -> list[str]:
    """The relative links of a Markdown file that leave `root` or name no existing file."""
    problems = []
    for target in _targets(MARKDOWN.parse(document.read_text(encoding="utf-8"))):
        parts = urlsplit(target)
        if parts.scheme or parts.netloc or not parts.path:
            continue  # an external URL, or an anchor on the same page
        path = unquote(parts.path)
        base = root if path.startswith("/") else document.parent
        resolved = (base / path.lstrip("/")).resolve()
        if not resolved.is_relative_to(root):
            problems.append(f"{target}: outside the repository")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
    return problems


def test_the_documents_are_found() -> None:
    assert {ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "docs" / "api.md"} <= set(
        DOCUMENTS
    )


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_relative_links_stay_in_the_repository_and_exist(document: Path) -> None:
    assert broken_links(document) == []


def test_the_check_catches_links_out_of_the_repository_and_to_missing_files(
    tmp_path: Path,
) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "api.md").write_text("# API\n")
    page = tmp_path / "README.md"
    page.write_text(
        "See [the design](../shared/DESIGN.md), [gone](docs/gone.md#part), "
        "[api](docs/api.md#errors), [top](#top), [root](/docs/api.md),\n"
        '<img src="docs/missing.svg">, [PEP 8](https://peps.python.org/pep-0008/) and\n\n'
        "```sh\necho '[not a link](nowhere.md)'\n```\n"
    )
    assert broken_links(page, root=tmp_path) == [
        "../shared/DESIGN.md: outside the repository",
        "docs/gone.md#part: no such file",
        "docs/missing.svg: no such file",
    ]


def test_the_readme_configuration_table_lists_every_setting() -> None:
    """The README's table mirrors app.settings: a new setting is documented where users look."""
    from app.settings import Settings

    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("## Configuration") :]
    documented = set(re.findall(r"^\| `(TIMEBOX_[A-Z_]+)` \|", table, re.MULTILINE))
    settings = {f"TIMEBOX_{name.upper()}" for name in Settings.model_fields}
    assert settings == documented
