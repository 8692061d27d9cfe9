"""The place names a gazetteer indexes: 2025 communes, pre-2025 communes (through the
crosswalk) and pre-2025 districts, each as an :class:`Entry` leading to 2025 commune codes."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Literal

import pandas as pd

from geo_pcmt.ingest.address import COMMUNE_KINDS, district_key, split_type

Via = Literal["name_2025", "name_pre2025"]

# Old district names people still write that the pre-2025 list no longer carries: Thị xã Cửa Lò
# was merged into Thành phố Vinh in 2024, so its wards are listed under Vinh.
DISTRICT_ALIASES = {"Thị xã Cửa Lò": "Thành phố Vinh"}


@dataclass(frozen=True)
class Entry:
    """One indexed name: a 2025 commune, a pre-2025 commune or a pre-2025 district."""

    name: str                  # as in the data, e.g. "Xã Hòa Sơn"
    key: tuple[str, ...]       # ascii words of the name without its type word
    marked: tuple[str, ...]    # the same words keeping their diacritics (see marked_word)
    level: str                 # "commune" | "district"
    via: Via | None
    kind: str | None           # "xa" | "phuong" | "thi_tran" for communes
    codes: tuple[str, ...]     # the 2025 commune(s) the name leads to
    district: str              # district name for messages
    districts: frozenset[str]  # district keys (see district_key) the name lies in


def entry(name: str, level: str, via: Via | None, codes: Iterable[str], district: str,
          districts: Iterable[str], kind: str | None = None) -> Entry:
    """The entry of one name; its type word ("Xã", "Phường" …) gives ``kind`` when written."""
    found_kind, tokens = split_type(name)
    return Entry(name=name, key=tuple(t.ascii for t in tokens),
                 marked=tuple(t.marked for t in tokens), level=level, via=via,
                 kind=found_kind if found_kind in COMMUNE_KINDS else kind,
                 codes=tuple(codes), district=district,
                 districts=frozenset(district_key(d) for d in districts if isinstance(d, str)))


def build_entries(communes: pd.DataFrame, lineage: pd.DataFrame,
                  pre2025: pd.DataFrame) -> list[Entry]:
    """Every name to index: 2025 communes, pre-2025 communes, districts and their aliases.

    Parameters
    ----------
    communes : ``boundaries.communes()``: ``code``, ``name``, ``kind``, ``district_pre2025``
    lineage : ``boundaries.commune_lineage()``: ``old_code``, ``old_name``,
        ``old_district``, ``new_code``, ``share``
    pre2025 : ``boundaries.pre2025_communes()``: ``commune_code``, ``name_vi``,
        ``district_name_vi``

    Returns
    -------
    list of Entry
        Pre-2025 communes missing from ``pre2025`` are taken from the crosswalk.
    """
    _require(communes, ("code", "name", "district_pre2025", "geometry"), "communes")
    _require(lineage, ("old_code", "old_name", "old_district", "new_code"), "lineage")
    _require(pre2025, ("commune_code", "name_vi", "district_name_vi"), "pre2025")
    lineage = lineage.astype({"old_code": str, "new_code": str})
    old_districts_of = lineage.groupby("new_code")["old_district"].agg(
        lambda s: set(s.dropna()))
    successors = lineage.groupby("old_code")["new_code"].agg(lambda s: tuple(sorted(set(s))))

    entries = [
        entry(row.name, "commune", "name_2025", (str(row.code),), row.district_pre2025,
              {row.district_pre2025} | old_districts_of.get(str(row.code), set()),
              kind=getattr(row, "kind", None))
        for row in communes.itertuples(index=False)]
    old = pre2025[["commune_code", "name_vi", "district_name_vi"]].astype(str)
    listed = set(old["commune_code"])
    missing = (lineage[~lineage["old_code"].isin(listed)]
               .drop_duplicates("old_code")
               .rename(columns={"old_code": "commune_code", "old_name": "name_vi",
                                "old_district": "district_name_vi"}))
    old = pd.concat([old, missing[["commune_code", "name_vi", "district_name_vi"]]])
    entries += [
        entry(row.name_vi, "commune", "name_pre2025", successors.get(row.commune_code, ()),
              row.district_name_vi, {row.district_name_vi})
        for row in old.itertuples(index=False)]

    districts = set(old["district_name_vi"].dropna()) | set(lineage["old_district"].dropna())
    entries += [entry(d, "district", None, (), d, {d}) for d in sorted(districts)]
    entries += [entry(alias, "district", None, (), target, {target})
                for alias, target in DISTRICT_ALIASES.items() if target in districts]
    return entries


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} frame lacks columns {missing}")

