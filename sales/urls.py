from .views import leads, opportunities, performance, work

app_name = "sales"
urlpatterns = leads.urlpatterns + opportunities.urlpatterns + work.urlpatterns + performance.urlpatterns
