from .views import batches, budgets, dashboard, monitoring, subsidy

app_name = "coupons"
urlpatterns = (
    budgets.urlpatterns + batches.urlpatterns + subsidy.urlpatterns + monitoring.urlpatterns + dashboard.urlpatterns
)
