from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from billing.api.views import PaymentListView
from config import console, health, metrics, site_config

handler400 = "config.errors.json_400"
handler403 = "config.errors.json_403"
handler404 = "config.errors.json_404"
handler500 = "config.errors.json_500"

urlpatterns = [
    path("admin/", admin.site.urls),
    # The staff's sign-in to the admin: allauth's login and two-factor pages.
    path("staff/", include("accounts.staff")),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics.metrics, name="prometheus-django-metrics"),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("redoc", SpectacularRedocView.as_view(url_name="schema"), name="redoc"),
    path("api/config", site_config.SiteConfigView.as_view(), name="site-config"),
    path("api/auth/", include("accounts.api.urls_auth")),
    path("api/users/", include("accounts.api.urls_users")),
    path("api/users/", include("billing.api.urls_users")),
    path("api/videos/", include("animations.api.urls_videos")),
    path("api/videos/", include("storage.api.urls")),
    path("api/tasks/", include("animations.api.urls_tasks")),
    # The list is the collection itself, /api/payments, with no trailing slash.
    path("api/payments", PaymentListView.as_view(), name="payments-list"),
    path("api/payments/", include("billing.api.urls")),
]

# No /media/ route in any mode: a local file is read only through its signed,
# expiring link (storage.services.signed_url -> /api/videos/files/<id>.<ext>),
# the same code path as S3 and OSS presigned URLs.

# Last: every other GET is one of the web console's routes (config/console.py).
urlpatterns += [re_path(console.CONSOLE_ROUTE, console.index, name="console")]
