"""Server errors, in the portal's one hierarchy (``portal.kernel.errors``)."""

from __future__ import annotations

from portal.kernel.errors import Conflict, NotFound


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
