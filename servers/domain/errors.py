"""Server errors, in the portal's one hierarchy (``portal.kernel.errors``)."""

from __future__ import annotations

from portal.kernel.errors import Conflict, NotFound, PortalError


class ServerNotFound(NotFound):
    def __init__(self, server_id: object):
        super().__init__(f"server {server_id} does not exist", details={"id": server_id})


class ServerNameTaken(Conflict):
    def __init__(self, name: str):
        super().__init__(f"a server named {name!r} already exists", details={"name": [f"{name!r} is taken"]})


class ServerAddressTaken(Conflict):
    def __init__(self, address: str, port: int):
        super().__init__(
            f"a server at {address}:{port} already exists",
            details={"address": [f"{address}:{port} is already in the inventory"]},
        )


class ServerInUse(Conflict):
    def __init__(self, server_id: int, users: list[str], *, refused: str = "be deleted"):
        names = ", ".join(users)
        super().__init__(
            f"server {server_id} is used by load balancer(s): {names}; it cannot {refused} while in use",
            details={"load_balancers": users},
        )


class ImportTooLarge(PortalError):
    """An import file over the size limit (413, as every body too large for the portal)."""

    status_code = 413

    def __init__(self, limit: int):
        super().__init__(
            f"the import file is larger than {limit} bytes; split it into smaller files",
            details={"file": [f"larger than {limit} bytes"]},
        )


class ImportClashed(Conflict):
    """Another write took a name or an address while the import was being stored."""

    def __init__(self) -> None:
        super().__init__(
            "the inventory changed while the import was stored (a name or address was taken meanwhile); "
            "nothing was imported, send the file again"
        )
