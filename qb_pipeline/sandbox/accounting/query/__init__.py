"""The QBO query language: `parse_query(text)`, then `execute_query(query, company)`.

Lexer (lexer.py) and grammar (parser.py) turn a statement into an immutable `Query` or a
`QueryError` carrying QBO's fault code; evaluation (evaluate.py) runs it against one
company's records over cached per-entity snapshots (snapshots.py, comparable.py).
"""

from qb_pipeline.sandbox.accounting.query.errors import QueryError
from qb_pipeline.sandbox.accounting.query.evaluate import execute_query
from qb_pipeline.sandbox.accounting.query.parser import Query, parse_query

__all__ = ["Query", "QueryError", "execute_query", "parse_query"]
