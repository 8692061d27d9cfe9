"""Units (đơn vị) of users, and the border posts each unit covers.

A user belongs to one unit, which decides whose patrol plans a commander sees and makes:

=============  ==========================  ================================================
unit           stored as                   covers
=============  ==========================  ================================================
province       ``province``                every border post (the default; also admins)
post           ``post:<id>``               that border post (``border_posts.id``)
district       ``district:<name>``         every post whose area of responsibility
                                           (``area_of_responsibility`` commune codes) has a
                                           commune of the former district ``<name>``
=============  ==========================  ================================================

Districts were abolished on 1 July 2025, but people (and district police commands, now
reorganised) still name their area by the former district. A 2025 commune belongs to the
former district the ``communes`` layer gives it (``district_pre2025``: the district most of
its old communes lay in). A post whose area spans two former districts belongs to both
(Đồn BP Hạnh Lâm in the sample: Anh Sơn and Thanh Chương). A post whose area of
responsibility is empty counts by the commune it stands in (``commune_code``). The ``unit`` field of ``border_posts`` is not used: it names
the command the post answers to (``BĐBP Nghệ An`` for every post in the data), which does
not divide the posts.

Examples
--------
>>> parse_unit("post:BP-002")
Unit(kind='post', key='BP-002')
>>> str(parse_unit(""))
'province'
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import pandas as pd

from geo_pcmt.ingest.address import district_key, split_type
from geo_pcmt.ingest.gazetteer import normalize
from geo_pcmt.layers import area_codes

UNIT_KINDS = ("province", "district", "post")
_PROVINCE_WORDS = {"province", "tinh", "toan tinh", "tinh nghe an"}
_DISTRICT_WORDS = ("huyen ", "thi xa ", "thanh pho ")


class UnitError(ValueError):
    """A unit that is malformed or names no post or district of the data."""


@dataclass(frozen=True)
class Unit:
    """One unit: ``kind`` (province / district / post) and ``key`` (post id or district name)."""

    kind: str = "province"
    key: str = ""

    def __str__(self) -> str:
        return "province" if self.kind == "province" else f"{self.kind}:{self.key}"

    @property
    def is_province(self) -> bool:
        return self.kind == "province"


PROVINCE = Unit()


def parse_unit(stored: str | None) -> Unit:
    """The unit a stored text names (``province``, ``post:<id>``, ``district:<name>``);
    empty means the province. ``UnitError`` for anything else."""
    stored = (stored or "").strip()
    if not stored or stored == "province":
        return PROVINCE
    kind, sep, key = stored.partition(":")
    key = key.strip()
    if not sep or kind not in UNIT_KINDS or kind == "province" or not key or len(key) > 100:
        raise UnitError(f"unit {stored[:120]!r} not understood: 'province', 'post:<post id>' "
                        "or 'district:<former district>' (đơn vị: tỉnh, đồn, huyện cũ)")
    return Unit(kind, key)


def _districts(communes: pd.DataFrame) -> list[str]:
    if communes is None or "district_pre2025" not in communes.columns:
        return []
    return sorted({str(d) for d in communes["district_pre2025"].dropna() if str(d).strip()})


def resolve_unit(text: str | None, posts: pd.DataFrame, communes: pd.DataFrame) -> Unit:
    """The unit a person typed, checked against the data.

    ``province`` (or ``tỉnh``, empty); a post by id or name, with or without diacritics
    (``BP-002``, ``Keng Đu``, ``post:BP-002``); a former district with its type word or
    the ``district:`` prefix (``Huyện Kỳ Sơn``, ``huyen ky son``, ``district:Kỳ Sơn``).

    Raises
    ------
    UnitError
        Unknown or ambiguous post, unknown district (the message lists the known ones).
    """
    from geo_pcmt.analysis.patrol import PatrolError, find_post

    raw = (text or "").strip()
    folded = normalize(raw)
    if not raw or raw == "province" or folded in _PROVINCE_WORDS:
        return PROVINCE
    if raw.startswith("district:") or split_type(raw)[0] == "district" \
            or folded.startswith(_DISTRICT_WORDS):
        name = raw.removeprefix("district:").strip()
        key = district_key(name)
        for prefix in _DISTRICT_WORDS:
            key = key.removeprefix(prefix)
        known = _districts(communes)
        hits = [d for d in known if district_key(d) == key]
        if not hits:
            raise UnitError(f"unknown former district {name!r} (huyện cũ không có); known: "
                            f"{', '.join(known) or 'none (communes layer not loaded)'}")
        return Unit("district", hits[0])
    try:
        post = find_post(posts, raw.removeprefix("post:").strip())
    except PatrolError as exc:
        raise UnitError(str(exc)) from None
    return Unit("post", str(post.id))


def unit_posts(unit: Unit | str, posts: pd.DataFrame,
               communes: pd.DataFrame | None = None) -> tuple[str, ...] | None:
    """Ids of the border posts ``unit`` covers; ``None`` for the province (every post).

    Parameters
    ----------
    unit : Unit or its stored text.
    posts : ``border_posts`` with ``id``, ``area_of_responsibility`` (and ``commune_code``).
    communes : ``communes`` with ``code`` and ``district_pre2025`` (for district units).

    Returns
    -------
    tuple of str or None
        Possibly empty: a post since removed, or a district without posts, covers nothing.

    Examples
    --------
    >>> posts = pd.DataFrame({"id": ["BP-1", "BP-2"], "area_of_responsibility": ["1;2", "3"]})
    >>> communes = pd.DataFrame({"code": ["1", "2", "3"],
    ...                          "district_pre2025": ["Huyện A", "Huyện A", "Huyện B"]})
    >>> unit_posts("district:Huyện A", posts, communes), unit_posts("post:BP-2", posts)
    (('BP-1',), ('BP-2',))
    """
    unit = parse_unit(unit) if isinstance(unit, str) else unit
    if unit.is_province:
        return None
    ids = [str(i) for i in posts["id"]] if posts is not None and len(posts) else []
    if unit.kind == "post":
        return tuple(i for i in ids if i == unit.key)
    if communes is None or "district_pre2025" not in communes.columns:
        return ()
    key = district_key(unit.key)
    in_district = {str(c) for c, d in zip(communes["code"], communes["district_pre2025"])
                   if isinstance(d, str) and district_key(d) == key}
    out = []
    for row in posts.to_dict("records") if ids else []:
        codes = area_codes(row.get("area_of_responsibility")) or area_codes(row.get("commune_code"))
        if in_district.intersection(codes):
            out.append(str(row["id"]))
    return tuple(out)


def unit_label(unit: Unit | str, posts: pd.DataFrame | None = None) -> str:
    """The unit in Vietnamese for a page: ``Toàn tỉnh``, the post's name, ``Công an huyện …``.

    Examples
    --------
    >>> unit_label("district:Huyện Kỳ Sơn"), unit_label("province")
    ('Công an huyện Kỳ Sơn (địa bàn cũ)', 'Toàn tỉnh')
    """
    unit = parse_unit(unit) if isinstance(unit, str) else unit
    if unit.is_province:
        return "Toàn tỉnh"
    if unit.kind == "district":
        name = unit.key[:1].lower() + unit.key[1:]
        return f"Công an {name} (địa bàn cũ)"
    if posts is not None and len(posts) and "name" in posts.columns:
        hit = posts.loc[posts["id"].astype(str) == unit.key, "name"]
        if len(hit):
            return str(hit.iloc[0])
    return f"Đồn {unit.key}"


def unit_choices(posts: pd.DataFrame, communes: pd.DataFrame | None) -> list[tuple[str, str]]:
    """Every unit an admin may give a user, as ``(stored, label)``: the province, each post,
    each former district that covers a post."""
    out = [(str(PROVINCE), unit_label(PROVINCE))]
    if posts is not None and len(posts):
        for row in posts.sort_values("name").to_dict("records"):
            out.append((f"post:{row['id']}", str(row["name"])))
    for name in _districts(communes) if communes is not None else []:
        unit = Unit("district", name)
        if posts is not None and unit_posts(unit, posts, communes):
            out.append((str(unit), unit_label(unit)))
    return out


def allowed(unit: Unit | str, post_id: str, posts: pd.DataFrame,
            communes: pd.DataFrame | None = None) -> bool:
    """Whether ``unit`` covers the post ``post_id``."""
    ids: Sequence[str] | None = unit_posts(unit, posts, communes)
    return ids is None or str(post_id) in ids


__all__ = ["PROVINCE", "UNIT_KINDS", "Unit", "UnitError", "allowed", "parse_unit",
           "resolve_unit", "unit_choices", "unit_label", "unit_posts"]
