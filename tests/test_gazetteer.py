"""Gazetteer: officers' addresses → 2025 communes; old names, ambiguity, search, frames."""
from __future__ import annotations

import geopandas as gpd
import pandas as pd
import pytest
import shapely

from geo_pcmt.ingest import boundaries
from geo_pcmt.ingest.gazetteer import Gazetteer, geocode_frame, normalize

# Expected codes were read from data/boundaries/nghean_crosswalk_pre2025_to_2025.csv
# (old_commune_code → new_commune_code) and nghean_communes_2025.geojson (commune_code),
# not produced by the code under test. The comment gives the old commune and its code.
ADDRESSES = [
    # Kỳ Sơn (border)
    ("Bản Huồi Khe, xã Nậm Cắn, huyện Kỳ Sơn", "16837"),           # 2025 name
    ("Xã Mường Típ, huyện Kỳ Sơn, tỉnh Nghệ An", "16858"),
    ("Bản Xiềng Tắm, xã Mường Ải, Kỳ Sơn", "16858"),               # Mường Ải 16867
    ("xa Ta Ca, Ky Son", "16813"),                                  # Tà Cạ 16852
    ("Bản Phà Khảo, xã Phà Đánh, huyện Kỳ Sơn", "16837"),          # Phà Đánh 16843
    ("Bản Cánh Tráp - Bảo Nam - Kỳ Sơn", "16849"),                 # Bảo Nam 16840
    ("xã Keng Đu", "16822"),
    ("XÃ ĐOỌC MẠY, HUYỆN KỲ SƠN", "16834"),                        # Đoọc Mạy 16825
    ("bản Na Ngoi xã Na Ngoi", "16870"),
    ("Nậm Càn, Kỳ Sơn", "16870"),                                   # Nậm Càn 16873 ≠ Nậm Cắn
    ("Mỹ Lý", "16816"),
    ("Bản Huồi Cáng 2, Tây Sơn, Kỳ Sơn", "16813"),                 # Tây Sơn 16864
    ("TT Mường Xén", "16813"),                                      # Thị trấn Mường Xén 16813
    # Quế Phong
    ("ban Hua Na, x. Thong Thu, H. Que Phong", "16744"),
    ("xa tri le que phong", "16756"),
    ("TT Kim Sơn, Quế Phong", "16738"),                             # Thị trấn Kim Sơn 16738
    ("Bản Ná Ca, xã Nậm Giải, huyện Quế Phong", "16738"),          # Nậm Giải 16753
    ("xã Châu Thôn, Quế Phong", "16774"),                           # Châu Thôn 16765
    ("Xã Đồng Văn, huyện Quế Phong", "16744"),                      # Đồng Văn 16744
    ("Bản Mường Hinh, Căm Muộn", "16774"),                          # Căm Muộn 16774
    ("Hạnh Dịch - Quế Phong", "16750"),                             # Hạnh Dịch 16747
    ("x. Quang Phong, h. Quế Phong", "16774"),                      # Quang Phong 16771
    # Quỳ Châu, Quỳ Hợp
    ("TT Tân Lạc, Quỳ Châu", "16777"),                              # Thị trấn Tân Lạc 16777
    ("Châu Bính, Quỳ Châu", "16792"),                               # Châu Bính 16780 ≠ Châu Bình
    ("xã Châu Bình", "16804"),
    ("Châu Tiến, huyện Quỳ Hợp", "17044"),                          # Châu Tiến 17041 (Quỳ Hợp)
    ("xã Châu Tiến", "16792"),                                      # 2025 name (ex Quỳ Châu)
    ("Xã Bắc Sơn, Quỳ Hợp", "17089"),                               # Bắc Sơn 17095
    ("Bắc Sơn, Đô Lương", "17662"),                                 # Bắc Sơn 17638
    ("TT Quỳ Hợp", "17035"),                                        # Thị trấn Quỳ Hợp 17035
    ("xa Yen Hop, huyen Quy Hop", "17059"),                         # Yên Hợp 17038
    # Tương Dương
    ("Cửa khẩu Tam Hợp, xã Tam Hợp, Tương Dương", "16936"),         # Tam Hợp 16936 → Tam Thái
    ("xã Tam Hợp", "17059"),                                        # 2025 name (ex Quỳ Hợp)
    ("TT Thạch Giám, Tương Dương", "16876"),                        # Thị trấn Thạch Giám 16876
    ("xa Xa Luong, huyen Tuong Duong", "16876"),                    # Xá Lượng 16921
    ("Lưỡng Minh", "16906"),                                        # Lưỡng Minh 16906
    ("Xã Yên Thắng, Tương Dương", "16909"),                         # Yên Thắng 16930
    # Thái Hòa, Nghĩa Đàn
    ("Phường Hòa Hiếu, TX Thái Hòa", "16939"),                      # data: "Hoà Hiếu" 16939
    ("P. Quang Tiến, Thái Hoà", "17011"),                           # Quang Tiến 16994
    ("Nghĩa Thuận, TX Thái Hòa", "17017"),                          # Nghĩa Thuận 17014
    ("Phường Long Sơn, thị xã Thái Hoà", "16939"),                  # Phường Long Sơn 17003
    ("xã Long Sơn, huyện Anh Sơn", "17380"),                        # Xã Long Sơn 17377
    ("TT Nghĩa Đàn", "16941"),                                      # Thị trấn Nghĩa Đàn 16941
    ("Nghĩa Hồng, Nghĩa Đàn", "16975"),                             # Nghĩa Hồng 16975
    # Hoàng Mai, Quỳnh Lưu
    ("P. Quỳnh Dị, TX Hoàng Mai", "17128"),                         # Quỳnh Dị 17128
    ("Quỳnh Lập - Hoàng Mai", "17128"),                             # Quỳnh Lập 17113
    ("TT Cầu Giát, Quỳnh Lưu", "17179"),                            # Thị trấn Cầu Giát 17179
    ("xã Ngọc Sơn, huyện Quỳnh Lưu", "17170"),                      # Ngọc Sơn 17146
    ("Ngọc Sơn, Thanh Chương", "17779"),                            # Ngọc Sơn 17767
    # Con Cuông, Tân Kỳ, Anh Sơn
    ("TT Trà Lân, Con Cuông", "17254"),                             # Thị trấn Trà Lân 17254
    ("Bản Nưa, Môn Sơn, Con Cuông", "17263"),
    ("Xã Đồng Văn, huyện Tân Kỳ", "17287"),                         # Đồng Văn 17287
    ("Nghĩa Thái, Tân Kỳ", "17272"),                                # Nghĩa Thái 17290
    ("Nghĩa Thái, Nam Đàn", "17935"),                               # Nghĩa Thái 17935
    ("Xã Kỳ Sơn, huyện Tân Kỳ", "17266"),                           # Kỳ Sơn 17314, not the huyện
    ("TT Kim Nhan, Anh Sơn", "17329"),                              # Thị trấn Kim Nhan 17329
    ("Thành Sơn, Anh Sơn", "17335"),                                # Thành Sơn 17335
    ("Xã Tam Đỉnh, Anh Sơn", "17344"),                              # Tam Đỉnh 17344 ≠ Tam Đình
    ("Anh Sơn Đông", "17365"),                                      # longest name wins
    # Diễn Châu, Yên Thành
    ("Xóm 5, Diễn Hoa, Diễn Châu", "17464"),                        # Diễn Hoa 17461 ≠ Diên Hoa
    ("TT Diễn Thành, Diễn Châu", "17464"),                          # Thị trấn Diễn Thành 17464
    ("xa dien lam dien chau", "17395"),                             # Diễn Lâm 17392
    ("Diên Lãm, Quỳ Châu", "16801"),                                # Diên Lãm 16810
    ("TT Hoa Thành, Yên Thành", "17506"),                           # Thị trấn Hoa Thành 17506
    ("Xã Đồng Thành, Yên Thành", "17521"),                          # Đồng Thành 17545 ≠ Đông Thành
    ("Phú Thành, Yên Thành", "17530"),                              # Phú Thành 17542
    # Đô Lương, Thanh Chương
    ("TT Đô Lương", "17662"),                                       # Thị trấn Đô Lương 17617
    ("xã Minh Sơn, huyện Thanh Chương", "17728"),                   # Minh Sơn 17719
    ("xa Minh Son, Do Luong", "17689"),                             # Minh Sơn 17692
    ("TT Dùng, Thanh Chương", "17713"),                             # Thị trấn Dùng 17713
    ("Cửa khẩu Thanh Thủy, xã Thanh Thủy, Thanh Chương", "17791"),  # Thanh Thủy 17797
    ("Giang Sơn Đông, Đô Lương", "17623"),                          # Giang Sơn Đông 17619
    # Nghi Lộc, Nam Đàn, Hưng Nguyên, Vinh
    ("TT Quán Hành, Nghi Lộc", "17827"),                            # Thị trấn Quán Hành 17827
    ("Xã Nghi Vạn, Nghi Lộc", "17827"),                             # Nghi Vạn 17911 ≠ Nghi Văn
    ("Xã Nghi Văn, huyện Nghi Lộc", "17854"),                       # Nghi Văn 17830
    ("xa Nghi Cong Bac, Nghi Loc", "17857"),                        # Nghi Công Bắc 17884
    ("Thị trấn Nam Đàn", "17950"),                                  # TT Nam Đàn 17950 → Vạn An
    ("xã Nam Đàn", "17935"),                                        # 2025 name
    ("Xóm 2, Kim Liên, Nam Đàn", "17971"),
    ("Thượng Tân Lộc, Nam Đàn", "17950"),                           # Thượng Tân Lộc 17968
    ("TT Hưng Nguyên", "18001"),                                    # Thị trấn Hưng Nguyên 18001
    ("Xã Long Xá, Hưng Nguyên", "18028"),                           # Long Xá 18043
    ("Hưng Nguyên Nam", "18028"),                                   # longest name wins
    ("Khối 5, P. Hưng Dũng, TP Vinh", "16690"),                     # Hưng Dũng 16675
    ("Phường Bến Thủy, TP. Vinh", "16690"),                         # Bến Thủy 16693
    ("Số 12 đường Lê Lợi, P. Hưng Bình, TP. Vinh", "16681"),        # Hưng Bình 16672
    ("Xóm 3 Nghi Kim", "17920"),                                    # Nghi Kim 17920
    ("Xã Nghi Phong, huyện Nghi Lộc", "16708"),                     # Nghi Phong 17902, now Vinh
    ("Phường Nghi Thu, TX Cửa Lò", "16732"),                        # Nghi Thu 16735
    ("Cửa Lò", "16732"),
    ("Phường Thành Vinh", "16681"),
    ("phuong truong vinh", "16690"),
    ("P. Vinh Hưng, Nghệ An", "17920"),
    # typos and wrong diacritics
    ("ban Hua Na, x. Thong Thuu, H. Que Phong", "16744"),
    ("xa Chieu Luuu, Ky Son", "16855"),
    ("Xã Muong Xenn", "16813"),
    ("xa Namcan", "16837"),
    ("Hữu Kiêm, Kỳ Sơn", "16849"),                                  # Kiệm misspelt as Kiêm
    ("Muờng Xén", "16813"),
]

