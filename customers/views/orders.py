"""orders pages."""
urlpatterns = []
