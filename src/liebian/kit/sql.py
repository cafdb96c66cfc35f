"""``text()``, made once per statement text.

SQLAlchemy parses every new ``TextClause`` for its bind parameters; on the hot routes that parsing cost a tenth
of an order's CPU, for statements whose text never changes. A ``TextClause`` is immutable (``bindparams`` and
``columns`` return new objects), so one per text serves every call. Texts built from dynamic pieces (a list's
filters) stay few: the cache is bounded.
"""

from __future__ import annotations

from functools import lru_cache

import sqlalchemy
from sqlalchemy.sql.elements import TextClause


@lru_cache(maxsize=4096)
def text(sql: str) -> TextClause:
    return sqlalchemy.text(sql)
