"""The query language's lexer: statement text to tokens, or a 4000 lexical-error fault."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NoReturn

from qb_pipeline.sandbox.accounting.query.errors import QueryError


@dataclass(frozen=True)
class Token:
    kind: str  # word, string, number, op, punct, eof
    text: str  # source text
    value: str  # decoded string / lower-cased word / number text
    offset: int


_LEXEME = re.compile(
    r"(?P<space>\s+)"
    r"|(?P<number>-?\d+(?:\.\d+)?)"
    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z0-9_]*)*)"
    r"|(?P<op><=|>=|<>|!=|=|<|>)"
    r"|(?P<punct>[(),*])"
)


def line_column(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _lexical_error(text: str, offset: int, found: str, after: str, hint: str) -> NoReturn:
    line, column = line_column(text, offset)
    raise QueryError(
        "4000",
        f"QueryParserError: Invalid content. Lexical error at line {line}, column {column}.  "
        f'Encountered: {found} after : "{after}". {hint}',
    )


def _read_string(text: str, start: int) -> tuple[str, int]:
    """Decode a single-quoted literal starting at `start`; a backslash escapes any character."""
    chars: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            chars.append(text[i + 1])
            i += 2
        elif ch == "'":
            return "".join(chars), i + 1
        else:
            chars.append(ch)
            i += 1
    _lexical_error(
        text,
        len(text),
        "<EOF>",
        text[start:],
        f"The string starting at column {line_column(text, start)[1]} is not closed "
        "(write an apostrophe inside a string as \\').",
    )


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(text):
        if text[i] == "'":
            value, end = _read_string(text, i)
            tokens.append(Token("string", text[i:end], value, i))
            i = end
            continue
        match = _LEXEME.match(text, i)
        if match is None:
            ch = text[i]
            _lexical_error(
                text,
                i,
                f'"{ch}" ({ord(ch)})',
                "",
                f"The character {ch!r} cannot appear outside a quoted string.",
            )
        kind = match.lastgroup or ""
        lexeme = match.group()
        if kind != "space":
            value = lexeme.lower() if kind == "word" else lexeme
            tokens.append(Token(kind, lexeme, value, i))
        i = match.end()
    tokens.append(Token("eof", "", "", len(text)))
    return tokens
