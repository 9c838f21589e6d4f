"""Issue #14: a planner's own service — head counts into staffing, capacity made visible, staff costs, coordinators."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import CONF, compose_config, main_job

from experiments import run
from sim.analysis.budget import budget_impact, cost_per_patient
from sim.analysis.capacity import capacity_warnings, weighted_median
from sim.analysis.experiment import run_arm, run_experiment
from sim.analysis.targets import load_targets
from sim.core.params import ROLES, ConfigError, LocalServiceParams, StaffParams, WorkforceParams
from sim.core.service import (
    clinicians,
    needed_roles,
    service_fte,
    staff_cost_per_year,
    weekly_slots,
    workforce_for,
)
from sim.engine.metrics import CAPACITY_COLUMNS
from sim.outputs.report import build_report

CLINIC = "service=example_clinic"
TINY = ("run.replicates=2", "run.weeks=30", "population.n_patients=300")


def _people_and_slots(model) -> dict[str, tuple[int, int]]:
    c = model.clinicians
    return {r: (int((c.role == i).sum()), int(c.capacity[c.role == i].sum())) for i, r in enumerate(ROLES)}


# --- 1. the service description and its conversion -----------------------------------


def test_the_example_clinic_becomes_exactly_its_head_counts_and_slots_in_the_engine():
    config = compose_config(CLINIC)
    assert config.population.n_patients == 1500 and config.costs.currency == "GBP"
    model = run_arm(dataclasses.replace(config, run=dataclasses.replace(config.run, weeks=1)), "coordinated", 0)
    # 3 GPs x 6 sessions x 250 min / 15 min = 300; 1 specialist x 4 x 250 / 30 = 33.3 -> 33;
    # 1 psychologist x 9 x 250 / 60 = 37.5 -> 37; coordinator: caseload 150 / contacts every 8 weeks = 18.75 -> 18.
    assert _people_and_slots(model) == {
        "gp": (3, 300),
        "specialist": (1, 33),
        "psychologist": (1, 37),
        "physiotherapist": (0, 0),
        "coordinator": (1, 18),
    }


def test_fte_rounds_people_up_and_slots_down():
    local = LocalServiceParams()
    part_time = StaffParams(fte=2.5, sessions_per_week=4, appointment_minutes=20)
    assert clinicians(part_time) == 3  # half an FTE is still a person
    assert weekly_slots(part_time, local) == 125  # 2.5 x 4 x 250 / 20
    assert service_fte(part_time, local) == pytest.approx(2.5 * 4 / 9)
    # 125 slots shared by 3 people: 41 each (a whole appointment each), never more than the staff have.
    team = dataclasses.replace(local.staff, gp=part_time)
    config = compose_config(CLINIC)
    config = workforce_for(dataclasses.replace(config, service=dataclasses.replace(local, staff=team)))
    assert config.workforce.gp.capacity_per_week == 41
    assert round(config.workforce.gp.per_1000_patients * 1500 / 1000) == 3
    assert config.workforce.physiotherapist.per_1000_patients == 0  # a role left out has nobody


def test_a_caseload_limit_spreads_over_the_contact_interval():
    coordinator = StaffParams(head_count=2, sessions_per_week=9, caseload_per_fte=100)
    local = LocalServiceParams()
    assert weekly_slots(coordinator, local, contact_interval_weeks=8) == 25  # 2 FTE x 100 / 8
    assert weekly_slots(coordinator, local, contact_interval_weeks=4) == 50
    assert weekly_slots(coordinator, local, contact_interval_weeks=0) == 0  # no contacts asked for


def test_head_counts_survive_any_cohort_size():
    for n in (7, 150, 1500, 33_333):
        config = workforce_for(compose_config(CLINIC, f"population.n_patients={n}"))
        assert round(config.workforce.gp.per_1000_patients * n / 1000) == 3


def test_without_a_service_the_config_is_today_s():
    config = compose_config()
    assert config.service is None
    assert config.workforce == WorkforceParams()
    assert workforce_for(config) is config


def test_the_example_clinic_ships_local_targets_in_the_targets_format(tmp_path):
    targets = compose_config(CLINIC).service.targets
    (tmp_path / "local.yaml").write_text(yaml.safe_dump({"targets": targets}))
    loaded = load_targets(tmp_path / "local.yaml")  # the calibration's own reader accepts them
    assert [t.metric for t in loaded] == ["mean:disengaged_ever"] and loaded[0].arm == "fragmented"


# --- refusals ---------------------------------------------------------------------------


def test_a_needed_role_with_no_staff_is_refused_naming_the_service_key(tmp_path):
    with pytest.raises(ConfigError) as err:
        run.preflight([CLINIC, "service.staff.coordinator.head_count=0", f"hydra.run.dir={tmp_path}/out"])
    message = str(err.value)
    assert message.startswith("config error: service.staff.coordinator.head_count = 0 is not allowed")
    assert "coordinator_contact_interval_weeks" in message and "\n" not in message
    assert not (tmp_path / "out").exists()


def test_brief_courses_on_the_physio_pathway_need_a_physiotherapist(tmp_path):
    with pytest.raises(ConfigError, match=r"service\.staff\.physiotherapist\.head_count = 0 .*brief courses"):
        run.preflight([CLINIC, "population.share_physio_pathway=0.4", f"hydra.run.dir={tmp_path}/out"])


def test_a_role_with_people_but_no_sessions_is_refused_by_its_sessions(tmp_path):
    with pytest.raises(ConfigError, match=r"service\.staff\.psychologist\.sessions_per_week = 0"):
        run.preflight([CLINIC, "service.staff.psychologist.sessions_per_week=0", f"hydra.run.dir={tmp_path}/out"])


def test_the_main_job_refuses_a_missing_gp_in_one_line_and_writes_nothing(tmp_path):
    done = main_job(CLINIC, "service.staff.gp.head_count=0", f"hydra.run.dir={tmp_path}/out")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "config error: service.staff.gp.head_count = 0 is not allowed; expected > 0: intake is with a GP, "
        "so with no GP time nobody can be seen"
    ]
    assert not (tmp_path / "out").exists()


def test_a_typo_in_the_service_is_named():
    with pytest.raises(ConfigError, match=r"service\.staff\.gp\.headcount"):
        compose_config(CLINIC, "+service.staff.gp.headcount=3")


def test_needed_roles_follow_the_pathway_not_the_arm_name():
    config = compose_config()
    coordinated = needed_roles(config.arms["coordinated"], 0.4)
    assert set(coordinated) == set(ROLES)  # referrals, brief courses on both pathways, coordinator contacts
    assert set(needed_roles(config.arms["fragmented"], 0.4)) == {"gp", "specialist"}
    assert "physiotherapist" not in needed_roles(config.arms["coordinated"], 0.0)


# --- 2. capacity made visible ------------------------------------------------------------


@pytest.fixture(scope="module")
def clinic_result():
    return run_experiment(compose_config(CLINIC, *TINY))


def test_capacity_columns_are_consistent(clinic_result):
    w = clinic_result.weekly
    assert set(CAPACITY_COLUMNS) <= set(w.columns)
    for r in ROLES:
        used, offered, unmet = w[f"slots_used_{r}"], w[f"slots_offered_{r}"], w[f"unmet_{r}"]
        assert (used <= offered).all() and (unmet >= 0).all()
        has = offered > 0
        np.testing.assert_allclose(w.loc[has, f"utilisation_{r}"], used[has] / offered[has])
        assert w.loc[~has, f"utilisation_{r}"].isna().all()
    assert (w[[f"unmet_{r}" for r in ROLES]].sum(axis=1) == w["unmet_requests"]).all()
    assert (w[[f"slots_used_{r}" for r in ROLES]].sum(axis=1) == w["visits"]).all()
    for name in ("first", "therapy"):
        waits = w[f"wait_{name}_weeks_median"].dropna()
        assert (waits >= 0).all()
    assert w["therapy_starts"].sum() > 0 and (w["wait_therapy_weeks_mean"].dropna() >= 1).all()
    # Only the arms that send patients to therapy have anyone waiting for it.
    assert w.loc[w["arm"] == "fragmented", "waiting_therapy"].sum() == 0


def test_first_appointments_are_the_intakes_and_their_waits_the_patients_waiting_weeks():
    config = compose_config(
        "population.n_patients=200",
        "run.weeks=20",
        "workforce.gp.per_1000_patients=2",
        "mechanisms.represent_per_week=0",
    )
    model = run_arm(config, "fragmented", 0)
    weekly = model.weekly_table()  # run_arm gives the engine without Mesa (no data collector)
    # Nobody presents again after disengaging, so each first appointment ends the patient's only wait.
    seen = model.patients.care_start_week != -1
    assert weekly["first_appointments"].sum() == seen.sum()
    total_wait = (weekly["wait_first_weeks_mean"].fillna(0) * weekly["first_appointments"]).sum()
    assert total_wait == pytest.approx(model.patients.waiting_weeks[seen].sum())


def test_warnings_fire_on_a_stretched_service_and_name_the_role(clinic_result):
    warnings = capacity_warnings(clinic_result.weekly)
    assert any(re.search(r"in fragmented, the specialist runs above 90% of its slots", w) for w in warnings)


def test_no_warning_on_usual_care_in_the_default_service():
    # (The default team is stretched by coordinated and stepped care's coordinator contacts and therapy steps:
    # those arms may warn; usual care uses GPs and specialists well within their slots.)
    config = compose_config("~arms.coordinated", "~arms.stepped", "run.replicates=1", "population.n_patients=500")
    assert capacity_warnings(run_experiment(config).weekly) == []


def test_a_long_median_wait_warns():
    weeks = pd.DataFrame(
        {
            "arm": "a",
            "week": [0, 1, 2, 3],
            "first_appointments": [0, 5, 1, 1],
            "wait_first_weeks_median": [np.nan, 6.0, 1.0, 1.0],
            **{f"{k}_{r}": 0 for k in ("slots_offered", "slots_used", "unmet") for r in ROLES},
            **{f"utilisation_{r}": np.nan for r in ROLES},
        }
    )
    assert capacity_warnings(weeks) == [
        "waiting: in a, the median wait to a first appointment (with a GP) is 6 weeks, more than 4"
    ]
    assert weighted_median(np.array([6.0, 1.0, 1.0]), np.array([1.0, 5.0, 1.0])) == 1.0


def test_the_terminal_warns(tmp_path):
    done = main_job(CLINIC, *TINY, "run.figures=false", f"hydra.run.dir={tmp_path}/out")
    assert done.returncode == 0, done.stderr
    assert "warning: capacity: in fragmented, the specialist runs above 90%" in done.stdout


# --- 3. costs a board recognises ---------------------------------------------------------


def test_budget_impact_by_hand():
    config = compose_config(CLINIC, "run.weeks=26", "experiment=add_coordinator")
    patients = pd.DataFrame(
        {
            "arm": ["with_coordinator"] * 2 + ["without_coordinator"] * 2,
            "replicate": 0,
            "patient_id": [0, 1, 0, 1],
            "investigations": [1, 0, 2, 1],
            "emergency": [0, 1, 1, 0],
        }
    )
    table = budget_impact(patients, config, "without_coordinator")
    # Staff a year, both arms: GPs 3 FTE x 6/9 x 115,000 = 230,000; specialist 1 x 4/9 x 150,000 = 66,666.67;
    # psychologist 1 x 9/9 x 70,000 = 70,000; the coordinator (1 x 9/9 x 34,000) only where there are contacts.
    base = 230_000 + 4 / 9 * 150_000 + 70_000
    assert table.at["without_coordinator", "staff per year"] == pytest.approx(base)
    assert table.at["with_coordinator", "staff per year"] == pytest.approx(base + 34_000)
    # Tests 100 and A&E 300 each, over half a year: with 100 + 300 = 400 -> 800 a year; without 300 + 300 -> 1,200.
    assert table.at["with_coordinator", "tests and emergency attendances per year"] == pytest.approx(800)
    assert table.at["without_coordinator", "tests and emergency attendances per year"] == pytest.approx(1200)
    assert table.at["with_coordinator", "total per year"] == pytest.approx(base + 34_000 + 800)
    assert table.at["with_coordinator", "total per patient over the horizon"] == pytest.approx(
        ((base + 34_000) * 0.5 + 400) / 2
    )
    assert table.at["with_coordinator", "difference per year"] == pytest.approx(34_000 + 800 - 1200)
    per_patient = cost_per_patient(patients, config)
    assert per_patient.loc[("with_coordinator", 0)] == pytest.approx(((base + 34_000) * 0.5 + 400) / 2)


def test_staff_costs_need_a_service_description():
    config = compose_config()
    assert staff_cost_per_year(config, "coordinated") == {}


def test_uk_preset_names_its_currency_and_a_source_for_every_figure():
    text = (CONF / "costs" / "uk_pssru.yaml").read_text()
    preset = yaml.safe_load(text)
    assert preset["currency"] == "GBP" and "2023/24" in text and "PSSRU" in text
    figures = [line for line in text.splitlines() if re.match(r"\s*\w+: \d", line)]
    assert len(figures) == 14
    for line in figures:
        assert re.search(r"# (approximate: (PSSRU|NCC|salaried|consultant|clinical|physio|care)|judgement: )", line)
    config = compose_config("costs=uk_pssru")
    assert config.costs.emergency == preset["emergency"] and config.costs.currency == "GBP"


# --- 4. the coordinator as a lever ---------------------------------------------------------


def test_add_coordinator_compares_with_and_without_and_costs_the_coordinator():
    config = compose_config("experiment=add_coordinator", CLINIC, *TINY)
    result = run_experiment(config)
    p = result.patients
    visits = p.groupby("arm")["visits_coordinator"].sum()
    assert visits["with_coordinator"] > 0 and visits["without_coordinator"] == 0
    table = budget_impact(p, config, "without_coordinator")
    staff = table["staff per year"]
    assert staff["with_coordinator"] - staff["without_coordinator"] == pytest.approx(34_000)
    html = build_report(result)
    for section in ("Staffing and capacity", "Budget impact", 'data-testid="budget"', 'data-testid="capacity"'):
        assert section in html
    assert "34,000" in html  # the coordinator's cost a year, in the staffing table
    assert "GBP" in html


def test_the_report_without_a_service_explains_how_to_get_staff_costs(clinic_result):
    result = run_experiment(compose_config("run.replicates=1", "run.weeks=10", "population.n_patients=100"))
    html = build_report(result)
    assert "Staffing and capacity" in html and "service=&lt;name&gt;" in html
    clinic = build_report(clinic_result)
    assert "Capacity warnings" in clinic and "specialist runs above 90%" in clinic


def test_changing_a_service_without_one_says_how():
    with pytest.raises(ConfigError, match=r"service\.staff\.gp\.head_count = 4 is not allowed; .*add service=<name>"):
        compose_config("service.staff.gp.head_count=4")
    assert compose_config(CLINIC, "service.staff.gp.head_count=4").service.staff.gp.head_count == 4
