"""Renewal (续费): when an enrolment's lesson hours fall to the course's threshold, the
customer's owner gets a renewal opportunity — once per enrolment and threshold (a unique index;
a concurrent second attempt fails on it inside a savepoint and opens nothing)."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from sales.services.opportunities import open_opportunity

from ..models import Enrolment, RenewalRequest


def check_balance(*, enrolment: Enrolment, balance: int) -> RenewalRequest | None:
    course = enrolment.school_class.course
    threshold = course.renewal_threshold
    owner = enrolment.customer.owner
    if balance > threshold or owner is None:
        return None
    if RenewalRequest.objects.filter(enrolment=enrolment, threshold=threshold).exists():
        return None
    try:
        with transaction.atomic():
            request = RenewalRequest.objects.create(enrolment=enrolment, threshold=threshold)
    except IntegrityError:
        return None
    request.opportunity = open_opportunity(
        actor=owner,
        owner=owner,
        customer=enrolment.customer,
        name=(_("Renewal: %(course)s") % {"course": course.name})[:200],
        amount=course.sku.list_price if course.sku_id else 0,
        products=course.sku.code if course.sku_id else "",
    )
    request.save(update_fields=["opportunity"])
    return request
