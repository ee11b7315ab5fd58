"""The order form and its lines (the order page records an order by hand)."""

from django import forms
from django.utils.translation import gettext, gettext_lazy

from crm.ui import StyledFormMixin

from ..models import Order


class OrderForm(StyledFormMixin, forms.Form):
    amount = forms.DecimalField(
        label=gettext_lazy("amount"),
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=gettext_lazy("Empty: the total of the lines at their prices."),
    )
    cost = forms.DecimalField(label=gettext_lazy("cost"), max_digits=12, decimal_places=2, min_value=0, required=False)
    channel = forms.ChoiceField(
        label=gettext_lazy("channel"), choices=Order.Channel.choices, initial=Order.Channel.SALES
    )
    placed_at = forms.DateTimeField(
        label=gettext_lazy("placed at"),
        widget=forms.DateTimeInput(),
        required=False,
        help_text=gettext_lazy("Leave empty for now."),
    )
    external_id = forms.CharField(label=gettext_lazy("external id"), max_length=100, required=False)
    coupon_code = forms.CharField(
        label=gettext_lazy("coupon code"),
        max_length=32,
        required=False,
        help_text=gettext_lazy("A coupon the customer holds, used on this order."),
    )
    partner_code = forms.CharField(
        label=gettext_lazy("referral code"),
        max_length=20,
        required=False,
        help_text=gettext_lazy("A partner's referral code: the order is attributed to that partner."),
    )


class OrderLineForm(StyledFormMixin, forms.Form):
    sku = forms.CharField(label=gettext_lazy("SKU"), max_length=64)
    category = forms.CharField(label=gettext_lazy("category"), max_length=64, required=False)
    quantity = forms.IntegerField(label=gettext_lazy("quantity"), min_value=1, initial=1)
    price = forms.DecimalField(
        label=gettext_lazy("price"),
        max_digits=12,
        decimal_places=2,
        min_value=0,
        required=False,
        help_text=gettext_lazy("Empty: the catalogue's price for this customer."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sku"].widget.attrs["list"] = "sku-options"  # picked from the catalogue
        # the lines sit in a table under column headings: each input still says what it is and which line
        index = (self.prefix or "").rsplit("-", 1)[-1]
        line = int(index) + 1 if index.isdigit() else 1
        for field in self.fields.values():
            field.widget.attrs["aria-label"] = gettext("%(field)s, line %(line)s") % {
                "field": str(field.label)[:1].upper() + str(field.label)[1:],
                "line": line,
            }
