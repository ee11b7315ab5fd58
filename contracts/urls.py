from .views import collections, competitors, contracts, dunning

app_name = "contracts"
urlpatterns = collections.urlpatterns + competitors.urlpatterns + contracts.urlpatterns + dunning.urlpatterns
