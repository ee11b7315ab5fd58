"""Writes to the organization: API clients and their tokens."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from .models import ApiClient, ApiScope, ApiToken, DataScope, Role, User, hash_token


@transaction.atomic
def create_api_client(*, actor=None, name, description="", department=None, can_see_mobile=False, is_active=True):
    """An integration client and the service user it acts as (which cannot log in)."""
    service_user = User(
        username=f"api:{name}"[:150],
        first_name=name[:150],
        role=Role.REP,
        data_scope=DataScope.ALL,
        is_service=True,
        department=department,
    )
    service_user.set_unusable_password()
    service_user.save()
    return ApiClient.objects.create(
        name=name,
        description=description,
        department=department,
        can_see_mobile=can_see_mobile,
        is_active=is_active,
        service_user=service_user,
        created_by=actor,
    )


def issue_token(*, client, scopes, name="", expires_at=None):
    """Return ``(token, raw)``: the raw bearer token exists only in this return value."""
    unknown = set(scopes) - set(ApiScope.values)
    if unknown or not scopes:
        raise ValidationError({"scopes": f"Unknown or missing scopes: {', '.join(sorted(unknown)) or '-'}"})
    raw = ApiToken.generate()
    token = ApiToken.objects.create(
        client=client,
        name=name,
        prefix=raw[:12],
        token_hash=hash_token(raw),
        scopes=sorted(set(scopes)),
        expires_at=expires_at,
    )
    return token, raw


def revoke_token(*, token):
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
