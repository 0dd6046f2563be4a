from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from portal.web import list_page
from servers.api.serializers import ServerListQuery
from servers.bootstrap import server_service
from servers.domain.model import ServerStatus

PAGE_SIZE = 50


@login_required
@require_safe
def server_list(request: HttpRequest) -> HttpResponse:
    """The inventory, read-only: what can back a load balancer, and what cannot now."""
    page, params = list_page(request, ServerListQuery, PAGE_SIZE, server_service().get_plist)
    return render(request, "servers/list.html", {"page": page, "params": params, "statuses": list(ServerStatus)})
