from django.urls import path

from accounts import views

urlpatterns = [
    path("teams/", views.team_list, name="team-list-page"),
    path("teams/<slug:slug>/", views.team_detail, name="team-page"),
    path("teams/<slug:slug>/members/add/", views.team_add_member, name="team-add-member"),
    path("teams/<slug:slug>/members/role/", views.team_change_role, name="team-change-role"),
    path("teams/<slug:slug>/members/remove/", views.team_remove_member, name="team-remove-member"),
    path("account/tokens/", views.token_list, name="token-list-page"),
    path("account/tokens/<int:token_id>/revoke/", views.token_revoke, name="token-revoke"),
]
