"""Vietnamese address text: folding (no diacritics), tokens, the type and village words.

The words that say what a name is ("xã", "phường", "huyện", "bản", "tổ 3" …) are data here
(:data:`KEYWORDS`); :mod:`geo_pcmt.ingest.gazetteer` reads addresses with them.
"""
from __future__ import annotations

import bisect
import difflib
import math
import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass

COMMUNE_KINDS = ("xa", "phuong", "thi_tran")
TYPE_ROLES = COMMUNE_KINDS + ("district",)
VILLAGE_ROLES = ("village", "village_numbered")
KEYWORDS: dict[str, tuple[str, ...]] = {
    "xa": ("xã", "x"),
    "phuong": ("phường", "p"),
    "thi_tran": ("thị trấn", "tt", "t t"),
    "district": ("huyện", "h", "thành phố", "tp", "t p", "thị xã", "tx", "t x"),
    "province": ("tỉnh nghệ an", "t nghệ an", "nghệ an", "việt nam", "vn"),
    "village": ("bản", "khối", "xóm", "thôn", "ấp", "khu", "làng", "tiểu khu", "số nhà",
                "đường", "phố", "ngõ", "ngách", "hẻm"),
    "village_numbered": ("tổ", "đội", "số", "sn", "km"),  # only before a number: "Tổ 3"
    # Places outside Nghệ An often written in home addresses; a commune of the same name
    # there ("Thanh Xuân, Hà Nội") must not land in Nghệ An. Not exhaustive: extend as met.
    "elsewhere": ("hà nội", "hà tĩnh", "thanh hóa", "quảng bình", "hồ chí minh", "sài gòn",
                  "hải phòng", "đà nẵng"),
}
# Keywords whose plain spelling is also a name ("Lạng Sơn"), so they count only with their marks.
_MARKS_REQUIRED = frozenset({"làng"})

_TONES = {"\u0300": "2", "\u0301": "1", "\u0309": "3", "\u0303": "4", "\u0323": "5"}
_SEPARATORS = re.compile(r"[,;/|()\[\]\n\u2013\u2014-]")
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Token:
    """One word of an address: folded, with its marks, its place in the text and its
    comma-separated part (``segment``)."""

    ascii: str
    marked: str
    start: int
    end: int
    segment: int

    @property
    def has_marks(self) -> bool:
        return self.ascii != self.marked


def normalize(text: object) -> str:
    """Fold text for comparison: lower case, no diacritics (đ → d), single spaces, no punctuation.

    Parameters
    ----------
    text : any value; None and NaN give ``""``

    Returns
    -------
    str

    Examples
    --------
    >>> normalize("  Xã NẬM CẮN, huyện Kỳ Sơn ")
    'xa nam can huyen ky son'
    >>> normalize("Đô Lương") == normalize("do luong")
    True
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return ""
    words = _WORD.findall(unicodedata.normalize("NFC", str(text)).lower())
    return " ".join(ascii_fold(w) for w in words)


def ascii_fold(word: str) -> str:
    """``word`` without diacritics (đ → d), case kept."""
    decomposed = unicodedata.normalize("NFD", word.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def marked_word(word: str) -> str:
    """``word`` lower case with its marks, the tone moved to the end as a digit."""
    # The tone moves to the end so that old and new tone placement compare equal
    # ("Hoà" = "Hòa", "Thuỷ" = "Thủy"); vowel marks (â, ơ, ư, đ …) stay where they are.
    tone, kept = "", []
    for c in unicodedata.normalize("NFD", word.lower()):
        if c in _TONES:
            tone = _TONES[c]
        else:
            kept.append(c)
    return unicodedata.normalize("NFC", "".join(kept)) + tone


def tokenize(text: str) -> list[Token]:
    """The words of ``text``, each knowing which separator-delimited part it is in."""
    seps = [m.start() for m in _SEPARATORS.finditer(text)]
    return [Token(ascii_fold(m.group().lower()), marked_word(m.group()), m.start(), m.end(),
                   bisect.bisect_left(seps, m.start()))
            for m in _WORD.finditer(text)]


def _keyword_table() -> dict[tuple[str, ...], list[tuple[str, tuple[str, ...], str]]]:
    table: dict[tuple[str, ...], list[tuple[str, tuple[str, ...], str]]] = defaultdict(list)
    for role, spellings in KEYWORDS.items():
        for spelling in spellings:
            words = spelling.split()
            table[tuple(ascii_fold(w) for w in words)].append(
                (role, tuple(marked_word(w) for w in words), spelling))
    return dict(table)


_KEYWORD_TABLE = _keyword_table()
_KEYWORD_MAX_LEN = max(len(k) for k in _KEYWORD_TABLE)


def keyword_at(tokens: list[Token], i: int) -> tuple[str, int, bool] | None:
    """The longest type/village/province word at ``i``: (role, length, written with its marks)."""
    for n in range(min(_KEYWORD_MAX_LEN, len(tokens) - i), 0, -1):
        span = tokens[i:i + n]
        if span[-1].segment != span[0].segment:
            continue
        for role, marked, spelling in _KEYWORD_TABLE.get(tuple(t.ascii for t in span), ()):
            marks_match = tuple(t.marked for t in span) == marked
            if spelling in _MARKS_REQUIRED and not marks_match:
                continue
            if role == "village_numbered":
                nxt = tokens[i + n] if i + n < len(tokens) else None
                if nxt is None or nxt.segment != span[0].segment or not has_digit(nxt.ascii):
                    continue
            return role, n, marks_match
    return None


def has_digit(word: str) -> bool:
    """Whether ``word`` holds a digit (house and hamlet numbers: "tổ 3", "km12")."""
    return any(c.isdigit() for c in word)


def split_type(name: str) -> tuple[str | None, list[Token]]:
    """("xa", tokens of "Hòa Sơn") for "Xã Hòa Sơn"; the type word is dropped."""
    tokens = tokenize(name)
    found = keyword_at(tokens, 0) if tokens else None
    if found and found[0] in TYPE_ROLES and found[2] and found[1] < len(tokens):
        return found[0], tokens[found[1]:]
    return None, tokens


def district_key(name: str) -> str:
    """A district name folded, without its type word: "Huyện Kỳ Sơn" → "ky son"."""
    return " ".join(t.ascii for t in split_type(name)[1])


def search_score(query: str, name: str) -> float:
    """How well a folded search-box query fits a folded name: 0.95 exact … 0 unrelated."""
    if name == query:
        return 0.95
    if name.startswith(query):
        return 0.85
    if f" {query}" in f" {name}":
        return 0.75
    compact_query, compact_name = query.replace(" ", ""), name.replace(" ", "")
    if len(compact_query) >= 3 and compact_query in compact_name:
        return 0.65
    ratio = difflib.SequenceMatcher(None, compact_query, compact_name).ratio()
    return round(0.6 * ratio, 3) if ratio >= 0.75 else 0.0


def key_of(tokens: list[Token]) -> tuple[str, ...]:
    """The folded words of ``tokens``: how names are looked up."""
    return tuple(t.ascii for t in tokens)

