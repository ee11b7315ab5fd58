"""opportunities pages."""
urlpatterns = []
