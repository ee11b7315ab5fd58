"""Customer records: create, update, hand over, delete, merge (查重与合并)."""

from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.translation import gettext as _

from crm import permissions

from ..models import CustomAttribute, Customer, CustomerRelation, CustomerTag, OwnershipChange
from . import orders as order_services
from .tags import held_tags, log_tag_changes


def duplicates_of(*, mobile="", name="", birthday=None, exclude_pk=None):
    """查重: customers with the same normalized mobile, or the exact same name and birthday."""
    q = models.Q(pk__in=[])
    if mobile:
        q |= models.Q(mobile=mobile)
    if name and birthday:
        q |= models.Q(name=name, birthday=birthday)
    qs = Customer.objects.filter(q)
    if exclude_pk:
        qs = qs.exclude(pk=exclude_pk)
    return qs


def validate_custom(values):
    """Check ``values`` against the admin-defined attributes; returns the cleaned dict."""
    cleaned, errors = {}, {}
    for attribute in CustomAttribute.objects.all():
        raw = values.get(attribute.key)
        if raw in (None, ""):
            if attribute.required:
                errors[attribute.key] = _("This field is required.")
            continue
        if attribute.kind == CustomAttribute.Kind.NUMBER:
            try:
                raw = float(raw)
            except (TypeError, ValueError):
                errors[attribute.key] = _("Enter a number.")
                continue
        elif attribute.kind == CustomAttribute.Kind.DATE:
            raw = str(raw)[:10]
            import datetime

            try:
                datetime.date.fromisoformat(raw)
            except ValueError:
                errors[attribute.key] = _("Enter a date as YYYY-MM-DD.")
                continue
        elif attribute.kind == CustomAttribute.Kind.CHOICE and raw not in attribute.choice_list:
            errors[attribute.key] = _("Choose one of: %(choices)s") % {"choices": ", ".join(attribute.choice_list)}
            continue
        cleaned[attribute.key] = raw if attribute.kind == CustomAttribute.Kind.NUMBER else str(raw)
    if errors:
        raise ValidationError(errors)
    return cleaned


def _record_ownership(customer, *, from_owner_id, actor, reason, note=""):
    if from_owner_id != customer.owner_id:
        OwnershipChange.objects.create(
            customer=customer,
            from_owner_id=from_owner_id,
            to_owner_id=customer.owner_id,
            changed_by=actor if actor and actor.is_authenticated else None,
            reason=reason,
            note=note[:200],
        )


@transaction.atomic
def create_customer(*, actor, allow_duplicate=False, **fields):
    """Create a customer owned by ``actor`` (unless an owner is given) in the owner's department.
    Refuses a duplicate (same mobile, or same name and birthday) unless ``allow_duplicate``."""
    customer = Customer(**fields)
    if customer.owner_id is None and "owner" not in fields and actor is not None and not actor.is_service:
        customer.owner = actor
    if customer.department_id is None and customer.owner_id:
        customer.department_id = customer.owner.department_id
    if not allow_duplicate:
        duplicate = duplicates_of(mobile=customer.mobile, name=customer.name, birthday=customer.birthday).first()
        if duplicate is not None:
            raise ValidationError(
                {
                    "mobile" if duplicate.mobile == customer.mobile and customer.mobile else "name": _(
                        "Duplicate of %(name)s (#%(id)s)."
                    )
                    % {"name": duplicate.name, "id": duplicate.pk}
                }
            )
    customer.normalize_region()  # region text (an import, a lead) becomes its code before validation
    customer.full_clean()
    customer.save()
    _record_ownership(customer, from_owner_id=None, actor=actor, reason=OwnershipChange.Reason.CREATED)
    return customer


@transaction.atomic
def update_customer(*, customer, actor, **fields):
    previous_owner = customer.owner_id
    for name, value in fields.items():
        setattr(customer, name, value)
    if customer.owner_id != previous_owner and customer.owner_id and "department" not in fields:
        customer.department_id = customer.owner.department_id
    customer.normalize_region()
    customer.full_clean()
    changed = set(fields) | {"updated_at"}
    if customer.owner_id != previous_owner:
        changed |= {"owner", "department"}
    customer.save(update_fields=sorted(changed))  # never write back stale value figures
    _record_ownership(customer, from_owner_id=previous_owner, actor=actor, reason=OwnershipChange.Reason.EDITED)
    return customer


