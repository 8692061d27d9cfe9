"""``geo-pcmt user add|list|set-unit|disable|enable|passwd|reset`` and
``geo-pcmt token create|list|revoke``.

Users live in the user file of the web service (``users.sqlite`` beside the store, or
``--users`` / ``$GEO_PCMT_USERS``); every change is also written to the store's audit log.
"""
from __future__ import annotations

import json
import sys

import click

from geo_pcmt.access import ROLES
from geo_pcmt.cli.options import EXIT_PROBLEMS, JSON_OPTION, STORE_OPTION, open_command_store
from geo_pcmt.units import PROVINCE, UnitError, unit_label
from geo_pcmt.users import UserError, UserStore, default_users_path

UNIT_HELP = ("Unit (đơn vị): 'province' (default: every post), a border post by id or name "
             "('BP-002', 'Keng Đu'), or a former district ('Huyện Kỳ Sơn', 'district:Kỳ "
             "Sơn': the posts whose area of responsibility lies in it). Commanders see and "
             "plan for their unit's posts only.")

USERS_OPTION = click.option(
    "--users", "users_path", envvar="GEO_PCMT_USERS", default=None,
    type=click.Path(dir_okay=False),
    help="User file (default: $GEO_PCMT_USERS or users.sqlite beside the store).")


def _users(users_path, store_url) -> UserStore:
    return UserStore(users_path or default_users_path(store_url)).init()


def _audit(store_url, action: str, username: str, detail: dict) -> None:
    """Record the change in the store's audit log when a store exists."""
    try:
        open_command_store(store_url).audit("cli", action, None, [username], detail)
    except Exception as exc:  # no store yet (fresh install): the user file still changes
        click.echo(f"warning: not recorded in the audit log ({exc})", err=True)


def _resolve_unit(text: str | None, store_url) -> tuple[str, str]:
    """``(stored form, Vietnamese label)`` of the unit typed, checked against the store's
    posts and communes; the province needs no store."""
    if not (text or "").strip() or text.strip() == str(PROVINCE):
        return str(PROVINCE), unit_label(PROVINCE)
    from geo_pcmt.runs.patrol import resolve_unit, unit_choices
    store = open_command_store(store_url)
    try:
        stored = str(resolve_unit(store, text))
    except UnitError as exc:
        fail(str(exc))
    return stored, dict(unit_choices(store)).get(stored, stored)


def fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(EXIT_PROBLEMS)


def _read_password(password_stdin: bool, prompt: str, *, confirm: bool = False) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\n")
    return click.prompt(prompt, hide_input=True, confirmation_prompt=confirm)


@click.group("user")
def user():
    """Manage users of the web service (người dùng): add, list, set-unit, disable, enable,
    passwd, reset."""


@user.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(ROLES), required=True,
              help="viewer: public aggregates; analyst: all records; commander: + patrol "
                   "plans; admin: + users, uploads, deletes, audit log.")
@click.option("--name", "display_name", default="", help="Full name with diacritics, e.g. "
                                                          "'Nguyễn Văn An'.")
@click.option("--unit", default=None, help=UNIT_HELP)
@click.option("--password-stdin", is_flag=True,
              help="Read the password from standard input instead of prompting.")
@USERS_OPTION
@STORE_OPTION
def user_add(username, role, display_name, unit, password_stdin, users_path, store_url):
    """Add USERNAME with a role (and unit); asks for the password twice (≥ 10 characters).

    Example: geo-pcmt user add chi_huy_kd --role commander --unit "Keng Đu"
    """
    stored_unit, label = _resolve_unit(unit, store_url)
    password = _read_password(password_stdin, "Mật khẩu / password", confirm=True)
    try:
        created = _users(users_path, store_url).add(username, password, role,
                                                    display_name=display_name, unit=stored_unit)
    except UserError as exc:
        fail(str(exc))
    _audit(store_url, "user:add", created.username, {"role": created.role, "unit": created.unit})
    click.echo(f"added {created.username} ({created.role}, {label})")


@user.command("set-unit")
@click.argument("username")
@click.argument("unit")
@USERS_OPTION
@STORE_OPTION
def user_set_unit(username, unit, users_path, store_url):
    """Move USERNAME to UNIT: 'province', a post ('BP-002', 'Keng Đu') or a former district
    ('Huyện Kỳ Sơn'). Applies from the user's next request."""
    stored_unit, label = _resolve_unit(unit, store_url)
    try:
        changed = _users(users_path, store_url).set_unit(username, stored_unit)
    except UserError as exc:
        fail(str(exc))
    _audit(store_url, "user:unit", changed.username, {"unit": changed.unit})
    click.echo(f"{changed.username}: {changed.unit} ({label})")


@user.command("list")
@JSON_OPTION
@USERS_OPTION
@STORE_OPTION
def user_list(as_json, users_path, store_url):
    """List users with role and state."""
    users = _users(users_path, store_url).list_users()
    if as_json:
        click.echo(json.dumps([u.as_dict() for u in users], ensure_ascii=False, indent=1))
        return
    for u in users:
        state = "active" if u.active else f"disabled {u.disabled_at}"
        if u.must_change_password:
            state += " (temporary password)"
        click.echo(f"{u.username:24s} {u.role:10s} {u.unit:24s} {state:30s} {u.display_name}")


