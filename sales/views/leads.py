"""leads pages."""
urlpatterns = []
