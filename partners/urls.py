from .views import commission, distribution, network, partners, rebates, statements

app_name = "partners"
urlpatterns = (
    partners.urlpatterns
    + commission.urlpatterns
    + statements.urlpatterns
    + rebates.urlpatterns
    + network.urlpatterns
    + distribution.urlpatterns
)
