from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from portal.kernel.errors import ValidationFailed
from portal.web import list_page
from servers import bootstrap
from servers.application.files import csv_export, json_export
from servers.domain.model import ServerStatus
from servers.filters import ServerFilters

PAGE_SIZE = 50


@login_required
@require_safe
def server_list(request: HttpRequest) -> HttpResponse:
    """The inventory, read-only: what can back a load balancer, and what cannot now."""
    page, params = list_page(request, ServerFilters, PAGE_SIZE, bootstrap.build().get_plist)
    kept = params.copy()
    for paging in ("limit", "offset", "cursor"):
        kept.pop(paging, None)
    context = {"page": page, "params": params, "statuses": list(ServerStatus), "export_query": kept.urlencode()}
    return render(request, "servers/list.html", context)


EXPORTS = {
    "csv": (csv_export, "text/csv; charset=utf-8"),
    "json": (json_export, "application/json"),
}


@login_required
@require_safe
def server_export(request: HttpRequest, file_format: str) -> HttpResponse:
    """Every server the list's filters match (not one page), as a file, streamed."""
    write, content_type = EXPORTS[file_format]
    filters = ServerFilters(request.GET)
    try:
        if not filters.is_valid():
            raise ValidationFailed("Some filters are not valid: " + ", ".join(filters.errors))
        servers = bootstrap.build().get_iter(filters.to_query())
    except ValidationFailed as invalid:
        messages.error(request, invalid.message)
        return HttpResponseRedirect(reverse("server-list-page"))
    answer = StreamingHttpResponse(write(servers), content_type=content_type)
    answer["Content-Disposition"] = f'attachment; filename="servers.{file_format}"'
    return answer
