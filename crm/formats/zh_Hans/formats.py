"""Simplified Chinese number formats: amounts group by thousands ("¥12,800.00"), as on Chinese
invoices and bank statements (Django's own zh_Hans formats group by nothing)."""

from django.conf.locale.zh_Hans.formats import *  # noqa: F403

THOUSAND_SEPARATOR = ","
NUMBER_GROUPING = 3

# a month and day as written in Chinese ("1月4日", Django's own: "01月4日")
MONTH_DAY_FORMAT = "n月j日"