@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.default()


@pytest.fixture(scope="module")
def communes() -> gpd.GeoDataFrame:
    return boundaries.communes()


def test_address_table_is_large_and_points_at_real_2025_communes(communes):
    codes = set(communes["code"])
    assert len(ADDRESSES) >= 60
    assert {code for _, code in ADDRESSES} <= codes


def test_officers_addresses_resolve_to_the_expected_2025_commune(gaz):
    results = [(address, code, gaz.match(address)) for address, code in ADDRESSES]
    misses = [(a, code, m) for a, code, m in results if m.commune_code != code]
    report = "\n".join(f"{a!r}: expected {code}, got {m.commune_code} ({m.status}: {m.reason})"
                       for a, code, m in misses)
    accuracy = 1 - len(misses) / len(results)
    assert accuracy == 1.0, f"accuracy {accuracy:.1%}\n{report}"
    assert all(m.status == "matched" and m.candidates == (m.commune_code,) for _, _, m in results)


# Written "name, district" these old communes still share their letters with another
# commune of the same old district, so they must come back ambiguous, not guessed.
HOMONYMS_WITHIN_A_DISTRICT = {
    "xa chau binh huyen quy chau",      # Châu Bình (16804) / Châu Bính (→ 16792)
    "xa nam can huyen ky son",          # Nậm Cắn (16837) / Nậm Càn (→ 16870)
    "xa nghi van huyen nghi loc",       # Nghi Văn (→ 17854) / Nghi Vạn (→ 17827)
    "xa dong thanh huyen yen thanh",    # Đông Thành, Đồng Thành, and Đông Thành of 2025
    "Xã Đông Thành, Huyện Yên Thành",   # old Đông Thành (→ 17506) / 2025 Đông Thành (17530)
    "Đông Thành, Huyện Yên Thành",
    "Nam Đàn, Huyện Nam Đàn",           # Thị trấn Nam Đàn (→ 17950) / 2025 Xã Nam Đàn (17935)
}


