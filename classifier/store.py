"""The prediction log and the engineers' corrections (SQLAlchemy 2; SQLite default, PostgreSQL).

Only redacted text is ever written: callers pass tickets and correction notes through
`signals.redact` first (the store itself does not check). The schema is created
and upgraded by Alembic migrations (`classifier/migrations`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, cast

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.types import TypeDecorator

from classifier.schemas import allowed_missing_info, label_violations

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LABEL_FIELDS = ("category", "priority", "missing_info", "multi_issue", "contains_password")


def _iso(value: Any) -> Any:
    """A time as ISO 8601 in UTC ("2026-12-03T11:51:49+00:00"), other values as they are."""
    return as_utc(value).isoformat() if isinstance(value, datetime) else value


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        datetime: DateTime(timezone=True),
    }


class TicketRow(Base):
    __tablename__ = "tickets"

    ticket_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    subject: Mapped[str | None] = mapped_column(Text)  # redacted; None once erased
    body: Mapped[str | None] = mapped_column(Text)  # redacted; None once erased
    received_at: Mapped[datetime | None]
    channel: Mapped[str | None] = mapped_column(String(20))
    plan: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    erased_at: Mapped[datetime | None]


class PredictionRow(Base):
    __tablename__ = "predictions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.ticket_id"), index=True)
    model_version: Mapped[str] = mapped_column(String(100))
    prediction: Mapped[dict[str, Any]]
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class CorrectionRow(Base):
    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ticket_id: Mapped[str] = mapped_column(ForeignKey("tickets.ticket_id"), index=True)
    author: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    before: Mapped[dict[str, Any]]
    after: Mapped[dict[str, Any]]
    note: Mapped[str | None] = mapped_column(Text)
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))


# The prediction log's statements, built once (building them per request cost more than
# running them).
TICKETS = cast(Table, TicketRow.__table__)
_KNOWN_TICKETS = select(TICKETS.c.ticket_id).where(
    TICKETS.c.ticket_id.in_(bindparam("ids", expanding=True))
)
_UPDATE_TICKET = update(TICKETS).where(
    TICKETS.c.ticket_id == bindparam("key"), TICKETS.c.erased_at.is_(None)
)
PREDICTIONS = cast(Table, PredictionRow.__table__)


class _JsonText(TypeDecorator[Any]):
    """A JSON column's value that is already JSON text: bound as it is, not serialized again."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Any) -> None:
        return None


_INSERT_PREDICTION = insert(PREDICTIONS).values(
    prediction=bindparam("prediction", type_=_JsonText())
)


def _update_params(ticket: dict[str, Any]) -> dict[str, Any]:
    return {"key": ticket["ticket_id"], **{k: v for k, v in ticket.items() if k != "ticket_id"}}


class LogRow(NamedTuple):
    """One line of the prediction log: the redacted ticket (the columns of `tickets` but
    created_at and erased_at) and its prediction as JSON text."""

    ticket: dict[str, Any]
    model_version: str
    prediction_json: str


_TICKET_COLUMNS = ("ticket_id", "subject", "body", "received_at", "channel", "plan")


