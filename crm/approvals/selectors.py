"""Reads of the approval engine: the inbox of every kind, its count, a record's history."""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Prefetch, Q, QuerySet

from crm.models import ApprovalAssignee, ApprovalRequest, ApprovalStep, User

from . import kinds


def inbox_for(user: User) -> QuerySet:
    """待我审批: the waiting steps the user is asked to decide, oldest request first."""
    return (
        ApprovalStep.objects.filter(
            assignees__approver=user, assignees__is_open=True, status=ApprovalStep.Status.PENDING
        )
        .select_related("request", "request__requested_by", "request__department")
        .order_by("request__requested_at", "request_id")
    )


def inbox_count(user: User) -> int:
    return ApprovalAssignee.objects.filter(approver=user, is_open=True).count()


def requested_by(user: User) -> QuerySet:
    return ApprovalRequest.objects.filter(requested_by=user).select_related("requested_by")


def decided_by(user: User) -> QuerySet:
    return (
        ApprovalStep.objects.filter(decided_by=user)
        .exclude(request__requested_by=user)
        .select_related("request", "request__requested_by")
        .order_by("-decided_at", "-id")
    )


def with_steps(queryset: QuerySet) -> QuerySet:
    return queryset.prefetch_related(
        Prefetch(
            "steps",
            ApprovalStep.objects.select_related("decided_by")
            .prefetch_related(Prefetch("assignees", ApprovalAssignee.objects.select_related("approver").order_by("pk")))
            .order_by("position"),
        )
    )


def history_for(obj, kind: str | None = None) -> list[ApprovalRequest]:
    """Every request on ``obj``, newest first, with steps, approvers and decisions."""
    requests = ApprovalRequest.objects.filter(
        content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
    ).select_related("requested_by", "decided_by")
    if kind:
        requests = requests.filter(kind=kind)
    return list(with_steps(requests).order_by("-requested_at", "-id"))


def waiting_step(request: ApprovalRequest):
    """The step waiting for a decision (None once decided)."""
    if request.status != ApprovalRequest.Status.PENDING:
        return None
    return next((step for step in request.steps.all() if step.position == request.position), None)


def next_approvers(request: ApprovalRequest) -> list[User]:
    """Who decides next (the requester sees them)."""
    step = waiting_step(request)
    return [assignee.approver for assignee in step.assignees.all()] if step else []


def may_decide(user: User, request: ApprovalRequest) -> bool:
    step = waiting_step(request)
    return (
        step is not None
        and user.pk != request.requested_by_id
        and any(assignee.approver_id == user.pk for assignee in step.assignees.all())
    )


def pending_request(kind: str, obj) -> ApprovalRequest | None:
    """The request of ``kind`` waiting on ``obj`` (with its steps and approvers), or None."""
    return with_steps(
        ApprovalRequest.objects.filter(kind=kind, object_id=obj.pk, status=ApprovalRequest.Status.PENDING)
    ).first()


def may_decide_on(user: User, kind: str, obj) -> bool:
    """Whether ``user`` decides the waiting step of ``obj``'s ``kind`` request (never its requester):
    the one approver check every kind (coupon batches, campaigns, …) uses."""
    request = pending_request(kind, obj)
    return request is not None and may_decide(user, request)


def may_view(user: User, request: ApprovalRequest) -> bool:
    """The requester, anyone asked at a step, and whoever the kind lets see the record."""
    if user.pk == request.requested_by_id:
        return True
    if ApprovalAssignee.objects.filter(step__request=request, approver=user).exists():
        return True
    try:
        spec = kinds.get(request.kind)
    except KeyError:
        return False
    obj = spec.model_class._default_manager.filter(pk=request.object_id).first()
    return obj is not None and spec.may_view(user, obj)


def reviewing_q(user: User, model) -> Q:
    """Records of ``model`` the user was asked to decide on (they may open them)."""
    ids = ApprovalAssignee.objects.filter(
        approver=user, step__request__content_type=ContentType.objects.get_for_model(model)
    ).values("step__request__object_id")
    return Q(pk__in=ids)