@transaction.atomic
def assign_customers(*, actor, customers, owner, reason=OwnershipChange.Reason.HANDED_OVER, note=""):
    """Hand customers over to ``owner`` (moving them to the owner's department). Each change is
    saved one by one so that the audit log and the ownership history keep who owned it before."""
    if owner.pk not in set(permissions.assignable_users(actor).values_list("pk", flat=True)):
        raise ValidationError(_("You cannot assign records to %(user)s.") % {"user": owner})
    moved = 0
    for customer in customers.select_for_update(of=("self",)):
        if customer.owner_id == owner.pk:
            continue
        previous = customer.owner_id
        customer.owner = owner
        customer.department_id = owner.department_id
        customer.save(update_fields=["owner", "department", "updated_at"])
        _record_ownership(customer, from_owner_id=previous, actor=actor, reason=reason, note=note)
        moved += 1
    return moved


@transaction.atomic
def delete_customers(*, actor, customers):
    count = 0
    for customer in customers:
        if customer.orders.exists():
            raise ValidationError(
                _("%(name)s has orders and cannot be deleted; merge it into another customer instead.")
                % {"name": customer.name}
            )
        customer.delete()
        count += 1
    return count


#: fields a merge fills on the survivor when the survivor's own value is empty
MERGE_FILL_FIELDS = (
    "mobile",
    "wechat_id",
    "email",
    "gender",
    "birthday",
    "region",
    "preferred_channel",
    "active_hours",
    "owner",
    "department",
)


@transaction.atomic
def merge_customers(*, actor, survivor, duplicate):
    """Merge ``duplicate`` into ``survivor``: every relation, tag, order, satisfaction record,
    ownership and lifecycle change — and every row of later apps that points at a customer — moves
    to the survivor; its audit history is re-pointed too; then the duplicate is deleted. Links that
    would become self-links or duplicates are dropped."""
    if survivor.pk == duplicate.pk:
        raise ValidationError(_("Choose two different customers."))
    locked = {c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[survivor.pk, duplicate.pk])}
    survivor, duplicate = locked[survivor.pk], locked[duplicate.pk]

    # relations: drop the one between the two, then move the rest unless the pair already has one
    CustomerRelation.objects.filter(
        models.Q(from_customer=duplicate, to_customer=survivor)
        | models.Q(from_customer=survivor, to_customer=duplicate)
    ).delete()
    for relation in CustomerRelation.objects.filter(
        models.Q(from_customer=duplicate) | models.Q(to_customer=duplicate)
    ):
        if relation.from_customer_id == duplicate.pk:
            relation.from_customer_id = survivor.pk
        else:
            relation.to_customer_id = survivor.pk
        try:
            with transaction.atomic():
                relation.save()
        except IntegrityError:
            relation.delete()
    # tags: keep the survivor's, add the duplicate's others

    tags_before = held_tags([survivor.pk])
    held = tags_before.get(survivor.pk, set())
    CustomerTag.objects.filter(customer=duplicate, tag_id__in=held).delete()
    CustomerTag.objects.filter(customer=duplicate).update(customer=survivor)
    # everything else that points at a customer, in this app and in later ones
    for relation in Customer._meta.related_objects:
        if relation.many_to_many or relation.related_model in (CustomerRelation, CustomerTag):
            continue
        if relation.one_to_many or relation.one_to_one:
            rows = relation.related_model._base_manager.filter(**{relation.field.name: duplicate})
            if getattr(relation.related_model, "deleted_on_customer_merge", False):
                rows.delete()  # e.g. a merge suggestion about the pair: it is one customer now
                continue
            rows.update(**{relation.field.name: survivor})
    # fill empty fields from the duplicate
    for field in MERGE_FILL_FIELDS:
        if not getattr(survivor, field) and getattr(duplicate, field):
            setattr(survivor, field, getattr(duplicate, field))
    if duplicate.notes:
        survivor.notes = (survivor.notes + "\n" if survivor.notes else "") + duplicate.notes
    survivor.custom = {**duplicate.custom, **survivor.custom}
    content_type = ContentType.objects.get_for_model(Customer)
    LogEntry.objects.filter(content_type=content_type, object_pk=str(duplicate.pk)).update(
        object_pk=str(survivor.pk), object_id=survivor.pk
    )
    duplicate_name, duplicate_id = duplicate.name, duplicate.pk
    duplicate.delete()
    survivor.save()

    survivor = order_services.refresh_value_figures(survivor.pk)
    log_tag_changes(tags_before, held_tags([survivor.pk]), actor=actor, customer_ids=[survivor.pk])
    LogEntry.objects.log_create(
        survivor,
        action=LogEntry.Action.UPDATE,
        force_log=True,
        changes={"merged": [f"{duplicate_name} (#{duplicate_id})", survivor.name]},
        actor=actor if actor and actor.is_authenticated else None,
    )
    return survivor
