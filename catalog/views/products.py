"""Catalogue pages: products and their SKUs, categories, launch and withdrawal, export."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm import permissions
from crm.errors import DomainError
from crm.models import ApprovalRequest
from crm.ui import ScopedListView, export_rows, history_for

from .. import selectors
from ..filters import ProductFilter
from ..forms import CategoryForm, LaunchForm, ProductForm, SkuForm, WithdrawForm
from ..models import Category, Product, Sku
from ..services import catalogue, imports
from ..tables import ProductTable


def add_errors(form, exc):
    """A service's ``ValidationError`` beside its field (or above the form)."""
    errors = exc.message_dict if hasattr(exc, "error_dict") else {None: exc.messages}
    for field, messages_ in errors.items():
        form.add_error(field if field in form.fields else None, messages_)


class ProductListView(ScopedListView):
    model = Product
    table_class = ProductTable
    filterset_class = ProductFilter
    template_name = "catalog/product_list.html"
    view_action = "catalog.view"
    create_url = reverse_lazy("catalog:product_create")
    create_action = "catalog.manage"
    title = gettext_lazy("Products")
    empty_text = gettext_lazy("No products yet. Add one, or import a catalogue file.")

    def get_queryset(self):
        return selectors.products_for(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context.update(
            can_manage=permissions.can(user, "catalog.manage"),
            can_export_catalogue=permissions.can(user, "catalog.export"),
        )
        return context


@login_required
def product_export(request: HttpRequest) -> HttpResponse:
    """Every SKU in the import's columns (so the file imports back unchanged)."""
    permissions.require(request.user, "catalog.export")
    fmt = "xlsx" if request.GET.get("format") == "xlsx" else "csv"
    skus = selectors.skus_for(request.user).order_by("product__code", "code")
    return export_rows(
        imports.export_rows(skus.iterator(chunk_size=2000)),
        fmt=fmt,
        filename="catalogue",
        sheet=_("Products"),
    )


@login_required
def product_form(request: HttpRequest, pk=None) -> HttpResponse:
    permissions.require(request.user, "catalog.manage")
    product = get_object_or_404(Product, pk=pk) if pk else Product()
    form = ProductForm(request.POST or None, instance=product)
    if request.method == "POST" and form.is_valid():
        try:
            product = catalogue.save_product(product=form.instance, actor=request.user)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Product saved."))
            return redirect(product)
    return render(
        request,
        "crm/admin/form.html",
        {
            "form": form,
            "title": str(product) if pk else _("New product"),
            "cancel_url": product.get_absolute_url() if pk else reverse("catalog:products"),
        },
    )


@login_required
def product_detail(request: HttpRequest, pk) -> HttpResponse:
    permissions.require(request.user, "catalog.view")
    product = get_object_or_404(Product.objects.select_related("category", "created_by"), pk=pk)
    return _render_detail(request, product)


def _render_detail(request, product, *, launch_form=None, withdraw_form=None, status=200):
    from django.contrib.contenttypes.models import ContentType

    approval = (
        ApprovalRequest.objects.filter(
            content_type=ContentType.objects.get_for_model(Product),
            object_id=product.pk,
        )
        .order_by("-pk")
        .first()
    )
    return render(
        request,
        "catalog/product_detail.html",
        {
            "product": product,
            "skus": list(product.skus.all()),
            "approval": approval,
            "category_path": imports.category_path(product.category),
            "on_sale": product.on_sale(),
            "can_manage": permissions.can(request.user, "catalog.manage"),
            "launch_form": launch_form or LaunchForm(),
            "withdraw_form": withdraw_form or WithdrawForm(),
            "history": history_for(product, limit=20),
        },
        status=status,
    )


@login_required
@require_POST
def product_launch(request: HttpRequest, pk) -> HttpResponse:
    permissions.require(request.user, "catalog.manage")
    product = get_object_or_404(Product, pk=pk)
    form = LaunchForm(request.POST)
    if form.is_valid():
        try:
            catalogue.request_launch(product=product, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("Launch requested; the approver has been notified."))
            return redirect(product)
    product.refresh_from_db()
    return _render_detail(request, product, launch_form=form, status=422)


@login_required
@require_POST
def product_withdraw(request: HttpRequest, pk) -> HttpResponse:
    permissions.require(request.user, "catalog.manage")
    product = get_object_or_404(Product, pk=pk)
    form = WithdrawForm(request.POST)
    if form.is_valid():
        try:
            catalogue.withdraw_product(product=product, on=form.cleaned_data["sale_until"], actor=request.user)
        except ValidationError as exc:
            add_errors(form, exc)
        except DomainError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, _("The product is withdrawn from sale."))
            return redirect(product)
    return _render_detail(request, product, withdraw_form=form, status=422)


@login_required
def sku_form(request: HttpRequest, product_pk=None, pk=None) -> HttpResponse:
    permissions.require(request.user, "catalog.manage")
    if pk:
        sku = get_object_or_404(Sku.objects.select_related("product"), pk=pk)
        product = sku.product
    else:
        product = get_object_or_404(Product, pk=product_pk)
        sku = Sku(product=product)
    form = SkuForm(request.POST or None, instance=sku)
    if request.method == "POST" and form.is_valid():
        try:
            catalogue.save_sku(sku=form.instance, actor=request.user)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("SKU saved."))
            return redirect(product)
    return render(
        request,
        "crm/admin/form.html",
        {
            "form": form,
            "title": str(sku) if pk else _("New SKU of %(product)s") % {"product": product.name},
            "cancel_url": product.get_absolute_url(),
        },
    )


@login_required
def category_list(request: HttpRequest) -> HttpResponse:
    permissions.require(request.user, "catalog.view")
    return render(
        request,
        "catalog/category_list.html",
        {
            "categories": list(selectors.categories()),
            "can_manage": permissions.can(request.user, "catalog.manage"),
        },
    )


@login_required
def category_form(request: HttpRequest, pk=None) -> HttpResponse:
    permissions.require(request.user, "catalog.manage")
    category = get_object_or_404(Category, pk=pk) if pk else Category()
    form = CategoryForm(request.POST or None, instance=category)
    if request.method == "POST" and form.is_valid():
        try:
            catalogue.save_category(category=form.instance, actor=request.user)
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            messages.success(request, _("Category saved."))
            return redirect("catalog:categories")
    return render(
        request,
        "crm/admin/form.html",
        {
            "form": form,
            "title": category.name if pk else _("New category"),
            "cancel_url": reverse("catalog:categories"),
        },
    )


urlpatterns = [
    path("products/", ProductListView.as_view(), name="products"),
    path("products/export/", product_export, name="product_export"),
    path("products/new/", product_form, name="product_create"),
    path("products/<int:pk>/", product_detail, name="product"),
    path("products/<int:pk>/edit/", product_form, name="product_edit"),
    path("products/<int:pk>/launch/", product_launch, name="product_launch"),
    path("products/<int:pk>/withdraw/", product_withdraw, name="product_withdraw"),
    path("products/<int:product_pk>/skus/new/", sku_form, name="sku_create"),
    path("skus/<int:pk>/edit/", sku_form, name="sku_edit"),
    path("categories/", category_list, name="categories"),
    path("categories/new/", category_form, name="category_create"),
    path("categories/<int:pk>/edit/", category_form, name="category_edit"),
]
