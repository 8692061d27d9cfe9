"""Rule sets as data: every threshold on both sides, explanations, and files that must be refused."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from geo_pcmt.analysis.rules import (
    RULES_DIR,
    RuleSetError,
    find_rule_set,
    load_rule_set,
    load_rule_sets,
    parse_rule_set,
    rule_set_for,
)
from geo_pcmt.analysis.rules.expr import ExprError, evaluate, parse


@pytest.fixture(scope="module")
def rule_sets():
    return load_rule_sets()


def clean(**changes) -> dict:
    """A commune of 10,000 people with nothing to report, then ``changes``."""
    row = {"population": 10_000, "addicts_with_records": 0, "users": 0,
           "harbouring_locations": 0, "offenders_arrested": 0, "plants": 0,
           "plant_area_m2": 0.0, "on_drug_route": False}
    row.update(changes)
    return row


def fired(rule_set, row, key):
    ev = rule_set.evaluate(row)
    return next(c["fired"] for c in ev.criteria if f"{c['outcome']}.{c['id']}" == key)


# Decision 28/2025: (criterion, values just at the threshold, values just below it).
# Rates are per cent of 10,000 people, so 50 addicts + users = 0.5 %.
BOUNDS_28 = [
    ("loai_I.a", {"addicts_with_records": 40, "users": 10}, {"addicts_with_records": 40, "users": 9}),
    ("loai_I.b", {"harbouring_locations": 2}, {"harbouring_locations": 1}),
    ("loai_I.c", {"offenders_arrested": 10}, {"offenders_arrested": 9}),
    ("loai_I.d", {"plants": 3000}, {"plants": 2999}),
    ("loai_I.d", {"plant_area_m2": 750.0}, {"plant_area_m2": 749.9}),
    ("loai_II.a", {"addicts_with_records": 20}, {"addicts_with_records": 19}),
    ("loai_II.b", {"harbouring_locations": 1}, {"harbouring_locations": 0}),
    ("loai_II.c", {"offenders_arrested": 5}, {"offenders_arrested": 4}),
    ("loai_II.d", {"plants": 500}, {"plants": 499}),
    ("loai_II.d", {"plant_area_m2": 125.0}, {"plant_area_m2": 124.9}),
    ("loai_III.a", {"users": 10}, {"users": 9}),
    ("loai_III.b", {"offenders_arrested": 2}, {"offenders_arrested": 1}),
    ("loai_III.c", {"plant_area_m2": 25.0}, {"plant_area_m2": 24.9}),
    ("loai_III.c", {"plants": 100}, {"plants": 99}),
    ("co_te_nan_ma_tuy.a", {"users": 1}, {"users": 0}),
    ("co_te_nan_ma_tuy.b", {"harbouring_locations": 1}, {"harbouring_locations": 0}),
    ("co_te_nan_ma_tuy.c", {"offenders_arrested": 1}, {"offenders_arrested": 0}),
    ("co_te_nan_ma_tuy.d", {"plant_area_m2": 0.5}, {"plant_area_m2": 0.0}),
    # đ: on a drug route with two lower-class criteria (here II.b and II.c)
    ("loai_I.đ", {"on_drug_route": True, "harbouring_locations": 1, "offenders_arrested": 5},
     {"on_drug_route": False, "harbouring_locations": 1, "offenders_arrested": 5}),
    ("loai_I.đ", {"on_drug_route": True, "harbouring_locations": 1, "offenders_arrested": 5},
     {"on_drug_route": True, "harbouring_locations": 1, "offenders_arrested": 4}),
    ("loai_II.đ", {"on_drug_route": True, "users": 10, "offenders_arrested": 2},
     {"on_drug_route": True, "users": 10, "offenders_arrested": 1}),
]

BOUNDS_3122 = [
    ("loai_I.a", {"addicts_with_records": 100}, {"addicts_with_records": 99}),
    ("loai_I.b", {"harbouring_locations": 5}, {"harbouring_locations": 4}),
    ("loai_I.c", {"plant_area_m2": 2000.0}, {"plant_area_m2": 1999.9}),
    ("loai_II.a", {"addicts_with_records": 50}, {"addicts_with_records": 49}),
    ("loai_II.b", {"harbouring_locations": 3}, {"harbouring_locations": 2}),
    ("loai_II.c", {"plant_area_m2": 1000.0}, {"plant_area_m2": 999.9}),
    ("loai_III.a", {"addicts_with_records": 1}, {"addicts_with_records": 0}),
    ("loai_III.b", {"harbouring_locations": 1}, {"harbouring_locations": 0}),
    ("loai_III.c", {"plant_area_m2": 0.1}, {"plant_area_m2": 0.0}),
    ("co_te_nan_ma_tuy.a", {"users": 1}, {"users": 0}),
    ("co_te_nan_ma_tuy.d", {"plants": 1}, {"plants": 0}),
]

BOUNDS_SACH = [  # "fires" = the commune meets that criterion of the label
    ("du_tieu_chi.a", {}, {"addicts_with_records": 1}),
    ("du_tieu_chi.a", {}, {"users": 1}),
    ("du_tieu_chi.b", {}, {"offenders_arrested": 1}),
    ("du_tieu_chi.c", {}, {"harbouring_locations": 1}),
    ("du_tieu_chi.d", {}, {"plants": 1}),
    ("du_tieu_chi.d", {}, {"plant_area_m2": 0.1}),
]


@pytest.mark.parametrize("key,at,below", BOUNDS_28)
def test_28_2025_criterion_fires_at_threshold_and_not_just_below(rule_sets, key, at, below):
    rs = find_rule_set(rule_sets, "28/2025")
    assert fired(rs, clean(**at), key) is True
    assert fired(rs, clean(**below), key) is False


@pytest.mark.parametrize("key,at,below", BOUNDS_3122)
def test_3122_2010_criterion_fires_at_threshold_and_not_just_below(rule_sets, key, at, below):
    rs = find_rule_set(rule_sets, "3122/2010/QĐ-BCA")
    assert fired(rs, clean(**at), key) is True
    assert fired(rs, clean(**below), key) is False


@pytest.mark.parametrize("key,ok,bad", BOUNDS_SACH)
def test_sach_ve_ma_tuy_criterion_holds_only_with_nothing_to_report(rule_sets, key, ok, bad):
    rs = find_rule_set(rule_sets, "sach_ve_ma_tuy")
    assert fired(rs, clean(**ok), key) is True
    assert fired(rs, clean(**bad), key) is False


def test_rate_threshold_is_exact_for_awkward_fractions(rule_sets):
    # 3 / 3,000 × 100 is 0.1 exactly; naive floating point gives 0.09999999999999999
    rs = find_rule_set(rule_sets, "28/2025")
    assert fired(rs, clean(population=3000, offenders_arrested=3), "loai_I.c") is True
    assert fired(rs, clean(population=3001, offenders_arrested=3), "loai_I.c") is False


def test_three_class_one_criteria_make_loai_I_and_two_do_not(rule_sets):
    rs = find_rule_set(rule_sets, "28/2025")
    three = rs.evaluate(clean(users=50, harbouring_locations=2, offenders_arrested=10))
    assert three.computed_class == "loai_I"
    assert "3 of 5" in three.reason and "a, b, c" in three.reason
    # two class-I criteria (a, b) fire class-II a and b too, but no third class-II band;
    # class III has only placeholder bands, so the class given is "drug activity, not a key
    # area" and the provisional class III says which bands it would rest on
    two = rs.evaluate(clean(users=50, harbouring_locations=2))
    assert two.computed_class == "co_te_nan_ma_tuy"
    assert two.provisional_class == "loai_III"
    assert two.rests_on == {"loai_III.a": ["loai_III.a"]}


def test_loai_II_needs_three_lower_bands(rule_sets):
    rs = find_rule_set(rule_sets, "28/2025")
    assert rs.evaluate(clean(users=20, harbouring_locations=1, offenders_arrested=5)
                       ).provisional_class == "loai_II"
    # II.a (0.2 %) is a placeholder: with II.b, II.c verified and II.a only a placeholder,
    # the commune is not class II; the provisional class II says it rests on II.a
    ev = rs.evaluate(clean(users=20, harbouring_locations=1, offenders_arrested=4))
    assert ev.computed_class == "co_te_nan_ma_tuy" and ev.provisional_class == "loai_III"
    ev = rs.evaluate(clean(users=20, harbouring_locations=1, offenders_arrested=5))
    assert ev.provisional_class == "loai_II" and ev.computed_class == "co_te_nan_ma_tuy"
    assert ev.rests_on == {"loai_II.a": ["loai_II.a"]}
    assert rs.evaluate(clean(users=20, harbouring_locations=1, offenders_arrested=5, plants=500)
                       ).computed_class == "loai_II"


def test_nothing_to_report_is_not_a_key_area_and_never_drug_free(rule_sets):
    for name in ("28/2025", "3122/2010"):
        ev = find_rule_set(rule_sets, name).evaluate(clean())
        assert ev.computed_class == "khong_trong_diem"
        assert not any(c["fired"] for c in ev.criteria)


def test_one_criterion_is_enough_under_3122(rule_sets):
    rs = find_rule_set(rule_sets, "3122/2010")
    assert rs.evaluate(clean(addicts_with_records=100)).computed_class == "loai_I"
    # type II and III bands of 3122 are placeholders: they never decide a class alone
    ev = rs.evaluate(clean(addicts_with_records=60))
    assert (ev.computed_class, ev.provisional_class) == ("co_te_nan_ma_tuy", "loai_II")
    ev = rs.evaluate(clean(addicts_with_records=3))
    assert (ev.computed_class, ev.provisional_class) == ("co_te_nan_ma_tuy", "loai_III")


def test_label_rule_set_says_whether_criteria_are_met(rule_sets):
    rs = find_rule_set(rule_sets, "sach_ve_ma_tuy_nghe_an")
    assert rs.kind == "label" and rs.label == "sach_ve_ma_tuy"
    assert rs.evaluate(clean()).computed_class == "du_tieu_chi"
    assert rs.evaluate(clean(users=1)).computed_class == "chua_du_tieu_chi"


def test_every_criterion_reports_value_threshold_and_result(rule_sets):
    rs = find_rule_set(rule_sets, "28/2025")
    ev = rs.evaluate(clean(offenders_arrested=10, plants=1200, plant_area_m2=800.0))
    c = next(c for c in ev.criteria if (c["outcome"], c["id"]) == ("loai_I", "c"))
    assert (c["value"], c["threshold"], c["fired"]) == (0.1, 0.1, True)
    d = next(c for c in ev.criteria if (c["outcome"], c["id"]) == ("loai_I", "d"))
    # the comparison that decided is the area one; both comparisons are kept
    assert (d["value"], d["threshold"], d["fired"]) == (800.0, 750, True)
    assert [(k["left"], k["value"], k["result"]) for k in d["checks"]] == [
        ("plants", 1200, False), ("plant_area_m2", 800.0, True)]
    assert len(ev.criteria) == 17 and ev.rates == {"addicts_users_pct": 0.0, "arrests_pct": 0.1}


def test_missing_count_leaves_the_class_undetermined_and_says_which_field(rule_sets):
    rs = find_rule_set(rule_sets, "28/2025")
    ev = rs.evaluate(clean(users=None, harbouring_locations=2, offenders_arrested=10))
    assert ev.computed_class == "chua_danh_gia"
    assert ev.missing == ["users"] and "users" in ev.reason
    # but a missing field that cannot change the outcome does not block it
    ev = rs.evaluate(clean(plants=None, users=50, harbouring_locations=2, offenders_arrested=10))
    assert ev.computed_class == "loai_I"


def test_unverified_bands_are_marked_in_the_data(rule_sets):
    rs = find_rule_set(rule_sets, "28/2025")
    assert set(rs.unverified) == {"loai_I.đ", "loai_II.a", "loai_III.a", "loai_III.b",
                                  "loai_III.c"}
    assert "loai_I.a" not in rs.unverified


def test_rule_set_in_force_follows_the_dates(rule_sets):
    assert rule_set_for(rule_sets, date(2024, 12, 31)).id == "3122/2010"
    assert rule_set_for(rule_sets, date(2025, 8, 23)).id == "3122/2010"
    assert rule_set_for(rule_sets, date(2025, 8, 24)).id == "28/2025"
    assert rule_set_for(rule_sets, date(2026, 6, 30)).id == "28/2025"
    assert rule_set_for(rule_sets, date(2026, 6, 30), kind="label").id == "sach_ve_ma_tuy_nghe_an"


def test_version_tag_changes_when_a_threshold_is_edited():
    text = (RULES_DIR / "28_2025.yaml").read_text(encoding="utf-8")
    before = parse_rule_set(text)
    after = parse_rule_set(text.replace("harbouring_locations >= 2", "harbouring_locations >= 3"))
    assert before.version == after.version and before.version_tag != after.version_tag
    assert after.evaluate(clean(harbouring_locations=2)).criteria[1]["fired"] is False


# --- files that must be refused, with file, line and criterion in the message ---------------

GOOD = """\
id: test
version: "1"
kind: classification
source: unit test
valid_from: 2020-01-01
rates:
  users_pct:
    numerator: users
