"""The budget ledger and config leases in SQLite: one file shared by lanes and by overlapping runs.

Each call is one `BEGIN IMMEDIATE` transaction, so two processes (two
`pathprover run` at once) serialise on the database lock instead of racing.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pathprover.protocols import Held

_SCHEMA = """
CREATE TABLE IF NOT EXISTS budgets (
    execution_id TEXT PRIMARY KEY, max_cost REAL NOT NULL, spent REAL NOT NULL DEFAULT 0,
    reserved REAL NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS reservations (
    execution_id TEXT NOT NULL, config_id TEXT NOT NULL, amount REAL NOT NULL, actual REAL,
    settled INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (execution_id, config_id));
CREATE TABLE IF NOT EXISTS leases (
    config_id TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at TEXT NOT NULL);
"""
_EPSILON = 1e-9
_CENTS = 6
"""Decimal places the sums are rounded to: SQLite adds in binary floating point, where releasing what was
reserved can leave -4e-16 "reserved" behind; DynamoDB (the AWS ledger) adds decimals exactly."""


class SqliteLedger:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        con = sqlite3.connect(self.path, timeout=30)
        try:
            con.executescript(_SCHEMA)  # executescript commits on its own
        finally:
            con.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            for attempt in range(50):
                try:
                    con.execute("BEGIN IMMEDIATE")
                    break
                except sqlite3.OperationalError:
                    if attempt == 49:
                        raise
                    time.sleep(0.05)
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")
        finally:
            con.close()

    def reserve(self, execution_id: str, config_id: str, amount_usd: float, max_cost_usd: float) -> bool:
        if amount_usd < 0:
            raise ValueError("a reservation cannot be negative")
        with self._tx() as con:
            con.execute(
                "INSERT OR IGNORE INTO budgets (execution_id, max_cost) VALUES (?, ?)", (execution_id, max_cost_usd)
            )
            held = con.execute(
                "SELECT settled FROM reservations WHERE execution_id = ? AND config_id = ?", (execution_id, config_id)
            ).fetchone()
            if held is not None:
                return not held[0]  # a retried task keeps its open reservation; a settled one is spent
            spent, reserved, max_cost = con.execute(
                "SELECT spent, reserved, max_cost FROM budgets WHERE execution_id = ?", (execution_id,)
            ).fetchone()
            if spent + reserved + amount_usd > max_cost + _EPSILON:
                return False
            con.execute(
                "INSERT INTO reservations (execution_id, config_id, amount) VALUES (?, ?, ?)",
                (execution_id, config_id, amount_usd),
            )
            con.execute(
                "UPDATE budgets SET reserved = ROUND(reserved + ?, ?) WHERE execution_id = ?",
                (amount_usd, _CENTS, execution_id),
            )
            return True

    def settle(self, execution_id: str, config_id: str, actual_usd: float) -> None:
        with self._tx() as con:
            row = con.execute(
                "SELECT amount, settled FROM reservations WHERE execution_id = ? AND config_id = ?",
                (execution_id, config_id),
            ).fetchone()
            if row is None or row[1]:
                return
            con.execute(
                "UPDATE reservations SET settled = 1, actual = ? WHERE execution_id = ? AND config_id = ?",
                (actual_usd, execution_id, config_id),
            )
            con.execute(
                "UPDATE budgets SET reserved = ROUND(reserved - ?, ?), spent = ROUND(spent + ?, ?) "
                "WHERE execution_id = ?",
                (row[0], _CENTS, actual_usd, _CENTS, execution_id),
            )

    def totals(self, execution_id: str) -> tuple[float, float]:
        with self._tx() as con:
            row = con.execute("SELECT spent, reserved FROM budgets WHERE execution_id = ?", (execution_id,)).fetchone()
        return (0.0, 0.0) if row is None else (float(row[0]), float(row[1]))

    def acquire_lease(self, config_id: str, owner: str, ttl_seconds: int, now: datetime) -> bool:
        expires = (now + timedelta(seconds=ttl_seconds)).astimezone(UTC).isoformat()
        with self._tx() as con:
            row = con.execute("SELECT owner, expires_at FROM leases WHERE config_id = ?", (config_id,)).fetchone()
            if row is not None and row[0] != owner and datetime.fromisoformat(row[1]) > now:
                return False
            con.execute(
                "INSERT OR REPLACE INTO leases (config_id, owner, expires_at) VALUES (?, ?, ?)",
                (config_id, owner, expires),
            )
            return True

    def in_flight(self, execution_id: str) -> dict[str, Held]:
        prefix = execution_id.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "#%"
        with self._tx() as con:
            amounts = dict(
                con.execute(
                    "SELECT config_id, amount FROM reservations WHERE execution_id = ? AND settled = 0", (execution_id,)
                ).fetchall()
            )
            owners = dict(
                con.execute("SELECT config_id, owner FROM leases WHERE owner LIKE ? ESCAPE '\\'", (prefix,)).fetchall()
            )
        return {
            config: Held(lease_owner=owners.get(config), reserved_usd=amounts.get(config))
            for config in sorted(set(amounts) | set(owners))
        }

    def release_lease(self, config_id: str, owner: str) -> None:
        with self._tx() as con:
            con.execute("DELETE FROM leases WHERE config_id = ? AND owner = ?", (config_id, owner))
