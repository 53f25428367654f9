from django.urls import path

from animations.api import stream, views

urlpatterns = [
    path("events", stream.task_events, name="task-events"),
    path("user/tasks", views.UserTasksView.as_view(), name="user-tasks"),
    path("<uuid:task_id>", views.TaskView.as_view(), name="task"),
    path("<uuid:task_id>/retry", views.TaskRetryView.as_view(), name="task-retry"),
]
