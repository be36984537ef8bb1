"""Every database Segel keeps and what each owner installs in it: the list the application hands bootstrap.

`store/` knows how to install design documents but not which ones exist (it imports nothing above it).
The owners list their own (the gateway, the office, identity); this module is where they meet, and every
caller of `store.bootstrap.bootstrap` (app start-up, the worker, `segel bootstrap`, tests) passes
`SEGEL_DATABASES`.
"""

from __future__ import annotations

from server.identity import design as identity_design
from server.office import design as office_design
from server.receipts_move import move_receipts
from server.settings import Settings
from store.bootstrap import BootstrapReport, bootstrap
from store.couch import CouchClient
from store.design_docs import DatabaseSpec, merge_specs, register_application_databases
from sync import gateway_design

#: Records (the office's views, then the gateway's), the office ledger, identity and the audit log.
SEGEL_DATABASES: tuple[DatabaseSpec, ...] = merge_specs(
    office_design.DATABASES, gateway_design.DATABASES, identity_design.DATABASES
)

# For callers of bootstrap that pass no list (development scripts and benchmarks written before it was an
# argument): they import `server`, whose package module loads this one.
register_application_databases(SEGEL_DATABASES)


async def prepare_databases(couch: CouchClient, settings: Settings) -> BootstrapReport:
    """What every start does before serving: bootstrap (databases, design documents, indexes), then move
    the receipts and seq claims an earlier version left among the records (`server.receipts_move`)."""
    report = await bootstrap(couch, settings.db_prefix, SEGEL_DATABASES)
    await move_receipts(couch.db(settings.records_db), couch.db(settings.receipts_db))
    return report
