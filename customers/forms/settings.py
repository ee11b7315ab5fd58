"""The forms of the customer settings: tag groups, tags, tag rules, custom attributes, lead sources."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.ui import StyledFormMixin

from .. import services
from ..models import CustomAttribute, LeadSource, Tag, TagGroup, TagRule


class TagGroupForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = TagGroup
        fields = ["name", "multiple", "color", "position"]


class TagForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Tag
        fields = ["group", "name"]


class TagRuleForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = TagRule
        fields = ["name", "tag", "query", "segment", "is_active"]
        widgets = {"query": forms.TextInput(attrs={"placeholder": "region=上海&source=website"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].queryset = Tag.objects.select_related("group")
        # a segment (marketing, an app above this one) of customers
        segment = TagRule._meta.get_field("segment").related_model
        self.fields["segment"].queryset = segment.objects.filter(subject=segment.Subject.CUSTOMERS)

    def clean(self):
        data = super().clean()
        if not data.get("query") and not data.get("segment") and not self.has_error("query"):
            self.add_error("query", _("Give a list filter or choose a segment."))
        return data

    def clean_query(self):
        """Every key a known filter of the customer list, every value valid for it (an error here,
        beside the field, instead of a rule that tags everyone)."""
        from django.core.exceptions import ValidationError

        query = self.cleaned_data["query"].strip().lstrip("?")
        if not query:
            return ""
        try:
            return services.tags.clean_rule_query(query)
        except ValidationError as exc:
            raise forms.ValidationError(exc.messages) from exc


class CustomAttributeForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = CustomAttribute
        fields = ["key", "label", "kind", "choices", "required", "position"]
        widgets = {"choices": forms.Textarea(attrs={"rows": 3})}

    def clean(self):
        data = super().clean()
        if data.get("kind") == CustomAttribute.Kind.CHOICE and not [
            c for c in (data.get("choices") or "").splitlines() if c.strip()
        ]:
            self.add_error("choices", _("Give at least one choice."))
        return data


class LeadSourceForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = LeadSource
        fields = ["code", "name", "group", "is_active", "position"]
        labels = {"code": gettext_lazy("source code")}  # the model's "code" reads "券码" (a coupon's) in Chinese

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:  # records keep the code: it never changes once saved
            self.fields["code"].disabled = True
