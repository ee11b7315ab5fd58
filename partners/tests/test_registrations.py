"""报备: one partner protected per mobile, conflicts flagged, never given to two."""

import datetime

import pytest

from crm.tests.parallel import run_parallel
from customers.tests.factories import CustomerFactory
from partners.models import LeadRegistration
from partners.services.registrations import register_lead

from .factories import PartnerFactory


def test_a_free_mobile_is_protected_for_the_days_of_the_partners_grade(org):
    partner = PartnerFactory(owner=org.rep1, status="active", grade="B")
    registration = register_lead(partner=partner, name="王芳", mobile="13900001111")
    assert registration.status == "protected"
    assert registration.protected_until - registration.created_at == datetime.timedelta(days=60)


def test_a_mobile_another_partner_holds_is_a_conflict(org):
    register_lead(partner=PartnerFactory(owner=org.rep1, status="active"), name="王芳", mobile="13900001111")
    second = register_lead(partner=PartnerFactory(owner=org.rep2, status="active"), name="王芳", mobile="13900001111")
    assert (second.status, second.conflict_reason) == ("conflict", "registered")


def test_a_mobile_we_already_have_as_a_customer_is_a_conflict(org):
    CustomerFactory(owner=org.rep1, mobile="13900002222")
    registration = register_lead(
        partner=PartnerFactory(owner=org.rep1, status="active"), name="李雷", mobile="13900002222"
    )
    assert (registration.status, registration.conflict_reason) == ("conflict", "owned")


def test_an_expired_protection_frees_the_mobile(org, time_machine):
    from django.utils import timezone

    time_machine.move_to(timezone.now(), tick=False)
    first = PartnerFactory(owner=org.rep1, status="active", grade="D")
    register_lead(partner=first, name="王芳", mobile="13900001111")
    time_machine.shift(datetime.timedelta(days=31))
    second = register_lead(partner=PartnerFactory(owner=org.rep2, status="active"), name="王芳", mobile="13900001111")
    assert second.status == "protected"
    assert list(LeadRegistration.objects.order_by("id").values_list("status", flat=True)) == ["expired", "protected"]


@pytest.mark.django_db(transaction=True)
def test_two_partners_registering_the_same_mobile_at_once_get_one_protection():
    from crm.tests.factories import OrgFixture

    org = OrgFixture()
    partners = [PartnerFactory(owner=org.rep1, status="active"), PartnerFactory(owner=org.rep2, status="active")]
    results = run_parallel(
        [lambda p=p: register_lead(partner=p, name="王芳", mobile="13900001111").status for p in partners]
    )
    assert sorted(results) == ["conflict", "protected"]
    assert LeadRegistration.objects.filter(status="protected").count() == 1
