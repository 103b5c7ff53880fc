"""Everything behind ``acl check`` and ``acl whatif``: traffic replayed through rule sets.

Batches from :mod:`acl.logs` are decided in bulk and summarised in bounded memory
(:mod:`.summary`); :func:`replay` and :func:`whatif` (:mod:`.run`) drive it; :mod:`.report`
renders what people read (text, CSV, JSON, HTML) and writes ``--out`` files with the records
of :mod:`.records`; :mod:`.dask` does the same on a Dask cluster (``acl check --dask``).
"""

from __future__ import annotations

from .records import audit_record, iter_rows
from .report import (
    DecisionWriter,
    render_csv,
    render_html,
    render_json,
    render_text,
    render_whatif_text,
)
from .run import Flip, WhatIf, replay, replay_files, whatif
from .summary import AddressCounter, Disagreement, Summary, TopCounter

__all__ = [
    "AddressCounter",
    "DecisionWriter",
    "Disagreement",
    "Flip",
    "Summary",
    "TopCounter",
    "WhatIf",
    "audit_record",
    "iter_rows",
    "render_csv",
    "render_html",
    "render_json",
    "render_text",
    "render_whatif_text",
    "replay",
    "replay_files",
    "whatif",
]
