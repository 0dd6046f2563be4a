"""The one place where server rows and domain servers are converted."""

from servers import models
from servers.domain.model import Server, ServerStatus


def to_domain(row: models.Server) -> Server:
    return Server(
        id=row.pk,
        name=row.name,
        address=row.address,
        port=row.port,
        status=ServerStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def to_row(server: Server, row: models.Server | None = None) -> models.Server:
    row = row or models.Server(pk=server.id)
    row.name = server.name
    row.address = server.address
    row.port = server.port
    row.status = server.status.value
    return row
