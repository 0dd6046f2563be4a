from django.urls import path

from loadbalancers import views

urlpatterns = [
    path("", views.load_balancer_list, name="load-balancer-list-page"),
    path("new/", views.load_balancer_create, name="load-balancer-create-page"),
    path("batch-delete/", views.load_balancer_batch_delete, name="load-balancer-batch-delete-page"),
    path("server-choices/", views.server_choices, name="load-balancer-server-choices"),
    path("<uuid:lb_id>/", views.load_balancer_detail, name="load-balancer-page"),
    path("<uuid:lb_id>/edit/", views.load_balancer_edit, name="load-balancer-edit-page"),
    path("<uuid:lb_id>/delete/", views.load_balancer_delete, name="load-balancer-delete-page"),
    path("<uuid:lb_id>/retry/", views.load_balancer_retry, name="load-balancer-retry-page"),
    path("<uuid:lb_id>/repair/", views.load_balancer_repair, name="load-balancer-repair-page"),
    path("<uuid:lb_id>/unprotect/", views.load_balancer_unprotect, name="load-balancer-unprotect-page"),
]
