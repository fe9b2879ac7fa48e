"""A fuzz harness over every input path (issue 18): evidence rows (API, YAML, CSV), priors
files, command-line arguments and query arguments.

Each generated input must either be accepted or be refused with one of the library's errors;
a refused input must leave the store byte-for-byte as it was; no input may hang (each case
runs under a timer). Hypothesis runs derandomised (a fixed seed) without a database, so every
run sees the same inputs. Several inputs are checked per example where generation dominates
the cost; the inputs add up to more than 10,000 (``test_fuzz_counts_reach_10000`` counts them
and prints the tally).

``FUZZ_SCALE`` (environment) multiplies the counts for a longer local run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import signal
import sys
import traceback
from pathlib import Path

import pytest
import typer
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import iamg_forecast as iaf
from iamg_forecast.cli import _mount_optional, app
from iamg_forecast.errors import IAMGError
from iamg_forecast.evidence.io import COLUMNS, csv_escape

_mount_optional()
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))
CASE_SECONDS = 20          # a case still running after this long is a hang
PACKAGE = str(Path(iaf.__file__).resolve().parent)
COUNTS: dict[str, int] = {}


def fuzz_settings(n: int):
    return settings(max_examples=max(1, int(n * SCALE)), derandomize=True, database=None,
                    deadline=None, print_blob=False,
                    suppress_health_check=list(HealthCheck))


class CaseTimeout(BaseException):
    """Raised by the timer in a case that runs too long (a hang)."""


@contextlib.contextmanager
def time_limit(seconds: float = CASE_SECONDS):
    def alarm(signum, frame):
        raise CaseTimeout(f"a fuzz case ran longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def ours(err: BaseException) -> bool:
    """An error the library raises on purpose: one of its own types, or a KeyError/TypeError/
    ValueError raised by its own code (queries document those), never one from deep inside a
    dependency.
    """
    if isinstance(err, IAMGError):
        return True
    if isinstance(err, KeyError | TypeError | ValueError):
        frames = traceback.extract_tb(err.__traceback__)
        return bool(frames) and frames[-1].filename.startswith(PACKAGE)
    return False


def run_case(category: str, fn) -> bool:
    """Run one case under the timer; True when accepted, False when refused by the library."""
    COUNTS[category] = COUNTS.get(category, 0) + 1
    with time_limit():
        try:
            fn()
        except CaseTimeout:
            raise
        except Exception as err:  # noqa: BLE001 - classified below
            if not ours(err):
                raise AssertionError(f"{category}: uncaught {type(err).__name__}: "
                                     f"{str(err)[:300]}") from err
            text = str(err)
            assert len(text) < 20_000, f"{category}: an error message of {len(text)} chars"
            return False
    return True


# ---- strategies -------------------------------------------------------------------------------
SPEC = iaf.load_spec()
NAMES = SPEC.indicator_names + SPEC.outcome_names
ODD = ["", " ", "\r", "\n", "\r\n", "\x00", "\t", "=", "+", "-", "@", "'", '"', ",", "$\\frac{$",
       "&a", "*a", "<<", "{", "[", "#", "|", "\u2028", "\ufeff", "nan", "inf", "-0", "1e308",
       "yes", "No", "~", "null", "2026-W03-1", "20260115", "2026-02-30", "9999-12-31"]
text = st.one_of(st.sampled_from(ODD), st.text(st.characters(exclude_categories=("Cs",)),
                                                   max_size=40))
number = st.one_of(st.integers(-10**20, 10**20), st.floats(allow_nan=True, allow_infinity=True),
                   st.sampled_from([0, 1, 2, 0.5, -1, 1e6, 1e7]))
date = st.one_of(st.dates(dt.date(2025, 1, 1), dt.date(2027, 12, 31)).map(str), text)
field_values = {
    "indicator": st.one_of(st.sampled_from(NAMES), text),
    "date": date,
    "value": st.one_of(number, text, st.none(), st.booleans()),
    "source": st.one_of(st.just("Reuters"), text),
    "reliability": st.one_of(st.sampled_from(["A1", "B2", "C3", "F6", "b2"]), text),
    "note": st.one_of(st.none(), text),
    "url": st.one_of(st.none(), st.just("https://example.org/x"), text),
    "quote": st.one_of(st.none(), text),
    "duplicate_of": st.one_of(st.none(), text),
    "corroborates": st.one_of(st.none(), text),
    "monitored_absent": st.one_of(st.booleans(), text, number),
    "id": st.one_of(st.none(), text, st.text(min_size=100, max_size=300)),
}
FIELDS = list(field_values)
rows = st.fixed_dictionaries(
    {"indicator": field_values["indicator"], "date": date},
    optional={k: v for k, v in field_values.items() if k not in ("indicator", "date")}
    | {"bogus": text})
plain_rows = st.fixed_dictionaries({
    "indicator": st.sampled_from(SPEC.indicator_names), "date": st.dates(
        dt.date(2025, 11, 1), dt.date(2026, 1, 31)).map(str),
    "value": st.sampled_from([0, 1, 2, 3.5]), "source": text.filter(lambda s: s.strip()),
    "reliability": st.sampled_from(["A1", "B2", "C3"])},
    optional={"note": text, "quote": text, "id": text.filter(lambda s: 0 < len(s) < 60)})


@pytest.fixture(scope="module")
def log():
    with iaf.EvidenceLog.memory(SPEC) as lg:
        lg.import_file(iaf.seed_evidence_path())
        yield lg


def guarded_change(category: str, lg, fn) -> None:
    before = (lg.digest(), lg.rows())
    accepted = run_case(category, fn)
    if not accepted:
        assert (lg.digest(), lg.rows()) == before, f"{category}: a refused input changed the store"


# ---- evidence rows: API, YAML, CSV -----------------------------------------------------------
@fuzz_settings(300)
@given(batch=st.lists(st.one_of(rows, plain_rows), min_size=5, max_size=5))
def test_fuzz_api_rows(batch):
    """Five rows per example, added one by one to a fresh log (later rows may refer to
    earlier ones); each row is one input.
    """
    with iaf.EvidenceLog.memory(SPEC) as small:   # a fresh log: the digest stays cheap
        for row in batch:
            guarded_change("api rows", small, lambda r=row: small.add(r))


def _yaml_text(data, mutation: str, where: int) -> str:
    try:
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
    except yaml.YAMLError:
        text = "evidence: []\n"
    where = where % (len(text) + 1)
    return text[:where] + mutation + text[where:]


@fuzz_settings(600)
@given(data=st.one_of(st.fixed_dictionaries({"evidence": st.lists(rows, max_size=3)}),
                      st.fixed_dictionaries({"evidence": st.lists(plain_rows, max_size=3)}),
                      st.recursive(text, lambda c: st.lists(c, max_size=3)
                                   | st.dictionaries(text, c, max_size=3), max_leaves=10)),
       mutation=st.one_of(st.just(""), text, st.sampled_from(
           ["&x ", "*x", "<<: {}\n", "\n- ", "[" * 40, ": :", "!!python/object:os.system ''",
            "? ", "%YAML 1.1\n---\n", "\t"])),
       where=st.integers(0, 10_000))
def test_fuzz_yaml_files(log, tmp_path_factory, data, mutation, where):
    path = tmp_path_factory.getbasetemp() / "fuzz.yaml"
    path.write_text(_yaml_text(data, mutation, where), encoding="utf-8")
    guarded_change("yaml files", log, lambda: log.import_file(path))


cells = st.one_of(text, st.sampled_from(['"', '""', '"a,b"', "a\rb", "=cmd|' /C calc'!A0",
                                         "'=x", "1", "", " "]))


@fuzz_settings(600)
@given(header=st.one_of(st.permutations(COLUMNS).map(lambda c: list(c[:6])),
                        st.lists(st.one_of(st.sampled_from(COLUMNS), text), max_size=8)),
       body=st.lists(st.lists(cells, max_size=9), max_size=4),
       good=st.lists(plain_rows, max_size=2), escape=st.booleans(),
       raw=st.one_of(st.just(""), text))
def test_fuzz_csv_files(log, tmp_path_factory, header, body, good, escape, raw):
    import csv
    import io

    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator=raw if raw in ("\n", "\r\n", "\r") else "\r\n")
    w.writerow(header)
    for r in body:
        w.writerow([csv_escape(c) if escape else c for c in r])
    cols = ["indicator", "date", "value", "source", "reliability", "note", "quote", "id"]
    if good:
        w.writerow(cols)
    for g in good:
        w.writerow([csv_escape(str(g.get(c, ""))) for c in cols])
    path = tmp_path_factory.getbasetemp() / "fuzz.csv"
    path.write_text(buf.getvalue() + (raw if raw not in ("\n", "\r\n", "\r") else ""),
                    encoding="utf-8", newline="")
    guarded_change("csv files", log, lambda: log.import_file(path))


@fuzz_settings(100)
@given(items=st.lists(plain_rows, min_size=1, max_size=5), suffix=st.sampled_from([".csv",
                                                                                   ".yaml"]))
def test_fuzz_round_trip_is_lossless(tmp_path_factory, items, suffix):
    """Every item the log accepts comes back unchanged from an export (CSV and YAML)."""
    from iamg_forecast.evidence.io import read_evidence_file, write_evidence_file

    def case():
        with iaf.EvidenceLog.memory(SPEC) as lg:
            lg.add(*items)
            current = lg.current()
        path = write_evidence_file(current, tmp_path_factory.getbasetemp() / f"rt{suffix}")
        back = read_evidence_file(path, SPEC)
        assert [e.model_dump() for e in back] == [e.model_dump() for e in current]

    run_case("round trips", case)


# ---- priors files -----------------------------------------------------------------------------
def _mini_priors() -> str:
    """A one-file scenario (one latent, indicator and outcome): cheap to parse many times."""
    d = SPEC.to_dict()
    driver = next(x for x in d["latents"] if x["role"] == "driver")
    ind = {**d["indicators"][0],
           "loadings": [{**d["indicators"][0]["loadings"][0], "latent": driver["name"]}]}
    event = {**next(o for o in d["outcomes"] if o["type"] == "event"), "drivers": []}
    return yaml.safe_dump({"scenario": d["scenario"], "latents": [driver],
                           "indicators": [ind], "outcomes": [event],
                           "reliability": d["reliability"]}, sort_keys=False)


MINI = _mini_priors()
PRIORS = {p.name: p.read_text(encoding="utf-8")
          for p in sorted(Path(iaf.spec.default_priors_dir()).glob("*.yaml"))}
PRIORS["mini.yaml"] = MINI
SCALARS = [(name, i) for name, t in PRIORS.items() for i, line in enumerate(t.splitlines())
           if ": " in line and not line.strip().startswith("#")]
NEW_SCALARS = st.one_of(text, number.map(str), st.sampled_from(
    [".nan", ".inf", "-.inf", "yes", "''", "' '", "[]", "{}", "&a 1", "*a", "9999-12",
     "2026-W03-1", "1e400", "-1", "0", "[1, 2]", "!!binary aGk=", "2026-13"]))
EXTRA = st.one_of(st.just(""), st.sampled_from(
    ["\nlatents: []\n", "\nscenario: {}\n", "\n" + "  " * 40 + "x: 1\n", "\nbogus: 1\n",
     "\nlinks:\n- {parent: a, child: a, sign: +, effect: {dist: HalfNormal, sigma: 1, "
     "rationale: abc}}\n"]))


def _mutated(name: str, i: int, new: str, extra: str) -> str:
    lines = PRIORS[name].splitlines()
    key = lines[i].split(": ", 1)[0]
    lines[i] = f"{key}: {new}"
    return "\n".join(lines) + extra + "\n"


MINI_ROWS = [i for name, i in SCALARS if name == "mini.yaml"]


@fuzz_settings(250)
@given(batch=st.lists(st.tuples(st.integers(0, 10_000), NEW_SCALARS, EXTRA), min_size=4,
                      max_size=4))
def test_fuzz_priors_file(tmp_path_factory, batch):
    """One-file scenarios with one value replaced (cheap: the bulk of the priors inputs);
    four per example, each one input.
    """
    path = tmp_path_factory.getbasetemp() / "fuzz_priors.yaml"
    for line, new, extra in batch:
        path.write_text(_mutated("mini.yaml", MINI_ROWS[line % len(MINI_ROWS)], new, extra),
                        encoding="utf-8")
        run_case("priors files", lambda: iaf.load_spec(path))


@fuzz_settings(20)
@given(target=st.sampled_from([t for t in SCALARS if t[0] != "mini.yaml"]), new=NEW_SCALARS,
       extra=EXTRA)
def test_fuzz_priors_directory(tmp_path_factory, target, new, extra):
    """The bundled scenario's files with one value replaced."""
    name, i = target
    d = tmp_path_factory.getbasetemp() / "fuzz_priors"
    d.mkdir(exist_ok=True)
    for n, t in PRIORS.items():
        if n != "mini.yaml":
            (d / n).write_text(t, encoding="utf-8")
    (d / name).write_text(_mutated(name, i, new, extra), encoding="utf-8")
    run_case("priors files", lambda: iaf.load_spec(d))


