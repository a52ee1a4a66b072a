"""Direct work on a store database for ``bench store``: resolve its URL, seed it, check its
invariants; database and URL problems become BenchErrors with the password hidden.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dhakacart_bench.errors import StoreError, UsageError
from dhakacart_bench.target.commands import SQLITE_FILE


def resolve_url(database_url: str | None) -> str:
    url = database_url or os.environ.get("DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{Path.cwd() / 'instance' / SQLITE_FILE}"


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """Turn database / URL problems into BenchErrors (no traceback for user mistakes)."""
    import sqlalchemy as sa

    try:
        yield
    except sa.exc.ArgumentError as exc:  # malformed URL, unknown driver
        raise UsageError(f"invalid database URL {redact(url)!r}: {exc}") from None
    except sa.exc.OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StoreError(f"cannot use the database {redact(url)}: {reason}") from None
    except sa.exc.DBAPIError as exc:
        raise StoreError(f"database error on {redact(url)}: {exc.orig}") from None


def redact(url: str) -> str:
    import sqlalchemy as sa

    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _engine(url: str) -> Any:
    from target_app import db

    return db.make_engine(url, pool_size=2, max_overflow=2)


def do_seed(url: str, **options: Any) -> dict[str, Any]:
    from target_app.config import CHEAP_PASSWORD_HASH, STRONG_PASSWORD_HASH
    from target_app.seed import SeedOptions, seed_database

    env = os.environ.get("STORE_ENV", "development")
    method = os.environ.get("STORE_PASSWORD_HASH") or (
        CHEAP_PASSWORD_HASH if env == "bench" else STRONG_PASSWORD_HASH
    )
    with database_errors(url):
        engine = _engine(url)
        try:
            return seed_database(engine, SeedOptions(password_hash_method=method, **options))
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        finally:
            engine.dispose()


def do_verify(url: str) -> dict[str, Any]:
    from target_app.db import has_schema
    from target_app.invariants import check_invariants

    with database_errors(url):
        engine = _engine(url)
        try:
            if not has_schema(engine):
                raise StoreError(f"{redact(url)} has no store schema: run `bench store seed`")
            return check_invariants(engine)
        finally:
            engine.dispose()


def has_store_schema(url: str) -> bool:
    """Whether the database at ``url`` already has the store's tables."""
    from target_app.db import has_schema

    with database_errors(url):
        engine = _engine(url)
        try:
            return bool(has_schema(engine))
        finally:
            engine.dispose()
