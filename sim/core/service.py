"""A planner's own service: head counts and sessions into the engine's staffing, and staff costs.

The engine staffs a care system with clinicians per 1,000 patients and slots
per clinician per week (``WorkforceParams``). A service description
(``LocalServiceParams``, ``conf/service/<name>.yaml``) says it the way a
planner would: 3 GPs, each giving 6 clinical sessions a week to this patient
group in 15-minute appointments. :func:`workforce_for` converts one into the
other, by this rule:

1. Clinicians of a role = ``head_count``; if only ``fte`` is given, ``fte``
   rounded up (0.5 FTE is one part-time person).
2. Whole-time equivalents (FTE) = ``fte``, or ``head_count`` if no ``fte`` is
   given (all full time). FTE for this patient group = FTE x
   ``sessions_per_week`` / ``sessions_per_fte_week``.
3. The role's weekly slots = FTE x ``sessions_per_week`` x ``session_minutes``
   / ``appointment_minutes``; for a role with a caseload limit
   (``caseload_per_fte``, coordinators), FTE for this group x caseload / the
   shortest coordinator contact interval among the arms. Slots are whole
   appointments: the role's total is rounded down, then shared equally among
   its clinicians, each share rounded down again (so the engine never offers
   a slot the staff do not have; it may offer up to one fewer per clinician).
4. Clinicians per 1,000 patients = clinicians x 1,000 / patients served, which
   the engine turns back into exactly ``clinicians`` people.

Staff cost of an arm = FTE for this group x cost per FTE-year
(``costs.staff_per_fte_year``), over the roles the arm's pathway uses
(:func:`needed_roles`): a role a care model never sends anyone to spends no
time on this patient group under it.
"""

from __future__ import annotations

import dataclasses
import math

from .params import ROLES, Config, LocalServiceParams, PopulationParams, RunParams, ServiceParams, StaffParams

WEEKS_PER_YEAR = 52.0
"""Weeks in a costing year (staff costs per FTE-year are pro-rated to the horizon by weeks / 52)."""


def served_patients(population: PopulationParams, run: RunParams) -> float:
    """Patients the team serves: the cohort, or an open cohort's mean size over the run."""
    served = float(population.n_patients)
    if population.cohort == "open":
        served += population.arrivals_per_week * run.weeks / 2.0
    return served


def clinicians(staff: StaffParams) -> int:
    """People in the role: the head count, or the FTE rounded up when only FTE is given."""
    return staff.head_count if staff.head_count > 0 else math.ceil(staff.fte)


def whole_time_equivalents(staff: StaffParams) -> float:
    """The role's whole-time equivalents: ``fte``, or the head count (all full time) if ``fte`` is 0."""
    return staff.fte if staff.fte > 0 else float(staff.head_count)


def service_fte(staff: StaffParams, local: LocalServiceParams) -> float:
    """Whole-time equivalents the role gives this patient group (what its staff cost is counted on)."""
    return whole_time_equivalents(staff) * staff.sessions_per_week / local.sessions_per_fte_week


def weekly_slots(staff: StaffParams, local: LocalServiceParams, contact_interval_weeks: int = 0) -> int:
    """The role's appointments a week for this patient group, rounded down to whole appointments.

    Args:
        staff: The role's staff.
        local: The service (session length, full-time week).
        contact_interval_weeks: The coordinator contact interval the caseload limit is spread over
            (0: none, and a caseload limit then gives no slots).
    """
    if staff.caseload_per_fte > 0:
        if contact_interval_weeks <= 0:
            return 0
        return math.floor(service_fte(staff, local) * staff.caseload_per_fte / contact_interval_weeks)
    minutes = whole_time_equivalents(staff) * staff.sessions_per_week * local.session_minutes
    return math.floor(minutes / staff.appointment_minutes)


def contact_interval(arms: dict[str, ServiceParams]) -> int:
    """The shortest coordinator contact interval among the arms, in weeks (0 if no arm has contacts)."""
    intervals = [s.coordinator_contact_interval_weeks for s in arms.values() if s.coordinator_contact_interval_weeks]
    return min(intervals, default=0)


def workforce_for(config: Config) -> Config:
    """The config with its workforce staffed from its service description (unchanged without one).

    Every role's ``per_1000_patients`` and ``capacity_per_week`` come from the
    description by the rule in the module docstring; traits stay as they are.
    """
    local = config.service
    if local is None:
        return config
    served = served_patients(config.population, config.run)
    interval = contact_interval(config.arms)
    groups = {}
    for role in ROLES:
        staff = local.staff.role(role)
        n = clinicians(staff)
        slots = weekly_slots(staff, local, interval if role == "coordinator" else 0)
        groups[role] = dataclasses.replace(
            config.workforce.group(role),
            per_1000_patients=n * 1000.0 / served,
            capacity_per_week=slots // n if n else 0,
        )
    return dataclasses.replace(config, workforce=dataclasses.replace(config.workforce, **groups))


def needed_roles(service: ServiceParams, share_physio: float) -> dict[str, str]:
    """The roles a care model's pathway sends patients to, each with the reason.

    Intake and follow-up are with a GP; referrals go to a specialist; brief
    courses (M15) and, with stepping on, therapy steps (M17) go to a
    psychologist or physiotherapist (by ``population.share_physio_pathway``);
    coordinator contacts (M15) and the multidisciplinary step (M17) to a coordinator.
    """
    roles = {"gp": "every patient starts with a GP"}
    if service.p_referral_per_visit > 0:
        roles["specialist"] = f"p_referral_per_visit = {service.p_referral_per_visit:g} refers to specialists"
    therapy = _reasons(
        (
            service.p_psychosocial_offer_per_visit > 0,
            f"p_psychosocial_offer_per_visit = {service.p_psychosocial_offer_per_visit:g} offers brief courses",
        ),
        (service.stepping, "stepping = true steps patients up to therapy"),
    )
    if therapy and share_physio < 1:
        roles["psychologist"] = therapy
    if therapy and share_physio > 0:
        roles["physiotherapist"] = therapy
    coordination = _reasons(
        (
            service.coordinator_contact_interval_weeks > 0,
            f"coordinator_contact_interval_weeks = {service.coordinator_contact_interval_weeks} asks for contacts",
        ),
        (service.stepping, "stepping = true steps patients up to a team led by a coordinator"),
    )
    if coordination:
        roles["coordinator"] = coordination
    return roles


def _reasons(*cases: tuple[bool, str]) -> str:
    """The reasons that apply, joined ("" if none does)."""
    return "; ".join(text for applies, text in cases if applies)


def staff_cost_per_year(config: Config, arm: str) -> dict[str, float]:
    """Each role's staff cost a year under one arm (FTE for this group x cost per FTE-year; 0 if unused).

    Empty without a service description: the ratios alone do not say how many
    whole-time equivalents there are.
    """
    local = config.service
    if local is None:
        return {}
    used = needed_roles(config.arms[arm], config.population.share_physio_pathway)
    return {
        role: service_fte(local.staff.role(role), local) * config.costs.staff_per_fte_year.get(role, 0.0)
        if role in used
        else 0.0
        for role in ROLES
    }
