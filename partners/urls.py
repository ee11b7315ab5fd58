from .views import commission, partners, statements

app_name = "partners"
urlpatterns = partners.urlpatterns + commission.urlpatterns + statements.urlpatterns
