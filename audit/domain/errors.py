from __future__ import annotations

from portal.kernel.errors import NotFound


class AuditEntryNotFound(NotFound):
    def __init__(self, entry_id: object):
        super().__init__(f"audit entry {entry_id} not found", details={"id": str(entry_id)})
