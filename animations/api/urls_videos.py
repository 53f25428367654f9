from django.urls import path

from animations.api import views

urlpatterns = [
    path("quote", views.QuoteView.as_view(), name="quote"),
    path("animate-move", views.AnimateMoveView.as_view(), name="animate-move"),
    path("animate-mix", views.AnimateMixView.as_view(), name="animate-mix"),
    path("tasks/<uuid:task_id>", views.VideoTaskView.as_view(), name="video-task"),
]
