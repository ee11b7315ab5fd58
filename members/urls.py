from django.urls import path

from .views import members, settings

app_name = "members"
urlpatterns = [
    path("", members.member_list, name="list"),
    path("<int:pk>/", members.member_detail, name="member"),
    path("<int:pk>/redeem/", members.redeem, name="redeem"),
    *settings.urlpatterns,
]
