"""The root URL configuration: every app's pages, the API and the admin."""

from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from catalog.api import views as catalog_api
from cdp.api import views as cdp_api
from coupons.api import views as coupon_api
from crm import operations
from crm.api import views as api_views
from crm.approvals import views as approval_views
from crm.urls import org_patterns
from customers.api import orders as order_api
from customers.api import views as customer_api
from marketing.api import views as marketing_api
from marketing.views.content import public_urlpatterns as tracking_urls
from members.api import views as member_api
from partners.api import views as partner_api
from partners.views import portal as portal_views
from sales.api import leads as lead_api

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
    path("products", catalog_api.ProductListView.as_view(), name="api-products"),
    path("entitlements/<int:pk>/consume", catalog_api.EntitlementConsumeView.as_view(), name="api-entitlement-consume"),
    path("partner-leads", partner_api.PartnerLeadView.as_view(), name="api-partner-leads"),
    path("partners/<int:pk>/statements", partner_api.PartnerStatementsView.as_view(), name="api-partner-statements"),
    path("events", cdp_api.EventBatchView.as_view(), name="api-events"),
    path("members/<int:pk>", member_api.MemberDetailView.as_view(), name="api-member"),
    path("points/earn", member_api.PointsEarnView.as_view(), name="api-points-earn"),
    path("points/spend", member_api.PointsSpendView.as_view(), name="api-points-spend"),
    path("orders/<str:external_id>/cancel", order_api.OrderCancelView.as_view(), name="api-order-cancel"),
]

urlpatterns = [
    path("healthz", operations.healthz, name="healthz"),
    path("metrics", operations.metrics, name="metrics"),
    path("", include("crm.urls")),
    path("customers/", include("customers.urls")),
    path("sales/", include("sales.urls")),
    path("coupons/", include("coupons.urls")),
    path("catalog/", include("catalog.urls")),
    path("marketing/", include("marketing.urls")),
    path("field/", include("field.urls")),
    path("partners/", include("partners.urls")),
    path("portal/", include((portal_views.urlpatterns, "portal"))),
    path("resources/", include("resources.urls")),
    path("contracts/", include("contracts.urls")),
    path("cdp/", include("cdp.urls")),
    path("calendar/", include("agenda.urls")),
    path("members/", include("members.urls")),
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

handler403 = "crm.views.shell.error_403"
handler404 = "crm.views.shell.error_404"
handler500 = "crm.views.shell.error_500"
