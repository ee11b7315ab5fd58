from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from crm import permissions
from crm.phone import normalize_mobile
from crm.ui import StyledFormMixin

from .models import Customer
from .services import duplicates_of


class CustomerForm(StyledFormMixin, forms.ModelForm):
    mobile = forms.CharField(label=_("mobile"), max_length=30, required=False)

    class Meta:
        model = Customer
        fields = [
            "kind", "name", "mobile", "wechat_id", "email", "gender", "birthday", "region", "source",
            "preferred_channel", "active_hours", "owner", "notes",
        ]
        widgets = {"birthday": forms.DateInput(), "notes": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if permissions.can(user, "customers.assign"):
            self.fields["owner"].queryset = permissions.assignable_users(user)
        else:
            del self.fields["owner"]

    def clean_mobile(self):
        raw = self.cleaned_data.get("mobile", "")
        if not raw:
            return ""
        mobile = normalize_mobile(raw)
        duplicate = duplicates_of(mobile=mobile, exclude_pk=self.instance.pk).select_related("owner").first()
        if duplicate is not None:
            raise ValidationError(
                _("%(name)s already has this mobile (owner: %(owner)s)."),
                params={"name": duplicate.name, "owner": duplicate.owner or _("public pool")},
                code="duplicate",
            )
        return mobile


class AssignForm(StyledFormMixin, forms.Form):
    owner = forms.ModelChoiceField(queryset=None, label=_("New owner"))

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = permissions.assignable_users(user)
