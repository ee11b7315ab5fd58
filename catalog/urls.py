from .views import entitlements, imports, policies, products

app_name = "catalog"
urlpatterns = products.urlpatterns + imports.urlpatterns + policies.urlpatterns + entitlements.urlpatterns
