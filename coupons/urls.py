from .views import batches, budgets

app_name = "coupons"
urlpatterns = budgets.urlpatterns + batches.urlpatterns
