from .catalogue import (
    CategoryForm,
    ImportForm,
    LaunchForm,
    ProductForm,
    SkuForm,
    WithdrawForm,
)
from .entitlements import ConsumeForm
from .policies import PolicyForm, PriceCheckForm, PricesForm

__all__ = [
    "CategoryForm",
    "ConsumeForm",
    "ImportForm",
    "LaunchForm",
    "PolicyForm",
    "PriceCheckForm",
    "PricesForm",
    "ProductForm",
    "SkuForm",
    "WithdrawForm",
]