def test_every_pre2025_commune_written_with_its_district_resolves_through_the_crosswalk(gaz):
    lineage = boundaries.commune_lineage()
    successors = lineage.groupby("old_code")["new_code"].agg(lambda s: tuple(sorted(set(s))))
    wrong = []
    for row in boundaries.pre2025_communes().itertuples():
        for address in (f"{row.name_vi}, {row.district_name_vi}",   # "Xã Hòa Sơn, Huyện Đô Lương"
                        f"{row.name}, {row.district_name_vi}",      # without the type word
                        normalize(f"{row.name_vi}, {row.district_name_vi}")):  # no diacritics
            m, expected = gaz.match(address), successors[row.commune_code]
            if address in HOMONYMS_WITHIN_A_DISTRICT:
                ok = m.status == "ambiguous" and set(expected) <= set(m.candidates)
            else:  # splits come back ambiguous with exactly their successors
                ok = m.candidates == expected
            if not ok:
                wrong.append((address, expected, m.status, m.candidates))
    assert not wrong, wrong


def test_every_2025_name_resolves_with_and_without_diacritics(gaz, communes):
    wrong = [(name, code) for code, name, plain in communes[["code", "name", "name_ascii"]].values
             for text in (name, plain, name.upper()) if gaz.match(text).commune_code != code]
    assert not wrong, wrong


