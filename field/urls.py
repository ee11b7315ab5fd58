from django.urls import path

from .views import clock, contact, me, settings, visits, wecom

app_name = "field"
urlpatterns = [
    path("me/", me.me, name="me"),
    path("today/", me.today, name="today"),
    path("clock/", clock.clock_page, name="clock"),
    path("clock/submit/", clock.clock_submit, name="clock_submit"),
    path("attendance/", clock.attendance, name="attendance"),
    path("visits/new/", visits.visit_new, name="visit_new"),
    path("visits/team/", visits.team_visits, name="team_visits"),
    path("visits/<int:pk>/", visits.visit_detail, name="visit"),
    path("visits/<int:pk>/checkout/", visits.visit_checkout, name="visit_checkout"),
    path("visits/<int:pk>/photo/", visits.visit_photo, name="visit_photo"),
    path("customers/<int:pk>/contact/", contact.contact, {"kind": "customer"}, name="contact_customer"),
    path("leads/<int:pk>/contact/", contact.contact, {"kind": "lead"}, name="contact_lead"),
    path("settings/", settings.field_settings, name="settings"),
    path("settings/sites/new/", settings.site_form, name="site_create"),
    path("settings/sites/<int:pk>/", settings.site_form, name="site_edit"),
    path("settings/hours/new/", settings.hours_form, name="hours_create"),
    path("settings/hours/<int:pk>/", settings.hours_form, name="hours_edit"),
    path("wecom/start/", wecom.wecom_start, name="wecom_start"),
    path("wecom/oauth/", wecom.wecom_oauth, name="wecom_oauth"),
    path("wecom/sidebar/", wecom.sidebar, name="wecom_sidebar"),
    path("wecom/sidebar/bind/", wecom.sidebar_bind, name="wecom_bind"),
    path("wecom/sidebar/create/", wecom.sidebar_create, name="wecom_create"),
    path("wecom/callback/", wecom.callback, name="wecom_callback"),
    path("wecom/accounts/", wecom.accounts, name="wecom_accounts"),
]
