"""What carries the effect: the mediation table as a figure, an HTML report section and Markdown.

The table is :func:`sim.analysis.mediation.summarise`'s: per channel and
outcome, the difference between the arms with the channel switched off and
the share of the full difference the channel carries, each with its 95%
t-interval across replicates. Intervals are drawn as they were computed (no
resampling here).
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import pandas as pd

from ..analysis.experiment import with_interval
from ..analysis.mediation import FULL, MEDIATED_OUTCOMES, largest_share
from .plots import themed

HOW_TO_READ = (
    "Each channel of the model is switched off in both care models (its parameters set to 0 or, for "
    "continuity, to the reference's value), on the same patients and chance events as the full model. "
    "Share = 1 − (difference with the channel off) / (difference with everything on), per replicate, then "
    "averaged with a 95% t-interval across replicates. Near 1: the difference disappears without the channel; "
    "near 0: it does not depend on it; above 1: it reverses; below 0: the channel was holding it back. "
    "Channels interact, so shares need not add up to 1."
)


def _full(table: pd.DataFrame, outcome: str) -> pd.Series:
    return table[(table["channel"] == FULL) & (table["outcome"] == outcome)].iloc[0]


def _contrast(table: pd.DataFrame) -> str:
    row = table.iloc[0]
    return f"{row['arm'].replace('_', ' ')} − {row['reference'].replace('_', ' ')}"


def short_label(label: str) -> str:
    """A channel's label up to its colon, for sentences and figure axes ("Distress: set point, ..." -> "Distress")."""
    return label.split(":")[0]


def figure_png(table: pd.DataFrame, dpi: int = 100) -> bytes:
    """Horizontal bars of each channel's share, one panel per outcome, with the precomputed 95% intervals."""
    outcomes = [o for o in MEDIATED_OUTCOMES if o in set(table["outcome"])]
    channels = table[table["channel"] != FULL].drop_duplicates("channel")
    labels = [f"{short_label(t)}\n{m}" for t, m in zip(channels["label"], channels["m_ids"], strict=True)]
    y = np.arange(len(labels))
    with themed() as new_figure:
        fig = new_figure(figsize=(4 + 4.5 * len(outcomes), 1.4 + 0.55 * len(labels)))
        axes = fig.subplots(1, len(outcomes), sharey=True, squeeze=False)[0]
        for k, (ax, outcome) in enumerate(zip(axes, outcomes, strict=True)):
            part = table[(table["outcome"] == outcome) & (table["channel"] != FULL)].set_index("channel")
            part = part.loc[channels["channel"]]
            mean = part["share_mean"].to_numpy()
            below = np.nan_to_num(np.clip(mean - part["share_low"].to_numpy(), 0, None))
            above = np.nan_to_num(np.clip(part["share_high"].to_numpy() - mean, 0, None))
            ax.barh(y, mean, xerr=np.vstack([below, above]), color=f"C{k}", ecolor="black", capsize=3)
            # A share of 0 (no part) and of 1 (the whole difference) are the landmarks of every bar.
            for edge in (0.0, 1.0):
                ax.axvline(edge, color="grey", lw=0.8, ls="--")
            full = _full(table, outcome)
            ax.set(
                title=f"{MEDIATED_OUTCOMES[outcome]}\n{_contrast(table)} "
                f"{with_interval(full['diff_mean'], full['diff_low'], full['diff_high'], signed=True)}",
                xlabel="share of the difference carried, 95% interval",
            )
            ax.title.set_fontsize(10)
        axes[0].set_yticks(y, labels)
        axes[0].invert_yaxis()
        fig.tight_layout()
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def display_table(table: pd.DataFrame, names: bool = True) -> pd.DataFrame:
    """The table as printed: one row per channel, each outcome's difference and share with its interval.

    Args:
        table: The mediation table.
        names: Lead with the channel's key (as ``--channels`` takes it), for researchers; without it the
            report shows labels only, for a board.
    """
    rows = []
    for channel, part in table.groupby("channel", sort=False):
        row = {"channel": channel} if names else {}
        row |= {"what is switched off": part["label"].iloc[0], "mechanisms": part["m_ids"].iloc[0] or "–"}
        for r in part.itertuples():
            name = MEDIATED_OUTCOMES[r.outcome]
            row[f"difference in {name}"] = with_interval(r.diff_mean, r.diff_low, r.diff_high, signed=True)
            row[f"share of {name}"] = "–" if channel == FULL else with_interval(r.share_mean, r.share_low, r.share_high)
        rows.append(row)
    return pd.DataFrame(rows)


