from .views import leads, opportunities, performance, pool, rules, work

app_name = "sales"
urlpatterns = (leads.urlpatterns + opportunities.urlpatterns + work.urlpatterns + performance.urlpatterns
               + pool.urlpatterns + rules.urlpatterns)
