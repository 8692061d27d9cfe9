"""Users, roles, API tokens and login throttling of the web service, in one SQLite file.

The file (``users.sqlite`` beside the GeoPackage unless configured) is kept apart from the
data store on purpose: copying or exporting the GeoPackage must never carry password
hashes along. Passwords are hashed with werkzeug's scrypt; API tokens are random
(``gpt_…``, 256 bits) and only their SHA-256 is stored, so a stolen file yields no usable
token. Roles are those of :mod:`geo_pcmt.access`.

Examples
--------
>>> users = UserStore("var/users.sqlite")
>>> users.init()
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
from typing import Iterator

from werkzeug.security import check_password_hash, generate_password_hash

from geo_pcmt.access import ROLES

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
"""


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
        return self

    def _hash(self, password: str) -> str:
        if self.hash_method:
            return generate_password_hash(password, method=self.hash_method)
        return generate_password_hash(password)

    # --- users ------------------------------------------------------------------------

    @staticmethod
    def _user(row) -> User:
        return User(row[0], row[1], row[2], bool(row[3]), row[4], row[5])

    _USER_COLS = "username, role, display_name, active, created_at, disabled_at"

    def add(self, username: str, password: str, role: str, *, display_name: str = "") -> User:
        """Create a user. ``UserError`` for a taken or malformed username, a weak password
        or an unknown role."""
        username = username.strip().lower()
        if not USERNAME_RE.match(username):
            raise UserError(f"username {username!r} not allowed: 2–64 characters a–z, 0–9, "
                            "'.', '_', '-', '@', starting with a letter or digit")
        if role not in ROLES:
            raise UserError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
        check_password_strength(password, username)
        if len(display_name) > 200:
            raise UserError("display name longer than 200 characters")
        with self._connect() as conn:
            try:
                conn.execute("INSERT INTO users (username, password_hash, role, display_name, "
                             "created_at) VALUES (?, ?, ?, ?, ?)",
                             (username, self._hash(password), role, display_name, _now()))
            except sqlite3.IntegrityError:
                raise UserError(f"user {username!r} exists already") from None
        return self.get(username)

    def get(self, username: str) -> User | None:
        """The user named ``username`` (active or not), or None."""
        with self._reading() as conn:
            row = conn.execute(f"SELECT {self._USER_COLS} FROM users WHERE username = ?",
                               (username.strip().lower(),)).fetchone()
        return self._user(row) if row else None

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
        """Disable a user and revoke their tokens; sessions end at their next request."""
        user = self._require(username)
        stamp = _now()
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("UPDATE users SET active = 0, disabled_at = ? WHERE username = ?",
                         (stamp, user.username))
            conn.execute("UPDATE tokens SET revoked_at = ? WHERE username = ? AND "
                         "revoked_at IS NULL", (stamp, user.username))
            conn.execute("COMMIT")
        return self.get(user.username)

    def enable(self, username: str) -> User:
        """Re-enable a disabled user (their old tokens stay revoked)."""
        user = self._require(username)
        with self._connect() as conn:
            conn.execute("UPDATE users SET active = 1, disabled_at = NULL WHERE username = ?",
                         (user.username,))
        return self.get(user.username)

    def set_password(self, username: str, password: str) -> None:
        """Replace a user's password."""
        user = self._require(username)
        check_password_strength(password, user.username)
        with self._connect() as conn:
            conn.execute("UPDATE users SET password_hash = ? WHERE username = ?",
                         (self._hash(password), user.username))

    def authenticate(self, username: str, password: str) -> User | None:
        """The active user whose password this is, else None.

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
        if not check_password_hash(row[6], password):
            return None
        user = self._user(row)
        return user if user.active else None

    # --- API tokens -------------------------------------------------------------------

    def create_token(self, username: str, *, label: str = "",
                     days: int | None = None) -> tuple[str, TokenInfo]:
        """A new API token for an active user: ``(secret, info)``; the secret is not stored."""
        user = self._require(username)
        if not user.active:
            raise UserError(f"user {user.username!r} is disabled")
        if days is not None and days <= 0:
            raise UserError("token lifetime must be at least one day")
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

    def note_failure(self, *keys: str) -> None:
        """Record one failed login under each key (e.g. ``user|ip`` and ``ip``)."""
        stamp = time.time()
        with self._connect() as conn:
            conn.executemany("INSERT INTO login_failures (key, at) VALUES (?, ?)",
                             [(k, stamp) for k in keys])
            # keep the table small: failures older than a day no longer matter
            conn.execute("DELETE FROM login_failures WHERE at < ?", (stamp - 86_400,))

    def recent_failures(self, key: str, window_s: float) -> tuple[int, float]:
        """``(failures in the last window_s seconds, seconds until the oldest expires)``."""
        since = time.time() - window_s
        with self._connect() as conn:
            n, oldest = conn.execute("SELECT count(*), min(at) FROM login_failures "
                                     "WHERE key = ? AND at >= ?", (key, since)).fetchone()
        retry = 0.0 if oldest is None else max(0.0, oldest + window_s - time.time())
        return int(n), retry

    def clear_failures(self, key: str) -> None:
        """Forget the failures under ``key`` (after a successful login)."""
        with self._connect() as conn:
            conn.execute("DELETE FROM login_failures WHERE key = ?", (key,))
