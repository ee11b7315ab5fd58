"""Forms of the 360 view: add a relation, edit tags, record satisfaction."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm.phone import mask_mobile
from crm.privacy import name_or_mobile_q
from crm.ui import StyledFormMixin

from ..models import RelationKind, Satisfaction

#: what the other customer is to this one -> (relation kind, whether the other one is the "from" side)
ROLES = {
    "parent": (RelationKind.PARENT, True),
    "child": (RelationKind.PARENT, False),
    "spouse": (RelationKind.SPOUSE, True),
    "guardian": (RelationKind.GUARDIAN, True),
    "ward": (RelationKind.GUARDIAN, False),
    "sibling": (RelationKind.SIBLING, True),
    "referrer": (RelationKind.REFERRER, True),
    "referred": (RelationKind.REFERRER, False),
}
ROLE_CHOICES = [
    ("parent", _("Parent")),
    ("child", _("Child")),
    ("spouse", _("Spouse")),
    ("guardian", _("Guardian")),
    ("ward", _("Ward")),
    ("sibling", _("Sibling")),
    ("referrer", _("Referrer (brought this customer)")),
    ("referred", _("Referred (brought by this customer)")),
]
CANDIDATE_LIMIT = 50


def candidates(customers, *, exclude_pk, query="", user=None):
    """Up to 50 customers (of a queryset already narrowed to the user's scope) matching a name or
    (4+ digits of) a mobile number, for the "other customer" select."""
    from django.db.models import Q

    qs = customers.exclude(pk=exclude_pk)
    query = (query or "").replace("\x00", "").strip()[:100]  # PostgreSQL refuses a NUL in a query
    if query:
        q = name_or_mobile_q(user, query, keys_field="name_keys")
        if query.isdigit():
            q |= Q(pk=int(query[:18]))
        qs = qs.filter(q)
    return list(qs.order_by("name", "pk")[:CANDIDATE_LIMIT])


def candidate_label(customer, *, show_mobile):
    mobile = customer.mobile if show_mobile else mask_mobile(customer.mobile)
    return " · ".join(part for part in (customer.name, mobile, f"#{customer.pk}") if part)


class RelationForm(StyledFormMixin, forms.Form):
    role = forms.ChoiceField(label=_("The other customer is this customer's"), choices=ROLE_CHOICES)
    other = forms.CharField(label=_("Other customer"), widget=forms.Select())
    note = forms.CharField(label=_("note"), max_length=200, required=False)

    def __init__(self, *args, customer, customers, show_mobile, options=None, candidates_url="", **kwargs):
        """``customers``: the customers the user may see (the other side must be one of them);
        ``options``: the customers to offer in the select; without them the select fetches its
        options from ``candidates_url`` once the page has loaded (htmx), which keeps that query
        off the 360 view."""
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.customers = customers
        self.show_mobile = show_mobile
        widget = self.fields["other"].widget
        widget.attrs["id"] = "relation-other"
        self.set_options(options or [])
        if options is None and candidates_url:
            widget.attrs.update({"hx-get": candidates_url, "hx-trigger": "load", "hx-swap": "innerHTML"})

    def set_options(self, options):
        choices = [("", _("Choose a customer"))]
        choices += [(str(c.pk), candidate_label(c, show_mobile=self.show_mobile)) for c in options]
        self.fields["other"].widget.choices = choices

    def clean_other(self):
        raw = self.cleaned_data["other"].strip()
        other = None
        if raw.isdigit() and len(raw) <= 18:
            other = self.customers.filter(pk=int(raw)).first()
        if other is None or other.pk == self.customer.pk:
            if other is not None:
                raise ValidationError(_("A customer cannot be linked to themself."))
            raise ValidationError(_("Choose one of the customers you may see."))
        return other

    def link_arguments(self):
        """(from_customer, to_customer, kind) for ``services.link_customers``."""
        kind, other_is_from = ROLES[self.cleaned_data["role"]]
        other = self.cleaned_data["other"]
        if other_is_from:
            return other, self.customer, kind
        return self.customer, other, kind


class TagsForm(forms.Form):
    """One field per tag group: check boxes for a multiple-choice group, radio buttons (with "none")
    for a single-choice group. Built from tags loaded once, so rendering costs no queries."""

    def __init__(self, *args, tags, current=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.tags_by_id = {str(tag.pk): tag for tag in tags}
        groups = {}
        for tag in tags:
            groups.setdefault(tag.group_id, (tag.group, []))[1].append(tag)
        current_ids = {str(tag.pk) for tag in current}
        self.groups = []
        for group, group_tags in groups.values():
            name = f"group_{group.pk}"
            choices = [(str(tag.pk), tag.name) for tag in group_tags]
            chosen = [value for value, _label in choices if value in current_ids]
            if group.multiple:
                self.fields[name] = forms.MultipleChoiceField(
                    label=group.name,
                    choices=choices,
                    required=False,
                    initial=chosen,
                    widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
                )
            else:
                self.fields[name] = forms.ChoiceField(
                    label=group.name,
                    choices=[("", _("None"))] + choices,
                    required=False,
                    initial=chosen[0] if chosen else "",
                    widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
                )
            self.groups.append((group, self[name]))

    def selected_tags(self):
        chosen = []
        for value in self.cleaned_data.values():
            values = value if isinstance(value, list) else [value]
            chosen += [self.tags_by_id[v] for v in values if v in self.tags_by_id]
        return chosen


class SatisfactionForm(StyledFormMixin, forms.Form):
    kind = forms.ChoiceField(label=_("kind"), choices=Satisfaction.Kind.choices, initial=Satisfaction.Kind.CSAT)
    score = forms.IntegerField(label=_("score"), min_value=0, max_value=10, help_text=_("CSAT 1–5, NPS 0–10."))
    source = forms.ChoiceField(
        label=_("source"), choices=Satisfaction.Source.choices, initial=Satisfaction.Source.FOLLOW_UP
    )
    comment = forms.CharField(label=_("comment"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean(self):
        cleaned = super().clean()
        kind, score = cleaned.get("kind"), cleaned.get("score")
        # the same ranges as the service, checked here too so that the message sits beside the field
        if kind == Satisfaction.Kind.CSAT and score is not None and not 1 <= score <= 5:
            self.add_error("score", _("CSAT scores go from 1 to 5."))
        return cleaned
