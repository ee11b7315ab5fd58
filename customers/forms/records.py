from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm import permissions
from crm.phone import normalize_mobile
from crm.ui import StyledFormMixin
from customers.services.sources import source_choices

from ..models import CustomAttribute, Customer, Tag, source_name
from ..region_field import RegionField
from ..selectors import customers_for
from ..services import duplicates_of


class CustomerForm(StyledFormMixin, forms.ModelForm):
    mobile = forms.CharField(label=_("mobile"), max_length=30, required=False)
    region = RegionField(label=_("region"), required=False, help_text=_("Province, city or district."))

    class Meta:
        model = Customer
        fields = [
            "kind",
            "name",
            "mobile",
            "wechat_id",
            "email",
            "gender",
            "birthday",
            "region",
            "address",
            "source",
            "preferred_channel",
            "active_hours",
            "owner",
            "notes",
        ]
        widgets = {"birthday": forms.DateInput(), "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self._source_field()
        if permissions.can(user, "customers.assign"):
            self.fields["owner"].queryset = permissions.assignable_users(user)
        else:
            del self.fields["owner"]
        self.custom_attributes = list(CustomAttribute.objects.all())
        current = (self.instance.custom or {}) if self.instance.pk else {}
        for attribute in self.custom_attributes:
            self.fields[f"custom_{attribute.key}"] = self._custom_field(attribute, current.get(attribute.key))

    def _source_field(self):
        """The active lead sources (and the record's own, even if inactive since)."""
        current = self.instance.source if self.instance.pk else None
        choices = source_choices()
        if current and current not in dict(choices):
            choices.append((current, source_name(current)))
        field = self.fields["source"]
        self.fields["source"] = forms.ChoiceField(
            choices=choices, label=field.label, required=True, initial=field.initial, help_text=""
        )

    @staticmethod
    def _custom_field(attribute, value):
        options = {"label": attribute.label, "required": attribute.required, "initial": value}
        if attribute.kind == CustomAttribute.Kind.NUMBER:
            field = forms.DecimalField(**options)
        elif attribute.kind == CustomAttribute.Kind.DATE:
            field = forms.DateField(widget=forms.DateInput(attrs={"type": "date", "class": "form-control"}), **options)
        elif attribute.kind == CustomAttribute.Kind.CHOICE:
            field = forms.ChoiceField(
                choices=[("", "—")] + [(c, c) for c in attribute.choice_list],
                widget=forms.Select(attrs={"class": "form-select"}),
                **options,
            )
        else:
            field = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"class": "form-control"}), **options)
        return field

    def model_fields(self):
        """The cleaned values to pass to the services: model fields plus ``custom``."""
        values = {name: value for name, value in self.cleaned_data.items() if not name.startswith("custom_")}
        custom = dict(self.instance.custom or {}) if self.instance.pk else {}
        for attribute in self.custom_attributes:
            value = self.cleaned_data.get(f"custom_{attribute.key}")
            if value in (None, ""):
                custom.pop(attribute.key, None)
            else:
                custom[attribute.key] = float(value) if attribute.kind == CustomAttribute.Kind.NUMBER else str(value)
        values["custom"] = custom
        return values

    def clean_mobile(self):
        raw = self.cleaned_data.get("mobile", "")
        return normalize_mobile(raw) if raw else ""

    def clean(self):
        """查重: warn about (and link to) a customer with the same mobile, or the same name and birthday."""
        data = super().clean()
        self.duplicate = (
            duplicates_of(
                mobile=data.get("mobile", ""),
                name=data.get("name", ""),
                birthday=data.get("birthday"),
                exclude_pk=self.instance.pk,
            )
            .select_related("owner")
            .first()
        )
        if self.duplicate is not None:
            field = "mobile" if data.get("mobile") and self.duplicate.mobile == data.get("mobile") else "name"
            self.duplicate_visible = customers_for(self.user).filter(pk=self.duplicate.pk).exists()
            if self.duplicate_visible:
                error = ValidationError(
                    _("%(name)s already exists (owner: %(owner)s)."),
                    code="duplicate",
                    params={"name": self.duplicate.name, "owner": self.duplicate.owner or _("public pool")},
                )
            else:  # outside the user's scope: say whom to ask, never whose record it is
                self.duplicate_contact = duplicate_contact(self.duplicate)
                error = ValidationError(
                    _(
                        "A customer with this %(what)s already exists in another team (%(team)s). "
                        "Ask %(contact)s to hand the customer over."
                    ),
                    code="duplicate_elsewhere",
                    params={
                        "what": _("mobile") if field == "mobile" else _("name and birthday"),
                        **self.duplicate_contact,
                    },
                )
            self.add_error(field, error)
        return data


def duplicate_contact(customer):
    """Whom to ask about a customer outside one's scope: the manager of the department the record
    is filed under (or of the nearest department above with one), else an administrator."""
    department = customer.department
    while department is not None:
        if department.manager_id and department.manager.is_active:
            return {"team": department.name, "contact": str(department.manager)}
        department = department.parent
    return {
        "team": customer.department.name if customer.department_id else _("public pool"),
        "contact": _("an administrator"),
    }


class AssignForm(StyledFormMixin, forms.Form):
    owner = forms.ModelChoiceField(queryset=None, label=_("New owner"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = permissions.assignable_users(user)


class BulkTagForm(StyledFormMixin, forms.Form):
    tag = forms.ModelChoiceField(queryset=None, label=_("Tag"))

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)

        self.fields["tag"].queryset = Tag.objects.select_related("group")


class MergeForm(StyledFormMixin, forms.Form):
    survivor = forms.IntegerField(label=_("Keep this customer (id)"), min_value=1)
    duplicate = forms.IntegerField(label=_("Merge this duplicate into it (id)"), min_value=1)

    def __init__(self, *args, queryset, **kwargs):
        super().__init__(*args, **kwargs)
        self.queryset = queryset

    def clean(self):
        data = super().clean()
        found = {c.pk: c for c in self.queryset.filter(pk__in=[data.get("survivor"), data.get("duplicate")])}
        for name in ("survivor", "duplicate"):
            if data.get(name) and data[name] not in found:
                self.add_error(name, _("No customer with this id in your scope."))
        if data.get("survivor") and data.get("survivor") == data.get("duplicate"):
            self.add_error("duplicate", _("Choose two different customers."))
        data["survivor_obj"] = found.get(data.get("survivor"))
        data["duplicate_obj"] = found.get(data.get("duplicate"))
        return data
