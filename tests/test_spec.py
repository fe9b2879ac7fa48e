"""The spec: loading, hashing and every kind of malformed input named exactly."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

import iamg_forecast as iaf
from iamg_forecast.errors import SpecError
from iamg_forecast.spec import default_priors_dir, load_spec


@pytest.fixture()
def priors(tmp_path) -> Path:
    dest = tmp_path / "priors"
    shutil.copytree(default_priors_dir(), dest)
    return dest


def edit(folder: Path, name: str, fn) -> None:
    path = folder / name
    data = yaml.safe_load(path.read_text())
    fn(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def problems_of(folder: Path) -> list[tuple[str, str, str]]:
    with pytest.raises(SpecError) as info:
        load_spec(folder)
    return [(p.where, p.path, p.message) for p in info.value.problems]


def test_default_spec_loads_and_covers_design(spec):
    assert spec.latent_order[:3] == ["iran_domestic_crisis", "us_iran_escalation",
                                     "disarmament_pressure"]
    design_latents = {"iran_domestic_crisis", "us_iran_escalation", "disarmament_pressure",
                      "iran_funding_capacity", "iamg_manpower_in_iraq", "militia_cohesion",
                      "maliki_viability"}
    assert design_latents <= set(spec.latent_names)
    assert set(spec.outcome_names) == {
        "maliki_confirmed", "sudani_return", "other_pm", "deadlock_persists",
        "uncoordinated_attack", "militia_fragmentation", "verifiable_disarmament_step",
        "us_aid_cut_or_sanctions", "illicit_revenue_shift"}
    assert {"binary", "count", "continuous"} == {i.kind for i in spec.indicators}


def test_every_prior_has_a_rationale(spec):
    def walk(node):
        if isinstance(node, dict):
            if "dist" in node or ("value" in node and "rationale" in node):
                assert len(node.get("rationale", "")) > 10, node
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(spec.to_dict())


def test_hash_stable_under_key_order_and_whitespace(priors):
    before = load_spec(priors).hash
    for f in priors.glob("*.yaml"):
        data = yaml.safe_load(f.read_text())
        reordered = {k: data[k] for k in reversed(list(data))}
        f.write_text("\n\n" + yaml.safe_dump(reordered, sort_keys=True, indent=4) + "\n\n")
    assert load_spec(priors).hash == before


def test_hash_changes_with_a_number(priors):
    before = load_spec(priors).hash
    edit(priors, "scenario.yaml", lambda d: d["latents"][0]["initial"].update(mu=0.1))
    assert load_spec(priors).hash != before


def test_round_trip_through_dict(spec):
    again = iaf.Spec.from_mapping(spec.to_dict())
    assert again.hash == spec.hash


# ---- malformed specs: each names file and key path -------------------------------------------
# the count of indicators.yaml's entries: an appended copy of the first sits at this index
N_INDICATORS = len(yaml.safe_load((iaf.spec.default_priors_dir() / "indicators.yaml")
                                  .read_text())["indicators"])

CASES = [
    ("unknown latent in a link", "scenario.yaml",
     lambda d: d["links"][0].update(child="iran_fundng_capacity"),
     ("scenario.yaml", "links[0].child", "unknown latent; did you mean 'iran_funding_capacity'?")),
    ("cycle among latents", "scenario.yaml",
     lambda d: d["links"].append({"parent": "militia_cohesion", "child": "iran_funding_capacity",
                                  "sign": "+", "effect": {"dist": "HalfNormal", "sigma": 1,
                                                          "rationale": "test edge"}}),
     ("scenario.yaml", "links", "cycle among latents")),
    ("duplicate name", "indicators.yaml",
     lambda d: d["indicators"].append(dict(d["indicators"][0])),
     ("indicators.yaml", f"indicators[{N_INDICATORS}].name", "duplicate name")),
    ("negative scale", "scenario.yaml",
     lambda d: d["latents"][1]["initial"].update(sigma=-1.0),
     ("scenario.yaml", "latents[1].initial", "sigma must be > 0")),
    ("zero innovation sd", "scenario.yaml",
     lambda d: d["latents"][2]["innovation_sd"].update(value=0),
     ("scenario.yaml", "latents[2].innovation_sd", "innovation_sd.value must be > 0")),
    ("unknown distribution", "outcomes.yaml",
     lambda d: d["outcomes"][4]["base"].update(dist="Normall"),
     ("outcomes.yaml", "outcomes[4].base", "did you mean 'Normal'?")),
    ("probability outside (0,1)", "indicators.yaml",
     lambda d: d["indicators"][0]["false_report_rate"].update(value=1.5),
     ("indicators.yaml", "indicators[0]", "false_report_rate.value must be in (0, 1)")),
    ("empty outcome set", "outcomes.yaml",
     lambda d: (d.__setitem__("outcomes", []), d.__setitem__("competing_groups", [])),
     ("<all files>", "outcomes", "the outcome set is empty")),
    ("unparseable date", "scenario.yaml",
     lambda d: d["scenario"].update(default_horizon="2026-13-45"),
     ("scenario.yaml", "scenario.default_horizon", "expected an ISO date")),
    ("unparseable month", "scenario.yaml",
     lambda d: d["scenario"].update(start_month="November"),
     ("scenario.yaml", "scenario.start_month", "expected a month YYYY-MM")),
    ("misspelled key", "scenario.yaml",
     lambda d: d["latents"][0].update(descripton="typo"),
     ("scenario.yaml", "latents[0].descripton", "unknown key 'descripton'; did you mean "
                                                "'description'?")),
    ("effect prior with negative support", "scenario.yaml",
     lambda d: d["links"][1].update(effect={"dist": "Normal", "mu": 0, "sigma": 1,
                                            "rationale": "wrong family"}),
     ("scenario.yaml", "links[1].effect", "effect sizes need a positive prior")),
    ("unknown latent in an outcome driver", "outcomes.yaml",
     lambda d: d["outcomes"][5]["drivers"][0].update(latent="cohesion"),
     ("outcomes.yaml", "outcomes[5].drivers[0].latent", "unknown latent")),
    ("plausible range reversed", "outcomes.yaml",
     lambda d: d["outcomes"][0].update(plausible=[0.9, 0.1]),
     ("outcomes.yaml", "outcomes[0].plausible", "plausible must be [lo, hi]")),
    ("reliability table probability", "reliability.yaml",
     lambda d: d["reliability"]["table"]["C"].__setitem__(2, 1.2),
     ("reliability.yaml", "reliability", "table.C[2] must be in (0, 1)")),
    ("unknown section", "scenario.yaml",
     lambda d: d.__setitem__("latent", []),
     ("scenario.yaml", "latent", "unknown section; did you mean 'latents'?")),
]


@pytest.mark.parametrize("label,file,mutate,expected", CASES, ids=[c[0] for c in CASES])
def test_malformed_spec_names_the_problem(priors, label, file, mutate, expected):
    edit(priors, file, mutate)
    found = problems_of(priors)
    where, path, fragment = expected
    assert any(w == where and p == path and fragment in m for w, p, m in found), found


def test_all_problems_reported_at_once(priors):
    edit(priors, "scenario.yaml", lambda d: (d["links"][0].update(child="nope"),
                                            d["latents"][1]["initial"].update(sigma=0)))
    edit(priors, "outcomes.yaml", lambda d: d["outcomes"][4]["base"].update(dist="Bogus"))
    found = problems_of(priors)
    paths = {(w, p) for w, p, _ in found}
    assert {("scenario.yaml", "links[0].child"), ("scenario.yaml", "latents[1].initial"),
            ("outcomes.yaml", "outcomes[4].base")} <= paths


def test_invalid_yaml_is_a_spec_error(priors):
    (priors / "scenario.yaml").write_text("scenario: [unclosed\n")
    found = problems_of(priors)
    assert found[0][0] == "scenario.yaml" and "not valid YAML" in found[0][2]


def test_unquoted_impossible_date_names_file_and_key(priors):
    path = priors / "scenario.yaml"
    path.write_text(path.read_text().replace('default_horizon: "2026-12-31"',
                                             "default_horizon: 2026-13-01"))
    found = problems_of(priors)
    assert any(w == "scenario.yaml" and p == "scenario.default_horizon" and
               "expected an ISO date" in m for w, p, m in found), found


def test_unquoted_valid_date_is_accepted(priors, spec):
    path = priors / "scenario.yaml"
    path.write_text(path.read_text().replace('default_horizon: "2026-12-31"',
                                             "default_horizon: 2026-12-31"))
    assert "default_horizon: 2026-12-31\n" in path.read_text()
    assert load_spec(priors).hash == spec.hash


def test_non_utf8_spec_file_is_a_spec_error(priors):
    path = priors / "scenario.yaml"
    path.write_bytes(path.read_bytes() + "# café\n".encode("latin-1"))
    found = problems_of(priors)
    assert found[0][:2] == ("scenario.yaml", "<file>") and "not UTF-8" in found[0][2]


def test_missing_directory(tmp_path):
    with pytest.raises(SpecError, match="no such file"):
        load_spec(tmp_path / "nothing")


def test_reliability_lookup(spec):
    # Every grade reads its cell of priors/reliability.yaml (rows A-F, columns 1-6), in either
    # case; the file itself is read here without the spec's parser.
    raw = yaml.safe_load((default_priors_dir() / "reliability.yaml").read_text())
    table = raw["reliability"]["table"]
    assert sorted(table) == list("ABCDEF")
    for letter, row in table.items():
        for digit, r in enumerate(row, start=1):
            assert spec.reliability.probability(f"{letter}{digit}") == r
            assert spec.reliability.probability(f"{letter.lower()}{digit}") == r
    # the reference grade of the README and the table's rationale: 'probably true' = 0.83
    assert spec.reliability.probability("B2") == 0.83
    with pytest.raises(ValueError, match="Admiralty"):
        spec.reliability.probability("G7")
