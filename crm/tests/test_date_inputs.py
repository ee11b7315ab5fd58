"""Date inputs show their initial value as YYYY-MM-DD in every language: the browser's date picker
accepts only that, and under zh-hans Django would write YYYY/MM/DD (the picker then shows nothing)."""

import datetime
import re

import pytest
from django import forms
from django.utils import timezone, translation

from coupons.forms import PeriodForm
from crm import ui
from customers.forms.records import CustomerForm
from marketing.forms import CampaignForm
from resources.forms import HolidayForm

DAY = datetime.date(2026, 3, 5)


def value_of(html, name):
    return re.search(rf'<input[^>]*name="{name}"[^>]*>', html).group(0)


class Plain(ui.StyledFormMixin, forms.Form):
    day = forms.DateField(widget=forms.DateInput())
    typed = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    at = forms.DateTimeField(widget=forms.DateTimeInput())
    month = forms.DateField(widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"))


def test_a_styled_forms_dates_and_times_are_iso_under_zh_hans():
    moment = timezone.make_aware(datetime.datetime(2026, 3, 5, 9, 30))
    with translation.override("zh-hans"):
        html = str(Plain(initial={"day": DAY, "typed": DAY, "at": moment, "month": DAY}))
    assert 'type="date"' in value_of(html, "day") and 'value="2026-03-05"' in value_of(html, "day")
    assert 'value="2026-03-05"' in value_of(html, "typed")
    assert 'type="datetime-local"' in value_of(html, "at") and 'value="2026-03-05T09:30"' in value_of(html, "at")
    # a month picker keeps its own type and format
    assert 'type="month"' in value_of(html, "month") and 'value="2026-03"' in value_of(html, "month")


def test_the_shared_date_input_is_iso_in_a_form_without_the_styles():
    with translation.override("zh-hans"):
        html = str(HolidayForm(initial={"day": DAY, "name": "清明"}))
    assert 'type="date"' in value_of(html, "day") and 'value="2026-03-05"' in value_of(html, "day")


@pytest.mark.parametrize(
    ("form", "field"),
    [
        (lambda org: CustomerForm(initial={"birthday": DAY}, user=org.rep1), "birthday"),
        (lambda org: CampaignForm(initial={"start": DAY}), "start"),
        (lambda org: PeriodForm(initial={"start": DAY}), "start"),
    ],
    ids=["customers", "marketing", "coupons"],
)
@pytest.mark.django_db
def test_every_apps_date_fields_show_iso_under_zh_hans(org, form, field):
    with translation.override("zh-hans"):
        html = str(form(org))
    assert 'value="2026-03-05"' in value_of(html, field)