def test_old_commune_name_resolves_to_its_2025_commune(gaz):
    m = gaz.match("Khối 5, P. Hưng Dũng, TP Vinh")
    assert (m.status, m.commune_code, m.commune_name) == ("matched", "16690", "Phường Trường Vinh")
    assert m.via == "name_pre2025"
    assert m.matched_text == "Hưng Dũng"
    assert m.candidates == ("16690",)
    assert m.score == 1.0


def test_2025_name_is_reported_as_such(gaz):
    m = gaz.match("Bản Huồi Khe, xã Nậm Cắn, huyện Kỳ Sơn")
    assert (m.commune_code, m.via, m.matched_text) == ("16837", "name_2025", "Nậm Cắn")


def test_village_part_is_ignored_for_matching(gaz):
    # "Na Ngoi" is both the village (bản) and the commune; "Xiềng Tắm" matches nothing.
    assert gaz.match("Bản Xiềng Tắm, xã Na Ngoi").matched_text == "Na Ngoi"
    assert gaz.match("Bản Na Ngoi, xã Keng Đu").commune_code == "16822"


def test_name_found_only_inside_a_village_part_is_used_with_a_lower_score(gaz):
    m = gaz.match("Xóm Mới Nghi Kim")
    assert (m.status, m.commune_code) == ("matched", "17920")
    assert m.score < 1.0


def test_split_commune_is_reported_ambiguous_with_both_candidates(gaz):
    m = gaz.match("xã Hòa Sơn, huyện Đô Lương")  # 17647 split into Vĩnh Tường and Văn Hiến
    assert m.status == "ambiguous"
    assert m.commune_code is None
    assert m.candidates == ("17357", "17677")
    assert "split" in m.reason and "Xã Văn Hiến" in m.reason


def test_second_split_commune_is_reported_too(gaz):
    m = gaz.match("Diên Hoa, Nghi Lộc")  # 17899 split into Diễn Châu and Nghi Lộc
    assert (m.status, m.candidates) == ("ambiguous", ("17464", "17827"))


