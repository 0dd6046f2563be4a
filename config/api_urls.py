from django.urls import path
from rest_framework.routers import DefaultRouter

from accounts.api.views import TeamViewSet, TokenView, TokenViewSet
from loadbalancers.api.views import LoadBalancerViewSet, ProviderListView
from servers.api.views import ServerViewSet

router = DefaultRouter()
router.register("servers", ServerViewSet, basename="server")
router.register("load-balancers", LoadBalancerViewSet, basename="load-balancer")
router.register("teams", TeamViewSet, basename="team")
router.register("tokens", TokenViewSet, basename="token")

urlpatterns = [
    path("providers/", ProviderListView.as_view(), name="provider-list"),
    path("auth/token/", TokenView.as_view(), name="api-token"),
    *router.urls,
]
