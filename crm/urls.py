"""The organization's pages: home, sign-in, search, notifications and the administration of the org."""

from django.contrib.auth import views as auth_views
from django.urls import path

from .views import admin as admin_views
from .views import privacy as privacy_views
from .views import shell as views

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("preferences/", views.preferences, name="preferences"),
    path("ping/", views.ping, name="ping"),
    path("search/", views.search, name="search"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/badge/", views.notification_badge, name="notification_badge"),
    path("notifications/read/", views.notification_mark_read, name="notification_mark_read"),
    path("notifications/<int:pk>/", views.notification_open, name="notification_open"),
]

org_patterns = (
    [
        path("departments/", admin_views.department_list, name="departments"),
        path("departments/new/", admin_views.department_form, name="department_create"),
        path("departments/<int:pk>/edit/", admin_views.department_form, name="department_edit"),
        path("users/", admin_views.UserListView.as_view(), name="users"),
        path("users/new/", admin_views.user_form, name="user_create"),
        path("users/<int:pk>/edit/", admin_views.user_form, name="user_edit"),
        path("api-clients/", admin_views.api_client_list, name="api_clients"),
        path("api-clients/new/", admin_views.api_client_form, name="api_client_create"),
        path("api-clients/<int:pk>/", admin_views.api_client_detail, name="api_client"),
        path("api-clients/<int:pk>/edit/", admin_views.api_client_form, name="api_client_edit"),
        path("api-tokens/<int:pk>/revoke/", admin_views.api_token_revoke, name="api_token_revoke"),
        path("audit/", admin_views.AuditLogView.as_view(), name="audit"),
        path("audit/<int:pk>/reveal/", admin_views.audit_reveal, name="audit_reveal"),
        path("privacy/", privacy_views.AccessLogView.as_view(), name="privacy"),
        path("privacy/retention/", privacy_views.retention_update, name="privacy_retention"),
    ],
    "org",
)
