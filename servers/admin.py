"""Operations oversight of the server inventory.  Every write goes through the servers
service, so the admin enforces the same rules as the API."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse

from portal.admin import PortalModelAdmin
from portal.kernel.actors import Actor
from portal.kernel.errors import PortalError, ValidationFailed
from portal.requests import staff_actor
from servers import bootstrap, models
from servers.application.files import csv_export, json_export, read_import
from servers.application.payloads import CreateServer, UpdateServer
from servers.domain.errors import ImportTooLarge
from servers.domain.model import Server, ServerStatus
from servers.selectors import servers_of


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


class ServerImportForm(forms.Form):
    file = forms.FileField(help_text="CSV (with a header line) or JSON (a list of objects), UTF-8.")


_EXPORTS = {"csv": (csv_export, "text/csv; charset=utf-8"), "json": (json_export, "application/json")}
# The changelist's own parameters that are not filters.
_NOT_FILTERS = ("format", "o", "p", "e", "all")


def _export(servers, file_format: str) -> StreamingHttpResponse:  # type: ignore[no-untyped-def]
    write, content_type = _EXPORTS[file_format]
    answer = StreamingHttpResponse(write(servers), content_type=content_type)
    answer["Content-Disposition"] = f'attachment; filename="servers.{file_format}"'
    return answer


@admin.register(models.Server)
class ServerAdmin(PortalModelAdmin):
    form = ServerAdminForm
    list_display = ("name", "address", "port", "status", "created_at", "updated_at")
    list_filter = ("status",)
    search_fields = ("name", "address")
    ordering = ("name",)
    actions = ("mark_ok", "mark_maintenance", "mark_down", "export_csv", "export_json")
    change_list_template = "admin/servers/server/change_list.html"

    def get_urls(self):  # type: ignore[no-untyped-def]
        own = [
            path("import/", self.admin_site.admin_view(self.import_view), name="servers_server_import"),
            path("export/", self.admin_site.admin_view(self.export_view), name="servers_server_export"),
        ]
        return own + super().get_urls()

    def has_import_permission(self, request: HttpRequest) -> bool:
        """An import adds servers and changes others: both permissions, as the API asks."""
        return self.has_add_permission(request) and self.has_change_permission(request)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra = {"can_import": self.has_import_permission(request), "export_query": request.GET.urlencode()}
        return super().changelist_view(request, {**(extra_context or {}), **extra})

    # -- import and export ------------------------------------------------------------------

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """An upload page: every row is judged first; a bad row is listed with its line
        and field, and then nothing is stored."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        form = ServerImportForm(request.POST or None, request.FILES or None)
        row_errors: dict = {}
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            limits = bootstrap.import_limits()
            file_format = "json" if upload.name.lower().endswith(".json") else "csv"
            try:
                if upload.size > limits.max_bytes:
                    raise ImportTooLarge(limits.max_bytes)
                result = bootstrap.build().import_batch(
                    _actor(request), read_import(upload.read(), file_format, limits)
                )
            except PortalError as error:
                rows = error.details.get("rows") if isinstance(error.details, dict) else None
                row_errors = rows if isinstance(rows, dict) else {}
                form.add_error(None, error.message)
            else:
                self.message_user(
                    request,
                    f"Imported: {result.created} created, {result.updated} updated, {result.unchanged} unchanged.",
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:servers_server_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Import servers",
            "form": form,
            "row_errors": row_errors,
            "limits": bootstrap.import_limits(),
        }
        return TemplateResponse(request, "admin/servers/server/import.html", context)

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The changelist's servers (its filters and search, every page) as a file."""
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        file_format = request.GET.get("format", "csv")
        if file_format not in _EXPORTS:
            self.message_user(request, f"Unknown export format {file_format!r}: csv or json.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:servers_server_changelist"))
        filters = request.GET.copy()
        for name in _NOT_FILTERS:
            filters.pop(name, None)
        request.GET = filters
        try:
            rows = self.get_changelist_instance(request).get_queryset(request)
        except IncorrectLookupParameters:
            self.message_user(request, "These filters are not valid; nothing was exported.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:servers_server_changelist"))
        return _export(servers_of(rows.order_by("name", "pk")), file_format)

    @admin.action(description="Export selected servers as CSV", permissions=["view"])
    def export_csv(self, request: HttpRequest, queryset: QuerySet[models.Server]) -> HttpResponse:
        return _export(servers_of(queryset.order_by("name", "pk")), "csv")

    @admin.action(description="Export selected servers as JSON", permissions=["view"])
    def export_json(self, request: HttpRequest, queryset: QuerySet[models.Server]) -> HttpResponse:
        return _export(servers_of(queryset.order_by("name", "pk")), "json")

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
