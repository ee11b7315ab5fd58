"""work pages."""
urlpatterns = []
