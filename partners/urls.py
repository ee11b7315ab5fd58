from .views import partners

app_name = "partners"
urlpatterns = partners.urlpatterns
