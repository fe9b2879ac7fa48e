"""Child process for the crash and concurrency tests (run as a script)."""

import sys

from iamg_forecast.evidence import Evidence, EvidenceLog

mode, db = sys.argv[1], sys.argv[2]
if mode == "import":
    with EvidenceLog.open(db) as log:
        print("ready", flush=True)
        log.import_file(sys.argv[3])
elif mode == "append":
    tag, n = sys.argv[3], int(sys.argv[4])
    with EvidenceLog.open(db) as log:
        for k in range(n):
            log.add(Evidence(indicator="rial_sharp_depreciation", date="2026-01-15", value=1,
                             source=f"{tag}-{k}", reliability="B2"))