def test_split_commune_is_resolved_when_the_2025_commune_is_also_written(gaz):
    m = gaz.match("Xóm 4, xã Hòa Sơn cũ (nay xã Văn Hiến), huyện Đô Lương")
    assert (m.status, m.commune_code, m.matched_text) == ("matched", "17677", "Hòa Sơn")


def test_old_district_as_a_bare_name_does_not_pick_the_split_candidate_named_like_it(gaz):
    # "Nghi Lộc" here is the old district, not the 2025 commune Xã Nghi Lộc (17827).
    assert gaz.match("Xã Diên Hoa, Nghi Lộc").status == "ambiguous"


@pytest.mark.parametrize("address,candidates", [
    ("Bắc Sơn", ("17089", "17662")),                    # Quỳ Hợp and Đô Lương
    ("xã Đồng Văn", ("16744", "17287", "17713")),        # Quế Phong, Tân Kỳ, Thanh Chương
    ("Quang Phong", ("16774", "16939")),                 # xã in Quế Phong, phường in Thái Hoà
    ("xa Nghi Van, Nghi Loc", ("17827", "17854")),       # Nghi Vạn / Nghi Văn without marks
    ("xa Minh Son", ("17689", "17728")),
])
def test_same_old_name_in_several_places_is_ambiguous_without_the_district(gaz, address,
                                                                              candidates):
    m = gaz.match(address)
    assert (m.status, m.candidates) == ("ambiguous", candidates)
    assert "huyện" in m.reason


def test_type_word_disambiguates_a_ward_from_a_commune(gaz):
    assert gaz.match("P. Quang Phong").commune_code == "16939"
    assert gaz.match("x. Quang Phong").commune_code == "16774"
    assert gaz.match("TT Nam Đàn").commune_code == "17950"
    assert gaz.match("Nam Đàn").commune_code == "17935"


def test_diacritics_distinguish_names_that_fold_to_the_same_letters(gaz):
    assert gaz.match("Nậm Cắn").commune_code == "16837"
    assert gaz.match("Nậm Càn").commune_code == "16870"
    assert gaz.match("Tam Đình").commune_code == "16933"
    assert gaz.match("Tam Đỉnh").commune_code == "17344"


def test_2025_name_wins_over_an_old_homonym_only_when_no_district_is_written(gaz):
    assert gaz.match("xa nam can").commune_code == "16837"
    # Nậm Cắn (→ 16837) and Nậm Càn (→ 16870) were both in Kỳ Sơn: without marks, no guess.
    m = gaz.match("xa nam can, huyen ky son")
    assert (m.status, m.candidates) == ("ambiguous", ("16837", "16870"))
    # Old Đông Thành (→ Yên Thành 17506) vs today's Đông Thành (17530), same old district.
    m = gaz.match("xã Đông Thành, huyện Yên Thành")
    assert (m.status, m.candidates) == ("ambiguous", ("17506", "17530"))


def test_old_commune_named_like_a_district_is_read_as_commune_beside_another_district(gaz):
    m = gaz.match("Kỳ Sơn, Huyện Tân Kỳ")  # Xã Kỳ Sơn 17314 of Tân Kỳ
    assert (m.status, m.commune_code) == ("matched", "17266")


def test_district_that_does_not_fit_lowers_the_score_but_still_matches(gaz):
    # Nghi Phong moved from Nghi Lộc to Vinh before 2025; old papers still say Nghi Lộc.
    m = gaz.match("Xã Nghi Phong, huyện Nghi Lộc")
    assert (m.status, m.commune_code) == ("matched", "16708")
    assert m.score < 1.0


def test_name_whose_type_word_and_district_both_disagree_is_not_matched(gaz):
    # Phường Hồng Sơn of Vinh is older than the 412-commune list; the only Hồng Sơn left
    # there is a xã of Đô Lương.
    m = gaz.match("P. Hồng Sơn, TP Vinh")
    assert m.status == "unknown" and "Huyện Đô Lương" in m.reason


