"""`?` placeholders, as the control DB's and the warehouse's SQL is written (sqlite3 and
DuckDB take them), in the `%s` form psycopg2 takes on Postgres."""

from __future__ import annotations


def to_pyformat(sql: str) -> str:
    """`sql` with each `?` placeholder as `%s` and each literal `%` doubled, leaving text
    inside quotes ('...' strings, "..." names) and comments alone."""
    out: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(sql):
        char = sql[index]
        if quote is not None:
            out.append("%%" if char == "%" else char)
            if char == quote:
                quote = None
        elif char in ("'", '"'):
            quote = char
            out.append(char)
        elif sql.startswith("--", index):
            end = sql.find("\n", index)
            end = len(sql) if end < 0 else end
            out.append(sql[index:end].replace("%", "%%"))
            index = end
            continue
        elif char == "?":
            out.append("%s")
        elif char == "%":
            out.append("%%")
        else:
            out.append(char)
        index += 1
    return "".join(out)


__all__ = ["to_pyformat"]
