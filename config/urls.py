from django.contrib import admin
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from accounts.signin import AdminSignInForm, SignInForm
from portal.health import healthz, readyz
from portal.metrics import metrics_view
from portal.web import favicon

admin.site.login_form = AdminSignInForm

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="load-balancer-list-page", permanent=False)),
    path("load-balancers/", include("loadbalancers.urls")),
    path("servers/", include("servers.urls")),
    path("", include("accounts.urls")),
    path("", include("notifications.urls")),
    path("accounts/login/", LoginView.as_view(authentication_form=SignInForm), name="login"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("config.api_urls")),
    path("api/v1/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/v1/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/v1/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    # The browsable API's sign-in: DRF's page, with the form that says when sign-in is throttled.
    path(
        "api-auth/login/",
        LoginView.as_view(template_name="rest_framework/login.html", authentication_form=SignInForm),
    ),
    path("api-auth/", include("rest_framework.urls")),
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics_view, name="metrics"),
    path("favicon.ico", favicon, name="favicon"),
]


def _api_error(request: HttpRequest, name: str, message: str, status: int):  # type: ignore[no-untyped-def]
    if request.path.startswith("/api/"):
        return JsonResponse({"error": name, "message": message, "details": {}}, status=status)
    return None


def handler400(request: HttpRequest, exception: Exception):  # type: ignore[no-untyped-def]
    from django.views.defaults import bad_request

    message = str(exception) or "the request is malformed"
    return _api_error(request, "BadRequest", message, 400) or bad_request(request, exception)


def handler403(request: HttpRequest, exception: Exception):  # type: ignore[no-untyped-def]
    from django.views.defaults import permission_denied

    return _api_error(request, "PermissionDenied", "you are not allowed to do this", 403) or permission_denied(
        request, exception
    )


def handler404(request: HttpRequest, exception: Exception):  # type: ignore[no-untyped-def]
    from django.views.defaults import page_not_found

    return _api_error(request, "NotFound", f"no such endpoint: {request.path}", 404) or page_not_found(
        request, exception
    )


def handler500(request: HttpRequest):  # type: ignore[no-untyped-def]
    from django.views.defaults import server_error

    return _api_error(request, "InternalError", "the portal failed unexpectedly; this is a bug", 500) or server_error(
        request
    )