def verdict(
    table: pd.DataFrame, channel: str = "self_management", outcome: str = "symptoms_final", names: bool = True
) -> str:
    """One sentence: whether ``channel`` carries the largest mean share of the difference in ``outcome``.

    It says so when the runner-up's interval overlaps the leader's: with
    these replicates the order of the two is then not settled. ``names``:
    channels by key (else by their short label, for a board).
    """
    part = table[(table["outcome"] == outcome) & (table["channel"] != FULL)].set_index("channel")
    part = part.sort_values("share_mean", ascending=False)
    name = MEDIATED_OUTCOMES[outcome]

    def called(c: str) -> str:
        return c if names or c not in part.index else short_label(part.at[c, "label"]).lower()

    def share(c: str) -> str:
        mean, low, high = part.loc[c, ["share_mean", "share_low", "share_high"]].astype(float)
        return with_interval(mean, low, high)

    def shown(c: str) -> str:
        return f"{called(c)} {share(c)}"

    top = largest_share(table, outcome)
    if channel not in part.index:
        return f"{called(channel)} was not switched off; the largest share of the difference in {name}: {shown(top)}."
    if top == channel:
        text = f"{called(channel)} carries the largest share of the difference in {name}: {share(top)}"
    else:
        text = (
            f"{called(channel)} does not carry the largest share of the difference in {name}: "
            f"{shown(top)}, {shown(channel)}"
        )
    if len(part) > 1:
        runner = str(part.index[1]) if top == channel else channel
        if part.at[runner, "share_high"] >= part.at[top, "share_low"]:
            text += f"; the intervals of {called(top)} and {called(runner)} overlap, so their order is not settled"
        elif top == channel:
            text += f"; next is {shown(runner)}"
    text += "."
    return text if names else text[0].upper() + text[1:]


def verdicts(table: pd.DataFrame, names: bool = True) -> str:
    """The verdict for symptoms (the article's claim) and for functioning, as two sentences."""
    return " ".join(verdict(table, outcome=o, names=names) for o in ("symptoms_final", "function_final"))


def report_section(table: pd.DataFrame) -> list[str]:
    """The decision report's "What carries the effect" section (HTML parts, figure embedded)."""
    html_table = display_table(table, names=False).to_html(classes="table", border=0, na_rep="–", index=False)
    return [
        "<h2>What carries the effect</h2>",
        f"<p class='note'>{html.escape(HOW_TO_READ)}</p>",
        html_table.replace("<table", '<table data-testid="mediation"', 1),
        f'<figure><img alt="share of the difference carried by each channel" '
        f'src="data:image/png;base64,{base64.b64encode(figure_png(table)).decode()}"></figure>',
        f"<p>{html.escape(verdicts(table, names=False))}</p>",
    ]


def to_markdown(table: pd.DataFrame) -> str:
    """The display table as Markdown, with how to read it and the verdict (``mediation.md`` of a run)."""
    shown = display_table(table)
    lines = ["| " + " | ".join(shown.columns) + " |", "|" + "---|" * len(shown.columns)]
    lines += ["| " + " | ".join(str(v) for v in row) + " |" for row in shown.itertuples(index=False)]
    parts = [f"# What carries the effect: {_contrast(table)}", HOW_TO_READ, "\n".join(lines), verdicts(table)]
    return "\n\n".join(parts) + "\n"
