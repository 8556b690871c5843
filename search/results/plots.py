"""The report's figures (matplotlib, written as PNG; the Agg backend needs no display)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def _figure(title: str):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.5, 4.8), dpi=120)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    return fig, ax


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def _by_group(ax, df: pd.DataFrame, x: str, y: str, group: str, label: str) -> None:
    """Scatter coloured by ``group`` (one legend entry per value), markers by study."""
    import matplotlib.pyplot as plt

    values = sorted(df[group].dropna().unique())
    colours = plt.get_cmap("viridis")(np.linspace(0, 0.9, max(len(values), 1)))
    studies = sorted(df["study"].unique()) if "study" in df else [None]
    markers = dict(zip(studies, "osD^v<>p*"))
    for value, colour in zip(values, colours):
        part = df[df[group] == value]
        for i, study in enumerate(studies):
            rows = part[part["study"] == study] if study is not None else part
            ax.scatter(rows[x], rows[y], color=colour, marker=markers.get(study, "o"), s=28, alpha=0.85,
                       label=f"{label} {value}" if i == 0 else None)
    if len(studies) > 1:
        for study in studies:
            ax.scatter([], [], color="grey", marker=markers[study], label=str(study))


def _legend(ax) -> None:
    """Outside the axes, on the right: it never hides a point."""
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)


def accuracy_vs_macs(df: pd.DataFrame, front: pd.DataFrame, group: str, path: Path) -> Path:
    """Complete trials coloured by grouping, the Pareto front, and (grey) the trials ASHA
    stopped early, whose accuracy is that of fewer epochs."""
    fig, ax = _figure("Validation accuracy against MACs")
    stopped = df[df["state"] == "PRUNED"]
    ax.scatter(stopped["macs"] / 1e6, stopped["accuracy"], marker="x", color="0.65", s=20,
               label="stopped early (accuracy after fewer epochs)")
    done = df[df["state"] == "COMPLETE"]
    _by_group(ax, done.assign(mmacs=done["macs"] / 1e6), "mmacs", "accuracy", group, _label(group))
    line = front.sort_values("macs")
    ax.step(line["macs"] / 1e6, line["accuracy"], where="post", color="crimson", lw=1.5, label="Pareto front")
    ax.plot(line["macs"] / 1e6, line["accuracy"], "o", mfc="none", mec="crimson", ms=9)
    spread = df["macs"].max() / max(df["macs"].min(), 1)
    if spread > 10:
        ax.set_xscale("log")
    ax.set_xlabel("MACs per image (millions" + (", log scale)" if spread > 10 else ")"))
    ax.set_ylabel("best validation accuracy")
    _legend(ax)
    return _save(fig, path)


def accuracy_vs_param_reduction(df: pd.DataFrame, group: str, path: Path) -> Path:
    fig, ax = _figure("Accuracy against the parameters grouping saves")
    _by_group(ax, df.assign(pct=100 * df["param_reduction"]), "pct", "accuracy", group, _label(group))
    ax.set_xlabel("parameter reduction against the dense twin (%)")
    ax.set_ylabel("best validation accuracy")
    _legend(ax)
    return _save(fig, path)


def flop_reduction_vs_speedup(df: pd.DataFrame, group: str, path: Path) -> Path:
    device = ", ".join(sorted(df["device"].dropna().unique())) or "unknown device"
    fig, ax = _figure(f"Measured speedup against FLOP reduction\n({device})")
    _by_group(ax, df.assign(pct=100 * df["flop_reduction"]), "pct", "speedup_vs_dense", group, _label(group))
    reduction = np.linspace(0, min(0.97, max(0.05, float(df["flop_reduction"].max()))), 100)
    ax.plot(100 * reduction, 1 / (1 - reduction), "--", color="grey", label="if time followed FLOPs")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_xlabel("FLOP reduction against the dense twin (%)")
    ax.set_ylabel("throughput / dense twin's throughput (x)")
    _legend(ax)
    return _save(fig, path)


def edf_plot(curves: pd.DataFrame, by: str, path: Path, title: str) -> Path:
    fig, ax = _figure(title)
    for key, part in curves.groupby(by):
        ax.step(100 * part["error"], part["edf"], where="post", label=str(key))
    ax.set_xlabel("validation error (%)")
    ax.set_ylabel("cumulative share of complete trials")
    ax.set_ylim(0, 1.02)
    _legend(ax)
    return _save(fig, path)


def _label(group: str) -> str:
    return {"max_cardinality": "cardinality", "min_group_width": "group width"}.get(group, group)


def trends_plot(table: pd.DataFrame, path: Path) -> Path:
    """One panel per dimension: each bin's median error with its 95% interval, clearly worse
    bins (dropped by the refinement) in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    params = list(dict.fromkeys(table["param"]))
    cols = min(4, len(params))
    rows = -(-len(params) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), dpi=110, squeeze=False)
    for ax, param in zip(axes.flat, params):
        part = table[table["param"] == param].reset_index(drop=True)
        colours = ["crimson" if worse else "tab:blue" for worse in part["worse"]]
        ax.errorbar(range(len(part)), 100 * part["median_error"], fmt="none", ecolor="0.5",
                    yerr=[100 * (part["median_error"] - part["ci_low"]), 100 * (part["ci_high"] - part["median_error"])])
        ax.scatter(range(len(part)), 100 * part["median_error"], c=colours, s=22, zorder=3)
        ax.set_xticks(range(len(part)), part["bin"], fontsize=6, rotation=45)
        ax.set_title(param, fontsize=8)
        ax.grid(True, alpha=0.3)
    for ax in list(axes.flat)[len(params):]:
        ax.axis("off")
    fig.supylabel("median validation error (%)")
    return _save(fig, path)
