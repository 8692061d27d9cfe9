"""The offline base layer: rivers and towns from data/basemap/, drawn under the map for everyone."""
from __future__ import annotations

import pytest

from datetime import date

import shapely

from geo_pcmt.ingest import basemap, boundaries
from geo_pcmt.outputs import map as mapping
from geo_pcmt.outputs.map import packing


def test_shipped_rivers_and_towns_cover_the_province_and_name_its_towns_in_vietnamese():
    rivers, places = basemap.rivers(), basemap.places()
    province = boundaries.province().geometry.union_all()
    assert rivers is not None and places is not None
    # the Cả river system crosses the province: several river lines run inside it
    assert rivers.intersects(province).sum() >= 5 and set(rivers["level"]) <= {1, 2, 3, 4, 5}
    inside = places[places.within(province)]
    assert {"Con Cuông", "Mường Xén", "Quỳ Hợp", "Tân Kỳ", "Vinh"} <= set(inside["name"])
    assert {"LA"} <= set(places["country"]) and places.crs.to_epsg() == 4326


@pytest.mark.slow  # over ~0.5 s: out of the quick loop
def test_every_role_gets_the_base_layer_on_the_page_with_both_names():
    frames = {"communes": boundaries.communes(), "province": boundaries.province(),
              **basemap.frames()}
    for role in ("viewer", "analyst"):
        html = mapping.render_html(mapping.build(frames, role=role,
                                                 generated_on=date(2026, 11, 25)))
        base = packing.page_data(html)["basemap"]
        names = {f["properties"]["name"]: f["properties"]["name_en"]
                 for f in base["places"]["features"]}
        assert names["Con Cuông"] == "Con Cuong"
        lines = [shapely.geometry.shape(f["geometry"]) for f in base["rivers"]["features"]]
        assert len(lines) == len(basemap.rivers()) and all(g.length > 0 for g in lines)


def test_a_data_folder_without_the_base_layer_gives_a_map_without_it(tmp_path):
    assert basemap.frames(tmp_path) == {}
    html = mapping.render_html(mapping.build({"communes": boundaries.communes()}))
    assert "basemap" not in packing.page_data(html)
