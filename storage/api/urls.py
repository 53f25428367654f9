from django.urls import path, re_path

from storage.api import views

app_name = "storage"

urlpatterns = [
    path("upload", views.UploadView.as_view(), name="upload"),
    re_path(
        r"^files/(?P<file_id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(?P<ext>[a-z0-9]{2,5})$",
        views.FileContentView.as_view(),
        name="file-content",
    ),
]
