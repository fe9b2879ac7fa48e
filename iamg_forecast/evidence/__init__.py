"""Evidence: graded items, the SQLite log, import/export, and the model's data arrays."""

from iamg_forecast.evidence.cells import evidence_hash, model_data, observed_through, usable_items
from iamg_forecast.evidence.io import read_evidence_file, write_evidence_file
from iamg_forecast.evidence.items import Evidence, check_against_spec
from iamg_forecast.evidence.store import EvidenceLog

__all__ = ["Evidence", "EvidenceLog", "check_against_spec", "evidence_hash", "model_data",
           "observed_through", "read_evidence_file", "usable_items", "write_evidence_file"]
