"""Demo contracts (合同) signed from won opportunities, with payment plans a few of which are
overdue, payments received, an invoice, a signed scan, and competitors on opportunities."""

import datetime
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Q

from catalog.models import Sku
from sales.models import Opportunity

from .models import Contract, DunningLevel
from .services import competitors, contracts, dunning, payments

COMPETITORS = [
    ("学而思", "https://www.xueersi.com", "线上线下一体，价格偏高"),
    ("新东方", "https://www.xdf.cn", "品牌强，校区多"),
    ("好未来家政", "", "家政服务，主打低价"),
]
#: a one-page PDF, enough for a viewer to open
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
    b"endobj 3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)


def seed(ctx):
    today = ctx.anchor.date()
    won = list(
        Opportunity.objects.filter(stage__is_won=True, amount__gt=0)
        .filter(Q(owner__username__in=["rep1", "rep2", "rep3", "rep4"]))
        .select_related("owner")
        .order_by("id")[: 40 if ctx.size == "large" else 8]
    )
    skus = list(Sku.objects.order_by("code")[:10])
    made = 0
    for index, opportunity in enumerate(won):
        amount = Decimal(opportunity.amount).quantize(Decimal("0.01"))
        if amount < Decimal("300") or amount > contracts.approval_threshold():
            continue
        third = (amount / 3).quantize(Decimal("0.01"))
        parts = [third, third, amount - 2 * third]
        # the first two contracts started long ago: their first instalments are overdue
        start = today - datetime.timedelta(days=(95 if index == 0 else 40 if index == 1 else 10 * index % 30))
        plan = [(start + datetime.timedelta(days=30 * i), part) for i, part in enumerate(parts)]
        lines = [(skus[index % len(skus)], 1, amount)] if skus else []
        contract = contracts.create_contract(
            opportunity=opportunity,
            number=f"HT{start:%Y%m}-{opportunity.pk:04d}",
            title=opportunity.name,
            amount=amount,
            signed_on=start,
            starts_on=start,
            ends_on=start + datetime.timedelta(days=365),
            lines=lines,
            instalments=plan,
            actor=opportunity.owner,
        )
        made += 1
        if index >= 2:  # the later ones paid their first instalment
            payments.record_payment(
                contract=contract,
                amount=parts[0],
                received_on=min(today, plan[0][0]),
                reference=f"银行转账 {index:03d}",
                actor=opportunity.owner,
            )
            contracts.add_invoice(
                contract=contract,
                number=f"FP{start:%Y%m%d}{opportunity.pk:04d}",
                amount=parts[0],
                issued_on=min(today, plan[0][0]),
                actor=opportunity.owner,
            )
        elif index == 1:  # part of the first instalment came in
            payments.record_payment(
                contract=contract,
                amount=(parts[0] / 2).quantize(Decimal("0.01")),
                received_on=today - datetime.timedelta(days=5),
                reference="银行转账 部分",
                actor=opportunity.owner,
            )
        if index == 0:
            contracts.add_attachment(
                contract=contract,
                upload=SimpleUploadedFile("合同扫描件.pdf", PDF, content_type="application/pdf"),
                actor=opportunity.owner,
            )
    rivals = [competitors.add_competitor(name=n, website=w, notes=t) for n, w, t in COMPETITORS]
    quoted = list(
        Opportunity.objects.filter(owner__username__in=["rep1", "rep2", "rep3"])
        .select_related("stage")
        .order_by("id")[:24]
    )
    for index, opportunity in enumerate(quoted):
        rival = rivals[index % len(rivals)]
        price = (Decimal(opportunity.amount) * Decimal(ctx.rng.choice(["0.85", "0.9", "0.95", "1.05"]))).quantize(
            Decimal("1")
        )
        competitors.quote(opportunity=opportunity, competitor=rival, price=price)
        if opportunity.stage.is_lost and index % 2 == 0:
            competitors.mark_lost_to(opportunity=opportunity, competitor=rival)
    _chain_examples(ctx, today)
    dunning.dispatch_overdue(today=today)
    ctx.log(
        f"  contracts: {made} contracts, {Contract.objects.filter(instalments__settled_at__isnull=True, instalments__due_on__lt=today).distinct().count()} with overdue instalments, {len(rivals)} competitors"
    )


def _chain_examples(ctx, today):
    """One contract whose next instalment has its own dunning levels (3 days before due in the CRM,
    on the due date by each person's channels, a week late to the owner's manager too), and one
    with a prepayment kept as credit, waiting to be offset."""
    contracts_with_plan = list(
        Contract.objects.filter(status=Contract.Status.ACTIVE, instalments__settled_at__isnull=True)
        .distinct()
        .order_by("id")[:4]
    )
    if len(contracts_with_plan) < 4:
        return
    levelled = contracts_with_plan[2]
    instalment = levelled.instalments.filter(settled_at__isnull=True).order_by("due_on").first()
    dunning.set_levels(
        instalment=instalment,
        levels=[
            dunning.Level(-3, channel=DunningLevel.Channel.IN_APP),
            dunning.Level(0),
            dunning.Level(7, responsible=DunningLevel.Responsible.MANAGER),
        ],
        actor=levelled.owner,
    )
    prepaid = contracts_with_plan[3]
    if prepaid.outstanding >= Decimal("500"):
        payments.record_payment(
            contract=prepaid,
            amount=Decimal("500"),
            received_on=today,
            reference="预收款 定金",
            prepayment=True,
            actor=prepaid.owner,
        )
