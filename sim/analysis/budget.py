"""Budget impact: what each arm costs the service, staff included, per patient and per year.

With a service description the team is paid by whole-time equivalent, so the
cost of an arm is

    staff cost (FTE for this patient group x cost per FTE-year, over the roles
    the arm uses, pro-rated to the horizon: x weeks / 52)
    + tests and emergency attendances (events x unit cost), which fall outside
    the team's own time.

Clinician visits, referrals and case reviews are the team's own time, already
in its staff cost, so they are not added again here (the event-cost tables of
the report still price them, by the unit costs, for comparison with
services paid per visit).
"""

from __future__ import annotations

import pandas as pd

from ..core.params import ROLES, Config
from ..core.service import WEEKS_PER_YEAR, clinicians, service_fte, staff_cost_per_year, whole_time_equivalents


def outside_team_cost(patients: pd.DataFrame, config: Config) -> pd.Series:
    """Each patient's cost of tests and emergency attendances over the horizon (one value per row)."""
    costs = config.costs
    return patients["investigations"] * costs.investigation + patients["emergency"] * costs.emergency


def cost_per_patient(patients: pd.DataFrame, config: Config) -> pd.Series:
    """Staff plus tests and emergency attendances per patient over the horizon, by ``(arm, replicate)``.

    The staff cost of an arm over the horizon is shared equally among the
    patients the replicate reports.
    """
    years = config.run.weeks / WEEKS_PER_YEAR
    frame = patients.assign(outside=outside_team_cost(patients, config))
    per = frame.groupby(["arm", "replicate"]).agg(outside=("outside", "mean"), patients=("patient_id", "size"))
    staff = per.index.get_level_values("arm").map(lambda a: sum(staff_cost_per_year(config, a).values()) * years)
    return (per["outside"] + staff / per["patients"]).rename("cost")


def budget_impact(patients: pd.DataFrame, config: Config, reference: str) -> pd.DataFrame:
    """Per arm: staff, tests and emergency attendances, per year for the whole population and per patient.

    Means over replicates. ``difference per year`` is the arm's total per
    year minus the reference arm's.

    Args:
        patients: The per-patient table of all arms and replicates.
        config: The experiment (unit costs, staff costs, horizon, service description).
        reference: The arm the others are compared with.
    """
    years = config.run.weeks / WEEKS_PER_YEAR
    frame = patients.assign(outside=outside_team_cost(patients, config))
    per_rep = frame.groupby(["arm", "replicate"], sort=False).agg(
        outside=("outside", "sum"), patients=("patient_id", "size")
    )
    per_arm = per_rep.groupby(level="arm", sort=False).mean()
    rows = []
    for arm, row in per_arm.iterrows():
        staff_year = sum(staff_cost_per_year(config, arm).values())
        outside_year = row["outside"] / years
        total_year = staff_year + outside_year
        rows.append(
            {
                "arm": arm,
                "patients": row["patients"],
                "staff per year": staff_year,
                "tests and emergency attendances per year": outside_year,
                "total per year": total_year,
                "total per patient over the horizon": total_year * years / row["patients"],
            }
        )
    table = pd.DataFrame(rows).set_index("arm")
    table["difference per year"] = table["total per year"] - table.at[reference, "total per year"]
    return table


def staffing_table(config: Config) -> pd.DataFrame:
    """The described team by role: people, FTE, FTE for this patient group, slots a week, cost a year.

    Without a service description: clinicians per 1,000 patients and slots per clinician, as configured.
    """
    local = config.service
    rows = []
    for role in ROLES:
        group = config.workforce.group(role)
        if local is None:
            rows.append(
                {
                    "role": role,
                    "clinicians per 1,000 patients": group.per_1000_patients,
                    "slots per clinician a week": group.capacity_per_week,
                }
            )
            continue
        staff = local.staff.role(role)
        if clinicians(staff) == 0:
            continue
        fte = service_fte(staff, local)
        rows.append(
            {
                "role": role,
                "people": clinicians(staff),
                "FTE": whole_time_equivalents(staff),
                "FTE for this patient group": fte,
                "slots a week": clinicians(staff) * group.capacity_per_week,
                "cost per FTE-year": config.costs.staff_per_fte_year.get(role, 0.0),
                "cost a year (when used)": fte * config.costs.staff_per_fte_year.get(role, 0.0),
            }
        )
    return pd.DataFrame(rows).set_index("role")