# ---- command-line arguments ---------------------------------------------------------------------
runner = CliRunner()
# The click command built once: typer rebuilds it from the signatures on every invoke.
COMMAND = typer.main.get_command(app)
cli_text = text.filter(lambda s: "\x00" not in s)
COMMANDS = st.one_of(
    st.tuples(st.just(["evidence", "add"]), st.lists(st.sampled_from(
        ["--indicator", "--date", "--source", "--reliability", "--value", "--note", "--url",
         "--quote", "--duplicate-of", "--corroborates", "--monitored-absent"]), max_size=7),
        st.lists(cli_text, min_size=7, max_size=7)),
    st.tuples(st.sampled_from([["evidence", "retract"], ["evidence", "amend"],
                               ["evidence", "history"], ["resolve"], ["score"],
                               ["priors", "elicit"], ["evidence", "list"]]),
              st.lists(st.sampled_from(["--reason", "--value", "--date", "--note", "--source",
                                        "--happened", "--not-happened", "--mass", "--kind",
                                        "--json", "--reliability"]), max_size=4),
              st.lists(cli_text, min_size=4, max_size=4)),
)


@pytest.fixture(scope="module")
def cli_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("cli") / "store.sqlite"
    with iaf.EvidenceLog.open(db, SPEC) as lg:
        lg.import_file(iaf.seed_evidence_path())
    return db


