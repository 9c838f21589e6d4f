"""Which causal channel carries the difference between two care models: switch one off at a time.

A **channel** is a named link of the model through which care can move the
outcomes: what self-management does, what a validating or dismissing
encounter does, what tests do to beliefs, and so on. Each is declared below
as the parameter overrides that switch it off: mechanism coefficients set to 0
(the way ``tests/test_mechanisms.py`` isolates a mechanism), service features
set to 0 in every arm, or, for a service feature that has no "off" (how often
a patient sees their named lead), every arm given the reference arm's value so
that the arms no longer differ in it.

For each channel both arms run with the channel off, on the same replicate
seeds as the full model (common random numbers: the same patients and the
same chance events). Per replicate ``r`` the difference between the arms
(arm minus reference, in the mean outcome at the horizon) is computed with
everything on, ``full_r``, and with the channel off, ``off_r``; the share of
the difference the channel carries is ``1 - off_r / full_r``. Shares are
summarised across replicates (mean and 95% t-interval, paired by replicate).
A share near 1 means the difference disappears without the channel; near 0,
that it does not depend on it; above 1, that without it the difference
reverses; below 0, that the channel was holding the difference back. Channels
interact (adherence feeds avoidance, distress feeds adherence), so shares
need not add up to 1.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..core.params import Config, ConfigError, validate
from .experiment import ExperimentResult, in_workers, reference_arm, run_arm, run_experiment, t_interval, worker_count

MEDIATED_OUTCOMES: dict[str, str] = {
    "function_final": "functioning (0-100)",
    "symptoms_final": "symptoms (PHQ-15)",
}
"""Per-patient outcomes whose difference between arms is decomposed, with a short name for tables."""

FULL = "full"
"""The channel name of the full model (every channel on) in the tables."""


@dataclass(frozen=True)
class Channel:
    """One causal channel and the overrides that switch it off.

    Attributes:
        name: Short key (tables, ``--channels``).
        label: What the channel is, in a few words.
        m_ids: The mechanisms (``docs/model.md``) the channel runs through.
        mechanisms: ``MechanismParams`` coefficients set to 0.
        service_off: ``ServiceParams`` fields set to 0 in every arm.
        service_shared: ``ServiceParams`` fields every arm takes from the reference arm.
    """

    name: str
    label: str
    m_ids: tuple[str, ...]
    mechanisms: tuple[str, ...] = ()
    service_off: tuple[str, ...] = ()
    service_shared: tuple[str, ...] = ()


CHANNELS: tuple[Channel, ...] = (
    # Adherence as a mediator: every effect of carrying out the plan, cut where it acts.
    Channel(
        "self_management",
        "Self-management (adherence): recovery, activity, graded exposure",
        ("M7", "M8", "M10", "M19"),
        mechanisms=("recovery_per_week", "activity_adherence", "avoidance_exposure_per_week"),
    ),
    Channel("contact", "Contact alone (being seen)", ("M8",), mechanisms=("contact_recovery_per_week",)),
    Channel(
        "validation",
        "Validation and dismissal",
        ("M2", "M12", "M13", "M19"),
        mechanisms=(
            "validated_distress_drop",
            "validated_trust_gain",
            "validated_avoidance_drop",
            "dismissed_distress_rise",
            "dismissed_trust_drop",
            "dismissed_bond_drop",
            "dismissed_stigma_rise",
            "dismissed_avoidance_rise",
            "rupture_dismissal",
            "dropout_dismissal",
        ),
    ),
    Channel(
        "explanation",
        "Explanation and shared goals",
        ("M3", "M15", "M19"),
        mechanisms=("goals_gain", "tasks_gain", "uncertainty_drop", "explanation_avoidance_drop", "uptake_explanation"),
    ),
    # Continuity has no "off": a service with none still routes patients to someone. Every arm gets the
    # reference arm's continuity; what a lead alliance carries over, and what a contradicting clinician
    # costs, are switched off.
    Channel(
        "continuity",
        "Continuity, alliance transfer and one shared plan",
        ("M15", "M5", "M12"),
        mechanisms=("contradiction_trust_drop", "contradiction_uncertainty_rise", "rupture_contradiction"),
        service_off=("alliance_transfer",),
        service_shared=("continuity",),
    ),
    Channel(
        "testing",
        "Harms of testing: repeat-test doubt, unexplained normal results",
        ("M14", "M5"),
        mechanisms=("repeat_test_uncertainty", "normal_result_trust_drop"),
    ),
    Channel(
        "reliability",
        "Reliable follow-up and referral: kept, missed and lost appointments, waiting",
        ("M5", "M15", "M18"),
        mechanisms=(
            "kept_followup_trust_gain",
            "missed_followup_trust_drop",
            "lost_referral_trust_drop",
            "waiting_trust_drop",
        ),
    ),
    Channel(
        "dropout",
        "Trust and alliance keep patients in care",
        ("M13",),
        mechanisms=("dropout_trust", "dropout_alliance"),
    ),
    # Distress as a mediator: its effects on the course of the condition (help-seeking left on).
    Channel(
        "distress",
        "Distress: set point, flares, adherence, functioning",
        ("M8", "M9", "M7", "M19"),
        mechanisms=("setpoint_distress", "flare_distress", "adherence_distress", "function_distress"),
    ),
    Channel(
        "avoidance",
        "Avoidance (fear-avoidance): set point, activity, functioning",
        ("M19", "M8", "M10"),
        mechanisms=("setpoint_avoidance", "activity_avoidance", "function_avoidance"),
    ),
    Channel("pacing", "Pacing advice", ("M10",), mechanisms=("pacing_gain",)),
)
"""Every channel, in the order tables and figures show them."""


def channel_names() -> list[str]:
    """The names of the declared channels, in order."""
    return [c.name for c in CHANNELS]


def select_channels(names: Iterable[str] | None) -> tuple[Channel, ...]:
    """The channels named (all if ``names`` is None), in the declared order.

    Raises:
        ConfigError: naming an unknown channel and the ones allowed.
    """
    if names is None:
        return CHANNELS
    names = [n.strip() for n in names]
    known = channel_names()
    for name in names:
        if name not in known:
            raise ConfigError(f"config error: --channels = {name!r} is not allowed; expected any of {', '.join(known)}")
    if not names:
        raise ConfigError(f"config error: --channels is empty; expected at least one of {', '.join(known)}")
    return tuple(c for c in CHANNELS if c.name in names)


def switch_off(config: Config, channel: Channel) -> Config:
    """The config with ``channel`` switched off in every arm (see :class:`Channel`)."""
    mechanisms = dataclasses.replace(config.mechanisms, **_zeros(config.mechanisms, channel.mechanisms))
    reference = config.arms[reference_arm(config)]
    shared = {f: getattr(reference, f) for f in channel.service_shared}
    arms = {
        arm: dataclasses.replace(service, **_zeros(service, channel.service_off), **shared)
        for arm, service in config.arms.items()
    }
    return dataclasses.replace(config, mechanisms=mechanisms, arms=arms)


def _zeros(params: object, names: Iterable[str]) -> dict[str, object]:
    # Zero of each field's own type (0.0, 0 or False), so the config stays as typed as the defaults.
    return {name: type(getattr(params, name))(0) for name in names}


def active_parts(config: Config, arm: str, channel: Channel) -> list[str]:
    """The parts of ``channel`` that are on in ``config`` when ``arm`` is compared with the reference.

    A coefficient is on if it is non-zero; a service field switched off, if it
    is non-zero in one of the two arms; a shared service field, if the two arms
    differ in it. Parts are named as overrides name them (``mechanisms.x``,
    ``arms.<arm>.x``).
    """
    services = (config.arms[arm], config.arms[reference_arm(config)])
    on = [f"mechanisms.{n}" for n in channel.mechanisms if getattr(config.mechanisms, n) != 0]
    on += [f"arms.{arm}.{n}" for n in channel.service_off if any(getattr(s, n) != 0 for s in services)]
    on += [f"arms.{arm}.{n}" for n in channel.service_shared if getattr(services[0], n) != getattr(services[1], n)]
    return on


def check_channels(config: Config, arm: str, channels: Iterable[Channel] = CHANNELS) -> None:
    """Refuse, before any work, a channel that the config has already switched off entirely.

    Its share would be 0 by construction, which a table would show as a finding.

    Raises:
        ConfigError: naming the channel's first parameter, its value and what is allowed.
    """
    for channel in channels:
        if active_parts(config, arm, channel):
            continue
        if channel.mechanisms:
            key, value = f"mechanisms.{channel.mechanisms[0]}", getattr(config.mechanisms, channel.mechanisms[0])
        else:
            name = (*channel.service_off, *channel.service_shared)[0]
            key, value = f"arms.{arm}.{name}", getattr(config.arms[arm], name)
        raise ConfigError(
            f"config error: {key} = {value!r} is not allowed with channel {channel.name}, which is then already "
            f"off ({', '.join((*channel.mechanisms, *channel.service_off, *channel.service_shared))} all off or equal "
            "across arms); expected one of them on, or leave the channel out (--channels)"
        )


def two_arms(config: Config, arm: str) -> Config:
    """The config restricted to ``arm`` and the reference arm (other arms would only cost time).

    Raises:
        ConfigError: if ``arm`` is not an arm of the config, or is the reference itself.
    """
    ref = reference_arm(config)
    if arm not in config.arms or arm == ref:
        others = [a for a in config.arms if a != ref]
        raise ConfigError(
            f"config error: --arm = {arm!r} is not allowed; expected an arm compared with {ref}: {', '.join(others)}"
        )
    return dataclasses.replace(config, arms={arm: config.arms[arm], ref: config.arms[ref]})


def replicate_means(patients: pd.DataFrame) -> pd.DataFrame:
    """Mean of each mediated outcome per arm and replicate (index ``arm``, ``replicate``)."""
    return patients.groupby(["arm", "replicate"])[list(MEDIATED_OUTCOMES)].mean().astype(float)


def run_means(config: Config, arm: str, replicate: int) -> dict[str, float]:
    """Simulate one arm in one replicate; the mean of each mediated outcome (what a worker sends back)."""
    from ..engine.metrics import patient_table

    table = patient_table(run_arm(config, arm, replicate))
    return {o: float(table[o].mean()) for o in MEDIATED_OUTCOMES}


def differences(means: pd.DataFrame, arm: str, reference: str, channel: str) -> pd.DataFrame:
    """Per replicate, ``arm`` minus ``reference`` in each mediated outcome, tidy (channel, outcome, replicate, diff).

    Args:
        means: Outcome means indexed by ``(arm, replicate)`` (:func:`replicate_means`).
        arm: The arm compared.
        reference: The arm it is compared with.
        channel: The channel switched off (:data:`FULL` for none).
    """
    diff = means.loc[arm] - means.loc[reference]
    tidy = diff.reset_index().melt(id_vars="replicate", var_name="outcome", value_name="diff")
    return tidy.assign(channel=channel)[["channel", "outcome", "replicate", "diff"]]


def summarise(diffs: pd.DataFrame, channels: Iterable[Channel] = CHANNELS) -> pd.DataFrame:
    """The mediation table from per-replicate differences.

    Args:
        diffs: Tidy per-replicate differences (``channel``, ``outcome``,
            ``replicate``, ``diff``) for :data:`FULL` and each channel.
        channels: The channels to report, in order (those present in ``diffs``).

    Returns:
        One row per channel (the full model first) and outcome: ``diff_mean``,
        ``diff_low``, ``diff_high`` (the difference with that channel off; with
        everything on for the full model), ``share_mean``, ``share_low``,
        ``share_high`` (``1 - off_r / full_r`` per replicate, then across
        replicates; NaN for the full model, and for a replicate whose full
        difference is exactly 0), ``replicates`` (pairs), ``label``, ``m_ids``.
        Intervals are 95% t-intervals across replicates.
    """
    wide = diffs.pivot_table(index=["outcome", "replicate"], columns="channel", values="diff")
    rows = []
    labels = [(FULL, "Full model (every channel on)", "")] + [
        (c.name, c.label, " ".join(c.m_ids)) for c in channels if c.name in wide.columns
    ]
    for name, label, m_ids in labels:
        for outcome in [o for o in MEDIATED_OUTCOMES if o in wide.index.get_level_values("outcome")]:
            part = wide.loc[outcome]
            off, full = part[name].to_numpy(), part[FULL].to_numpy()
            with np.errstate(divide="ignore", invalid="ignore"):
                share = np.where(full != 0, 1.0 - off / full, np.nan)
            d_mean, d_low, d_high = t_interval(off)
            s_mean, s_low, s_high = (np.nan,) * 3 if name == FULL else t_interval(share)
            rows.append(
                {
                    "channel": name,
                    "outcome": outcome,
                    "diff_mean": d_mean,
                    "diff_low": d_low,
                    "diff_high": d_high,
                    "share_mean": s_mean,
                    "share_low": s_low,
                    "share_high": s_high,
                    "replicates": int(np.isfinite(off).sum()),
                    "label": label,
                    "m_ids": m_ids,
                }
            )
    return pd.DataFrame(rows)


def largest_share(table: pd.DataFrame, outcome: str) -> str:
    """The channel with the largest mean share of the difference in ``outcome``."""
    part = table[(table["outcome"] == outcome) & (table["channel"] != FULL)]
    return str(part.loc[part["share_mean"].idxmax(), "channel"])


def run_mediation(
    config: Config,
    arm: str = "coordinated",
    channels: Iterable[Channel] = CHANNELS,
    progress: Callable[[str, int], None] | None = None,
) -> ExperimentResult:
    """Run the full model and every channel switched off, in ``arm`` and the reference, and decompose.

    The full model runs as an ordinary experiment of the two arms (its
    result, tables and report are those of ``experiments.run``); then each
    channel runs in both arms on the same replicate seeds. Runs go to
    ``run.jobs`` worker processes; the results are the same, bit for bit,
    however many.

    Args:
        config: The experiment configuration (validated here).
        arm: The arm whose difference from the reference arm is decomposed.
        channels: The channels to switch off, one at a time.
        progress: Called after each finished run with a label and the replicate.

    Returns:
        The full model's experiment, with ``mediation`` (the table of
        :func:`summarise`) and ``mediation_replicates`` (the per-replicate
        differences) filled in.

    Raises:
        ConfigError: for a bad config, an arm that is not compared with the
            reference, or a channel that would switch nothing off.
    """
    validate(config)
    channels = tuple(channels)
    config = two_arms(config, arm)
    check_channels(config, arm, channels)
    ref = reference_arm(config)
    result = run_experiment(config, progress)
    diffs = [differences(replicate_means(result.patients), arm, ref, FULL)]
    tasks = [(c, a, r) for c in channels for r in range(config.run.replicates) for a in (arm, ref)]
    configs = {c.name: switch_off(config, c) for c in channels}
    calls = [(configs[c.name], a, r) for c, a, r in tasks]
    done: list[dict[str, float] | None] = [None] * len(tasks)
    for i, means in in_workers(run_means, calls, worker_count(config, len(calls))):
        done[i] = means
        if progress is not None:
            channel, a, r = tasks[i]
            progress(f"{channel.name} off, {a}", r)
    for channel in channels:
        rows = [
            {"arm": a, "replicate": r, **m} for (c, a, r), m in zip(tasks, done, strict=True) if c.name == channel.name
        ]
        means = pd.DataFrame(rows).set_index(["arm", "replicate"])
        diffs.append(differences(means, arm, ref, channel.name))
    per_replicate = pd.concat(diffs, ignore_index=True)
    result.mediation = summarise(per_replicate, channels).assign(arm=arm, reference=ref)
    result.mediation_replicates = per_replicate
    return result