class _DriverLog:
    """The prediction log's INSERTs as the driver's own SQL (SQLite, PostgreSQL), run on the
    DBAPI cursor of the transaction: the same statements SQLAlchemy Core sends, without its
    per-execute work (bind processing, execution context), which cost as much CPU as SQLite's
    own work for a micro-batch."""

    ROWS_PER_STATEMENT = 100  # 700 parameters: under SQLite's oldest limit (999)

    def __init__(self, dialect: Any):
        sqlite = dialect.name == "sqlite"
        mark = "?" if sqlite else "%s"
        # SQLite stores a date-time as text, in SQLAlchemy's format (read back by it)
        self.datetime: Callable[[Any], Any] = DateTime(timezone=True).dialect_impl(
            dialect
        ).bind_processor(dialect) or (lambda value: value)
        columns = ", ".join((*_TICKET_COLUMNS, "created_at"))
        self.ticket_values = "(" + ", ".join([mark] * (len(_TICKET_COLUMNS) + 1)) + ")"
        self.insert_tickets_head = f"INSERT INTO tickets ({columns}) VALUES "
        self._insert_tickets: dict[int, str] = {}  # by row count
        json_mark = mark if sqlite else f"{mark}::JSON"
        self.insert_predictions = (
            "INSERT INTO predictions (ticket_id, model_version, prediction, created_at) "
            f"VALUES ({mark}, {mark}, {json_mark}, {mark})"
        )

    def insert_tickets(self, rows: int) -> str:
        """A new ticket per row; on a re-sent id nothing is inserted and nothing returned."""
        sql = self._insert_tickets.get(rows)
        if sql is None:
            values = ", ".join([self.ticket_values] * rows)
            sql = self._insert_tickets[rows] = (
                f"{self.insert_tickets_head}{values} "
                "ON CONFLICT (ticket_id) DO NOTHING RETURNING ticket_id"
            )
        return sql

    def write(
        self, connection: Connection, latest: dict[str, dict[str, Any]], rows: Sequence[LogRow]
    ) -> set[str]:
        """Insert the new tickets and every prediction; return the ids that were inserted."""
        to_db = self.datetime
        now = to_db(utcnow())
        inserted: set[str] = set()
        tickets = list(latest.values())
        cursor = connection.connection.cursor()
        try:
            for start in range(0, len(tickets), self.ROWS_PER_STATEMENT):
                chunk = tickets[start : start + self.ROWS_PER_STATEMENT]
                params: list[Any] = []
                for t in chunk:
                    received = t.get("received_at")
                    params += (
                        t["ticket_id"],
                        t.get("subject"),
                        t.get("body"),
                        None if received is None else to_db(received),
                        t.get("channel"),
                        t.get("plan"),
                        now,
                    )
                cursor.execute(self.insert_tickets(len(chunk)), params)
                inserted.update(row[0] for row in cursor.fetchall())
            cursor.executemany(
                self.insert_predictions,
                [(r.ticket["ticket_id"], r.model_version, r.prediction_json, now) for r in rows],
            )
        finally:
            cursor.close()
        return inserted


class NotFound(LookupError):
    """No such ticket."""


class IdempotencyConflict(Exception):
    """The idempotency key was used before with another payload."""


class ConcurrentDuplicate(Exception):
    """Another request with the same idempotency key was being stored at the same moment."""


