from django.urls import path

from bench.floor import views

urlpatterns = [
    path("api/v1/load-balancers/", views.load_balancers, name="floor-load-balancers"),
    path("api/v1/load-balancers/<str:lb_id>/", views.load_balancer, name="floor-load-balancer"),
]
