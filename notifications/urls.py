from django.urls import path

from notifications import views

urlpatterns = [
    path("teams/<slug:slug>/notifications/", views.notifications_page, name="team-notifications-page"),
    path("teams/<slug:slug>/notifications/email/", views.email_preference, name="team-email-preference"),
    path("teams/<slug:slug>/notifications/webhooks/add/", views.webhook_add, name="team-webhook-add"),
    path("teams/<slug:slug>/notifications/webhooks/<int:webhook_id>/", views.webhook_detail, name="team-webhook-page"),
    path(
        "teams/<slug:slug>/notifications/webhooks/<int:webhook_id>/enable/",
        views.webhook_enable,
        name="team-webhook-enable",
    ),
    path(
        "teams/<slug:slug>/notifications/webhooks/<int:webhook_id>/delete/",
        views.webhook_delete,
        name="team-webhook-delete",
    ),
]
