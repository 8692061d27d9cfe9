"""Offline geocoding of Vietnamese addresses to the 130 communes of Nghệ An (2025).

The address text is folded and split into words by :mod:`geo_pcmt.ingest.address`; the names
indexed come from :mod:`geo_pcmt.ingest.place_names`; this module reads an address against
them (:class:`Gazetteer`) and places rows of a frame (:func:`geocode_frame`).
"""
from __future__ import annotations

import difflib
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Iterable, Literal

import geopandas as gpd
import pandas as pd
import shapely

from geo_pcmt.crs import STORAGE_CRS
from geo_pcmt.ingest import boundaries
from geo_pcmt.ingest.address import (
    COMMUNE_KINDS,
    TYPE_ROLES,
    VILLAGE_ROLES,
    Token,
    has_digit,
    key_of,
    keyword_at,
    normalize,
    search_score,
    tokenize,
)
from geo_pcmt.ingest.geocode import GEOCODE_QUALITY, GeocodeProblem, geocode_frame
from geo_pcmt.ingest.place_names import DISTRICT_ALIASES, Entry, Via, build_entries

__all__ = ["Gazetteer", "Match", "SearchHit", "GeocodeProblem", "geocode_frame", "normalize",
           "GEOCODE_QUALITY", "DISTRICT_ALIASES", "FUZZY_MIN_RATIO", "FUZZY_MIN_CHARS"]

Status = Literal["matched", "ambiguous", "unknown"]

FUZZY_MIN_RATIO = 0.9  # difflib ratio a typo must reach; below it the address is "unknown"
FUZZY_MIN_CHARS = 4    # shorter word runs are never fuzzy-matched (too many near misses)

# Score factors: a reading is worth less when the text had wrong diacritics, when the name was
# only found inside a village part, or when a bare name is also a district name.
_SCORE_MARKS_DIFFER = 0.9
_SCORE_IN_VILLAGE = 0.85
_SCORE_DISTRICT_LIKE = 0.9
_SCORE_FUZZY = 0.9
_SCORE_HINT_CONTRADICTED = 0.8  # the type word or the district written does not fit the name


@dataclass(frozen=True)
class Match:
    """The commune an address was resolved to, or why it could not be.

    Attributes
    ----------
    commune_code : GSO code of the 2025 commune (mã xã), or None unless ``status == "matched"``
    commune_name : its name with diacritics, e.g. ``"Xã Nậm Cắn"``
    score : confidence 0..1 (1 = exact name; lower for fuzzy, misspelt or village-part matches)
    status : ``"matched"``, ``"ambiguous"`` (several communes fit equally) or ``"unknown"``
    matched_text : the part of the address that was read as the commune
    via : ``"name_2025"`` (current name) or ``"name_pre2025"`` (old name through the crosswalk)
    candidates : codes that fit; one when matched, several when ambiguous
    reason : short English / Vietnamese explanation when not matched
    """

    commune_code: str | None
    commune_name: str | None
    score: float
    status: Status
    matched_text: str = ""
    via: Via | None = None
    candidates: tuple[str, ...] = ()
    reason: str = ""


@dataclass(frozen=True)
class SearchHit:
    """One suggestion for a search box: a 2025 commune reached by a current or an old name."""

    commune_code: str
    commune_name: str
    label: str
    via: Via
    score: float


@dataclass(frozen=True)
class _Mention:
    start: int
    end: int
    entries: tuple[Entry, ...]
    prefix: str | None  # the type word written just before it
    in_village: bool
    reliable: bool = True  # see Gazetteer._reliable


def _soft_filter(entries: list[Entry], keep) -> list[Entry]:
    """Entries passing ``keep``, or all of them when none passes (a hint, not a constraint)."""
    kept = [e for e in entries if keep(e)]
    return kept or entries


def _codes(entries: Iterable[Entry]) -> set[str]:
    return {c for e in entries for c in e.codes}


