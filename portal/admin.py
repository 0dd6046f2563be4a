"""What every admin page of the portal shares."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.views.main import SEARCH_VAR, ChangeList, ChangeListSearchForm
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.functional import cached_property

from portal.kernel.pagination import MAX_SEARCH_LENGTH

_DB_INTEGERS = range(-(2**63), 2**63)


class CappedCountPaginator(Paginator):
    """Counts at most CAP rows, so a changelist over a huge table never scans all of it
    just to say how many there are (it then says CAP+1 and lets you filter)."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list[: self.CAP + 1].count()


class BoundedSearchForm(ChangeListSearchForm):
    """The changelist's search box, bounded as the API's search is."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.fields[SEARCH_VAR] = forms.CharField(required=False, strip=False, max_length=MAX_SEARCH_LENGTH)


class PortalChangeList(ChangeList):
    # An invalid search is a message above the unfiltered list (Django's way), not a query.
    search_form_class = BoundedSearchForm


class PortalModelAdmin(admin.ModelAdmin):
    """Changelists that stay cheap on big tables, and that answer odd requests with a
    message or a 400 instead of a failure.  A record's History shows its entries in
    the audit trail (``audit_target_type`` names its kind there)."""

    show_full_result_count = False
    paginator = CappedCountPaginator
    audit_target_type: str | None = None
    object_history_template = "admin/audit_history.html"

    def history_view(self, request: HttpRequest, object_id: str, extra_context: dict | None = None) -> HttpResponse:
        records = f"{self.opts.app_label}.{self.opts.model_name}"
        extra = {"audit_target_type": self.audit_target_type or self.opts.model_name, "audit_records": records}
        return super().history_view(request, object_id, {**(extra_context or {}), **extra})

    def get_changelist(self, request: HttpRequest, **kwargs) -> type[ChangeList]:  # type: ignore[no-untyped-def]
        return PortalChangeList

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        """Only the lookups the declared filters make: no free-form ones (a bad regex,
        a year past 9999) from the query string; and only values a database can compare
        (PostgreSQL refuses text with a NUL character in it).  Anything else is a 400."""
        names = [
            f if isinstance(f, str) else f[0] if isinstance(f, tuple) else f.parameter_name for f in self.list_filter
        ]
        allowed = {f"{name}{suffix}" for name in names for suffix in ("", "__exact", "__id__exact", "__isnull")}
        return lookup in allowed and "\x00" not in value

    def response_action(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        """Refuse a selection that names no possible row, instead of failing on it."""
        pk = self.model._meta.pk
        for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
            try:
                key = pk.to_python(value)
            except ValidationError:
                key = None
            if key is None or (isinstance(key, int) and key not in _DB_INTEGERS):
                self.message_user(
                    request, f"Nothing was done: {value[:40]!r} is not a valid selection.", messages.ERROR
                )
                return HttpResponseRedirect(request.get_full_path())
        return super().response_action(request, queryset)


class ReadOnlyRecordsAdmin(PortalModelAdmin):
    """Records that operations read but never edit or delete as rows: their page is for
    reading, and every write is an action that calls a service."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        # The changelist (and so its actions) needs it; no object's change form does.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # it would delete rows around the services
        return actions
