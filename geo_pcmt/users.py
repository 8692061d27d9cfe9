"""Users, roles, API tokens, sign-in sessions and login throttling of the web service, in
one SQLite file.

The file (``users.sqlite`` beside the GeoPackage unless configured) is kept apart from the
data store on purpose: copying or exporting the GeoPackage must never carry password
hashes along. Passwords are hashed with werkzeug's scrypt; API tokens (``gpt_…``) and
session ids are random (256 bits) and only their SHA-256 is stored, so a stolen file yields
no usable token or session. Roles are those of :mod:`geo_pcmt.access`.

Each user belongs to a unit (:mod:`geo_pcmt.units`: a border post, a former district or the
province), stored as text in ``users.unit``; files made before units existed are upgraded in
place and their users get the province, so what they see does not change.

Revocation is one step: signing out, disabling a user, changing or resetting a password
end *every* session and API token of that user at once (:meth:`UserStore.sign_out_everywhere`).
A reset sets a temporary password that must be changed at the next sign-in.

Examples
--------
>>> users = UserStore("var/users.sqlite").init()
>>> users.add("ngoc.anh", "mật-khẩu-dài-đủ", "analyst", display_name="Nguyễn Ngọc Anh")
User(username='ngoc.anh', role='analyst', ...)
>>> token, info = users.create_token("ngoc.anh", label="QGIS")
>>> users.token_user(token).username
'ngoc.anh'
"""
from __future__ import annotations

import hashlib
import os
import re
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator, Sequence

from werkzeug.security import check_password_hash, generate_password_hash

from geo_pcmt.access import ROLES
from geo_pcmt.units import UnitError, parse_unit

MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "gpt_"
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9._@-]{1,63}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    username      TEXT PRIMARY KEY,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL,
    display_name  TEXT NOT NULL DEFAULT '',
    active        INTEGER NOT NULL DEFAULT 1,
    created_at    TEXT NOT NULL,
    disabled_at   TEXT
);
CREATE TABLE IF NOT EXISTS tokens (
    id           TEXT PRIMARY KEY,
    username     TEXT NOT NULL REFERENCES users(username),
    token_hash   TEXT NOT NULL UNIQUE,
    label        TEXT NOT NULL DEFAULT '',
    created_at   TEXT NOT NULL,
    expires_at   TEXT,
    revoked_at   TEXT,
    last_used_at TEXT
);
CREATE TABLE IF NOT EXISTS login_failures (
    key TEXT NOT NULL,
    at  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_login_failures_key ON login_failures(key, at);
CREATE TABLE IF NOT EXISTS sessions (
    id_hash    TEXT PRIMARY KEY,
    username   TEXT NOT NULL REFERENCES users(username),
    created_at REAL NOT NULL,
    last_seen  REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_sessions_username ON sessions(username);
"""
# columns added after the first release: (table, column, definition) for ALTER TABLE
_ADDED_COLUMNS = (
    ("users", "must_change_password", "INTEGER NOT NULL DEFAULT 0"),
    ("users", "unit", "TEXT NOT NULL DEFAULT 'province'"),  # existing users: the province
)
SESSION_IDLE_S = 8 * 3600          # a session unused this long ends
SESSION_MAX_AGE_S = 7 * 86_400     # and every session ends this long after sign-in
MAX_TOKEN_DAYS = 365
_SEEN_EVERY_S = 60  # last use of a session or token is written at most once a minute


class UserError(ValueError):
    """A user operation that was refused (unknown user, weak password, bad role …)."""


@dataclass(frozen=True)
class User:
    """A user as the web service sees it (never carries the password hash)."""

    username: str
    role: str
    display_name: str
    active: bool
    created_at: str
    disabled_at: str | None = None
    must_change_password: bool = False  # a temporary password set by an admin's reset
    unit: str = "province"  # geo_pcmt.units: "province", "post:<id>" or "district:<name>"

    def as_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class TokenInfo:
    """An API token's public facts (the secret itself is shown once, at creation)."""

    id: str
    username: str
    label: str
    created_at: str
    expires_at: str | None
    revoked_at: str | None
    last_used_at: str | None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > _now())

    def as_dict(self) -> dict:
        return dict(self.__dict__, active=self.active)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_users_path(store_url: str | os.PathLike | None = None) -> Path:
    """Where the user file lives: ``$GEO_PCMT_USERS``, else beside a GeoPackage store,
    else ``var/users.sqlite``."""
    if os.environ.get("GEO_PCMT_USERS"):
        return Path(os.environ["GEO_PCMT_USERS"])
    from geo_pcmt.paths import REPO_DIR, default_store_path
    target = str(store_url) if store_url else str(default_store_path())
    if "://" in target:
        return REPO_DIR / "var" / "users.sqlite"
    return Path(target).resolve().parent / "users.sqlite"


def check_password_strength(password: str, username: str = "") -> None:
    """Refuse short passwords and the username as password (``UserError`` says why)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password too short: at least {MIN_PASSWORD_LENGTH} characters "
                        f"(mật khẩu tối thiểu {MIN_PASSWORD_LENGTH} ký tự)")
    if username and password.lower() == username.lower():
        raise UserError("password must not be the username")


class UserStore:
    """Users and tokens in a small SQLite file.

    Parameters
    ----------
    path : str or Path
        The SQLite file, created with its folder by :meth:`init`.
    hash_method : str, optional
        werkzeug hash method; default werkzeug's (scrypt). Tests may pass a cheaper one.
    """

    def __init__(self, path: str | os.PathLike, *, hash_method: str | None = None):
        self.path = Path(path)
        self.hash_method = hash_method
        self._dummy_hash: str | None = None
        self._local = threading.local()  # a reading connection per thread (every request)

    def __repr__(self) -> str:
        return f"UserStore({str(self.path)!r})"

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection]:
        """This thread's own connection for the lookups every request makes (autocommit:
        each sees the last commit); opening one per request parsed the schema each time."""
        conn = getattr(self._local, "conn", None)
        if conn is None or self._local.pid != os.getpid():
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            self._local.conn, self._local.pid = conn, os.getpid()
        try:
            yield conn
        except BaseException:
            self._local.conn = None
            conn.close()
            raise

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA foreign_keys=ON")
            yield conn
        finally:
            conn.close()

    def init(self) -> "UserStore":
        """Create the file and its tables (idempotent); the file is readable by its owner only."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            # owner-only from the first byte; SQLite gives its -wal/-shm files the same mode
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        with self._connect() as conn:
            conn.executescript(_SCHEMA)
            self._upgrade(conn)
        return self

    @staticmethod
    def _upgrade(conn: sqlite3.Connection) -> None:
        """Bring a file made by an older version up to date, in place."""
        for table, column, definition in _ADDED_COLUMNS:
            have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
            if column not in have:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    def _hash(self, password: str) -> str:
        if self.hash_method:
            return generate_password_hash(password, method=self.hash_method)
        return generate_password_hash(password)

    # --- users ------------------------------------------------------------------------

    @staticmethod
    def _user(row) -> User:
        return User(row[0], row[1], row[2], bool(row[3]), row[4], row[5], bool(row[6]),
                    row[7] or "province")

    _USER_COLS = ("username, role, display_name, active, created_at, disabled_at, "
                  "must_change_password, unit")

    @staticmethod
    def _unit(unit: str | None) -> str:
        """The stored form of ``unit`` (``UserError`` if malformed); checking that the post
        or district exists is the caller's, who has the store (:func:`units.resolve_unit`)."""
        try:
            return str(parse_unit(unit))
        except UnitError as exc:
            raise UserError(str(exc)) from None

    def add(self, username: str, password: str, role: str, *, display_name: str = "",
            unit: str | None = None) -> User:
        """Create a user (of ``unit``, default the province). ``UserError`` for a taken or
        malformed username, a weak password, an unknown role or a malformed unit."""
        username = username.strip().lower()
        if not USERNAME_RE.match(username):
            raise UserError(f"username {username!r} not allowed: 2–64 characters a–z, 0–9, "
                            "'.', '_', '-', '@', starting with a letter or digit")
        if role not in ROLES:
            raise UserError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        check_password_strength(password, username)
        if len(display_name) > 200:
            raise UserError("display name longer than 200 characters")
        stored_unit = self._unit(unit)
        with self._connect() as conn:
            try:
                conn.execute("INSERT INTO users (username, password_hash, role, display_name, "
                             "created_at, unit) VALUES (?, ?, ?, ?, ?, ?)",
                             (username, self._hash(password), role, display_name, _now(),
                              stored_unit))
            except sqlite3.IntegrityError:
                raise UserError(f"user {username!r} exists already") from None
        return self.get(username)

    def get(self, username: str) -> User | None:
        """The user named ``username`` (active or not), or None."""
        with self._reading() as conn:
            row = conn.execute(f"SELECT {self._USER_COLS} FROM users WHERE username = ?",
                               (username.strip().lower(),)).fetchone()
        return self._user(row) if row else None

    def password_stamp(self, username: str) -> str:
        """A short fingerprint of the user's password hash ('' for no such user): it
        changes with every new password, so remembered verifications can be checked."""
        with self._reading() as conn:
            row = conn.execute("SELECT password_hash FROM users WHERE username = ?",
                               (username.strip().lower(),)).fetchone()
        return _sha256(row[0])[:16] if row else ""

    def list_users(self) -> list[User]:
        """Every user, by username."""
        with self._connect() as conn:
            rows = conn.execute(f"SELECT {self._USER_COLS} FROM users ORDER BY username").fetchall()
        return [self._user(r) for r in rows]

    def _require(self, username: str) -> User:
        user = self.get(username)
        if user is None:
            raise UserError(f"no user named {username!r}")
        return user

    def disable(self, username: str) -> User:
        """Disable a user: every session and API token of theirs ends at once."""
        user = self._require(username)
        stamp = _now()
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE users SET active = 0, disabled_at = ? WHERE username = ?",
                         (stamp, user.username))
            self._end_all(conn, user.username, stamp)
            conn.execute("COMMIT")
        return self.get(user.username)

    def set_unit(self, username: str, unit: str | None) -> User:
        """Move a user to another unit; it applies from their next request (every request
        reads the user afresh), so their sessions and tokens need not end."""
        user = self._require(username)
        stored_unit = self._unit(unit)
        with self._connect() as conn:
            conn.execute("UPDATE users SET unit = ? WHERE username = ?",
                         (stored_unit, user.username))
        return self.get(user.username)

    def enable(self, username: str) -> User:
        """Re-enable a disabled user (their old sessions and tokens stay ended)."""
        user = self._require(username)
        with self._connect() as conn:
            conn.execute("UPDATE users SET active = 1, disabled_at = NULL WHERE username = ?",
                         (user.username,))
        return self.get(user.username)

    def set_password(self, username: str, password: str, *, must_change: bool = False) -> None:
        """Replace a user's password; every session and API token of theirs ends.

        ``must_change`` marks a temporary password (an admin's reset): the user can do
        nothing but choose a new one until they have.
        """
        user = self._require(username)
        check_password_strength(password, user.username)
        digest = self._hash(password)
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE users SET password_hash = ?, must_change_password = ? "
                         "WHERE username = ?", (digest, int(must_change), user.username))
            self._end_all(conn, user.username, _now())
            conn.execute("COMMIT")

    def change_password(self, username: str, current: str, new: str) -> None:
        """A user's own change: ``current`` must be their password (``UserError`` if not)
        and ``new`` a different, strong one. Every session and token of theirs ends."""
        if self.authenticate(username, current) is None:
            raise UserError("the current password is wrong (mật khẩu hiện tại không đúng)")
        if new == current:
            raise UserError("the new password must differ from the current one "
                            "(mật khẩu mới phải khác mật khẩu hiện tại)")
        self.set_password(username, new)

    def reset_password(self, username: str, temporary: str | None = None) -> str:
        """An admin's reset: a temporary password (random unless given) that must be
        changed at the next sign-in; every session and token of the user ends. Returns
        the temporary password, to be handed over in person."""
        temporary = temporary or secrets.token_urlsafe(12)
        self.set_password(username, temporary, must_change=True)
        return temporary

    def authenticate(self, username: str, password: str) -> User | None:
        """The active user whose password this is, else None (a user with a temporary
        password is returned too, with ``must_change_password`` set).

        Unknown users cost a hash check too, so timing does not tell which names exist.
        """
        with self._connect() as conn:
            row = conn.execute(f"SELECT {self._USER_COLS}, password_hash FROM users "
                               "WHERE username = ?", (username.strip().lower(),)).fetchone()
        if row is None:
            if self._dummy_hash is None:
                self._dummy_hash = self._hash(secrets.token_hex(16))
            check_password_hash(self._dummy_hash, password)
            return None
        if not check_password_hash(row[8], password):
            return None
        user = self._user(row)
        return user if user.active else None

    # --- sessions (browser sign-ins) ----------------------------------------------------

    def start_session(self, username: str, *, max_age_s: float = SESSION_MAX_AGE_S) -> str:
        """A new session of an active user: the random id for the cookie (only its hash
        is stored). Sessions past ``max_age_s`` are swept away on the way."""
        user = self._require(username)
        if not user.active:
            raise UserError(f"user {user.username!r} is disabled")
        session_id = secrets.token_urlsafe(32)
        now = time.time()
        with self._connect() as conn:
            conn.execute("DELETE FROM sessions WHERE created_at < ?", (now - max_age_s,))
            conn.execute("INSERT INTO sessions (id_hash, username, created_at, last_seen) "
                         "VALUES (?, ?, ?, ?)", (_sha256(session_id), user.username, now, now))
        return session_id

    def session_user(self, session_id: str, *, idle_s: float = SESSION_IDLE_S,
                     max_age_s: float = SESSION_MAX_AGE_S) -> User | None:
        """The active user of a live session, or None (unknown, ended, idle longer than
        ``idle_s`` or older than ``max_age_s``). Marks the session as used."""
        if not session_id or len(session_id) > 100:
            return None
        now = time.time()
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT s.id_hash, s.last_seen, "
                f"{', '.join('u.' + c for c in self._USER_COLS.split(', '))} "
                "FROM sessions s JOIN users u ON u.username = s.username "
                "WHERE s.id_hash = ? AND s.last_seen >= ? AND s.created_at >= ?",
                (_sha256(session_id), now - idle_s, now - max_age_s)).fetchone()
        if row is None:
            return None
        user = self._user(row[2:])
        if not user.active:
            return None
        if row[1] < now - _SEEN_EVERY_S:  # spares a write per request
            with self._connect() as conn:
                conn.execute("UPDATE sessions SET last_seen = ? WHERE id_hash = ?",
                             (now, row[0]))
        return user

    def end_session(self, session_id: str) -> None:
        """End one session (nothing happens for an unknown id)."""
        with self._connect() as conn:
            conn.execute("DELETE FROM sessions WHERE id_hash = ?", (_sha256(session_id),))

    def sign_out_everywhere(self, username: str) -> None:
        """End every session and revoke every API token of ``username`` at once."""
        user = self._require(username)
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            self._end_all(conn, user.username, _now())
            conn.execute("COMMIT")

    @staticmethod
    def _end_all(conn: sqlite3.Connection, username: str, stamp: str) -> None:
        conn.execute("DELETE FROM sessions WHERE username = ?", (username,))
        conn.execute("UPDATE tokens SET revoked_at = ? WHERE username = ? AND "
                     "revoked_at IS NULL", (stamp, username))

    def count_sessions(self, username: str) -> int:
        """How many sessions of ``username`` are stored (live or not yet swept)."""
        with self._connect() as conn:
            return conn.execute("SELECT count(*) FROM sessions WHERE username = ?",
                                (username.strip().lower(),)).fetchone()[0]

    # --- API tokens -------------------------------------------------------------------

    def create_token(self, username: str, *, label: str = "",
                     days: int | None = None) -> tuple[str, TokenInfo]:
        """A new API token for an active user: ``(secret, info)``; the secret is not stored.

        ``days`` is the lifetime, 1 to :data:`MAX_TOKEN_DAYS`; None: no expiry.
        """
        user = self._require(username)
        if not user.active:
            raise UserError(f"user {user.username!r} is disabled")
        if user.must_change_password:
            raise UserError(f"user {user.username!r} must first replace the temporary password")
        if days is not None and not 1 <= days <= MAX_TOKEN_DAYS:
            raise UserError(f"token lifetime must be 1 to {MAX_TOKEN_DAYS} days "
                            f"(hiệu lực từ 1 đến {MAX_TOKEN_DAYS} ngày)")
        token_id = secrets.token_hex(4)
        secret = f"{TOKEN_PREFIX}{token_id}_{secrets.token_urlsafe(32)}"
        expires = None
        if days is not None:
            expires = (datetime.now(timezone.utc) + timedelta(days=days)).strftime(
                "%Y-%m-%dT%H:%M:%SZ")
        with self._connect() as conn:
            conn.execute("INSERT INTO tokens (id, username, token_hash, label, created_at, "
                         "expires_at) VALUES (?, ?, ?, ?, ?, ?)",
                         (token_id, user.username, _sha256(secret), label[:200], _now(), expires))
        return secret, self._token(token_id)

    def _token(self, token_id: str) -> TokenInfo:
        with self._connect() as conn:
            row = conn.execute("SELECT id, username, label, created_at, expires_at, revoked_at, "
                               "last_used_at FROM tokens WHERE id = ?", (token_id,)).fetchone()
        if row is None:
            raise UserError(f"no token {token_id!r}")
        return TokenInfo(*row)

    def list_tokens(self, username: str | None = None) -> list[TokenInfo]:
        """Tokens of one user (or all), newest first."""
        sql = ("SELECT id, username, label, created_at, expires_at, revoked_at, last_used_at "
               "FROM tokens")
        args: tuple = ()
        if username is not None:
            sql += " WHERE username = ?"
            args = (username.strip().lower(),)
        with self._connect() as conn:
            rows = conn.execute(sql + " ORDER BY created_at DESC, id", args).fetchall()
        return [TokenInfo(*r) for r in rows]

    def revoke_token(self, token_id: str, *, username: str | None = None) -> TokenInfo:
        """Revoke a token (only the owner's own when ``username`` is given)."""
        info = self._token(token_id)
        if username is not None and info.username != username:
            raise UserError(f"no token {token_id!r}")
        with self._connect() as conn:
            conn.execute("UPDATE tokens SET revoked_at = coalesce(revoked_at, ?) WHERE id = ?",
                         (_now(), token_id))
        return self._token(token_id)

    def token_user(self, secret: str) -> User | None:
        """The active user an unrevoked, unexpired token belongs to, or None."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        now = _now()
        with self._reading() as conn:
            row = conn.execute(
                f"SELECT t.id, t.last_used_at, "
                f"{', '.join('u.' + c for c in self._USER_COLS.split(', '))} "
                "FROM tokens t JOIN users u ON u.username = t.username "
                "WHERE t.token_hash = ? AND t.revoked_at IS NULL "
                "AND (t.expires_at IS NULL OR t.expires_at > ?)",
                (_sha256(secret), now)).fetchone()
        if row is None:
            return None
        # last use to the minute: enough for an admin, and spares a write per request
        if row[1] is None or row[1][:16] < now[:16]:
            with self._connect() as conn:
                conn.execute("UPDATE tokens SET last_used_at = ? WHERE id = ? AND "
                             "(last_used_at IS NULL OR substr(last_used_at, 1, 16) < "
                             "substr(?, 1, 16))", (now, row[0], now))
        row = (row[0],) + tuple(row[2:])
        user = self._user(row[1:])
        return user if user.active else None

    # --- login throttling ---------------------------------------------------------------

    def claim_attempt(self, limits: Sequence[tuple[str, int]],
                      window_s: float) -> tuple[list[int] | None, float]:
        """Count a login attempt as a failure under each key *before* its password is
        checked, in one transaction with the check of the limits.

        Concurrent guesses therefore cannot all pass the check and be counted afterwards:
        with a limit of 5, at most 5 attempts of a window ever reach the hash.

        Parameters
        ----------
        limits : sequence of (key, limit)
            E.g. ``[("user:an|10.0.0.1", 5), ("ip:10.0.0.1", 30)]``.
        window_s : float
            Failures this recent count.

        Returns
        -------
        (claim, retry_after_s)
            ``claim`` (for :meth:`release_attempt` when the password was right), or None
            when a key is at its limit; then ``retry_after_s`` says how long to wait.
        """
        now = time.time()
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")  # the write lock: no other claim in between
            try:
                for key, limit in limits:
                    n, oldest = conn.execute(
                        "SELECT count(*), min(at) FROM login_failures WHERE key = ? AND at >= ?",
                        (key, now - window_s)).fetchone()
                    if n >= limit:
                        return None, max(0.0, oldest + window_s - now)
                claim = [conn.execute("INSERT INTO login_failures (key, at) VALUES (?, ?)",
                                      (key, now)).lastrowid for key, _ in limits]
                # keep the table small: failures older than a day no longer matter
                conn.execute("DELETE FROM login_failures WHERE at < ?", (now - 86_400,))
                conn.execute("COMMIT")
                return claim, 0.0
            finally:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")

    def release_attempt(self, claim: Sequence[int], *clear_keys: str) -> None:
        """The password was right: the claimed attempt is no failure; the failures under
        ``clear_keys`` (e.g. the ``user|address`` key) are forgotten."""
        with self._connect() as conn:
            conn.executemany("DELETE FROM login_failures WHERE rowid = ?",
                             [(rowid,) for rowid in claim])
            conn.executemany("DELETE FROM login_failures WHERE key = ?",
                             [(k,) for k in clear_keys])

    def recent_failures(self, key: str, window_s: float) -> tuple[int, float]:
        """``(failures in the last window_s seconds, seconds until the oldest expires)``."""
        since = time.time() - window_s
        with self._connect() as conn:
            n, oldest = conn.execute("SELECT count(*), min(at) FROM login_failures "
                                     "WHERE key = ? AND at >= ?", (key, since)).fetchone()
        retry = 0.0 if oldest is None else max(0.0, oldest + window_s - time.time())
        return int(n), retry