class LabelConflict(ValueError):
    """The labels a correction would leave break a rule of the labeling guide."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class StoredCorrection:
    id: int
    ticket_id: str
    author: str
    created_at: datetime
    before: dict[str, Any]
    after: dict[str, Any]
    note: str | None
    replayed: bool = False


log = logging.getLogger("classifier.store")


class Checkpointer:
    """SQLite's WAL checkpoints on a thread of their own, off the writers' path.

    By default the commit that takes the WAL past 1,000 pages runs the checkpoint itself: it
    copies the WAL into the database file and syncs the file to disk, and on this machine that
    made every 150th or so prediction 15-20 ms slower (the p99 at concurrency 1). A Store's
    connections leave that to this thread (their automatic checkpoint only stays as a safety
    net, at `SAFETY_NET_PAGES`). After a write, the thread runs a PASSIVE checkpoint on its
    own connection, which waits for nobody and blocks nobody: writers go on appending to the
    WAL meanwhile. At most one every `interval` seconds, of all written since.

    The WAL starts over from its beginning only when a write begins with all of it copied.
    Under steady writes a checkpoint running beside them may never catch up, so when over
    `max_pages` remain in the WAL after one, a second PASSIVE checkpoint runs with this
    process's writers held (the store's write lock): it copies the rest, a few ms since most
    was copied already, and the next write starts the WAL over. A reader of an old snapshot
    (a long report) keeps both from copying past it, as it would SQLite's own checkpoints;
    nothing waits for it, and the held attempt is not repeated for `backoff` seconds.

    Other processes on the same file (the command line, other workers) checkpoint with their
    own thread or as SQLite does by default; SQLite runs one checkpoint at a time."""

    SAFETY_NET_PAGES = 10_000  # the connections' own checkpoint, should this thread fall behind

    def __init__(
        self,
        path: str,
        write_lock: threading.Lock | None = None,
        interval: float = 0.25,
        max_pages: int = 4000,
        backoff: float = 5.0,
    ):
        self.path = path
        self.write_lock = write_lock or threading.Lock()
        self.interval = interval
        self.max_pages = max_pages
        self.backoff = backoff
        self.checkpoints = 0  # PASSIVE checkpoints run
        self.caught_up = 0  # held checkpoints that copied the whole WAL (it then starts over)
        self._held_after = 0.0  # no held checkpoint before this time.monotonic()
        self._written = threading.Event()
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def written(self) -> None:
        """A transaction was committed: checkpoint soon."""
        if self._thread is None or not self._thread.is_alive():
            with self._start:
                alive = self._thread is not None and self._thread.is_alive()
                if not alive and not self._closing.is_set():
                    self._thread = threading.Thread(
                        target=self._run, name="sqlite-checkpoint", daemon=True
                    )
                    self._thread.start()
        self._written.set()

    def connect(self) -> sqlite3.Connection:
        # A short busy timeout: only the opening waits on it (PASSIVE checkpoints never do)
        return sqlite3.connect(self.path, timeout=1, isolation_level=None)

    def _run(self) -> None:
        # one connection for the thread's life: closing a connection to an SQLite file briefly
        # locks it (SQLite checks whether it was the last one), which new connections of the
        # engine would meet as "database is locked"
        try:
            connection = self.connect()
            try:
                while True:
                    self._written.wait()
                    if self._closing.is_set():
                        break
                    self._written.clear()
                    self.checkpoint(connection)
                    self._closing.wait(self.interval)  # writes meanwhile wait for the next
                self.checkpoint(connection)  # what was written before close()
            finally:
                connection.close()
        except Exception:  # the next write starts a new thread; the safety net meanwhile
            log.exception("the WAL checkpoint thread stopped")

    def checkpoint(self, connection: sqlite3.Connection) -> None:
        """One PASSIVE checkpoint, and a held one if over `max_pages` are left in the WAL."""
        try:
            # (busy, pages in the WAL, pages copied); -1 when the WAL could not be read
            busy, pages, _ = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.checkpoints += 1
            if busy or pages <= self.max_pages or time.monotonic() < self._held_after:
                return
            with self.write_lock:
                busy, pages, copied = connection.execute(
                    "PRAGMA wal_checkpoint(PASSIVE)"
                ).fetchone()
            if not busy and copied == pages:
                self.caught_up += 1
            else:  # a reader of an old snapshot is in the way: do not hold writers again soon
                self._held_after = time.monotonic() + self.backoff
        except sqlite3.Error as exc:  # the next write tries again
            log.warning("WAL checkpoint failed: %s", exc)

    def close(self) -> None:
        """Stop the thread after a last checkpoint of what was written."""
        with self._start:
            self._closing.set()
            thread = self._thread
        if thread is not None:
            self._written.set()
            thread.join()


def _checkpointed_by_the_store(dbapi_connection: Any, _record: Any) -> None:
    # the Store's Checkpointer checkpoints instead of the commit that fills the WAL (SQLite's
    # own stays as a safety net), and a WAL that grew past 64 MB is cut back when it starts over
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA wal_autocheckpoint={Checkpointer.SAFETY_NET_PAGES}")
    cursor.execute(f"PRAGMA journal_size_limit={64 * 1024 * 1024}")
    cursor.close()


def _sqlite_file(engine: Engine) -> str | None:
    """The file of an SQLite engine's database (None in memory)."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:") or engine.url.query.get("uri"):
        return None  # URI filenames (memory, read-only, ...): left to SQLite's own checkpoints
    return database


def _switch_to_wal(path: str, attempts: int = 100) -> None:
    """Put a new database file in WAL mode (kept in the file) before any pooled connection
    opens it. The switch needs the file to itself and fails at once, busy timeout or not, when
    another connection has it open: when several engines opened their first connections at the
    same moment, one of them met "database is locked". Workers starting together retry here."""
    for attempt in range(attempts):
        connection = sqlite3.connect(path, timeout=10, isolation_level=None)
        try:
            if connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return
            connection.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt == attempts - 1:
                raise
        finally:
            connection.close()
        time.sleep(0.01)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work beside a writer; the busy timeout makes a writer wait for another
    # instead of failing with "database is locked"; autocommit mode (isolation_level None) so
    # that we begin every transaction ourselves, IMMEDIATE, taking the write lock up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    # WAL mode is kept in the file; a Store set it (_switch_to_wal), other engines set it
    # here (switching needs the file to itself: only when it is not in WAL mode yet)
    if cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        cursor.execute("PRAGMA journal_mode=WAL")
    # in WAL mode NORMAL never corrupts the file; a power cut may lose the last commits only
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    # a read-only snapshot (reports) takes no write lock: it never holds the service's writes up
    read_only = connection.get_execution_options().get("read_only", False)
    # on the driver's connection: a statement through SQLAlchemy costs more than SQLite's work
    connection.connection.driver_connection.execute("BEGIN" if read_only else "BEGIN IMMEDIATE")