def _digest(path: Path) -> str:
    with contextlib.suppress(FileNotFoundError):
        return hashlib.sha256(path.read_bytes()).hexdigest()
    return ""


@fuzz_settings(400)
@given(batch=st.lists(st.tuples(COMMANDS, st.lists(cli_text, max_size=2)), min_size=2,
                      max_size=2))
def test_fuzz_cli_arguments(cli_db, batch):
    """Two command lines per example, each one input."""
    for cmd, positional in batch:
        _cli_case(cli_db, cmd, positional)


def _cli_case(cli_db: Path, cmd, positional) -> None:
    words, options, values = cmd
    args = list(words)
    if words[0] in ("resolve",) or words[-1] in ("retract", "amend", "history", "elicit"):
        args += positional
    for opt, val in zip(options, values, strict=False):
        args += [opt] if opt in ("--monitored-absent", "--happened", "--not-happened",
                                 "--json") else [opt, val]
    if words[0] not in ("priors",):
        args += ["--db", str(cli_db)]
    wal = Path(str(cli_db) + "-wal")
    before = (_digest(cli_db), _digest(wal))

    def case():
        out = runner.invoke(COMMAND, args, prog_name="iamg-forecast")
        if out.exception is not None and not isinstance(out.exception, SystemExit):
            raise out.exception
        assert "Traceback" not in out.output
        assert out.exit_code in (0, 2), (args, out.exit_code, out.output[:300])
        if out.exit_code == 2:
            assert (_digest(cli_db), _digest(wal)) == before, ("a refused command changed "
                                                               f"the store: {args[:3]}")

    COUNTS["cli arguments"] = COUNTS.get("cli arguments", 0) + 1
    with time_limit():
        case()


