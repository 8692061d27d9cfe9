"""Match the column headers officers type to a layer's fields: one matcher for every file.

A header is folded the way addresses are (:func:`geo_pcmt.ingest.address.normalize`: lower
case, no diacritics, đ → d, single spaces), so "Kinh độ", "KINH DO" and "kinh_do" are the
same header. It matches a field by the field's name, its Vietnamese and English labels
(the template's headers, :mod:`geo_pcmt.outputs.template`) and the usual spellings below;
coordinates match ``lon``/``lat``. Headers that match nothing keep their folded form, so
that validation can name them as unknown columns.
"""
from __future__ import annotations

from geo_pcmt.ingest.address import normalize
from geo_pcmt.layers import Layer

#: Canonical names of the coordinate columns.
LON, LAT = "lon", "lat"

_COORDINATES = {
    LON: ("lon", "lng", "long", "longitude", "kinh do", "kinhdo", "x", "toa do x",
          "kinh do (do)", "kinh do x"),
    LAT: ("lat", "latitude", "vi do", "vido", "y", "toa do y", "vi do (do)", "vi do y"),
}

# Usual spellings beyond the schema's labels (folded); a field name → its aliases.
_SPELLINGS: dict[str, tuple[str, ...]] = {
    "id": ("ma", "ma so", "ma diem", "ma ban ghi", "so hieu", "identifier"),
    "type": ("loai", "loai diem", "phan loai", "kind"),
    "kind": ("loai", "loai vu", "phan loai", "type"),
    "name": ("ten", "ten diem", "mo ta", "ten mo ta", "ten/mo ta"),
    "address": ("dia chi", "dia diem", "noi o"),
    "status": ("tinh trang", "trang thai", "hien trang"),
    "first_seen": ("ngay phat hien", "phat hien", "ngay phat hien lan dau", "first seen"),
    "detected_on": ("ngay phat hien", "phat hien"),
    "last_activity": ("hoat dong cuoi", "ngay hoat dong gan nhat"),
    "cleared_on": ("ngay triet xoa", "ngay triet pha", "ngay xoa bo"),
    "eradicated_on": ("ngay triet pha", "ngay pha"),
    "case_ref": ("so vu an", "so vu", "ma vu an"),
    "commune_code": ("ma xa", "ma xa phuong"),
    "confidentiality": ("do mat", "muc mat", "muc do mat"),
    "source": ("nguon", "nguon tin"),
    "date": ("ngay", "ngay bat", "ngay xay ra"),
    "area_m2": ("dien tich", "dien tich m2"),
}


def fold(header: object) -> str:
    """A header folded for matching ("Kinh độ " → ``"kinh do"``; "first_seen" →
    ``"first seen"``).

    Examples
    --------
    >>> fold("Ngày phát hiện"), fold("  KINH_ĐỘ "), fold("first_seen")
    ('ngay phat hien', 'kinh do', 'first seen')
    """
    return normalize(str(header).replace("_", " "))


def aliases(spec: Layer) -> dict[str, str]:
    """Every folded spelling that names a column of ``spec`` → the canonical column name.

    A field's own name and labels win over the usual spellings of another field, so that
    "Loại" is ``type`` for retail points and ``kind`` for cases.
    """
    table: dict[str, str] = {}
    if spec.has_geometry:
        for canonical, names in _COORDINATES.items():
            table.update({fold(n): canonical for n in names})
    for f in spec.fields:  # usual spellings first, so that the schema's own words override
        for n in _SPELLINGS.get(f.name, ()):
            table.setdefault(fold(n), f.name)
    for f in spec.fields:
        for n in (f.label_en, f.label_vi, f.name):
            if n:
                table[fold(n)] = f.name
    if "address" not in spec.field_names:  # an address helps place rows of any point layer
        table.update({fold(n): "address" for n in ("address",) + _SPELLINGS["address"]})
    return table


def match_headers(headers: list, spec: Layer) -> dict:
    """Each header → its canonical column name for ``spec`` (unmatched: the header folded
    to ``snake_case``). Headers marked required with a trailing ``*`` match as well.

    Examples
    --------
    >>> from geo_pcmt.layers import get_layer
    >>> match_headers(["Mã", "Kinh độ", "Vi do", "Loại điểm *", "Ghi chú"],
    ...               get_layer("retail_points"))
    {'Mã': 'id', 'Kinh độ': 'lon', 'Vi do': 'lat', 'Loại điểm *': 'type', 'Ghi chú': 'ghi_chu'}
    """
    table = aliases(spec)
    out, used = {}, set()
    for h in headers:
        key = fold(str(h).rstrip().rstrip("*"))
        name = table.get(key, key.replace(" ", "_") or str(h).strip().lower())
        while name in used:  # a second column for the same field: named, never merged
            name += "_2"
        used.add(name)
        out[h] = name
    return out


# Coded values whose words are in the one word table (geo_pcmt.words):
# (layer or None for any layer, field) → key prefix there.
_VALUE_WORDS: dict[tuple[str | None, str], str] = {
    ("retail_points", "type"): "type.", ("retail_points", "status"): "pstatus.",
    ("border_crossings", "kind"): "kind.", ("border_crossings", "planned_kind"): "kind.",
    ("facilities", "kind"): "fac.", ("recognitions", "label"): "status.",
    ("cases", "kind"): "ckind.",
}


def value_labels(spec: Layer, field: str) -> dict[str, str]:
    """Coded value → the Vietnamese words an officer reads and picks (``"active"`` →
    ``"Đang hoạt động"``); empty for fields whose values have no words yet.

    Examples
    --------
    >>> from geo_pcmt.layers import get_layer
    >>> value_labels(get_layer("retail_points"), "status")["cleared"]
    'Đã triệt xóa'
    >>> value_labels(get_layer("retail_points"), "confidentiality")["restricted"]
    'MẬT'
    """
    f = spec.field(field) if field in spec.field_names else None
    if f is None or not f.allowed:
        return {}
    if field == "confidentiality":
        from geo_pcmt.access import MARKINGS
        return {v: MARKINGS[v][0] for v in f.allowed if v in MARKINGS}
    prefix = _VALUE_WORDS.get((spec.name, field))
    if prefix is None:
        return {}
    from geo_pcmt.words import WORDS  # imported here: words -> analysis -> ingest
    words = WORDS["vi"]
    labels = {v: words[prefix + v] for v in f.allowed if prefix + v in words}
    return labels if len(labels) == len(f.allowed) else {}


def value_lookup(spec: Layer, field: str) -> dict[str, str]:
    """Folded spellings of a coded field's values (its codes and their Vietnamese words,
    with or without diacritics) → the code; empty for free fields."""
    f = spec.field(field) if field in spec.field_names else None
    if f is None or not f.allowed:
        return {}
    table = {fold(v): v for v in f.allowed}
    table.update({fold(label): v for v, label in value_labels(spec, field).items()})
    return table
