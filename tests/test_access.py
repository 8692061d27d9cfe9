"""Who sees which layer, field and row: pinned for every layer × role (and anonymous).

The answers were taken from the rules as they stood before visibility moved onto the layer
registry (``Layer.min_role``, ``Field(operational=True)``); any change to them is a change
of who sees what, and must be made here on purpose.
"""
from __future__ import annotations

import pytest

from geo_pcmt import access
from geo_pcmt.layers import LAYERS, Field, Layer

ROLES = (None, "viewer", "analyst", "commander", "admin")
EVERYONE = ROLES
SIGNED_IN = ROLES[1:]
ANALYSTS_UP = ("analyst", "commander", "admin")

# layer → the roles that may read it (None: an anonymous visitor)
READERS = {
    "communes": EVERYONE, "commune_lineage": EVERYONE, "province": EVERYONE,
    "border_line": EVERYONE, "lao_provinces": EVERYONE,
    "retail_points": ANALYSTS_UP, "opium_plots": ANALYSTS_UP,
    "border_crossings": SIGNED_IN, "border_posts": SIGNED_IN,
    "cases": ANALYSTS_UP, "facilities": SIGNED_IN, "commune_assessments": ANALYSTS_UP,
    "recognitions": SIGNED_IN,
    "treatment": ANALYSTS_UP,  # issue #17: treatment counts per commune, analysts and up
    "targets": SIGNED_IN, "audit_log": ("admin",),
    # issue #20: what phones synced, the conflicts left and the photos, analysts and up
    "field_edits": ANALYSTS_UP, "field_conflicts": ANALYSTS_UP, "field_photos": ANALYSTS_UP,
    "hotspot_clusters": ANALYSTS_UP, "gistar_cells": ANALYSTS_UP,
    "emerging_hotspots": ANALYSTS_UP, "complex_hotspots": ANALYSTS_UP,
    "complex_places": ANALYSTS_UP, "place_events": ANALYSTS_UP,
    "commune_status": SIGNED_IN, "transformation_plans": ANALYSTS_UP,
    "border_progress": ANALYSTS_UP,
    "methadone_access": ANALYSTS_UP,  # issue #17: derived from the treatment counts
    "patrol_plans": ("commander", "admin"),
    "patrol_stops": ("commander", "admin"),
}
# fields left out for viewers and anonymous visitors on layers they may read
HIDDEN_BELOW_ANALYST = {
    "retail_points": ("address", "case_ref"), "opium_plots": ("detected_by",),
    "border_posts": ("area_of_responsibility",), "commune_status": ("criteria",),
}
# layers without a confidentiality column: no row filter for anyone
UNFILTERED = {"communes", "commune_lineage", "province", "border_line", "lao_provinces",
              "audit_log"}
ROW_FILTER = {None: {"confidentiality": ["public"]}, "viewer": {"confidentiality": ["public"]},
              "analyst": {"confidentiality": ["public", "restricted"]},
              "commander": {"confidentiality": ["public", "restricted"]}, "admin": {}}


def test_the_pins_cover_every_registered_layer():
    registered = {n for n in LAYERS if not n.startswith("test_")}  # tests may add layers
    assert registered == set(READERS)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("layer", sorted(READERS))
def test_every_layer_and_role_sees_what_it_saw_before(layer, role):
    readable = role in READERS[layer]
    assert access.can_read_layer_for(role, layer) is readable
    assert access.can_read_layer_for(role, LAYERS[layer]) is readable
    if role is not None:
        assert access.can_read_layer(role, layer) is readable
    names = LAYERS[layer].field_names
    if not readable:
        expected = []
    elif role in ANALYSTS_UP:
        expected = names
    else:
        expected = [f for f in names if f not in HIDDEN_BELOW_ANALYST.get(layer, ())]
    assert access.visible_fields(role, layer) == expected
    assert access.row_filter_for(role, layer) == ({} if layer in UNFILTERED else ROW_FILTER[role])


def test_readable_layers_keep_schema_order():
    assert access.readable_layers_for(None) == [
        "communes", "commune_lineage", "province", "border_line", "lao_provinces"]
    for role in SIGNED_IN:
        assert access.readable_layers_for(role) == [n for n in READERS if role in READERS[n]]


def test_aggregates_and_audited_reads_are_unchanged():
    assert sorted(access.public_aggregates()) == [
        "cases_per_commune", "opium_plots_per_commune", "retail_points_per_commune"]
    assert [n for n in READERS if access.is_restricted_read(n)] == [
        "retail_points", "opium_plots", "cases", "commune_assessments", "treatment",
        "audit_log", "field_edits", "field_conflicts", "field_photos", "hotspot_clusters",
        "gistar_cells", "emerging_hotspots", "complex_hotspots",
        "complex_places", "place_events", "transformation_plans", "border_progress",
        "methadone_access", "patrol_plans", "patrol_stops"]
    assert access.operational_fields() == {"case_ref", "address", "detected_by", "criteria",
                                           "area_of_responsibility"}


def test_visibility_is_read_from_the_layer_itself(monkeypatch):
    spec = Layer("test_secret_notes", "Ghi chú", "Notes", None,
                 (Field("id", required=True), Field("informant", operational=True),
                  Field("note")), min_role="commander")
    assert not access.can_read_layer("analyst", spec)
    assert access.can_read_layer("commander", spec)
    public = Layer("test_public_notes", "Ghi chú", "Notes", None,
                   (Field("id", required=True), Field("informant", operational=True)),
                   confidentiality_default="public")
    assert public.min_role == "viewer"  # the default follows the default confidentiality
    monkeypatch.setitem(LAYERS, public.name, public)
    assert access.visible_fields("viewer", public) == ["id"]
    assert access.visible_fields("analyst", public) == ["id", "informant"]


def test_an_unknown_min_role_is_refused():
    with pytest.raises(ValueError, match="min_role"):
        Layer("test_bad", "x", "x", None, (Field("id"),), min_role="chief")
