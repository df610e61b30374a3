"""The README is a map: short, and every link in it and in the handbook leads somewhere real.

Checks every relative link of the README, docs/*.md and the other READMEs: the file exists,
and an anchor (`page.md#section`, `#section`) names a heading of that page as GitHub makes
anchors of headings. Links to the web (http, mailto) are not followed: no network in tests.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted(
    [
        ROOT / "README.md",
        *(ROOT / "docs").glob("*.md"),
        ROOT / "goal_models" / "README.md",
        ROOT / "bench" / "README.md",
        ROOT / "qb_pipeline" / "sandbox" / "README.md",
    ]
)
README_MAX_LINES = 250

_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"^(```|~~~)")
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def prose_lines(text: str) -> list[str]:
    """The page's lines outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if _FENCE.match(line.strip()):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def github_anchor(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces as '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link's text only
    text = text.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(page: Path) -> set[str]:
    found: set[str] = set()
    for line in prose_lines(page.read_text()):
        match = _HEADING.match(line)
        if match:
            anchor = github_anchor(match.group(2))
            # GitHub numbers repeated headings: section, section-1, section-2, ...
            candidate, n = anchor, 0
            while candidate in found:
                n += 1
                candidate = f"{anchor}-{n}"
            found.add(candidate)
    return found


def relative_links(page: Path) -> list[str]:
    links = []
    for line in prose_lines(page.read_text()):
        for target in _LINK.findall(line):
            if not re.match(r"^[a-z]+:", target):
                links.append(target)
    return links


def test_the_anchor_rule_matches_github() -> None:
    assert github_anchor("Freshness and token health (asset checks per organization)") == (
        "freshness-and-token-health-asset-checks-per-organization"
    )
    assert github_anchor("The JSON API (`/api/v1`)") == "the-json-api-apiv1"
    assert github_anchor("Decisions and known limits") == "decisions-and-known-limits"


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(ROOT)))
def test_every_relative_link_leads_to_a_file_and_heading(page: Path) -> None:
    broken = []
    for target in relative_links(page):
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        if not destination.exists():
            broken.append(f"{target}: no such file")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            broken.append(f"{target}: no heading #{anchor} in {destination.relative_to(ROOT)}")
    assert not broken, f"{page.relative_to(ROOT)}: " + "; ".join(broken)


def test_the_readme_is_a_map_not_a_handbook() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines"


def test_the_readme_names_every_top_level_place() -> None:
    """The layout table stays current: every tracked top-level folder and package is in it."""
    readme = (ROOT / "README.md").read_text()
    packages = [p for p in (ROOT / "qb_pipeline").iterdir() if (p / "__init__.py").exists()]
    folders = ["goal_models", "docs", "tests", "bench", "bin", ".ci"]
    missing = [
        name
        for name in [*(f"qb_pipeline/{p.name}/" for p in packages), *(f"{f}/" for f in folders)]
        if f"`{name}" not in readme and f"`{name.rstrip('/')}" not in readme
    ]
    assert len(packages) >= 8, "qb_pipeline's packages were not found"
    assert not missing, f"README.md's layout table misses {missing}"
