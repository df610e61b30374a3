"""Hostile goal files made on the fly, for the tests of goals and of the web app."""

from __future__ import annotations


def alias_bomb(levels: int, organization: str = "acme") -> str:
    """A goal whose description is `levels` lists of nine aliases of the list before: a few
    hundred bytes that expand to 9 ** levels strings (9 levels: 387 million)."""
    lines = [
        "id: bomb",
        "name: Bomb",
        f"organization: {organization}",
        "dataset: profit_and_loss",
        "grain: month",
        "tracks: {line: {group: Income}}",
        "description:",
        "  - &l0 [" + ",".join(['"lol"'] * 9) + "]",
    ]
    for level in range(1, levels):
        lines.append(f"  - &l{level} [" + ",".join([f"*l{level - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"
