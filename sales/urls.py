from .views import dashboard, imports, leads, opportunities, performance, pool, rules, work

app_name = "sales"
urlpatterns = (
    leads.urlpatterns
    + imports.urlpatterns
    + opportunities.urlpatterns
    + work.urlpatterns
    + performance.urlpatterns
    + pool.urlpatterns
    + rules.urlpatterns
    + dashboard.urlpatterns
)
