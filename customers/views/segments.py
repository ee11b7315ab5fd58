"""segments pages."""
urlpatterns = []
