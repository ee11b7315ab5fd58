from .views import collections, competitors, contracts

app_name = "contracts"
urlpatterns = collections.urlpatterns + competitors.urlpatterns + contracts.urlpatterns