# ---- query arguments ----------------------------------------------------------------------------
query_arg = st.one_of(text, number, st.none(), st.booleans(), st.sampled_from(
    SPEC.outcome_names), st.lists(st.sampled_from(SPEC.outcome_names), max_size=3),
    st.dictionaries(st.sampled_from(SPEC.outcome_names), st.one_of(st.booleans(), text),
                    max_size=2), st.dates().map(str), st.dates())
QUERIES = ["getitem", "given", "joint", "outcome_draws", "signposts", "surprise", "what_if",
           "compare", "as_known_on", "model_data"]


@fuzz_settings(1700)
@given(batch=st.lists(st.tuples(st.sampled_from(QUERIES), query_arg, query_arg), min_size=4,
                      max_size=4))
def test_fuzz_query_arguments(seed_forecast, log, batch):
    """Four queries per example, each one input."""
    for name, a, b in batch:
        _query_case(seed_forecast, log, name, a, b)


def _query_case(fc, log, name, a, b) -> None:
    calls = {
        "getitem": lambda: fc[a],
        "given": lambda: fc.given(a, b),
        "joint": lambda: fc.joint(a),
        "outcome_draws": lambda: fc.outcome_draws(a),
        # signposts: cheap arguments only reach the reweighting when they are valid
        "signposts": lambda: fc.signposts(months=a, reliability=b) if not (
            isinstance(a, int) and not isinstance(a, bool) and 1 <= a <= 2
            and isinstance(b, str) and b.strip().upper() in ("A1", "B2")) else None,
        # surprise() without items is leave-one-out over every item: valid and slow
        "surprise": lambda: fc.surprise(a) if a is not None else None,
        "what_if": lambda: fc.what_if(a, refit="never"),
        "compare": lambda: fc.compare(a),
        "as_known_on": lambda: log.as_known_on(a),
        "model_data": lambda: log.model_data(a),
    }
    run_case("query arguments", calls[name])


def test_fuzz_counts_reach_10000():
    """The harness above generated at least 10,000 inputs (when run as a whole)."""
    if SCALE < 1 or len(COUNTS) < 7:
        pytest.skip("only part of the harness ran")
    total = sum(COUNTS.values())
    print(f"\nfuzz inputs: {total} {COUNTS}", file=sys.stderr)
    assert total >= 10_000, COUNTS