def test_district_name_alone_is_not_taken_for_a_commune(gaz):
    # Kỳ Sơn is a district and also an old commune of Tân Kỳ: the district reading wins.
    m = gaz.match("Bản Huồi Khe, Kỳ Sơn")
    assert m.status == "unknown"
    assert "Huyện Kỳ Sơn" in m.reason and "thiếu tên xã" in m.reason
    assert gaz.match("TP Vinh").status == "unknown"


def test_2025_commune_named_like_an_old_district_is_matched_with_a_lower_score(gaz):
    m = gaz.match("Quế Phong")
    assert (m.status, m.commune_code) == ("matched", "16738")
    assert m.score < 1.0


@pytest.mark.parametrize("address", ["", "   ", None, float("nan"), "Hà Nội", "Bản Huồi Khe",
                                     "12 Nguyễn Trãi, Thanh Xuân, Hà Nội"])
def test_unknown_address_is_reported_with_a_reason(gaz, address):
    m = gaz.match(address)
    assert (m.status, m.commune_code, m.candidates, m.score) == ("unknown", None, (), 0.0)
    assert m.reason and "/" in m.reason  # English / Vietnamese


def test_address_in_another_province_is_not_placed_in_nghe_an(gaz):
    # Thanh Xuân is also an old commune of Thanh Chương (17821).
    m = gaz.match("Xóm 1, xã Thanh Xuân, huyện Hương Khê, tỉnh Hà Tĩnh")
    assert m.status == "unknown"
    assert "outside Nghệ An" in m.reason and m.matched_text == "Hà Tĩnh"


@pytest.mark.parametrize("sentence", [
    "đối diện trường tiểu học",                         # letters of Xã Diễn Trường (17398)
    "doi dien truong tieu hoc",
    "tụ tập sử dụng trái phép chất ma túy",             # "dụng": letters of Thị trấn Dùng
    "nhà văn hóa",                                      # one letter from Xã An Hòa (17206)
])
def test_words_of_a_sentence_are_not_taken_for_a_commune(gaz, sentence):
    assert gaz.match(sentence).status == "unknown"


def test_name_inside_a_sentence_counts_only_with_its_diacritics(gaz):
    assert gaz.match("Cửa khẩu quốc tế Nậm Cắn").commune_code == "16837"
    m = gaz.match("cua khau quoc te Nam Can")
    assert (m.status, m.matched_text) == ("unknown", "Nam Can")
    assert "xã" in m.reason and "dấu phẩy" in m.reason
    assert gaz.match("cua khau quoc te, Nam Can").commune_code == "16837"


def test_typo_is_matched_only_when_one_name_is_close(gaz):
    m = gaz.match("xa Chieu Luuu, Ky Son")
    assert (m.status, m.commune_code, m.matched_text) == ("matched", "16855", "Chieu Luuu")
    assert 0.8 < m.score < 0.9
    assert gaz.match("xa Chiu Luuuu").status == "unknown"  # too far from any name


def test_exact_match_scores_higher_than_wrong_diacritics(gaz):
    exact = gaz.match("Hữu Kiệm, Kỳ Sơn")
    wrong = gaz.match("Hữu Kiêm, Kỳ Sơn")
    assert exact.commune_code == wrong.commune_code == "16849"
    assert exact.score == 1.0 > wrong.score


def test_match_result_is_immutable(gaz):
    m = gaz.match("TT Mường Xén")
    with pytest.raises(AttributeError):
        m.commune_code = "0"


@pytest.mark.parametrize("text,expected", [
    ("Xã Nậm Cắn", "xa nam can"),
    ("XÃ NẬM CẮN", "xa nam can"),
    ("xa nam can", "xa nam can"),
    ("Đô Lương", "do luong"),
    ("  x.Thông-Thụ,,  H. Quế   Phong ", "x thong thu h que phong"),
    ("Thái Hoà", "thai hoa"),
    ("Tha\u0301i Ho\u0300a", "thai hoa"),  # decomposed (NFD) input
    (None, ""),
])
def test_normalize_folds_case_diacritics_and_punctuation(text, expected):
    assert normalize(text) == expected


