"""Writes to customer records. Views, the API, imports and commands all call these."""
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from crm import permissions

from .models import Customer


def duplicates_of(*, mobile, exclude_pk=None):
    """查重: existing customers with the same normalized mobile."""
    if not mobile:
        return Customer.objects.none()
    qs = Customer.objects.filter(mobile=mobile)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs


@transaction.atomic
def create_customer(*, actor, **fields):
    """Create a customer owned by ``actor`` (unless an owner is given) in the owner's department."""
    customer = Customer(**fields)
    if customer.owner_id is None and "owner" not in fields and not actor.is_service:
        customer.owner = actor
    if customer.department_id is None and customer.owner_id:
        customer.department_id = customer.owner.department_id
    customer.full_clean()
    customer.save()
    return customer


@transaction.atomic
def update_customer(*, customer, actor, **fields):
    for name, value in fields.items():
        setattr(customer, name, value)
    customer.full_clean()
    customer.save()
    return customer


@transaction.atomic
def assign_customers(*, actor, customers, owner):
    """Hand customers over to ``owner`` (moving them to the owner's department). Each change is
    saved one by one so that the audit log keeps who owned each record before."""
    if owner.pk not in set(permissions.assignable_users(actor).values_list("pk", flat=True)):
        raise ValidationError(_("You cannot assign records to %(user)s.") % {"user": owner})
    moved = 0
    for customer in customers.select_for_update(of=("self",)):
        if customer.owner_id == owner.pk:
            continue
        customer.owner = owner
        customer.department_id = owner.department_id
        customer.save(update_fields=["owner", "department", "updated_at"])
        moved += 1
    return moved


@transaction.atomic
def delete_customers(*, actor, customers):
    count = 0
    for customer in customers:
        customer.delete()
        count += 1
    return count
