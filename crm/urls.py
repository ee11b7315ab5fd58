from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from customers.api import orders as order_api
from customers.api import views as customer_api
from coupons.api import views as coupon_api
from marketing.api import views as marketing_api
from marketing.views.content import public_urlpatterns as tracking_urls
from sales.api import leads as lead_api

from . import admin_views, privacy_views, views
from .approvals import views as approval_views
from .api import views as api_views

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

api_v1 = [
    path("ping", api_views.PingView.as_view(), name="api-ping"),
    path("customers", customer_api.CustomerLookupView.as_view(), name="api-customers"),
    path("customers/<int:pk>", customer_api.CustomerDetailView.as_view(), name="api-customer"),
    path("leads", lead_api.LeadCreateView.as_view(), name="api-leads"),
    path("lead-sources", lead_api.LeadSourceListView.as_view(), name="api-lead-sources"),
    path("orders", order_api.OrderCreateView.as_view(), name="api-orders"),
    path("coupons/claim", coupon_api.ClaimView.as_view(), name="api-coupon-claim"),
    path("coupons/redeem", coupon_api.RedeemView.as_view(), name="api-coupon-redeem"),
    path("events/<int:pk>/registrations", marketing_api.RegistrationView.as_view(), name="api-event-registrations"),
    path("orders/<str:external_id>/cancel", order_api.OrderCancelView.as_view(), name="api-order-cancel"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("preferences/", views.preferences, name="preferences"),
    path("search/", views.search, name="search"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/badge/", views.notification_badge, name="notification_badge"),
    path("notifications/read/", views.notification_mark_read, name="notification_mark_read"),
    path("notifications/<int:pk>/", views.notification_open, name="notification_open"),
    path("customers/", include("customers.urls")),
    path("sales/", include("sales.urls")),
    path("coupons/", include("coupons.urls")),
    path("marketing/", include("marketing.urls")),
    path("field/", include("field.urls")),
    path("", include((tracking_urls, "track"))),
    path("org/", include(org_patterns)),
    path("approvals/", include((approval_views.urlpatterns, "approvals"))),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("django-admin/", admin.site.urls),
]

handler403 = "crm.views.error_403"
handler404 = "crm.views.error_404"
handler500 = "crm.views.error_500"
