from .views import campaigns, content, segments

app_name = "marketing"
urlpatterns = campaigns.urlpatterns + segments.urlpatterns + content.urlpatterns
