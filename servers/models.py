"""Persistence only: the rules live in servers.domain."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from portal.kernel.validators import NAME_MAX_LENGTH, PORT_MAX, PORT_MIN
from servers.domain.model import ServerStatus


class Server(models.Model):
    name = models.CharField(max_length=NAME_MAX_LENGTH, unique=True)
    address = models.GenericIPAddressField()
    port = models.PositiveIntegerField(validators=[MinValueValidator(PORT_MIN), MaxValueValidator(PORT_MAX)])
    status = models.CharField(
        max_length=16, choices=[(s.value, s.value) for s in ServerStatus], default=ServerStatus.OK, db_index=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["address", "port"], name="server_unique_address_port")]

    def __str__(self) -> str:
        return f"{self.name} ({self.address}:{self.port}, {self.status})"
