"""The report's charts, drawn with matplotlib on the server: SVG with the text turned into
paths (so Chinese labels show in any browser without the font) for the HTML, and the same SVG
for the PDF."""

from __future__ import annotations

import io
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import pyplot as plt  # noqa: E402

from .fonts import matplotlib_family  # noqa: E402

COLORS = ["#1f5aa6", "#d9822b", "#3a9a5b", "#b8383b", "#7d5ba6", "#8c6d3f", "#c55a9c", "#6b6b6b"]


def _setup() -> None:
    plt.rcParams.update({
        "font.family": matplotlib_family(),
        "axes.unicode_minus": False,
        "svg.fonttype": "path",
        "svg.hashsalt": "yibao",  # stable ids
        "font.size": 9,
        "axes.spines.top": False,
        "axes.spines.right": False,
    })


def _svg(fig) -> str:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    start = text.find("<svg")
    text = text[start:] if start >= 0 else text
    a, b = text.find("<metadata>"), text.find("</metadata>")
    if a >= 0 and b > a:
        text = text[:a] + text[b + len("</metadata>"):]
    return text


def _wan(values: list[str]) -> list[float]:
    return [float(v) / 1e4 for v in values]


def stacked_months(title: str, months: list[str], series: list[dict[str, Any]], ylabel: str = "万元") -> str:
    _setup()
    fig, ax = plt.subplots(figsize=(7.2, 3.0))
    labels = [m[5:] + "月" for m in months]
    bottom = [0.0] * len(months)
    for i, s in enumerate(series):
        vals = _wan(s["fund_pay_sumamt"])
        ax.bar(labels, vals, bottom=bottom, label=s["name"], color=COLORS[i % len(COLORS)], width=0.65)
        bottom = [a + b for a, b in zip(bottom, vals)]
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, fontsize=8, ncol=min(len(series), 4))
    ax.grid(axis="y", alpha=0.3)
    return _svg(fig)


def horizontal_bars(title: str, labels: list[str], values: list[float], unit: str = "万元") -> str:
    _setup()
    fig, ax = plt.subplots(figsize=(7.2, 0.42 * max(len(labels), 3) + 0.8))
    ax.barh(labels[::-1], values[::-1], color=COLORS[0])
    for y, v in enumerate(values[::-1]):
        ax.text(v, y, f" {v:,.1f}", va="center", fontsize=8)
    ax.set_title(title)
    ax.set_xlabel(unit)
    ax.grid(axis="x", alpha=0.3)
    return _svg(fig)


def waterfall(title: str, base_label: str, base: float, parts: list[tuple[str, float]], end_label: str, end: float, unit: str = "万元") -> str:
    _setup()
    fig, ax = plt.subplots(figsize=(7.2, 3.0))
    labels = [base_label] + [p[0] for p in parts] + [end_label]
    ax.bar([0], [base], color=COLORS[7], width=0.6)
    level = base
    for i, (_, v) in enumerate(parts, start=1):
        ax.bar([i], [v], bottom=[level if v >= 0 else level + v], color=COLORS[2] if v >= 0 else COLORS[3], width=0.6)
        ax.text(i, level + v, f"{v:+,.2f}", ha="center", va="bottom" if v >= 0 else "top", fontsize=8)
        level += v
    ax.bar([len(parts) + 1], [end], color=COLORS[0], width=0.6)
    ax.text(0, base, f"{base:,.2f}", ha="center", va="bottom", fontsize=8)
    ax.text(len(parts) + 1, end, f"{end:,.2f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(range(len(labels)), labels)
    ax.set_title(title)
    ax.set_ylabel(unit)
    lo = min(base, end, level) * 0.9
    ax.set_ylim(bottom=max(lo, 0) if lo > 0 else lo)
    ax.grid(axis="y", alpha=0.3)
    return _svg(fig)


def lines(title: str, months: list[str], series: list[tuple[str, list[float | None]]], ylabel: str) -> str:
    _setup()
    fig, ax = plt.subplots(figsize=(7.2, 2.8))
    labels = [m[5:] + "月" for m in months]
    for i, (name, vals) in enumerate(series):
        ax.plot(labels, [float("nan") if v is None else v for v in vals], marker="o", label=name, color=COLORS[i % len(COLORS)])
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    return _svg(fig)
