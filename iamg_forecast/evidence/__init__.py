"""Evidence: graded items, the SQLite log, import/export, and the model's data arrays."""

from iamg_forecast.evidence.cells import evidence_hash, model_data, observed_through, usable_items
from iamg_forecast.evidence.items import Evidence, check_against_spec

__all__ = ["Evidence", "check_against_spec", "evidence_hash", "model_data", "observed_through",
           "usable_items"]