def test_normalize_makes_spellings_with_and_without_diacritics_equal():
    assert normalize("Phường Hưng Dũng, TP Vinh") == normalize("phuong hung dung tp vinh")


def test_search_finds_names_with_and_without_diacritics(gaz):
    plain = gaz.search("nam can")
    marked = gaz.search("Nậm Cắn")
    assert plain[0].commune_code == marked[0].commune_code == "16837"
    assert marked[0].via == "name_2025" and marked[0].label == "Xã Nậm Cắn"
    assert "16870" in [h.commune_code for h in plain]  # old Nậm Càn → Na Ngoi


def test_search_offers_old_names_with_their_2025_commune(gaz):
    hit = gaz.search("Hưng Dũng")[0]
    assert (hit.commune_code, hit.via) == ("16690", "name_pre2025")
    assert "Phường Hưng Dũng" in hit.label and hit.label.endswith("Phường Trường Vinh")


def test_search_by_prefix_ignores_type_word_and_respects_limit(gaz):
    hits = gaz.search("xã Nghi", limit=5)
    assert len(hits) == 5
    assert all(normalize(h.label).startswith("xa nghi") or "nghi" in normalize(h.label)
               for h in hits)
    assert gaz.search("") == []


def test_search_lists_both_successors_of_a_split_commune(gaz):
    codes = {h.commune_code for h in gaz.search("Hòa Sơn") if "Hòa Sơn" in h.label}
    assert {"17357", "17677"} <= codes


def test_geocode_frame_places_rows_without_coordinates_at_their_commune(gaz, communes):
    df = pd.DataFrame({
        "address": ["TT Mường Xén", "xã Hòa Sơn, huyện Đô Lương", "Bản Huồi Khe",
                    "Khối 5, P. Hưng Dũng, TP Vinh", "whatever"],
        "lon": [None, None, None, None, 104.2],
        "lat": [None, None, None, None, 19.4],
    }, index=[10, 11, 12, 13, 14])
    before = df.copy()
    out, problems = geocode_frame(df, gazetteer=gaz)

    pd.testing.assert_frame_equal(df, before)  # pure: the input is untouched
    assert out.crs == "EPSG:4326"
    assert out["commune_code"].tolist() == ["16813", None, None, "16690", None]
    assert out["geocode_quality"].tolist() == ["commune", None, None, "commune", None]
    polygons = communes.set_index("code").geometry
    for idx, code in [(10, "16813"), (13, "16690")]:
        assert polygons[code].contains(out.geometry[idx])
    assert out.geometry[14].equals(shapely.Point(104.2, 19.4))
    assert out.geometry[11] is None and out.geometry[12] is None

    assert [(p.row, p.field, p.value) for p in problems] == [
        (11, "address", "xã Hòa Sơn, huyện Đô Lương"), (12, "address", "Bản Huồi Khe")]
    assert "ambiguous" in problems[0].reason and "no commune" in problems[1].reason


def test_geocode_frame_keeps_existing_geometry_and_commune_codes(gaz):
    gdf = gpd.GeoDataFrame({
        "address": ["Nậm Cắn", "an address that says nothing"],
        "commune_code": [None, "17920"],
        "geocode_quality": ["exact", None],
    }, geometry=[shapely.Point(104.1, 19.4), None], crs="EPSG:4326")
    out, problems = geocode_frame(gdf, gazetteer=gaz)
    assert problems == []
    assert out.geometry[0].equals(shapely.Point(104.1, 19.4))
    assert out["geocode_quality"].tolist() == ["exact", "commune"]
    assert out["commune_code"].tolist() == [None, "17920"]
    assert out.geometry[1].equals(gaz.points_["17920"])


def test_geocode_frame_requires_the_address_column(gaz):
    with pytest.raises(KeyError, match="dia_chi"):
        geocode_frame(pd.DataFrame({"address": []}), address_column="dia_chi", gazetteer=gaz)


def test_gazetteer_indexes_all_2025_and_pre2025_names(gaz):
    levels = [(e.level, e.via) for e in gaz.entries_]
    assert levels.count(("commune", "name_2025")) == 130
    assert levels.count(("commune", "name_pre2025")) == 412
    assert len(gaz.names_) == len(gaz.points_) == 130
