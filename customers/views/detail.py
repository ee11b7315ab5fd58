"""The 360 view (360度视图) of one customer."""
from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import path

from crm import permissions
from crm.phone import mask_mobile
from crm.ui import history_for

from ..selectors import customers_for, may_see_mobile


@login_required
def customer_detail(request, pk):
    permissions.require(request.user, "customers.view")
    customer = get_object_or_404(customers_for(request.user), pk=pk)
    show_mobile = may_see_mobile(request.user)
    return render(request, "customers/detail.html", {
        "customer": customer,
        "mobile": customer.mobile if show_mobile else mask_mobile(customer.mobile),
        "history": history_for(customer),
        "can_change": permissions.can(request.user, "customers.change"),
        "can_delete": permissions.can(request.user, "customers.delete"),
    })


urlpatterns = [
    path("<int:pk>/", customer_detail, name="detail"),
]
