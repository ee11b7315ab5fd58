"""settings pages."""
urlpatterns = []
