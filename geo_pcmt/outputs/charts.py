"""Static charts (PNG/SVG) drawn with matplotlib's Agg canvas — no display, no pyplot state.

:func:`border_strip_chart` draws the Viet Nam–Laos corridor as a strip: distance along the
border line on x (km from the northern end), distance from the line on y, the border communes
coloured by status across the top, and bars of cases and active retail points per stretch.
"""
from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from geo_pcmt.analysis.progress import BorderSummary
from geo_pcmt.words import class_name

STATUS_COLORS = {
    "loai_I": "#b2182b", "loai_II": "#ef8a62", "loai_III": "#fddbc7",
    "khong_trong_diem": "#d9d9d9", "khong_ma_tuy": "#1a9850", "chua_danh_gia": "#ffffff",
}
STATUS_LABELS = {code: class_name(code) for code in STATUS_COLORS}
_LAYERS = [  # layer, filter column, label, marker, colour, size
    ("cases", "in_year", "Vụ án trong năm (cases)", ".", "#7f7f7f", 4),
    ("retail_points", "active", "Điểm đang hoạt động (active points)", "o", "#d7301f", 14),
    ("opium_plots", "in_year", "Nương thuốc phiện (opium plots)", "^", "#238b45", 22),
    ("border_crossings", None, "Cửa khẩu, lối mở (crossings)", "D", "#000000", 26),
    ("border_posts", None, "Đồn biên phòng (border posts)", "s", "#2166ac", 30),
]


def border_strip_chart(summary: BorderSummary, path: str | Path, *, title: str | None = None,
                       dpi: int = 150, width_in: float = 14.0) -> Path:
    """Draw the corridor strip chart to ``path`` (``.png`` or ``.svg``).

    Parameters
    ----------
    summary : BorderSummary
        From :func:`geo_pcmt.analysis.progress.border`.
    path : str or Path
        Output file; the format follows the suffix (png, svg, pdf).
    title : str, optional
        Default: "Tuyến biên giới Việt – Lào, Nghệ An — <year>".
    dpi : int
    width_in : float
        Figure width in inches.

    Returns
    -------
    Path of the written file.

    Examples
    --------
    >>> border_strip_chart(progress.border(...), "bien_gioi_2026.png")  # doctest: +SKIP
    """
    path = Path(path)
    fig = Figure(figsize=(width_in, 7.5), dpi=dpi)
    FigureCanvasAgg(fig)
    grid = fig.add_gridspec(3, 1, height_ratios=(0.7, 4.0, 1.6), hspace=0.08)
    ax_c = fig.add_subplot(grid[0])
    ax = fig.add_subplot(grid[1], sharex=ax_c)
    ax_b = fig.add_subplot(grid[2], sharex=ax_c)
    _draw_communes(ax_c, summary)
    _draw_features(ax, summary)
    _draw_stretch_bars(ax_b, summary)
    _draw_segments((ax_c, ax, ax_b), summary)
    ax.set_xlim(0, summary.line_length_km)
    for a_ in (ax_c, ax):
        for lbl in a_.get_xticklabels():
            lbl.set_visible(False)
    handles = [Patch(facecolor=STATUS_COLORS[k], edgecolor="#555555", label=STATUS_LABELS[k])
               for k in STATUS_COLORS]
    fig.legend(handles=handles, loc="upper center", ncol=6, fontsize=7, frameon=False,
               bbox_to_anchor=(0.5, 0.955))
    fig.suptitle(title or f"Tuyến biên giới Việt – Lào, Nghệ An — {summary.year} "
                 f"(đến ngày {summary.as_of})", fontsize=12, y=0.995)
    fig.savefig(path, bbox_inches="tight")
    return path


def _draw_communes(ax_c, summary: BorderSummary) -> None:
    """The border communes across the top, coloured by status, named where there is room."""
    bc = summary.communes[summary.communes["is_border"]
                          & summary.communes["chainage_from_km"].notna()]
    for r in bc.itertuples():
        a, b = float(r.chainage_from_km), float(r.chainage_to_km)
        ax_c.axvspan(a, b, color=STATUS_COLORS.get(r.status, "#ffffff"), ec="#555555", lw=0.5)
        if b - a >= 9:
            short = str(r.name).replace("Xã ", "").replace("Phường ", "")
            ax_c.text((a + b) / 2, 0.5, short, ha="center", va="center", fontsize=6.5,
                      rotation=90 if b - a < 18 else 0)
    ax_c.set_yticks([])
    ax_c.set_ylabel("Xã biên giới", fontsize=8, rotation=0, ha="right", va="center")


