"""The knowledge-base engine, no Flask: the SQLite FTS5 index over the entry files.

database (schema, connections, transactions), writes (rows), sync (plan, apply, record),
staleness (noticing hand edits), search (ranking, snippets, facets), caches, facts, counts;
engine.SearchIndex puts them together.
"""

from debrief.index.database import SCHEMA_VERSION
from debrief.index.engine import SearchIndex
from debrief.index.search import Hit, Results, match_expression

__all__ = ["SCHEMA_VERSION", "Hit", "Results", "SearchIndex", "match_expression"]
