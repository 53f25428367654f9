"""``/api/users/credits`` lives with billing; accounts knows nothing of credits."""

from django.urls import path

from billing.api.views import CreditHistoryView, CreditsView

urlpatterns = [
    path("credits", CreditsView.as_view(), name="users-credits"),
    path("credits/history", CreditHistoryView.as_view(), name="users-credits-history"),
]
