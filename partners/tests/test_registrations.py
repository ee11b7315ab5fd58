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


def test_a_protection_is_extended_once_by_the_grades_days(org):
    from crm.errors import Conflict
    from partners.services.registrations import extend_registration

    registration = register_lead(
        partner=PartnerFactory(owner=org.rep1, status="active", grade="C"), name="王芳", mobile="13900001111"
    )
    before = registration.protected_until
    assert extend_registration(registration=registration).protected_until - before == datetime.timedelta(days=45)
    with pytest.raises(Conflict) as refused:
        extend_registration(registration=registration)
    assert refused.value.code == "already_extended"


@pytest.mark.django_db(transaction=True)
def test_two_extension_requests_at_once_extend_once():
    from crm.errors import Conflict
    from crm.tests.factories import OrgFixture
    from partners.services.registrations import extend_registration

    org = OrgFixture()
    registration = register_lead(
        partner=PartnerFactory(owner=org.rep1, status="active", grade="D"), name="王芳", mobile="13900001111"
    )
    before = registration.protected_until
    results = run_parallel(
        [lambda: extend_registration(registration=LeadRegistration.objects.get(pk=registration.pk)) and "ok"] * 2,
        refusals=[(Conflict, lambda exc: exc.code)],
    )
    assert sorted(results) == ["already_extended", "ok"]
    registration.refresh_from_db()
    assert registration.protected_until - before == datetime.timedelta(days=30)


def test_the_expiry_warning_goes_once_to_the_partners_users_and_channel_manager(org, time_machine):
    from django.utils import timezone

    from crm.models import Notification
    from partners.services.portal import create_portal_user
    from partners.services.registrations import warn_expiring_registrations
    from partners.tasks import registration_expiry

    time_machine.move_to(timezone.now(), tick=False)
    partner = PartnerFactory(owner=org.rep1, status="active", grade="D")
    user = create_portal_user(partner=partner, username="yf", name="云帆", password="crm-demo-123")
    register_lead(partner=partner, name="王芳", mobile="13900001111")
    time_machine.shift(datetime.timedelta(days=22))
    assert warn_expiring_registrations() == 0  # eight days left
    time_machine.shift(datetime.timedelta(days=1))
    assert registration_expiry() == 1
    assert registration_expiry() == 0
    assert Notification.objects.filter(kind="registration_expiry", recipient=user).count() == 1
    assert Notification.objects.filter(kind="registration_expiry", recipient=org.rep1).count() == 1
    time_machine.shift(datetime.timedelta(days=8))
    registration_expiry()
    assert LeadRegistration.objects.get().status == "expired"


def test_an_order_of_a_registered_lead_is_attributed_to_the_partner_for_the_lead(org):
    from customers.services.orders import place_order

    partner = PartnerFactory(owner=org.rep1, status="active")
    register_lead(partner=partner, name="王芳", mobile="13900001111")
    order = place_order(
        customer_ref={"mobile": "13900001111", "name": "王芳"},
        new_customer={"actor": org.rep1, "department": org.team1, "owner": org.rep1},
        amount=100,
        actor=org.rep1,
    )
    assert (order.partner_attribution.partner, order.partner_attribution.reason) == (partner, "lead")
