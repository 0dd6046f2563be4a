from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from portal.web import list_page
from servers import bootstrap
from servers.domain.model import ServerStatus
from servers.filters import ServerFilters

PAGE_SIZE = 50


@login_required
@require_safe
def server_list(request: HttpRequest) -> HttpResponse:
    """The inventory, read-only: what can back a load balancer, and what cannot now."""
    page, params = list_page(request, ServerFilters, PAGE_SIZE, bootstrap.build().get_plist)
    return render(request, "servers/list.html", {"page": page, "params": params, "statuses": list(ServerStatus)})
