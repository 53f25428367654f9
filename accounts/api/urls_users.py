from django.urls import path, re_path

from accounts.api import views

urlpatterns = [
    path("profile", views.ProfileView.as_view(), name="users-profile"),
    path("account", views.AccountView.as_view(), name="users-account"),
    re_path(
        r"^providers/(?P<provider>google|wechat)$",
        views.ProviderView.as_view(),
        name="users-provider",
    ),
]
