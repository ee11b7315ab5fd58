from .views import leads, opportunities, work

app_name = "sales"
urlpatterns = leads.urlpatterns + opportunities.urlpatterns + work.urlpatterns
