"""Tags: by hand, in bulk, by import and by rules (标签、画像)."""
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _

from ..models import Customer, CustomerTag, Tag, TagRule


def _drop_siblings_in_single_groups(customer_ids, tags):
    """A single-choice group holds one tag per customer: adding one removes the others."""
    for tag in tags:
        if not tag.group.multiple:
            CustomerTag.objects.filter(customer_id__in=customer_ids, tag__group=tag.group).exclude(tag=tag).delete()


@transaction.atomic
def add_tags(*, customer_ids, tags, source=CustomerTag.Source.MANUAL, rule=None):
    """Give every customer in ``customer_ids`` every tag in ``tags``; returns the links created."""
    customer_ids = list(customer_ids)
    tags = list(tags)
    single = [t for t in tags if not t.group.multiple]
    if len({t.group_id for t in single}) < len(single):
        raise ValidationError({"tags": _("Choose at most one tag from a single-choice group.")})
    _drop_siblings_in_single_groups(customer_ids, tags)
    links = [CustomerTag(customer_id=cid, tag=tag, source=source, rule=rule) for cid in customer_ids for tag in tags]
    before = CustomerTag.objects.filter(customer_id__in=customer_ids, tag__in=tags).count()
    CustomerTag.objects.bulk_create(links, ignore_conflicts=True, batch_size=2000)
    return CustomerTag.objects.filter(customer_id__in=customer_ids, tag__in=tags).count() - before


@transaction.atomic
def remove_tags(*, customer_ids, tags):
    return CustomerTag.objects.filter(customer_id__in=list(customer_ids), tag__in=list(tags)).delete()[0]


@transaction.atomic
def set_customer_tags(*, customer, tags, source=CustomerTag.Source.MANUAL):
    """Replace a customer's tags with ``tags`` (the tag editor on the 360 view)."""
    tags = list(tags)
    CustomerTag.objects.filter(customer=customer).exclude(tag__in=tags).delete()
    add_tags(customer_ids=[customer.pk], tags=tags, source=source)


def rule_queryset(rule):
    from ..filters import CustomerFilter

    filterset = CustomerFilter(QueryDict(rule.query), queryset=Customer.objects.all())
    if not filterset.is_valid():
        raise ValidationError({"query": _("The filter is not valid: %(errors)s") % {"errors": filterset.errors}})
    return filterset.qs


@transaction.atomic
def apply_rule(rule, *, now=None):
    """Tag every customer the rule's filter matches; take the tag back from those it tagged
    before that no longer match (tags set by hand are left alone)."""
    matching = rule_queryset(rule).values("pk")
    added = add_tags(customer_ids=list(matching.values_list("pk", flat=True)), tags=[rule.tag],
                     source=CustomerTag.Source.RULE, rule=rule)
    removed = CustomerTag.objects.filter(rule=rule).exclude(customer_id__in=matching).delete()[0]
    rule.last_run_at = now or timezone.now()
    rule.last_count = CustomerTag.objects.filter(tag=rule.tag, customer_id__in=matching).count()
    rule.save(update_fields=["last_run_at", "last_count"])
    return {"added": added, "removed": removed, "matching": rule.last_count}


def apply_all_rules():
    return {rule.pk: apply_rule(rule) for rule in TagRule.objects.filter(is_active=True).select_related("tag")}


def tags_by_name(names, *, create=False):
    """Resolve "group:tag" (or a bare tag name, unique across groups) to tags."""
    from ..models import TagGroup

    tags = []
    for name in names:
        name = str(name).strip()
        if not name:
            continue
        if ":" in name:
            group_name, tag_name = (part.strip() for part in name.split(":", 1))
            tag = Tag.objects.filter(group__name=group_name, name=tag_name).select_related("group").first()
            if tag is None and create:
                group, _created = TagGroup.objects.get_or_create(name=group_name)
                tag, _created = Tag.objects.get_or_create(group=group, name=tag_name)
        else:
            matches = list(Tag.objects.filter(name=name).select_related("group")[:2])
            if len(matches) > 1:
                raise ValidationError(_("Tag %(name)s exists in several groups; write group:tag.") % {"name": name})
            tag = matches[0] if matches else None
            if tag is None and create:
                group, _created = TagGroup.objects.get_or_create(name="其他")
                tag, _created = Tag.objects.get_or_create(group=group, name=name)
        if tag is None:
            raise ValidationError(_("Unknown tag %(name)s.") % {"name": name})
        tags.append(tag)
    return tags
