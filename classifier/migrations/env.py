"""Alembic environment: runs the migrations against the URL the store was given."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from classifier.store import Base

config = context.config
url = config.get_main_option("sqlalchemy.url") or ""
schema = config.get_main_option("schema")


def run() -> None:
    connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
    engine = create_engine(url, connect_args=connect_args)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=url.startswith("sqlite"),
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run()
