"""Forms of the daily work pages: follow-ups, reminders, tasks and service tickets (input parsing
only; the services in sales/services/ do the writes and enforce the business rules)."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import permissions
from crm.models import User
from crm.ui import ListFilterSet, StyledFormMixin, add_domain_error

from ..models import FollowUp, ServiceTicket, Task
from ..services.reminders import parse_offsets

LOCAL_INPUT = "%Y-%m-%dT%H:%M"


def local_datetime_widget(**attrs):
    """A ``datetime-local`` input that shows the value in the local time zone, minutes only."""
    return forms.DateTimeInput(format=LOCAL_INPUT, attrs=attrs)


def apply_service_errors(form, error, field_map=None):
    """Put a service's ``ValidationError`` beside the form fields it names (the rest on top)."""
    add_domain_error(form, error, field_map=field_map)


class FollowUpForm(StyledFormMixin, forms.Form):
    """A touch with a customer or a lead; the subject comes from the URL."""

    channel = forms.ChoiceField(label=_("channel"), choices=FollowUp.Channel.choices, initial=FollowUp.Channel.PHONE)
    direction = forms.ChoiceField(
        label=_("direction"), choices=FollowUp.Direction.choices, initial=FollowUp.Direction.OUTBOUND
    )
    outcome = forms.ChoiceField(label=_("outcome"), choices=FollowUp.Outcome.choices, initial=FollowUp.Outcome.TALKED)
    opportunity = forms.ModelChoiceField(label=_("opportunity"), queryset=None, required=False, empty_label=_("None"))
    content = forms.CharField(
        label=_("content"),
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": _("Write what happened.")},
    )
    next_followup_at = forms.DateTimeField(
        label=_("next follow-up"),
        required=False,
        widget=local_datetime_widget(),
        help_text=_("A reminder is created for this time."),
    )
    reminder_offsets = forms.CharField(
        label=_("remind me before (minutes)"),
        required=False,
        max_length=100,
        help_text=_("Comma-separated, e.g. 1440,60 (a day and an hour before); empty: the default."),
    )

    def __init__(self, *args, opportunities, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["opportunity"].queryset = opportunities
        if not opportunities.exists():
            del self.fields["opportunity"]

    def clean_content(self):
        content = self.cleaned_data["content"].strip()
        if not content:
            raise forms.ValidationError(_("Write what happened."))
        return content

    def clean_next_followup_at(self):
        value = self.cleaned_data.get("next_followup_at")
        if value is not None and value <= timezone.now():
            raise forms.ValidationError(_("The next follow-up must be in the future."))
        return value

    def clean_reminder_offsets(self):
        text = self.cleaned_data.get("reminder_offsets", "")
        try:
            offsets = parse_offsets(text)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc
        return ",".join(str(o) for o in offsets)


class RescheduleForm(StyledFormMixin, forms.Form):
    due_at = forms.DateTimeField(label=_("new time"), widget=local_datetime_widget())


class TaskForm(StyledFormMixin, forms.Form):
    """A task by hand; the linked customer or lead (optional) comes from the URL."""

    title = forms.CharField(label=_("title"), max_length=200)
    assignee = forms.ModelChoiceField(label=_("assignee"), queryset=User.objects.none())
    due_at = forms.DateTimeField(
        label=_("due"),
        required=False,
        widget=local_datetime_widget(),
        help_text=_("The assignee is reminded like for a follow-up."),
    )
    priority = forms.ChoiceField(label=_("priority"), choices=Task.Priority.choices, initial=Task.Priority.NORMAL)
    description = forms.CharField(label=_("description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].queryset = permissions.assignable_users(user).order_by("username")
        self.fields["assignee"].initial = user.pk

    def clean_due_at(self):
        value = self.cleaned_data.get("due_at")
        if value is not None and value <= timezone.now():
            raise forms.ValidationError(_("Choose a time in the future."))
        return value


class TicketForm(StyledFormMixin, forms.ModelForm):
    """Open (``open_ticket``) or edit (``update_ticket``) a service ticket."""

    class Meta:
        model = ServiceTicket
        fields = ["kind", "title", "description", "status", "owner", "due_at"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3}), "due_at": local_datetime_widget()}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = permissions.assignable_users(user).order_by("username")
        if self.instance.pk is None:
            self.fields["owner"].required = False
            self.fields["owner"].empty_label = _("Me")
            del self.fields["status"]
        else:
            current = self.instance.status
            allowed = {ServiceTicket.Status.OPEN, ServiceTicket.Status.IN_PROGRESS, current}
            if current == ServiceTicket.Status.RESOLVED:
                allowed.add(ServiceTicket.Status.CLOSED)
            self.fields["status"].choices = [c for c in ServiceTicket.Status.choices if c[0] in allowed]
            # the current owner stays choosable even when outside the editor's hand-over scope
            if self.instance.owner_id:
                self.fields["owner"].queryset = (
                    self.fields["owner"].queryset | User.objects.filter(pk=self.instance.owner_id)
                ).distinct()

    def _post_clean(self):
        """The service validates and writes; the form only parses."""

    def changes(self):
        return {name: self.cleaned_data[name] for name in self.fields if name in self.cleaned_data}


class ResolveForm(StyledFormMixin, forms.Form):
    resolution = forms.CharField(
        label=_("resolution"),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Write how it was resolved.")},
    )
    csat = forms.TypedChoiceField(
        label=_("customer satisfaction (CSAT)"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", _("Not asked"))] + [(n, f"{n} ★") for n in range(1, 6)],
        help_text=_("1 = very unhappy, 5 = very happy; recorded on the customer."),
    )
    comment = forms.CharField(label=_("customer's comment"), required=False, max_length=500)


class TicketFilter(ListFilterSet):
    """Service tickets; without a status in the query it shows the unresolved ones."""

    OPEN, ALL = "open", "all"
    default_status = OPEN

    q = django_filters.CharFilter(label=_("Title or customer"), method="search")
    status = django_filters.ChoiceFilter(
        label=_("status"),
        method="filter_status",
        empty_label=None,
        choices=[(OPEN, _("Unresolved")), (ALL, _("All statuses"))] + list(ServiceTicket.Status.choices),
    )
    kind = django_filters.ChoiceFilter(choices=ServiceTicket.Kind.choices, label=_("kind"))
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.none(), label=_("owner"))
    overdue = django_filters.BooleanFilter(label=_("Only overdue"), method="filter_overdue", widget=forms.CheckboxInput)

    class Meta:
        model = ServiceTicket
        fields = ["q", "status", "kind", "owner", "overdue"]

    def filter_status(self, queryset, name, value):
        if value == self.OPEN:
            return queryset.filter(status__in=(ServiceTicket.Status.OPEN, ServiceTicket.Status.IN_PROGRESS))
        if value == self.ALL:
            return queryset
        return queryset.filter(status=value)

    def filter_overdue(self, queryset, name, value):
        if value:
            return queryset.filter(
                due_at__lt=timezone.now(), status__in=(ServiceTicket.Status.OPEN, ServiceTicket.Status.IN_PROGRESS)
            )
        return queryset

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(title__icontains=value) | Q(customer__name__icontains=value))
