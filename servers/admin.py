"""Operations oversight of the server inventory.  Every write goes through the servers
service, so the admin enforces the same rules as the API."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from portal.admin import PortalModelAdmin
from portal.kernel.actors import Actor
from portal.kernel.errors import PortalError, ValidationFailed
from portal.requests import staff_actor
from servers import bootstrap, models
from servers.application.payloads import CreateServer, UpdateServer
from servers.domain.model import Server, ServerStatus


class ServerAdminForm(forms.ModelForm):
    class Meta:
        model = models.Server
        fields = ("name", "address", "port", "status")

    def clean(self) -> dict:
        data = super().clean()
        try:
            Server.validate(
                name=data.get("name"),
                address=data.get("address"),
                port=data.get("port"),
                status=data.get("status"),
                policy=bootstrap.address_policy(),
                current_address=self.instance.address if self.instance.pk else None,
            )
        except ValidationFailed as invalid:
            for field, problems in invalid.details.items():
                for problem in problems:
                    if field not in self.errors:
                        self.add_error(field, problem)
        return data


def _actor(request: HttpRequest) -> Actor:
    return staff_actor(request, "servers.server")


@admin.register(models.Server)
class ServerAdmin(PortalModelAdmin):
    form = ServerAdminForm
    list_display = ("name", "address", "port", "status", "created_at", "updated_at")
    list_filter = ("status",)
    search_fields = ("name", "address")
    ordering = ("name",)
    actions = ("mark_ok", "mark_maintenance", "mark_down")

    # -- writes through the service ---------------------------------------------------

    def save_model(self, request: HttpRequest, obj: models.Server, form: forms.ModelForm, change: bool) -> None:
        fields = {name: form.cleaned_data[name] for name in ServerAdminForm.Meta.fields}
        if change:
            bootstrap.build().update_one(_actor(request), obj.pk, UpdateServer(**fields))
        else:
            obj.pk = bootstrap.build().create_one(_actor(request), CreateServer(**fields)).id

    def changeform_view(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:  # type: ignore[no-untyped-def]
        """A rule the form could not see (a name taken a moment ago) is a message, never a 500."""
        try:
            return super().changeform_view(request, *args, **kwargs)
        except PortalError as error:
            self.message_user(request, error.message, messages.ERROR)
            return HttpResponseRedirect(request.path)

    def get_deleted_objects(self, objs, request):  # type: ignore[no-untyped-def]
        """Name the load balancers that still use a server: it cannot be deleted then."""
        deleted, counts, perms_needed, _ = super().get_deleted_objects(objs, request)
        in_use = [
            f"server {server.name}: used by load balancer(s) {', '.join(users)}"
            for server in objs
            if (users := bootstrap.build().get_users(server.pk))
        ]
        return deleted, counts, perms_needed, in_use

    def delete_model(self, request: HttpRequest, obj: models.Server) -> None:
        bootstrap.build().delete_one(_actor(request), obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[models.Server]) -> None:
        for server_id, name in queryset.values_list("pk", "name"):
            try:
                bootstrap.build().delete_one(_actor(request), server_id)
            except PortalError as error:  # taken into use since the confirmation page
                self.message_user(request, f"Server {name}: {error.message}", messages.ERROR)

    # -- bulk status changes --------------------------------------------------------------

    def _set_status(self, request: HttpRequest, queryset: QuerySet[models.Server], status: ServerStatus) -> None:
        for server_id, name in queryset.values_list("pk", "name"):
            try:
                bootstrap.build().update_status(_actor(request), server_id, status)
            except PortalError as error:
                self.message_user(request, f"Server {name}: {error.message}", messages.ERROR)
            else:
                self.message_user(request, f"Server {name} is now {status}.", messages.SUCCESS)

    @admin.action(description="Set status to OK (usable by load balancers)", permissions=["change"])
    def mark_ok(self, request: HttpRequest, queryset: QuerySet[models.Server]) -> None:
        self._set_status(request, queryset, ServerStatus.OK)

    @admin.action(description="Set status to MAINTENANCE", permissions=["change"])
    def mark_maintenance(self, request: HttpRequest, queryset: QuerySet[models.Server]) -> None:
        self._set_status(request, queryset, ServerStatus.MAINTENANCE)

    @admin.action(description="Set status to DOWN", permissions=["change"])
    def mark_down(self, request: HttpRequest, queryset: QuerySet[models.Server]) -> None:
        self._set_status(request, queryset, ServerStatus.DOWN)
