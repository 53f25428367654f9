from django.urls import path

from accounts.api import views

urlpatterns: list = [
    path("profile", views.ProfileView.as_view(), name="users-profile"),
    path("account", views.AccountView.as_view(), name="users-account"),
]
urlpatterns.append(path("credits", __import__("billing.api.views").api.views.CreditsView.as_view(), name="users-credits"))  # fmt: skip
