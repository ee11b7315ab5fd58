from .views import dashboard, detail, imports, orders, privacy, records, regions, segments, settings

app_name = "customers"
urlpatterns = (
    records.urlpatterns
    + detail.urlpatterns
    + orders.urlpatterns
    + imports.urlpatterns
    + segments.urlpatterns
    + settings.urlpatterns
    + dashboard.urlpatterns
    + privacy.urlpatterns
    + regions.urlpatterns
)
