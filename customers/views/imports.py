"""imports pages."""
urlpatterns = []
