from .views import analysis, entitlements, imports, policies, products

app_name = "catalog"
urlpatterns = (
    products.urlpatterns + imports.urlpatterns + policies.urlpatterns + entitlements.urlpatterns + analysis.urlpatterns
)
