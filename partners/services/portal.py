"""代理商账号: the users of a partner company and the partner's API token.

A partner user has the role ``partner`` and is linked to one partner (``PartnerUser``); the
permission layer asks ``partner_of_user`` (registered in ``PartnersConfig.ready``) which partner
that is, and shows the user that partner's records only."""

from django.db import transaction
from django.utils.translation import gettext_noop

from crm import services as crm_services
from crm.errors import Invalid
from crm.models import ApiClient, ApiScope, DataScope, Role, User

from ..models import Partner, PartnerUser


def partner_of_user(user) -> int | None:
    """The id of the partner ``user`` belongs to (the permission layer's resolver)."""
    return PartnerUser.objects.filter(user_id=user.pk).values_list("partner_id", flat=True).first()


@transaction.atomic
def create_portal_user(*, partner: Partner, username: str, name: str, password: str, actor=None) -> User:
    """A sign-in for the partner's portal. Raises ``Invalid`` on ``username`` when it is taken."""
    username = username.strip()
    if not username or User.objects.filter(username__iexact=username).exists():
        raise Invalid(
            gettext_noop("This user name is taken."),
            fields={"username": gettext_noop("This user name is taken.")},
        )
    user = User(
        username=username,
        first_name=name[:150],
        role=Role.PARTNER,
        data_scope=DataScope.SELF,
    )
    user.set_password(password)
    user.save()
    PartnerUser.objects.create(user=user, partner=partner)
    return user


@transaction.atomic
def issue_partner_token(*, partner: Partner, actor=None) -> tuple[object, str]:
    """A bearer token with the scope ``partner`` for the partner's own systems: its client acts
    through a service user linked to the partner, so the API shows it that partner only."""
    name = f"partner:{partner.code}"
    client = ApiClient.objects.filter(name=name).select_related("service_user").first()
    if client is None:
        client = crm_services.create_api_client(actor=actor, name=name, description=partner.name[:300])
        service_user = client.service_user
        User.objects.filter(pk=service_user.pk).update(role=Role.PARTNER, data_scope=DataScope.SELF)
        PartnerUser.objects.create(user=service_user, partner=partner)
    return crm_services.issue_token(client=client, scopes=[ApiScope.PARTNER], name=partner.name[:100])
