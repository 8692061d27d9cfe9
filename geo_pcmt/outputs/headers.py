"""Tables as an officer reads them: Vietnamese column headers and class names instead of codes.

Exports of derived tables (``geo-pcmt status --csv``, ``progress --xlsx``, ``treatment``,
``methadone``) use :func:`readable` by default; ``--codes`` keeps the field names and codes
for scripts and GIS. Headers come from the layer schema (:mod:`geo_pcmt.layers`), then
:data:`EXTRA_HEADERS` for computed columns that are not stored fields.
"""
from __future__ import annotations

from typing import Mapping

import pandas as pd

from geo_pcmt.layers import LAYERS
from geo_pcmt.words import CLASS_WORDS, TRANSITION_WORDS

#: Class and transition codes → the Vietnamese words of the one word table.
CLASS_NAMES_VI = {**{code: words[0] for code, words in CLASS_WORDS.items()},
                  **{code: words[0] for code, words in TRANSITION_WORDS.items()}}
CLASS_COLUMNS = ("status", "computed_class", "provisional_class", "previous_status",
                 "drug_free_label", "transition", "target_status", "current_status")
EXTRA_HEADERS = {
    "commune_code": "Mã xã", "commune_name": "Xã, phường", "period": "Kỳ",
    "previous_period": "Kỳ trước", "previous_status": "Tình trạng kỳ trước",
    "transition": "Chuyển biến", "steps": "Số bậc", "rule_set_changed": "Đổi bộ tiêu chí",
    "drug_free": CLASS_WORDS["khong_ma_tuy"][0], "is_border": "Xã biên giới",
    "lao_province": "Tỉnh Lào giáp ranh", "as_of": "Số liệu đến ngày",
    "points_new": "Điểm mới phát hiện", "points_cleared": "Điểm đã triệt xóa",
    "points_reemerged": "Điểm tái phát", "points_active_end": "Điểm còn hoạt động cuối kỳ",
    "plots_found": "Nương phát hiện", "plot_area_found_m2": "Diện tích phát hiện (m²)",
    "plants_found": "Số cây phát hiện", "plots_eradicated": "Nương đã triệt phá",
    "plot_area_eradicated_m2": "Diện tích triệt phá (m²)", "cases": "Vụ án",
    "offenders": "Đối tượng", "recognitions_granted": "Quyết định công nhận",
    "recognitions_revoked": "Thu hồi công nhận", "judged_by": "Bộ tiêu chí so sánh",
    "previous_rule_set": "Bộ tiêu chí kỳ trước",
}
HIDDEN = ("criteria", "params", "run_id", "geometry")  # JSON and run bookkeeping


def readable(frame: pd.DataFrame, layer: str | None = None,
             headers: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``frame`` with Vietnamese headers, class names and yes/no; JSON columns left out.

    Parameters
    ----------
    frame : DataFrame
    layer : str, optional
        Schema layer whose ``label_vi`` name the columns.
    headers : mapping, optional
        More column → header names (win over the schema's).

    Examples
    --------
    >>> readable(pd.DataFrame({"commune_code": ["16837"], "status": ["loai_I"],
    ...                        "is_border": [True]})).columns.tolist()
    ['Mã xã', 'Tình trạng', 'Xã biên giới']
    """
    out = frame.drop(columns=[c for c in HIDDEN if c in frame.columns]).copy()
    for col in CLASS_COLUMNS:
        if col in out.columns:
            out[col] = out[col].map(lambda v: CLASS_NAMES_VI.get(v, v))
    for col in out.columns:
        if out[col].dtype == bool:
            out[col] = out[col].map({True: "có", False: "không"})
    names = dict(EXTRA_HEADERS)
    spec = LAYERS.get(layer) if layer else None
    if spec is not None:
        names.update({f.name: f.label_vi for f in spec.fields if f.label_vi})
    names.update({"status": "Tình trạng"})
    names.update(headers or {})
    return out.rename(columns={c: names[c] for c in out.columns if c in names})


__all__ = ["CLASS_NAMES_VI", "EXTRA_HEADERS", "readable"]
