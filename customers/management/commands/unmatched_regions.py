from django.conf import settings
from django.core.management.base import BaseCommand
from django.utils import translation
from django.utils.translation import gettext as _

from customers.selectors import unmatched_regions


class Command(BaseCommand):
    help = "List region text that no 省/市/区 code was found for (customers, leads, assignment rules)."

    def handle(self, *args, **options):
        with translation.override(settings.LANGUAGE_CODE):
            rows = unmatched_regions(None)
            for row in rows:
                self.stdout.write(f"{row['kind']}\t{row['count']}\t{row['text']}")
            self.stdout.write(_("%(n)s unmatched values.") % {"n": len(rows)})
