from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.ui import StyledFormMixin

from ..models import Category, Product, Sku


class CategoryForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Category
        fields = ["name", "parent", "position"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["parent"].queryset = Category.objects.order_by("path")
        self.fields["parent"].empty_label = _("(top level)")
        if self.instance.pk:
            self.fields["parent"].queryset = Category.objects.exclude(path__startswith=self.instance.path)


class ProductForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Product
        fields = ["code", "name", "category", "description"]
        widgets = {"description": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].queryset = Category.objects.order_by("path")


class SkuForm(StyledFormMixin, forms.ModelForm):
    class Meta:
        model = Sku
        fields = [
            "code",
            "name",
            "spec",
            "unit",
            "list_price",
            "cost",
            "tax_rate",
            "is_active",
            "grants_name",
            "grants_quantity",
            "grants_valid_days",
            "renewal_threshold",
        ]


class LaunchForm(StyledFormMixin, forms.Form):
    sale_from = forms.DateField(label=_("on sale from"))
    sale_until = forms.DateField(
        label=_("withdrawn on"),
        required=False,
        help_text=_("The first day it is no longer sold; empty: until withdrawn."),
    )

    def clean_sale_from(self):
        value = self.cleaned_data["sale_from"]
        if value < timezone.localdate():
            raise forms.ValidationError(_("The first day of sale cannot be in the past."))
        return value


class WithdrawForm(StyledFormMixin, forms.Form):
    sale_until = forms.DateField(
        label=_("withdrawn on"),
        initial=timezone.localdate,
        help_text=_("The first day it is no longer sold."),
    )


class ImportForm(StyledFormMixin, forms.Form):
    file = forms.FileField(
        label=_("file"),
        help_text=_("CSV or XLSX, one row per SKU, at most 5,000 rows."),
    )
