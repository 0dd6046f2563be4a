from django.urls import path

from servers import views

urlpatterns = [
    path("", views.server_list, name="server-list-page"),
    path("export.csv", views.server_export, {"file_format": "csv"}, name="server-export-csv"),
    path("export.json", views.server_export, {"file_format": "json"}, name="server-export-json"),
]
