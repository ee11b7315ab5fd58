from .views import commission, partners, rebates, statements

app_name = "partners"
urlpatterns = partners.urlpatterns + commission.urlpatterns + statements.urlpatterns + rebates.urlpatterns