class Gazetteer:
    """Names ↔ communes of Nghệ An: 2025 names, pre-2025 names (via the crosswalk), districts.

    Build it with :meth:`from_frames` (or :meth:`default` for the shipped data), then call
    :meth:`match` for one address or :meth:`search` for a search box.

    Reading rules, in order:

    * village parts (bản, khối, xóm, thôn, tổ 3 …) are skipped; a name found only inside one
      is used as a last resort;
    * a name with no type word before it counts only in a comma-separated part of its own or
      written with its exact diacritics ("đối diện trường" is not Xã Diễn Trường);
    * the commune is the name written after a type word (xã, phường, TT …), else the first
      name that is not a district name, else a 2025 commune named like an old district
      ("Quế Phong"); the other names are context (old district, 2025 commune);
    * the longest name wins ("Anh Sơn Đông" over "Anh Sơn"); written diacritics, the type word
      and the old district each narrow the readings when at least one reading survives;
    * with no district written, a 2025 name wins over a pre-2025 name spelt the same;
    * otherwise several remaining communes make the address ambiguous: never guessed;
    * with no exact name, one typo is tolerated (difflib ratio ≥ ``FUZZY_MIN_RATIO``);
    * an address naming another province (Hà Nội, Hà Tĩnh …) is never placed in Nghệ An.

    Examples
    --------
    >>> gaz = Gazetteer.default()
    >>> gaz.match("Khối 5, P. Hưng Dũng, TP Vinh").commune_name
    'Phường Trường Vinh'
    """

    def __init__(self, entries: Iterable[Entry], names: dict[str, str],
                 points: dict[str, shapely.Point]):
        self.entries_ = tuple(entries)
        self.names_ = dict(names)
        self.points_ = dict(points)
        by_key: dict[tuple[str, ...], list[Entry]] = defaultdict(list)
        for e in self.entries_:
            if e.key:
                by_key[e.key].append(e)
        self._by_key = {k: tuple(v) for k, v in by_key.items()}
        self._max_len = max((len(k) for k in self._by_key), default=0)
        self._compact = {"".join(k): k for k in self._by_key}
        self._marked_2025 = {e.codes[0]: e.marked for e in self.entries_ if e.via == "name_2025"}

    @classmethod
    def from_frames(cls, communes: gpd.GeoDataFrame, lineage: pd.DataFrame,
                    pre2025: pd.DataFrame) -> Gazetteer:
        """Index the frames returned by :mod:`geo_pcmt.ingest.boundaries`.

        Parameters
        ----------
        communes : ``boundaries.communes()``: ``code``, ``name``, ``kind``, ``district_pre2025``,
            geometry
        lineage : ``boundaries.commune_lineage()``: ``old_code``, ``old_name``,
            ``old_district``, ``new_code``, ``share``
        pre2025 : ``boundaries.pre2025_communes()``: ``commune_code``, ``name_vi``,
            ``district_name_vi``

        Returns
        -------
        Gazetteer
        """
        points = communes.to_crs(STORAGE_CRS).representative_point()
        return cls(build_entries(communes, lineage, pre2025),
                   dict(zip(communes["code"].astype(str), communes["name"])),
                   dict(zip(communes["code"].astype(str), points)))

    @classmethod
    def default(cls) -> Gazetteer:
        """The gazetteer of the shipped boundary data (built once, then cached)."""
        return _default_gazetteer()

    # ------------------------------------------------------------------ matching
    def match(self, address: object) -> Match:
        """Resolve one free-text address to a 2025 commune.

        Parameters
        ----------
        address : e.g. ``"Bản Huồi Khe, xã Nậm Cắn, huyện Kỳ Sơn"`` or ``"xa tri le que phong"``

        Returns
        -------
        Match
            ``status`` tells whether ``commune_code`` can be used; ``reason`` says why not.

        Examples
        --------
        >>> Gazetteer.default().match("ban Hua Na, x. Thong Thu, H. Que Phong").commune_code
        '16744'
        """
        if not isinstance(address, str) or not normalize(address):
            return _unknown("", "empty address / địa chỉ trống")
        text = unicodedata.normalize("NFC", address)
        tokens = tokenize(text)
        mentions, free, prefixes, elsewhere = self._scan(tokens)
        if elsewhere:
            place = text[tokens[elsewhere[0][0]].start:tokens[elsewhere[0][1] - 1].end]
            return _unknown(place, f"address is outside Nghệ An ({place}) / "
                                   f"địa chỉ ngoài tỉnh Nghệ An ({place})")
        busy = {tokens[i].segment for i in free}  # segments with words that are no name
        mentions = [replace(m, reliable=self._reliable(m, tokens, busy)) for m in mentions]
        chosen = self._choose(mentions)
        if chosen is not None:
            found, factor = chosen
            return self._resolve(found, mentions, tokens, text, factor)
        fuzzy = self._fuzzy(tokens, free, prefixes)
        if fuzzy is not None:
            found, ratio = fuzzy
            return self._resolve(found, mentions, tokens, text, ratio * _SCORE_FUZZY, fuzzy=True)
        loose = [m for m in mentions if not m.reliable and self._rank(m) is not None]
        if loose:
            said = _span_text(text, tokens, loose[0])
            return _unknown(said, f"'{said}' stands among other words and may not be a commune: "
                                  f"write 'xã'/'phường' before it or put it between commas / "
                                  f"'{said}' lẫn trong câu, chưa chắc là tên xã: "
                                  f"ghi 'xã'/'phường' trước tên hoặc tách bằng dấu phẩy")
        districts = [e.name for m in mentions for e in m.entries if e.level == "district"]
        if districts:
            named = ", ".join(dict.fromkeys(districts))
            return _unknown(_span_text(text, tokens, mentions[0]),
                            f"only a district was found ({named}), no commune / "
                            f"chỉ có tên huyện ({named}), thiếu tên xã, phường")
        return _unknown("", "no commune or ward of Nghệ An found / "
                            "không tìm thấy tên xã, phường nào của Nghệ An")

    def _name_at(self, tokens: list[Token], i: int) -> int:
        """Length of the longest indexed name starting at token ``i`` (0 if none)."""
        if i >= len(tokens):
            return 0
        for n in range(min(self._max_len, len(tokens) - i), 0, -1):
            span = tokens[i:i + n]
            if span[-1].segment == span[0].segment and key_of(span) in self._by_key:
                return n
        return 0

    def _keyword_here(self, tokens: list[Token], i: int) -> tuple[str, int] | None:
        # "xa luong" is Xá Lượng, but "xa luong minh" is xã Lượng Minh: a bare keyword spelling
        # that also starts a name counts as keyword only when a name follows it.
        found = keyword_at(tokens, i)
        if found is None:
            return None
        role, n, marks_match = found
        if marks_match or not self._name_at(tokens, i) or self._name_at(tokens, i + n):
            return role, n
        return None

    def _scan(self, tokens: list[Token]
              ) -> tuple[list[_Mention], list[int], dict[int, str], list[tuple[int, int]]]:
        """Split tokens into name mentions, free words (for fuzzy), the type word before a
        token, and places outside the province."""
        mentions: list[_Mention] = []
        elsewhere: list[tuple[int, int]] = []
        free: list[int] = []
        prefixes: dict[int, str] = {}
        village_end = -1  # first token after the current village part
        i = 0
        while i < len(tokens):
            keyword = self._keyword_here(tokens, i)
            if keyword is not None:
                role, n = keyword
                if role in TYPE_ROLES:
                    prefixes[i + n] = role
                elif role in VILLAGE_ROLES:
                    village_end = self._village_end(tokens, i, n)
                elif role == "elsewhere":
                    elsewhere.append((i, i + n))
                i += n
                continue
            n = self._name_at(tokens, i)
            if n:
                mentions.append(_Mention(i, i + n, self._by_key[key_of(tokens[i:i + n])],
                                         prefixes.get(i), i < village_end))
                i += n
                continue
            if i >= village_end and not has_digit(tokens[i].ascii):
                free.append(i)
            i += 1
        return mentions, free, prefixes, elsewhere

    @staticmethod
    def _reliable(m: _Mention, tokens: list[Token], busy: set[int]) -> bool:
        """Whether a name can be read as the commune: "sử dụng" holds the letters of Thị trấn
        Dùng and "đối diện trường" those of Xã Diễn Trường, so a name without a type word must
        stand in its own comma-separated part or be written with its exact diacritics."""
        if m.prefix in COMMUNE_KINDS or tokens[m.start].segment not in busy:
            return True
        span = tokens[m.start:m.end]
        marked = tuple(t.marked for t in span)
        return len(span) > 1 and any(t.has_marks for t in span) and any(
            e.marked == marked for e in m.entries)

    def _village_end(self, tokens: list[Token], i: int, n: int) -> int:
        """End of a village part starting at ``i``: "Xóm 3" stops after the number,
        "Bản Huồi Khe" runs to the next separator or type word."""
        j = i + n
        same_segment = j < len(tokens) and tokens[j].segment == tokens[i].segment
        if same_segment and has_digit(tokens[j].ascii):
            return j + 1
        while j < len(tokens) and tokens[j].segment == tokens[i].segment:
            keyword = self._keyword_here(tokens, j)
            if keyword is not None and keyword[0] not in VILLAGE_ROLES:
                break
            j += 1
        return j

    @staticmethod
    def _rank(m: _Mention) -> int | None:
        """How surely a mention names the commune (lower is surer); None: not a commune."""
        communes = [e for e in m.entries if e.level == "commune"]
        if not communes or m.prefix == "district":
            return None
        if m.prefix in COMMUNE_KINDS:
            return 0
        if not any(e.level == "district" for e in m.entries):
            return 1
        if any(e.via == "name_2025" for e in communes):
            return 2  # "Quế Phong": the 2025 commune, though it may mean the old district
        return None  # "Kỳ Sơn": an old commune of Tân Kỳ, but far more likely the district

    def _choose(self, mentions: list[_Mention]) -> tuple[_Mention, float] | None:
        mentions = [m for m in mentions if m.reliable]
        for in_village in (False, True):
            ranked = [(r, m.start, m) for m in mentions
                      if m.in_village == in_village and (r := self._rank(m)) is not None]
            if ranked:
                rank, _, m = min(ranked, key=lambda t: t[:2])
                factor = (_SCORE_IN_VILLAGE if in_village else 1.0) * (
                    _SCORE_DISTRICT_LIKE if rank == 2 else 1.0)
                return m, factor
        # "Kỳ Sơn, Huyện Tân Kỳ": a name read as a district above is the old commune when
        # another district is written beside it.
        for m in mentions:
            own = {d for e in m.entries if e.level == "district" for d in e.districts}
            others = {d for o in mentions if o is not m and not o.in_village
                      for e in o.entries if e.level == "district" for d in e.districts}
            if (not m.in_village and m.prefix is None and others - own
                    and any(e.level == "commune" for e in m.entries)):
                return m, _SCORE_DISTRICT_LIKE
        return None

    def _fuzzy(self, tokens: list[Token], free: list[int],
               prefixes: dict[int, str]) -> tuple[_Mention, float] | None:
        """A typo'd name among the free words, when one name is clearly closest."""
        runs: list[list[int]] = []
        for i in free:
            if runs and runs[-1][-1] == i - 1 and tokens[i].segment == tokens[i - 1].segment:
                runs[-1].append(i)
            else:
                runs.append([i])
        free_in_segment: dict[int, int] = defaultdict(int)
        for i in free:
            free_in_segment[tokens[i].segment] += 1
        best: list[tuple[int, int, tuple[str, ...]]] = []
        best_ratio = FUZZY_MIN_RATIO
        matcher = difflib.SequenceMatcher(autojunk=False)
        for run in runs:
            for a in range(len(run)):
                typed = prefixes.get(run[a]) in COMMUNE_KINDS
                for b in range(a + 1, min(a + self._max_len + 1, len(run)) + 1):
                    # a typo is looked for after a type word or in a part of its own only:
                    # "nhà văn hóa" is one letter from "An Hòa"
                    if not typed and b - a != free_in_segment[tokens[run[a]].segment]:
                        continue
                    window = "".join(tokens[k].ascii for k in run[a:b])
                    if len(window) < FUZZY_MIN_CHARS:
                        continue
                    matcher.set_seq2(window)
                    for compact, key in self._compact.items():
                        matcher.set_seq1(compact)
                        if (matcher.real_quick_ratio() < best_ratio
                                or matcher.quick_ratio() < best_ratio):
                            continue
                        ratio = matcher.ratio()
                        if ratio > best_ratio + 1e-9:
                            best_ratio, best = ratio, [(run[a], run[b - 1] + 1, key)]
                        elif abs(ratio - best_ratio) <= 1e-9:
                            best.append((run[a], run[b - 1] + 1, key))
        if not best:
            return None
        entries = tuple(e for _, _, key in best for e in self._by_key[key])
        start, end = min(s for s, _, _ in best), max(e for _, e, _ in best)
        mention = _Mention(start, end, entries, prefixes.get(start), False)
        if self._rank(mention) is None:
            return None
        return mention, best_ratio

    def _context(self, chosen: _Mention, mentions: list[_Mention]) -> tuple[set[str], set[str]]:
        """District keys and 2025 commune codes written besides the chosen commune name."""
        districts: set[str] = set()
        communes: set[str] = set()
        for m in mentions:
            if m is chosen or m.in_village:
                continue
            if not m.reliable:
                continue
            as_district = [e for e in m.entries if e.level == "district"]
            if as_district and m.prefix not in COMMUNE_KINDS:
                districts |= {d for e in as_district for d in e.districts}
            elif m.prefix != "district":
                communes |= _codes(e for e in m.entries if e.via == "name_2025")
        return districts, communes

    def _resolve(self, m: _Mention, mentions: list[_Mention], tokens: list[Token], text: str,
                 score: float, fuzzy: bool = False) -> Match:
        span = tokens[m.start:m.end]
        matched_text = _span_text(text, tokens, m)
        entries = [e for e in m.entries if e.level == "commune"]
        if not fuzzy and any(t.has_marks for t in span):  # a typo is scored by its ratio
            exact = [e for e in entries if e.marked == tuple(t.marked for t in span)]
            if exact:
                entries = exact
            else:
                score *= _SCORE_MARKS_DIFFER
        districts, context_codes = self._context(m, mentions)
        contradicted = []
        for written, keep in ((m.prefix in COMMUNE_KINDS, lambda e: e.kind == m.prefix),
                              (bool(districts), lambda e: bool(e.districts & districts))):
            if written:
                kept = [e for e in entries if keep(e)]
                entries = kept or entries
                contradicted += [] if kept else [written]
        if len(contradicted) == 2:
            # "P. Hồng Sơn, TP Vinh": the only Hồng Sơn is a xã of Đô Lương, a different place.
            found = "; ".join(f"{e.name}, {e.district}" for e in entries)
            return _unknown(matched_text, f"'{matched_text}' is only known as {found}: neither "
                                          f"the type word nor the district fit / chỉ có {found}: "
                                          f"không khớp loại xã, phường và huyện đã ghi")
        score *= _SCORE_HINT_CONTRADICTED ** len(contradicted)
        codes = _codes(entries)
        if len(codes) > 1 and not districts:
            entries = _soft_filter(entries, lambda e: e.via == "name_2025")
            codes = _codes(entries)
        if len(codes) > 1 and len(codes & context_codes) == 1:
            codes = codes & context_codes
        score = round(min(score, 1.0), 3)
        if len(codes) == 1:
            code = next(iter(codes))
            via = "name_2025" if any(e.via == "name_2025" and code in e.codes for e in entries) \
                else "name_pre2025"
            return Match(code, self.names_.get(code), score, "matched", matched_text, via, (code,))
        if not codes:
            return _unknown(matched_text, f"'{entries[0].name}' has no 2025 commune in the "
                                          f"crosswalk / không có xã mới tương ứng")
        return Match(None, None, score, "ambiguous", matched_text, None, tuple(sorted(codes)),
                     self._ambiguity_reason(matched_text, entries))

    def _ambiguity_reason(self, text: str, entries: list[Entry]) -> str:
        readings = []
        for e in entries:
            new = " / ".join(self.names_.get(c, c) for c in e.codes)
            readings.append(f"{e.name} (2025)" if e.via == "name_2025"
                            else f"{e.name}, {e.district} → {new}")
        listing = "; ".join(readings)
        split = [e.name for e in entries if len(e.codes) > 1]
        head_en = f"'{split[0]}' was split between communes in 2025" if split \
            else f"'{text}' fits several communes"
        head_vi = f"'{split[0]}' bị chia cho nhiều xã năm 2025" if split \
            else f"'{text}' khớp nhiều xã"
        return (f"ambiguous: {head_en} ({listing}); add the old district or the 2025 commune / "
                f"không xác định: {head_vi}; ghi thêm huyện cũ hoặc tên xã mới")

    # ------------------------------------------------------------------ search
    def search(self, text: str, limit: int = 10) -> list[SearchHit]:
        """Suggestions for a search box, with or without diacritics, old names included.

        Parameters
        ----------
        text : what the user typed, e.g. ``"nam can"``, ``"Hưng Dũng"``, ``"xa tri"``
        limit : at most this many hits

        Returns
        -------
        list of SearchHit, best first (exact, then prefix, then contained, then close spelling;
        2025 names before old ones; matching diacritics first)

        Examples
        --------
        >>> [h.label for h in Gazetteer.default().search("Nậm Cắn", limit=2)]
        ['Xã Nậm Cắn', 'Xã Nậm Càn (Huyện Kỳ Sơn, trước 2025) → Xã Na Ngoi']
        """
        if limit < 1:
            raise ValueError(f"limit must be ≥ 1, got {limit}")
        tokens = tokenize(unicodedata.normalize("NFC", text or ""))
        found = keyword_at(tokens, 0) if tokens else None
        if found and found[0] in TYPE_ROLES and found[1] < len(tokens):
            tokens = tokens[found[1]:]
        if not tokens:
            return []
        query = " ".join(t.ascii for t in tokens)
        query_marked = " ".join(t.marked for t in tokens)
        with_marks = any(t.has_marks for t in tokens)
        hits: dict[tuple[str, str], SearchHit] = {}
        for e in self.entries_:
            if e.level != "commune":
                continue
            score = search_score(query, " ".join(e.key))
            if score == 0:
                continue
            if with_marks and " ".join(e.marked).startswith(query_marked):
                score += 0.05
            if e.via == "name_pre2025":
                score -= 0.01
            for code in e.codes:
                if e.via == "name_pre2025" and self._marked_2025.get(code) == e.marked:
                    continue  # the old name is the 2025 name: one hit is enough
                name = self.names_.get(code, code)
                label = (name if e.via == "name_2025"
                         else f"{e.name} ({e.district}, trước 2025) → {name}")
                hit = SearchHit(code, name, label, e.via, round(min(score, 1.0), 3))
                if hits.get((code, label), hit).score <= hit.score:
                    hits[(code, label)] = hit
        ranked = sorted(hits.values(), key=lambda h: (-h.score, h.via != "name_2025", h.label))
        return ranked[:limit]


def _span_text(text: str, tokens: list[Token], m: _Mention) -> str:
    return text[tokens[m.start].start:tokens[m.end - 1].end]


def _unknown(matched_text: str, reason: str) -> Match:
    return Match(None, None, 0.0, "unknown", matched_text, None, (), reason)


@lru_cache(maxsize=1)
def _default_gazetteer() -> Gazetteer:
    return Gazetteer.from_frames(boundaries.communes(), boundaries.commune_lineage(),
                                 boundaries.pre2025_communes())
