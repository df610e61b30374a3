"""The QBO query language: `parse_query(text)` then `execute_query(query, company)`."""

from qb_pipeline.sandbox.accounting.query.evaluate import QueryError, execute_query, parse_query

__all__ = ["QueryError", "execute_query", "parse_query"]
