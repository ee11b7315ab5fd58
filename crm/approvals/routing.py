"""Who decides a step: the next person up the department tree, never the requester."""

from django.db.models import Q

from crm.models import ApprovalRelation, Department, Role, User


def _people():
    return User.objects.filter(is_active=True, is_service=False)


def upward(department):
    """The department and the ones above it, nearest first."""
    if department is None:
        return []
    ids = [int(part) for part in department.path.strip("/").split("/") if part] or [department.pk]
    found = Department.objects.select_related("manager").in_bulk(ids)
    return [found[pk] for pk in reversed(ids) if pk in found]


def heads(department, *, exclude):
    """A department's head: its manager, or (none set) the managers and directors placed in it."""
    manager = department.manager
    if manager is not None and manager.is_active and manager.pk != exclude.pk:
        return [manager]
    return list(
        _people()
        .filter(department=department, role__in=[Role.MANAGER, Role.DIRECTOR])
        .exclude(pk=exclude.pk)
        .order_by("pk")
    )


def role_holders(department, role, *, exclude):
    """The nearest holders of ``role`` from ``department`` up; none on the way: every holder in the
    company (any of them may decide)."""
    for place in upward(department):
        found = list(_people().filter(department=place, role=role).exclude(pk=exclude.pk).order_by("pk"))
        if found:
            return found
    return list(_people().filter(role=role).exclude(pk=exclude.pk).order_by("pk"))


def admins(*, exclude):
    return list(_people().filter(Q(role=Role.ADMIN) | Q(is_superuser=True)).exclude(pk=exclude.pk).order_by("pk"))


def resolve(relation, role, *, requester, department, record_role=""):
    """The people asked at a step, or ``None`` when the step is not needed (the record names no
    role for a ``record_role`` step). Nobody found: the step's role, then the system admins."""
    start = department or requester.department
    found = []
    if relation == ApprovalRelation.RECORD_ROLE:
        if not record_role:
            return None
        found = role_holders(start, record_role, exclude=requester)
    elif relation == ApprovalRelation.ROLE:
        if role:
            found = role_holders(start, role, exclude=requester)
    else:
        origin = requester.department if relation == ApprovalRelation.REQUESTER_MANAGER else start
        for place in upward(origin):
            found = heads(place, exclude=requester)
            if found:
                break
        if not found and role:
            found = role_holders(start, role, exclude=requester)
    return found or admins(exclude=requester)
