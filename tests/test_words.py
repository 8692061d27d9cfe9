"""The one word table: both languages complete, every coded value worded, and cheap to load."""
from __future__ import annotations

import subprocess
import sys

import pytest

from geo_pcmt.ingest.headers import _VALUE_WORDS, value_labels
from geo_pcmt.layers import get_layer
from geo_pcmt.outputs.map.i18n import I18N
from geo_pcmt.words import WORDS


def test_both_languages_have_the_same_words():
    assert set(WORDS["vi"]) == set(WORDS["en"])
    assert set(I18N["vi"]) == set(I18N["en"])
    missing = [k for lang in ("vi", "en") for k, v in WORDS[lang].items() if not str(v).strip()]
    assert not missing, missing


def test_the_map_adds_only_its_layer_names():
    extra = set(I18N["vi"]) - set(WORDS["vi"])
    assert extra and all(k.startswith("layer.") for k in extra)
    assert all(I18N["vi"][k] == v for k, v in WORDS["vi"].items())


@pytest.mark.parametrize("layer,field", sorted((k for k in _VALUE_WORDS if k[0]), key=str))
def test_every_allowed_code_has_vietnamese_and_english_words(layer, field):
    spec = get_layer(layer)
    labels = value_labels(spec, field)
    allowed = spec.field(field).allowed
    assert set(labels) == set(allowed), f"{layer}.{field}: no words for {set(allowed) - set(labels)}"
    prefix = _VALUE_WORDS[(layer, field)]
    assert all(WORDS["en"].get(prefix + v) for v in allowed)
    assert all(label != code for code, label in labels.items())  # words, not codes


def test_a_word_lookup_does_not_load_the_map_package():
    # upload checks and the CLI read words; they must not pay for folium and the map build
    code = ("import sys; from geo_pcmt.ingest.headers import value_labels; "
            "from geo_pcmt.layers import get_layer; "
            "value_labels(get_layer('cases'), 'kind'); "
            "print(sorted(m for m in sys.modules if m == 'folium' or m.startswith('geo_pcmt.outputs.map')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_class_names_are_written_once():
    # every product (report, exports, charts, status warnings) names a commune class with the
    # word table's words; a second copy of a name is how two products came to disagree
    from pathlib import Path
    import geo_pcmt
    root = Path(geo_pcmt.__file__).parent
    names = [w[0] for w in __import__("geo_pcmt.words", fromlist=["CLASS_WORDS"]).CLASS_WORDS.values()
             if len(w[0]) > 15]
    copies = [(str(p.relative_to(root)), n) for p in root.rglob("*")
              if p.suffix in (".py", ".html", ".js") and p.name != "words.py"
              for n in names if n in p.read_text(encoding="utf-8")]
    assert not copies, copies


def test_products_name_a_class_alike():
    import pandas as pd
    from geo_pcmt.analysis.report_tables import CLASS_VI
    from geo_pcmt.outputs.charts import STATUS_LABELS
    from geo_pcmt.outputs.headers import readable
    from geo_pcmt.words import class_name
    shown = readable(pd.DataFrame({"commune_code": ["1"], "status": ["khong_trong_diem"]}))
    assert shown.iloc[0, 1] == class_name("khong_trong_diem") == CLASS_VI["khong_trong_diem"] \
        == STATUS_LABELS["khong_trong_diem"] == "Không ghi nhận tệ nạn ma túy"