def _set_state(action: str, username: str, users_path, store_url) -> None:
    try:
        changed = getattr(_users(users_path, store_url), action)(username)
    except UserError as exc:
        fail(str(exc))
    _audit(store_url, f"user:{action}", changed.username, {})
    click.echo(f"{action}d {changed.username}")


@user.command("disable")
@click.argument("username")
@USERS_OPTION
@STORE_OPTION
def user_disable(username, users_path, store_url):
    """Disable USERNAME: their sessions end and their API tokens are revoked."""
    _set_state("disable", username, users_path, store_url)


@user.command("enable")
@click.argument("username")
@USERS_OPTION
@STORE_OPTION
def user_enable(username, users_path, store_url):
    """Enable USERNAME again (old tokens stay revoked)."""
    _set_state("enable", username, users_path, store_url)


@user.command("passwd")
@click.argument("username")
@click.option("--password-stdin", is_flag=True,
              help="Read the current password, then the new one, from standard input "
                   "(one a line) instead of prompting.")
@USERS_OPTION
@STORE_OPTION
def user_passwd(username, password_stdin, users_path, store_url):
    """Change USERNAME's password: asks the current one, then the new one twice. Every
    session and API token of the user ends."""
    current = _read_password(password_stdin, "Mật khẩu hiện tại / current password")
    new = _read_password(password_stdin, "Mật khẩu mới / new password", confirm=True)
    try:
        _users(users_path, store_url).change_password(username, current, new)
    except UserError as exc:
        fail(str(exc))
    _audit(store_url, "password:change", username.strip().lower(), {})
    click.echo(f"password of {username.strip().lower()} changed; their sessions and API "
               "tokens have ended")


@user.command("reset")
@click.argument("username")
@click.option("--password-stdin", is_flag=True,
              help="Read the temporary password from standard input instead of making one.")
@USERS_OPTION
@STORE_OPTION
def user_reset(username, password_stdin, users_path, store_url):
    """Give USERNAME a temporary password (printed once) that must be changed at the next
    sign-in. Every session and API token of the user ends."""
    given = sys.stdin.readline().rstrip("\n") if password_stdin else None
    try:
        temporary = _users(users_path, store_url).reset_password(username, given)
    except UserError as exc:
        fail(str(exc))
    _audit(store_url, "user:reset", username.strip().lower(), {})
    if given is None:
        click.echo(temporary)
    click.echo(f"{username.strip().lower()} must change this temporary password at the next "
               "sign-in; their sessions and API tokens have ended", err=True)


@click.group("token")
def token():
    """API tokens for GIS clients and scripts (mã truy cập API)."""


@token.command("create")
@click.argument("username")
@click.option("--label", default="", help="What the token is for, e.g. 'QGIS đồn Nậm Cắn'.")
@click.option("--days", type=int, default=90, show_default=True,
              help="Lifetime in days, at most 365 (0 = no expiry).")
@USERS_OPTION
@STORE_OPTION
def token_create(username, label, days, users_path, store_url):
    """Create a token for USERNAME and print it once (only its hash is kept)."""
    try:
        secret, info = _users(users_path, store_url).create_token(
            username, label=label, days=days or None)
    except UserError as exc:
        fail(str(exc))
    _audit(store_url, "token:create", info.username, {"token": info.id, "label": label,
                                                      "days": days})
    click.echo(secret)
    click.echo(f"token {info.id} for {info.username}, expires {info.expires_at or 'never'}; "
               "use it as 'Authorization: Bearer <token>' or as the Basic password",
               err=True)


@token.command("list")
@click.argument("username", required=False)
@JSON_OPTION
@USERS_OPTION
@STORE_OPTION
def token_list(username, as_json, users_path, store_url):
    """List tokens (of USERNAME, or all) without their secrets."""
    tokens = _users(users_path, store_url).list_tokens(username)
    if as_json:
        click.echo(json.dumps([t.as_dict() for t in tokens], ensure_ascii=False, indent=1))
        return
    for t in tokens:
        state = "active" if t.active else "revoked/expired"
        click.echo(f"{t.id}  {t.username:20s} {state:16s} {t.expires_at or 'no expiry':22s} "
                   f"{t.label}")


@token.command("revoke")
@click.argument("token_id")
@USERS_OPTION
@STORE_OPTION
def token_revoke(token_id, users_path, store_url):
    """Revoke the token TOKEN_ID (the 8 hex characters after 'gpt_')."""
    try:
        info = _users(users_path, store_url).revoke_token(token_id)
    except UserError as exc:
        fail(str(exc))
    _audit(store_url, "token:revoke", info.username, {"token": info.id})
    click.echo(f"revoked {info.id} of {info.username}")


COMMANDS = [user, token]
