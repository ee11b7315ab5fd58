"""Forms of courses, teachers, rooms and classes; the service keeps the rules."""

import json

from django import forms
from django.utils.translation import gettext_lazy as _

from crm import ui

from ..models import Attendance, Course, Holiday, Room, SchoolClass, Teacher

WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]


class CourseForm(ui.StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Course
        fields = ["name", "subject", "level", "lesson_count", "sku", "renewal_threshold"]


class RoomForm(ui.StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Room
        fields = ["name", "department", "seats", "is_venue"]


class HolidayForm(ui.StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Holiday
        fields = ["day", "name"]
        widgets = {"day": ui.DateInput()}


class TeacherForm(ui.StyledFormMixin, forms.ModelForm):
    availability_text = forms.CharField(
        label=_("Weekly availability"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_('One line per weekday: "1 09:00-12:00" (1 = Monday); empty: any time.'),
    )

    class Meta:
        model = Teacher
        fields = ["name", "department", "skills", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        lines = []
        for day, spans in sorted((self.instance.availability or {}).items()):
            for start, end in spans:
                lines.append(f"{int(day) + 1} {start}-{end}")
        self.fields["availability_text"].initial = "\n".join(lines)

    def clean_availability_text(self):
        availability: dict[str, list] = {}
        for number, line in enumerate(self.cleaned_data["availability_text"].splitlines(), 1):
            line = line.strip()
            if not line:
                continue
            try:
                day, span = line.split()
                start, end = span.split("-")
                day = int(day) - 1
                if not 0 <= day <= 6 or len(start) != 5 or len(end) != 5 or start >= end:
                    raise ValueError
            except ValueError:
                raise forms.ValidationError(
                    _('Line %(n)s: write a weekday and a span, e.g. "1 09:00-12:00".') % {"n": number}
                ) from None
            availability.setdefault(str(day), []).append([start, end])
        return availability

    def save(self, commit=True):
        self.instance.availability = self.cleaned_data["availability_text"]
        return super().save(commit)


class SchoolClassForm(ui.StyledFormMixin, forms.ModelForm):
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Weekdays"), choices=WEEKDAYS, coerce=int, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = SchoolClass
        fields = [
            "course",
            "name",
            "department",
            "teacher",
            "room",
            "capacity",
            "weekdays",
            "start_time",
            "minutes",
            "first_day",
        ]
        widgets = {
            "first_day": ui.DateInput(),
            "start_time": forms.TimeInput(attrs={"type": "time"}),
        }

    def clean_minutes(self):
        minutes = self.cleaned_data["minutes"]
        if not 15 <= minutes <= 480:
            raise forms.ValidationError(_("A lesson lasts 15 to 480 minutes."))
        return minutes

    def clean_capacity(self):
        capacity = self.cleaned_data["capacity"]
        if not 1 <= capacity <= 1000:
            raise forms.ValidationError(_("Capacity is 1 to 1,000 seats."))
        return capacity


class EnrolForm(forms.Form):
    customer = forms.IntegerField(label=_("Student"), min_value=1, max_value=2**31 - 1)


class AttendanceForm(forms.Form):
    enrolment = forms.IntegerField(min_value=1, max_value=2**31 - 1)
    status = forms.ChoiceField(label=_("Attendance"), choices=Attendance.Status.choices)
    makeup = forms.BooleanField(required=False)


def availability_json(teacher: Teacher) -> str:
    return json.dumps(teacher.availability, ensure_ascii=False)


class RefundForm(ui.StyledFormMixin, forms.Form):
    hours = forms.IntegerField(
        label=_("Hours to refund"),
        required=False,
        min_value=1,
        max_value=100_000,
        help_text=_("Empty: every hour left, and the student leaves the class."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)
