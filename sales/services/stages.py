"""商机阶段的顺序: opportunity stages are ordered by the admin (dragging on the stages page, or the
up/down buttons), and the closed stages — won, then lost — always come after every open one.

Positions are kept as 0, 1, 2… in that order. ``save_stage`` places a new open stage after the last
open one (before 赢单/输单) and a new closed stage at the end; ``reorder_stages`` takes the ids in the
order wanted and refuses an order that puts a closed stage before an open one (code
``closed_not_last``) or that does not name every stage once (code ``stale_order``). The stage rows
are locked while positions are written, so two admins reordering at once serialize.
"""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from ..models import OpportunityStage


def _closed_rank(stage):
    return 2 if stage.is_lost else 1 if stage.is_won else 0


def _write(ordered):
    for position, stage in enumerate(ordered):
        if stage.position != position:
            OpportunityStage.objects.filter(pk=stage.pk).update(position=position)
            stage.position = position


@transaction.atomic
def reorder_stages(*, ids):
    """Put the stages in the order of ``ids`` (every stage's id once)."""
    stages = {stage.pk: stage for stage in OpportunityStage.objects.select_for_update().order_by("position", "id")}
    try:
        wanted = [int(pk) for pk in ids]
    except (TypeError, ValueError) as exc:
        raise ValidationError(_("The page was out of date; reload it and try again."), code="stale_order") from exc
    if sorted(wanted) != sorted(stages) or len(set(wanted)) != len(wanted):
        raise ValidationError(_("The page was out of date; reload it and try again."), code="stale_order")
    ordered = [stages[pk] for pk in wanted]
    ranks = [_closed_rank(stage) for stage in ordered]
    if ranks != sorted(ranks):
        raise ValidationError(_("Won and lost stay last: put every open stage before them."), code="closed_not_last")
    _write(ordered)
    return ordered


@transaction.atomic
def move_stage_position(*, stage, step):
    """Move one open stage up (``step`` = -1) or down (+1) among the open stages."""
    ordered = list(OpportunityStage.objects.select_for_update().order_by("position", "id"))
    index = next(i for i, s in enumerate(ordered) if s.pk == stage.pk)
    target = index + step
    if not 0 <= target < len(ordered) or _closed_rank(ordered[target]) != _closed_rank(ordered[index]):
        raise ValidationError(_("Won and lost stay last: put every open stage before them."), code="closed_not_last")
    ordered[index], ordered[target] = ordered[target], ordered[index]
    _write(ordered)
    return ordered


@transaction.atomic
def save_stage(*, stage):
    """Save a new or edited stage and keep the order: a new open stage goes after the last open
    one, a new closed stage to the end; a stage that becomes won or lost moves behind the open ones."""
    ordered = [s for s in OpportunityStage.objects.select_for_update().order_by("position", "id") if s.pk != stage.pk]
    if stage.pk is None:
        stage.position = len(ordered)
        stage.save()
    else:
        stage.save()
    opened = [s for s in ordered if _closed_rank(s) == 0]
    closed = sorted([s for s in ordered if _closed_rank(s) > 0], key=_closed_rank)
    if _closed_rank(stage) == 0:
        keep = stage.position if stage.position is not None else len(opened)
        opened.insert(min(keep, len(opened)), stage)
    else:
        closed.append(stage)
        closed.sort(key=_closed_rank)
    _write(opened + closed)
    return stage
