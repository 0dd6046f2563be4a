from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts.api.views import TeamViewSet, TokenView, TokenViewSet
from audit.api.views import AuditViewSet
from loadbalancers.api.views import LoadBalancerViewSet, ProviderListView
from notifications.api.views import EmailPreferenceView, WebhookViewSet
from portal.api.root import PortalAPIRootView
from servers.api.views import ServerViewSet

router = DefaultRouter()
router.APIRootView = PortalAPIRootView
router.register("servers", ServerViewSet, basename="server")
router.register("load-balancers", LoadBalancerViewSet, basename="load-balancer")
router.register("teams", TeamViewSet, basename="team")
router.register("tokens", TokenViewSet, basename="token")
router.register("audit", AuditViewSet, basename="audit-entry")

webhooks = WebhookViewSet.as_view({"get": "list", "post": "create"})
webhook = WebhookViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"})
deliveries = WebhookViewSet.as_view({"get": "deliveries"})

urlpatterns = [
    path("providers/", ProviderListView.as_view(), name="provider-list"),
    path("teams/<str:slug>/webhooks/", webhooks, name="webhook-list"),
    path("teams/<str:slug>/webhooks/<str:pk>/", webhook, name="webhook-detail"),
    path("teams/<str:slug>/webhooks/<str:pk>/deliveries/", deliveries, name="webhook-deliveries"),
    path("teams/<str:slug>/email-preference/", EmailPreferenceView.as_view(), name="email-preference"),
    path("auth/token/", TokenView.as_view(), name="api-token"),
    *router.urls,
]
