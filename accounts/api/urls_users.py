from django.urls import path  # noqa: F401

urlpatterns: list = []
urlpatterns.append(path("credits", __import__("billing.api.views").api.views.CreditsView.as_view(), name="users-credits"))  # fmt: skip
