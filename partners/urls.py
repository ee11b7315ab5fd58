from .views import commission, partners

app_name = "partners"
urlpatterns = partners.urlpatterns + commission.urlpatterns
