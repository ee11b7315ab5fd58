from django.urls import path

from . import views

app_name = "cdp"

urlpatterns = [
    path("merge-suggestions/", views.merge_suggestions, name="merge_suggestions"),
    path("merge-suggestions/<int:pk>/dismiss", views.dismiss, name="dismiss"),
]
