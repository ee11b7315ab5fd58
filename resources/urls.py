from django.urls import path

from .views import calendar, classes, dashboard, setup, trials

app_name = "resources"
urlpatterns = [
    path("", classes.overview, name="overview"),
    path("calendar/", calendar.calendar, name="calendar"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("renewals/", dashboard.renewals, name="renewals"),
    path("enrolments/<int:pk>/hours/", dashboard.hours, name="hours"),
    path("classes/new/", setup.class_form, name="class_create"),
    path("classes/<int:pk>/", classes.class_detail, name="class"),
    path("classes/<int:pk>/edit/", setup.class_form, name="class_edit"),
    path("classes/<int:pk>/enrol/", classes.enrol, name="enrol"),
    path("classes/<int:pk>/generate/", classes.generate, name="generate"),
    path("enrolments/<int:pk>/withdraw/", classes.withdraw, name="withdraw"),
    path("sessions/<int:pk>/", classes.session_detail, name="session"),
    path("sessions/<int:pk>/attendance/", classes.record_attendance, name="attendance"),
    path("sessions/<int:pk>/cancel/", classes.cancel_session, name="session_cancel"),
    path("opportunities/<int:pk>/trial/", trials.book, name="trial_book"),
    path("trials/<int:pk>/mark/", trials.mark, name="trial_mark"),
    path("courses/new/", setup.edit, {"kind": "course"}, name="course_create"),
    path("courses/<int:pk>/", setup.edit, {"kind": "course"}, name="course_edit"),
    path("teachers/new/", setup.edit, {"kind": "teacher"}, name="teacher_create"),
    path("teachers/<int:pk>/", setup.edit, {"kind": "teacher"}, name="teacher_edit"),
    path("rooms/new/", setup.edit, {"kind": "room"}, name="room_create"),
    path("rooms/<int:pk>/", setup.edit, {"kind": "room"}, name="room_edit"),
    path("holidays/new/", setup.edit, {"kind": "holiday"}, name="holiday_create"),
    path("holidays/<int:pk>/", setup.edit, {"kind": "holiday"}, name="holiday_edit"),
]