def make_engine(url: str, schema: str | None = None) -> Engine:
    """An engine for the URL; SQLite gets WAL, a busy timeout and immediate transactions."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    connect_args = {"options": f"-csearch_path={schema}"} if schema else {}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args)


def migrate(url: str, schema: str | None = None) -> None:
    """Bring the database schema to the newest migration (Alembic upgrade head)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if schema:
        config.set_main_option("schema", schema)
    command.upgrade(config, "head")


def request_fingerprint(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


class Store:
    """Prediction log and corrections; every write is one transaction."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.sessions = sessionmaker(engine, expire_on_commit=False)
        # SQLite has one writer at a time: threads of this process queue here, in order,
        # instead of polling SQLite's busy handler (which sleeps and made p99 latency soar);
        # other processes still wait on the busy timeout.
        self._write_lock = threading.Lock() if engine.dialect.name == "sqlite" else None
        # SQLite and PostgreSQL: a new ticket in one statement (INSERT ... ON CONFLICT DO
        # NOTHING RETURNING), sent by the driver itself; other databases: SQLAlchemy Core
        self._driver_log = (
            _DriverLog(engine.dialect) if engine.dialect.name in ("sqlite", "postgresql") else None
        )
        path = _sqlite_file(engine)
        self.checkpointer = Checkpointer(path, self._write_lock) if path else None
        if path is not None:
            _switch_to_wal(path)  # before the engine's connections open the file together
            event.listen(engine, "connect", _checkpointed_by_the_store)

    @classmethod
    def open(cls, url: str, schema: str | None = None) -> Store:
        migrate(url, schema)
        return cls(make_engine(url, schema))

    def close(self) -> None:
        """Checkpoint what was written (SQLite) and close the connections."""
        if self.checkpointer is not None:
            self.checkpointer.close()
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        if self._write_lock is None:
            with self.sessions.begin() as session:
                yield session
            return
        with self._write_lock, self.sessions.begin() as session:
            yield session
        if self.checkpointer is not None:
            self.checkpointer.written()

    def ping(self) -> bool:
        with self.engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        return True

    def log_prediction(self, ticket: dict[str, Any], prediction: dict[str, Any]) -> None:
        """Store a redacted ticket and its prediction (a re-sent ticket id gets a new prediction
        row; the newest is the current one)."""
        self.log_predictions([(ticket, prediction)])

    @contextmanager
    def writing(self) -> Iterator[Connection]:
        """One transaction on a plain connection (the hot path: no ORM unit of work)."""
        with self._write_lock or nullcontext(), self.engine.begin() as connection:
            yield connection
        if self.checkpointer is not None:
            self.checkpointer.written()

    @contextmanager
    def reading(self) -> Iterator[Connection]:
        """One read-only snapshot: neither the in-process write lock nor SQLite's write lock."""
        with (
            self.engine.connect().execution_options(read_only=True) as connection,
            connection.begin(),
        ):
            yield connection

    def log_predictions(self, pairs: list[tuple[dict[str, Any], dict[str, Any]]]) -> None:
        """Store redacted tickets and their predictions in one transaction (a batch). A re-sent
        ticket's text is updated unless it was erased; its prediction rows are all kept."""
        self.log_serialized(
            [
                LogRow(ticket, prediction["model_version"], json.dumps(prediction))
                for ticket, prediction in pairs
            ]
        )

    def log_serialized(self, rows: Sequence[LogRow]) -> None:
        """`log_predictions` for predictions already serialized (the service serializes each
        once, for its answer and for the log)."""
        if not rows:
            return
        latest = {row.ticket["ticket_id"]: row.ticket for row in rows}
        with self.writing() as connection:
            if self._driver_log is not None:
                # one INSERT ... ON CONFLICT DO NOTHING RETURNING for all: those it did not
                # insert are re-sends
                inserted = self._driver_log.write(connection, latest, rows)
                for ticket_id in latest.keys() - inserted:
                    connection.execute(_UPDATE_TICKET, _update_params(latest[ticket_id]))
                return
            known = connection.execute(_KNOWN_TICKETS, {"ids": list(latest)}).scalars()
            old = set(known)
            fresh = [t for ticket_id, t in latest.items() if ticket_id not in old]
            if fresh:
                connection.execute(insert(TICKETS), fresh)
            for ticket_id in old:
                connection.execute(_UPDATE_TICKET, _update_params(latest[ticket_id]))
            connection.execute(
                _INSERT_PREDICTION,
                [
                    {
                        "ticket_id": row.ticket["ticket_id"],
                        "model_version": row.model_version,
                        "prediction": row.prediction_json,
                    }
                    for row in rows
                ],
            )

    def ticket(self, ticket_id: str) -> dict[str, Any]:
        """The stored ticket, its newest prediction, its corrections and its current labels."""
        with self.session() as session:
            row = session.get(TicketRow, ticket_id)
            if row is None:
                raise NotFound(ticket_id)
            predicted, corrections = self._history(session, ticket_id)
            current = {k: predicted.get(k) for k in LABEL_FIELDS}
            for correction in corrections:
                current.update(correction.after)
            return {
                "ticket_id": row.ticket_id,
                "subject": row.subject,
                "body": row.body,
                "erased": row.erased_at is not None,
                "received_at": row.received_at,
                "plan": row.plan,
                "prediction": predicted,
                "corrections": [asdict(_correction(c)) for c in corrections],
                "current": current,
            }

    def correct(
        self,
        ticket_id: str,
        author: str,
        changes: dict[str, Any],
        note: str | None,
        idempotency_key: str | None = None,
    ) -> StoredCorrection:
        """Append a correction (the latest wins). With an idempotency key, a replay returns the
        stored correction; the same key with another payload raises IdempotencyConflict.
        Labels that would break the guide together (out_of_scope_device at P1) raise
        LabelConflict, and nothing is written; missing-info codes that a corrected category or
        priority no longer allows are dropped, as part of the correction."""
        fingerprint = request_fingerprint({"ticket_id": ticket_id, **changes, "note": note})
        if idempotency_key:
            existing = self._by_key(idempotency_key)
            if existing is not None:
                return self._replay(existing, fingerprint)
        try:
            with self.session() as session:
                if session.get(TicketRow, ticket_id) is None:
                    raise NotFound(ticket_id)
                current = self._current_labels(session, ticket_id)
                after = {**current, **changes}
                if "missing_info" not in changes and after.get("missing_info") is not None:
                    # a new category or priority drops the codes it no longer allows (P4: no
                    # steps_tried); the correction records that change too
                    allowed = allowed_missing_info(
                        after.get("category"), after.get("priority"), after["missing_info"]
                    )
                    if allowed != sorted(after["missing_info"]):
                        changes = {**changes, "missing_info": allowed}
                        after["missing_info"] = allowed
                for field, message in label_violations(
                    after.get("category"), after.get("priority"), after.get("missing_info")
                ):
                    raise LabelConflict(field, f"the labels would break the guide: {message}")
                before = {k: current.get(k) for k in changes}
                row = CorrectionRow(
                    ticket_id=ticket_id,
                    author=author,
                    before=before,
                    after=changes,
                    note=note,
                    idempotency_key=idempotency_key,
                    request_hash=fingerprint,
                )
                session.add(row)
                session.flush()
                return _correction(row)
        except IntegrityError:
            if idempotency_key and self._by_key(idempotency_key) is not None:
                raise ConcurrentDuplicate(idempotency_key) from None  # it won the race
            raise

    def _by_key(self, key: str) -> CorrectionRow | None:
        with self.session() as session:
            return session.scalars(
                select(CorrectionRow).where(CorrectionRow.idempotency_key == key)
            ).first()

    @staticmethod
    def _replay(existing: CorrectionRow, fingerprint: str) -> StoredCorrection:
        if existing.request_hash != fingerprint:
            raise IdempotencyConflict(existing.idempotency_key)
        stored = _correction(existing)
        return StoredCorrection(**{**stored.__dict__, "replayed": True})

    @staticmethod
    def _history(session: Session, ticket_id: str) -> tuple[dict[str, Any], list[CorrectionRow]]:
        """A ticket's newest prediction and its corrections, oldest first."""
        prediction = session.scalars(
            select(PredictionRow)
            .where(PredictionRow.ticket_id == ticket_id)
            .order_by(PredictionRow.id.desc())
            .limit(1)
        ).first()
        corrections = session.scalars(
            select(CorrectionRow)
            .where(CorrectionRow.ticket_id == ticket_id)
            .order_by(CorrectionRow.id)
        ).all()
        return (prediction.prediction if prediction else {}), list(corrections)

    @classmethod
    def _current_labels(cls, session: Session, ticket_id: str) -> dict[str, Any]:
        predicted, corrections = cls._history(session, ticket_id)
        current = {k: predicted.get(k) for k in LABEL_FIELDS}
        for correction in corrections:
            current.update(correction.after)
        return current

    def export_corrections(self, since: datetime | None = None) -> Iterator[dict[str, Any]]:
        """One record per corrected ticket: its redacted text and current labels (for training)."""
        with self.session() as session:
            query = select(CorrectionRow.ticket_id).group_by(CorrectionRow.ticket_id)
            if since is not None:
                query = query.having(func.max(CorrectionRow.created_at) >= since)
            ticket_ids = list(session.scalars(query))
        for ticket_id in sorted(ticket_ids):
            record = self.ticket(ticket_id)
            if record["erased"]:
                continue
            yield {
                "id": ticket_id,
                "subject": record["subject"],
                "body": record["body"],
                **record["current"],
                "language": record["prediction"].get("language"),
                "corrected_at": _iso(record["corrections"][-1]["created_at"]),
            }

    def erase(self, ticket_id: str) -> None:
        """Erase a ticket's text and personal data (GDPR), keeping its labels for statistics."""
        with self.session() as session:
            row = session.get(TicketRow, ticket_id)
            if row is None:
                raise NotFound(ticket_id)
            row.subject = None
            row.body = None
            row.received_at = None
            row.erased_at = utcnow()
            for correction in session.scalars(
                select(CorrectionRow).where(CorrectionRow.ticket_id == ticket_id)
            ):
                correction.note = None
                correction.author = "erased"
            for prediction in session.scalars(
                select(PredictionRow).where(PredictionRow.ticket_id == ticket_id)
            ):
                kept = {
                    k: prediction.prediction.get(k)
                    for k in (*LABEL_FIELDS, "language", "model_version", "id")
                }
                prediction.prediction = kept

    def report_rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """For accuracy reports, labels only (no text): the newest prediction of every ticket
        and every correction, oldest first (read from one snapshot, taking no write lock)."""
        predictions, corrections = PREDICTIONS.c, cast(Table, CorrectionRow.__table__).c
        newest = select(func.max(predictions.id)).group_by(predictions.ticket_id)
        with self.reading() as connection:
            logged = connection.execute(
                select(
                    predictions.ticket_id,
                    predictions.model_version,
                    predictions.created_at,
                    predictions.prediction,
                ).where(predictions.id.in_(newest.scalar_subquery()))
            ).all()
            corrected = connection.execute(
                select(corrections.ticket_id, corrections.created_at, corrections.after).order_by(
                    corrections.id
                )
            ).all()
        return [
            {
                "ticket_id": ticket_id,
                "model_version": version,
                "created_at": as_utc(created_at),
                **{k: prediction.get(k) for k in (*LABEL_FIELDS, "decision")},
            }
            for ticket_id, version, created_at, prediction in logged
        ], [
            {"ticket_id": ticket_id, "created_at": as_utc(created_at), "after": after}
            for ticket_id, created_at, after in corrected
        ]

    def counts(self) -> dict[str, int]:
        with self.session() as session:
            return {
                "tickets": session.scalar(select(func.count()).select_from(TicketRow)) or 0,
                "predictions": session.scalar(select(func.count()).select_from(PredictionRow)) or 0,
                "corrections": session.scalar(select(func.count()).select_from(CorrectionRow)) or 0,
            }


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes: every time stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _correction(row: CorrectionRow) -> StoredCorrection:
    return StoredCorrection(
        id=row.id,
        ticket_id=row.ticket_id,
        author=row.author,
        created_at=as_utc(row.created_at),
        before=row.before,
        after=row.after,
        note=row.note,
    )