outcomes:
  - class: loai_I
    at_least: 1
    criteria:
      - id: a
        when: users_pct >= 1
otherwise: khong_trong_diem
"""


def refused(text: str) -> RuleSetError:
    with pytest.raises(RuleSetError) as info:
        parse_rule_set(text, path="rules/test.yaml")
    return info.value


def test_good_minimal_rule_set_loads():
    rs = parse_rule_set(GOOD)
    assert rs.evaluate(clean(population=100, users=1)).computed_class == "loai_I"


def test_yaml_syntax_error_names_file_and_line():
    err = refused(GOOD.replace("    at_least: 1", "    at_least: [1"))
    assert str(err).startswith("rules/test.yaml, line ") and "YAML syntax error" in str(err)
    assert err.line in (11, 12, 13)


def test_expression_syntax_error_names_criterion_and_line():
    err = refused(GOOD.replace("users_pct >= 1", "users_pct >= "))
    assert err.line == 14 and err.where == "criterion loai_I.a"
    assert "syntax error" in str(err) and "users_pct >=" in str(err)


def test_unknown_field_is_refused_with_a_suggestion():
    err = refused(GOOD.replace("        when: users_pct >= 1",
                               "        when: users_pct >= 1\n        unverfied: true"))
    assert err.line == 15 and err.where == "criterion loai_I.a"
    assert "unknown field 'unverfied'; did you mean 'unverified'?" in str(err)


def test_unknown_top_level_field_is_refused():
    err = refused(GOOD + "valid_untill: 2030-01-01\n")
    assert err.line == 16 and "valid_untill" in str(err) and "valid_to" in str(err)


def test_unknown_variable_is_refused():
    err = refused(GOOD.replace("users_pct >= 1", "addicts >= 1"))
    assert "unknown name(s) addicts" in str(err) and err.line == 14


def test_code_in_a_criterion_is_refused_and_never_run(tmp_path):
    target = tmp_path / "pwned"
    for expr in (f"open('{target}', 'w')", "__import__('os').system('true')",
                 "users.__class__", "[x for x in (1, 2)]", "lambda: 1", "users if users else 0"):
        err = refused(GOOD.replace("when: users_pct >= 1", f"when: {json.dumps(expr)}"))
        assert err.where == "criterion loai_I.a" and err.line == 14, expr
    assert not target.exists()


def test_reference_to_missing_criterion_and_circles_are_refused():
    err = refused(GOOD.replace("users_pct >= 1", "loai_II.a"))
    assert "does not exist" in str(err)
    circle = GOOD.replace("when: users_pct >= 1", "when: loai_I.b\n      - id: b\n"
                                                  "        when: loai_I.a")
    assert "circular reference" in str(refused(circle))


def test_a_rule_set_cannot_grant_drug_free_status():
    err = refused(GOOD.replace("class: loai_I", "class: khong_ma_tuy"))
    assert "recognition" in str(err)
    assert "recognition" in str(refused(GOOD.replace("otherwise: khong_trong_diem",
                                                     "otherwise: sach_ve_ma_tuy")))


def test_missing_required_field_and_bad_at_least_are_refused():
    assert "required field 'source'" in str(refused(GOOD.replace("source: unit test\n", "")))
    assert "at_least" in str(refused(GOOD.replace("at_least: 1", "at_least: 2")))


def test_bad_file_in_a_rules_folder_names_the_file(tmp_path):
    (tmp_path / "ok.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(GOOD.replace("id: test", "id: other").replace(
        "users_pct >= 1", "users_pct >>= 1"), encoding="utf-8")
    with pytest.raises(RuleSetError) as info:
        load_rule_sets(tmp_path)
    assert str(info.value).startswith(str(tmp_path / "bad.yaml") + ", line 14")


def test_two_files_with_the_same_id_are_refused(tmp_path):
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(GOOD, encoding="utf-8")
    with pytest.raises(RuleSetError, match="already used"):
        load_rule_sets(tmp_path)


def test_packaged_files_all_load_and_are_yaml():
    names = sorted(p.name for p in Path(RULES_DIR).glob("*.yaml"))
    assert names == ["28_2025.yaml", "3122_2010.yaml", "sach_ve_ma_tuy_nghe_an.yaml"]
    for p in names:
        assert load_rule_set(RULES_DIR / p).source


# --- the expression language ----------------------------------------------------------------

def test_unknown_values_follow_three_valued_logic():
    ev = lambda text, **env: evaluate(parse(text), env)[0]  # noqa: E731
    assert ev("a >= 1 or b >= 1", a=None, b=2) is True
    assert ev("a >= 1 and b >= 1", a=None, b=0) is False
    assert ev("a >= 1 and b >= 1", a=None, b=2) is None
    assert ev("not (a >= 1)", a=None) is None
    assert ev("a / b >= 1", a=1, b=0) is None
    assert ev("count(a >= 1, b >= 1, c >= 1) >= 2", a=1, b=1, c=0) is True


def test_parse_refuses_what_is_not_whitelisted():
    for text in ("a ** 2", "a in (1, 2)", "'text' == a", "f(a)", "a[0]", "a.b.c", "min(a)",
                 "count(*a)"):
        with pytest.raises(ExprError):
            parse(text)
