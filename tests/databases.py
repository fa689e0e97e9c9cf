"""A PostgreSQL database of its own for a test or a bench, made beside the one it is given."""
from __future__ import annotations


def fresh_postgres_database(base_url: str, name: str | None = None, *, suffix: str = "",
                            drop_only: bool = False) -> str:
    """Drop database `name` (default: `base_url`'s own name + `suffix`) on that server, closing
    its sessions, and unless `drop_only` make it again, empty; its URL, in the form
    `stoker server --db` takes."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(base_url.replace("postgresql://", "postgresql+psycopg://", 1))
    name = name or f"{base.database}{suffix}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not drop_only:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(drivername="postgresql", database=name).render_as_string(
        hide_password=False)
