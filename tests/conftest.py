"""Shared, session-scoped fixtures: one compiled model and one small fitted forecast per run."""

from __future__ import annotations

import os

import pytest
import yaml

import iamg_forecast as iaf
from iamg_forecast.evidence import Evidence

# Scripts the tests run as child processes: not modules to import (``--doctest-modules``).
collect_ignore_glob = ["helpers/*"]

# Plumbing tests use small fits; statistical tests ask for their own sizes explicitly.
SMALL = {"draws": 300, "tune": 300, "chains": 2}


@pytest.fixture(scope="session")
def spec():
    return iaf.load_spec()


@pytest.fixture(scope="session")
def model():
    return iaf.load_model()


@pytest.fixture(scope="session")
def seed_items() -> list[Evidence]:
    raw = yaml.safe_load(iaf.seed_evidence_path().read_text(encoding="utf-8"))
    return [Evidence(**row) for row in raw["evidence"]]


@pytest.fixture(scope="session")
def seed_forecast(model, seed_items):
    """The default model fitted to the seed evidence, small draws (plumbing, not numbers)."""
    return iaf.forecast(model, seed_items, seed=7, **SMALL)


@pytest.fixture()
def tmp_workspace(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def pytest_configure(config):
    # Notebook and CLI subprocesses honour these to stay fast.
    os.environ.setdefault("IAMG_TEST_MODE", "1")
