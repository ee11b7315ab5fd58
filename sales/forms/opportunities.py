"""Forms of the opportunity pages (input parsing only; sales/services/opportunities.py does the
writes and enforces the stage rules and the key control points)."""

import datetime
from decimal import Decimal

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm import permissions
from crm.models import Department, User
from crm.ui import ListFilterSet, StyledFormMixin
from customers.services.sources import all_source_choices

from ..models import Opportunity, OpportunityStage, StageHistory

OPEN, CLOSED, WON, LOST, ALL = "open", "closed", "won", "lost", "all"


def day_start(day):
    """The aware start (00:00 local time) of a date."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def in_subtree(queryset, field, department):
    """Records whose ``field`` (a department) is ``department`` or one below it."""
    return queryset.filter(**{f"{field}__path__startswith": department.path})


class StageChoiceField(forms.ModelChoiceField):
    """Stages by position, marked when they are a key control point."""

    def label_from_instance(self, obj):
        if obj.approval_role:
            return _("%(stage)s (needs approval)") % {"stage": obj.name}
        return obj.name


class OpportunityFilter(ListFilterSet):
    """The opportunity list. Without a status in the query it shows the open opportunities."""

    q = django_filters.CharFilter(label=_("Name or customer"), method="search")
    status = django_filters.ChoiceFilter(
        label=_("status"),
        method="filter_status",
        empty_label=None,
        choices=[
            (OPEN, _("Open")),
            (CLOSED, _("Closed (won or lost)")),
            (WON, _("Won")),
            (LOST, _("Lost")),
            (ALL, _("All")),
        ],
    )
    stage = django_filters.ModelChoiceFilter(
        queryset=OpportunityStage.objects.order_by("position", "id"), label=_("stage")
    )
    owner = django_filters.ModelChoiceFilter(queryset=User.objects.none(), label=_("owner"))
    close_after = django_filters.DateFilter(
        field_name="expected_close", lookup_expr="gte", label=_("expected close from")
    )
    close_before = django_filters.DateFilter(
        field_name="expected_close", lookup_expr="lte", label=_("expected close to")
    )
    # the narrowing of the dashboards' drill-downs (sales/views/dashboard.py)
    department = django_filters.ModelChoiceFilter(
        queryset=Department.objects.all(), label=_("department"), method="filter_department"
    )
    source = django_filters.ChoiceFilter(
        choices=all_source_choices, field_name="customer__source", label=_("source channel")
    )
    closed_after = django_filters.DateFilter(label=_("closed from"), method="filter_closed_after")
    closed_before = django_filters.DateFilter(label=_("closed to"), method="filter_closed_before")
    created_after = django_filters.DateFilter(label=_("created from"), method="filter_created_after")
    created_before = django_filters.DateFilter(label=_("created to"), method="filter_created_before")
    lost_reason = django_filters.CharFilter(label=_("lost reason"), field_name="lost_reason")
    stuck_days = django_filters.NumberFilter(
        label=_("no stage change for (days)"), method="filter_stuck", min_value=0, max_value=3650
    )
    # the sales dashboard's funnel: opportunities of the leads created in a period
    lead_created_after = django_filters.DateFilter(
        label=_("lead created from"), method="filter_lead_created_after", widget=forms.HiddenInput
    )
    lead_created_before = django_filters.DateFilter(
        label=_("lead created to"), method="filter_lead_created_before", widget=forms.HiddenInput
    )
    left_stage = django_filters.ModelChoiceFilter(
        queryset=OpportunityStage.objects.order_by("position", "id"),
        label=_("left the stage"),
        method="filter_left_stage",
    )
    left_after = django_filters.DateFilter(label=_("left it from"), method="filter_with_left_stage")
    left_before = django_filters.DateFilter(label=_("left it until"), method="filter_with_left_stage")

    class Meta:
        model = Opportunity
        fields = [
            "q",
            "status",
            "stage",
            "owner",
            "close_after",
            "close_before",
            "department",
            "source",
            "closed_after",
            "closed_before",
            "created_after",
            "created_before",
            "lost_reason",
            "stuck_days",
            "left_stage",
            "left_after",
            "left_before",
            "lead_created_after",
            "lead_created_before",
        ]

    default_status = OPEN

    def filter_status(self, queryset, name, value):
        closed = Q(stage__is_won=True) | Q(stage__is_lost=True)
        if value == OPEN:
            return queryset.exclude(closed)
        if value == CLOSED:
            return queryset.filter(closed)
        if value == WON:
            return queryset.filter(stage__is_won=True)
        if value == LOST:
            return queryset.filter(stage__is_lost=True)
        return queryset

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(customer__name__icontains=value))

    def filter_department(self, queryset, name, value):
        return in_subtree(queryset, "department", value) if value else queryset

    # date bounds in local time (the same as the dashboards count), on the raw column
    def filter_closed_after(self, queryset, name, value):
        return queryset.filter(closed_at__gte=day_start(value))

    def filter_closed_before(self, queryset, name, value):
        return queryset.filter(closed_at__lt=day_start(value + datetime.timedelta(days=1)))

    def filter_created_after(self, queryset, name, value):
        return queryset.filter(created_at__gte=day_start(value))

    def filter_created_before(self, queryset, name, value):
        return queryset.filter(created_at__lt=day_start(value + datetime.timedelta(days=1)))

    def filter_lead_created_after(self, queryset, name, value):
        return queryset.filter(lead__created_at__gte=day_start(value))

    def filter_lead_created_before(self, queryset, name, value):
        return queryset.filter(lead__created_at__lt=day_start(value + datetime.timedelta(days=1)))

    def filter_left_stage(self, queryset, name, value):
        """Opportunities with a stay in ``value`` that ended within left_after..left_before (the
        dashboard's time-per-stage bars)."""
        if not value:
            return queryset
        stays = StageHistory.objects.filter(stage=value, left_at__isnull=False)
        after, before = self.form.cleaned_data.get("left_after"), self.form.cleaned_data.get("left_before")
        if after:
            stays = stays.filter(left_at__gte=day_start(after))
        if before:
            stays = stays.filter(left_at__lt=day_start(before + datetime.timedelta(days=1)))
        return queryset.filter(pk__in=stays.values("opportunity_id"))

    def filter_with_left_stage(self, queryset, name, value):
        return queryset  # read by filter_left_stage

    def filter_stuck(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(stage_entered_at__lt=timezone.now() - datetime.timedelta(days=int(value)))


class BoardFilterForm(StyledFormMixin, forms.Form):
    """The kanban board's owner filter (for users who see more than their own records)."""

    owner = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        label=_("owner"),
        empty_label=_("Everyone in my scope"),
        widget=forms.Select(attrs={"class": "form-select-sm js-autosubmit"}),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = permissions.assignable_users(user).order_by("username")


class OpportunityForm(StyledFormMixin, forms.ModelForm):
    """Create (through ``services.open_opportunity``) or edit an opportunity. The stage is not
    here: it changes only through "Move to", which enforces the control points."""

    owner = forms.ModelChoiceField(queryset=User.objects.none(), required=False, label=_("Owner"), empty_label=_("Me"))
    amount = forms.DecimalField(
        label=_("Amount"), max_digits=12, decimal_places=2, min_value=Decimal("0"), initial=Decimal("0")
    )
    probability = forms.IntegerField(
        label=_("Win probability (%)"),
        min_value=0,
        max_value=100,
        required=False,
        help_text=_("Empty: the stage's default."),
    )

    class Meta:
        model = Opportunity
        fields = ["name", "amount", "probability", "expected_close", "products"]
        widgets = {"expected_close": forms.DateInput(format="%Y-%m-%d")}

    def __init__(self, *args, user, creating, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if creating:
            del self.fields["probability"]  # a new opportunity takes its first stage's probability
            if permissions.can(user, "sales.assign"):
                self.fields["owner"].queryset = permissions.assignable_users(user).order_by("username")
            else:
                del self.fields["owner"]  # a rep's opportunity stays with the rep
        else:
            del self.fields["owner"]

    def clean_name(self):
        name = (self.cleaned_data.get("name") or "").strip()
        if not name:
            raise forms.ValidationError(_("Give the opportunity a name."))
        return name

    def open_kwargs(self):
        """Keyword arguments for ``services.open_opportunity`` (besides actor and customer)."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "amount": data["amount"],
            "expected_close": data.get("expected_close"),
            "products": data.get("products") or "",
            "owner": data.get("owner") or self.user,
        }

    def changes(self):
        """The edited fields, for the update."""
        return {name: self.cleaned_data.get(name) for name in self.Meta.fields}


class MoveForm(StyledFormMixin, forms.Form):
    """ "Move to" a stage (the detail page's form and the kanban board's drop)."""

    stage = StageChoiceField(
        queryset=OpportunityStage.objects.order_by("position", "id"), label=_("Move to"), empty_label=None
    )
    lost_reason = forms.CharField(
        label=_("Lost reason"), max_length=200, required=False, help_text=_("Required when the opportunity is lost.")
    )

    def __init__(self, *args, opportunity=None, stages=None, **kwargs):
        """``stages``: the stages already loaded by the page (saves a query when rendering)."""
        super().__init__(*args, **kwargs)
        field = self.fields["stage"]
        if stages is not None:
            field.choices = [(s.pk, field.label_from_instance(s)) for s in stages]
        if opportunity is not None and not self.is_bound:
            following = [
                s
                for s in (stages if stages is not None else field.queryset)
                if s.position > opportunity.stage.position and not s.is_lost
            ]
            if following:
                self.initial.setdefault("stage", following[0].pk)


class DecisionForm(StyledFormMixin, forms.Form):
    """Approve or reject a key control point; the comment is required to reject (the service says so)."""

    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))], widget=forms.HiddenInput)
    comment = forms.CharField(label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class StageForm(StyledFormMixin, forms.ModelForm):
    """An opportunity stage (sales.configure)."""

    probability = forms.IntegerField(label=_("Win probability (%)"), min_value=0, max_value=100)

    class Meta:
        model = OpportunityStage
        fields = ["name", "probability", "is_won", "is_lost", "approval_role"]  # the order: by dragging

    def clean(self):
        data = super().clean()
        if data.get("is_won") and data.get("is_lost"):
            self.add_error("is_lost", _("A stage is won or lost, not both."))
        if (data.get("is_won") or data.get("is_lost")) and data.get("approval_role"):
            self.add_error(
                "approval_role",
                _(
                    "A closed stage is never left, so it needs no approval. Put the "
                    "control point on the stage before it."
                ),
            )
        return data
