"""The timetable's pages: the overview, a class with its roster, a session with its attendance."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm import permissions
from crm.errors import DomainError
from crm.privacy import search_name_or_mobile
from crm.ui import search_text
from customers.selectors import customers_for

from .. import selectors
from ..forms import AttendanceForm, EnrolForm
from ..models import Attendance, Enrolment, SchoolClass, Session
from ..services import attendance as attendance_services
from ..services import enrolments as enrolment_services
from ..services import schedule


@login_required
def overview(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "resources.view")
    start = selectors.week_start(timezone.localdate())
    return render(
        request,
        "resources/overview.html",
        {
            "classes": selectors.fill_rates(),
            "courses": list(selectors.courses()[: selectors.MAX_ROWS]),
            "load": selectors.teacher_load(start),
            "rooms": list(selectors.rooms()[: selectors.MAX_ROWS]),
            "can_manage": permissions.can(request.user, "resources.manage"),
        },
    )


@login_required
def class_detail(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "resources.view")
    school_class = get_object_or_404(selectors.classes_for(request.user), pk=pk)
    can_enrol = permissions.can(request.user, "resources.enrol")
    query = search_text(request, limit=50)
    candidates = []
    if can_enrol and query:
        candidates = list(
            search_name_or_mobile(customers_for(request.user), request.user, query).order_by("name", "id")[:20]
        )
        # a student already in the class (or on its waiting list) is shown as such, not offered again
        joined = dict(
            school_class.enrolments.filter(
                customer__in=[c.pk for c in candidates],
                status__in=[Enrolment.Status.ENROLLED, Enrolment.Status.WAITING],
            ).values_list("customer_id", "status")
        )
        for candidate in candidates:
            candidate.in_class = joined.get(candidate.pk)
    return render(
        request,
        "resources/class_detail.html",
        {
            "school_class": school_class,
            "roster": selectors.roster(request.user, school_class),
            "sessions": list(school_class.sessions.select_related("teacher", "room").order_by("starts_at", "id")[:400]),
            "can_enrol": can_enrol,
            "can_manage": permissions.can(request.user, "resources.manage"),
            "query": query,
            "candidates": candidates,
        },
    )


@login_required
@require_POST
def enrol(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "resources.enrol")
    school_class = get_object_or_404(selectors.classes_for(request.user), pk=pk)
    form = EnrolForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a student."))
        return redirect(school_class)
    customer = get_object_or_404(customers_for(request.user), pk=form.cleaned_data["customer"])
    try:
        enrolment = enrolment_services.enrol(school_class=school_class, customer=customer, actor=request.user)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        if enrolment.status == Enrolment.Status.ENROLLED:
            messages.success(request, _("%(student)s is enrolled.") % {"student": customer.name})
        else:
            messages.warning(
                request, _("The class is full: %(student)s is on the waiting list.") % {"student": customer.name}
            )
    return redirect(school_class)


@login_required
@require_POST
def withdraw(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "resources.enrol")
    enrolment = get_object_or_404(
        selectors.enrolments_for(request.user).select_related("school_class", "customer"), pk=pk
    )
    moved = enrolment_services.withdraw(enrolment=enrolment, actor=request.user)
    messages.success(request, _("%(student)s left the class.") % {"student": enrolment.customer.name})
    if moved is not None:
        messages.info(request, _("The next student on the waiting list took the seat."))
    return redirect(enrolment.school_class)


@login_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "resources.view")
    session = get_object_or_404(Session.objects.select_related("school_class__course", "teacher", "room"), pk=pk)
    roster = selectors.roster(request.user, session.school_class)
    recorded = {a.enrolment_id: a for a in Attendance.objects.filter(session=session, enrolment__in=roster["enrolled"])}
    trials = list(
        selectors.trials_for(request.user)
        .filter(session=session)
        .select_related("opportunity__customer", "opportunity__owner")
    )
    return render(
        request,
        "resources/session_detail.html",
        {
            "session": session,
            "rows": [(e, recorded.get(e.pk)) for e in roster["enrolled"]],
            "trials": trials,
            "statuses": Attendance.Status.choices,
            "can_enrol": permissions.can(request.user, "resources.enrol"),
            "can_manage": permissions.can(request.user, "resources.manage"),
        },
    )


@login_required
@require_POST
def record_attendance(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "resources.enrol")
    session = get_object_or_404(Session.objects.select_related("school_class"), pk=pk)
    form = AttendanceForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose present, absent or leave."))
        return redirect(session)
    enrolment = get_object_or_404(selectors.enrolments_for(request.user), pk=form.cleaned_data["enrolment"])
    try:
        attendance_services.record(
            session=session,
            enrolment=enrolment,
            status=form.cleaned_data["status"],
            is_makeup=form.cleaned_data["makeup"],
            actor=request.user,
        )
    except (DomainError, ValidationError) as exc:
        messages.error(request, getattr(exc, "message", None) or "; ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, _("Attendance recorded."))
    return redirect(session)


@login_required
@require_POST
def cancel_session(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "resources.manage")
    session = get_object_or_404(Session, pk=pk)
    schedule.cancel_session(session=session)
    messages.success(request, _("The session is cancelled."))
    return redirect(session)


@login_required
@require_POST
def generate(request: HttpRequest, pk: int) -> HttpResponse:
    permissions.require(request.user, "resources.manage")
    school_class = get_object_or_404(SchoolClass, pk=pk)
    try:
        created = schedule.generate_sessions(school_class=school_class)
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("%(n)s sessions scheduled.") % {"n": f"{len(created):,}"})
    return redirect(school_class)