def _draw_features(ax, summary: BorderSummary) -> None:
    """Cases, points, plots, crossings and posts by distance along and from the line."""
    max_d = float(summary.bands["to_km"].max()) if len(summary.bands) else 30.0
    f = summary.features
    for layer, col, label, marker, colour, size in _LAYERS:
        sel = f[f["layer"] == layer] if len(f) else f
        if col is not None and len(sel):
            sel = sel[sel[col].astype(bool)]
        if not len(sel):
            continue
        ax.scatter(sel["chainage_km"], sel["dist_border_km"], s=size, marker=marker,
                   c=colour, alpha=0.55 if layer == "cases" else 0.9, lw=0, label=label)
    for edge in summary.bands["to_km"].iloc[:-1] if len(summary.bands) else []:
        ax.axhline(edge, color="#999999", lw=0.6, ls="--")
    ax.set_ylim(max_d, -0.8)  # 0 km (the border) at the top, inland downward
    ax.set_ylabel("Cách biên giới (km)\ndistance from border", fontsize=9)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="lower right", fontsize=7, ncol=3, framealpha=0.85)


def _draw_stretch_bars(ax_b, summary: BorderSummary) -> None:
    """Bars of cases and active retail points per stretch of the border."""
    s = summary.strip
    mids = ((s["from_km"] + s["to_km"]) / 2).to_numpy()
    width = (s["to_km"] - s["from_km"]).to_numpy() * 0.42
    ax_b.bar(mids - width / 2, s["cases"], width=width, color="#7f7f7f", label="Vụ án (cases)")
    ax_b.bar(mids + width / 2, s["points_active"], width=width, color="#d7301f",
             label="Điểm hoạt động (active points)")
    ax_b.set_ylabel("Số lượng /\nđoạn", fontsize=9)
    ax_b.legend(loc="upper right", fontsize=7)
    ax_b.set_xlabel("Khoảng cách dọc biên giới từ đầu phía bắc (km) — distance along the "
                    "border from its northern end", fontsize=9)


def _draw_segments(axes, summary: BorderSummary) -> None:
    """Lao province segments: a rule across every panel, a name (and share) above the top."""
    ax_c = axes[0]
    for r in summary.segments.itertuples():
        for a_ in axes:
            a_.axvline(r.from_km, color="#333333", lw=0.8)
        share = "" if r.share_drug_free_pct is None or r.share_drug_free_pct != \
            r.share_drug_free_pct else f" — {r.n_drug_free}/{r.n_communes} xã không ma túy"
        ax_c.text((r.from_km + r.to_km) / 2, 1.12, f"{r.name}{share}", ha="center",
                  va="bottom", fontsize=8.5, transform=ax_c.get_xaxis_transform())


__all__ = ["STATUS_COLORS", "STATUS_LABELS", "border_strip_chart"]


#: Colours and Vietnamese / English names of the forecasts in :func:`pai_chart`.
_FORECASTS = [("list", "#b2182b", "Danh sách địa bàn phức tạp (list)"),
              ("kde", "#2166ac", "Mật độ KDE (KDE baseline)"),
              ("last_month", "#7f7f7f", "Điểm tháng trước (last month's points)")]


def pai_chart(rows, path: str | Path, *, title: str | None = None, dpi: int = 150) -> Path:
    """Draw PAI against the share of the area flagged, one line per forecast (the mean over
    the months tested, each month as a faint dot), to ``path`` (``.png`` or ``.svg``).

    Parameters
    ----------
    rows : DataFrame with ``month``, ``method``, ``area_share`` and ``pai`` (the rows of
        :class:`geo_pcmt.runs.backtest.BacktestResult`).
    """
    from geo_pcmt.formatting import fmt_number
    fig = Figure(figsize=(7.5, 4.8))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    for method, colour, label in _FORECASTS:
        r = rows[rows["method"] == method]
        if not len(r):
            continue
        ax.scatter(100 * r["area_share"], r["pai"], s=10, color=colour, alpha=0.35)
        mean = r.groupby("share").agg(area=("area_share", "mean"), pai=("pai", "mean"))
        ax.plot(100 * mean["area"], mean["pai"], marker="o", color=colour, label=label)
    ax.axhline(1.0, color="#444444", lw=0.8, ls=":")
    ax.set_xlabel("Tỷ lệ diện tích được khoanh (% diện tích tỉnh) — share of the area flagged")
    ax.set_ylabel("PAI (tỷ lệ trúng ÷ tỷ lệ diện tích)")
    ax.xaxis.set_major_formatter(lambda v, _: fmt_number(v, 0 if v == int(v) else 1))
    ax.yaxis.set_major_formatter(lambda v, _: fmt_number(v, 0 if v == int(v) else 1))
    ax.set_title(title or "Danh sách có dự báo được không? (PAI theo tháng kiểm tra)")
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=dpi)
    return path
