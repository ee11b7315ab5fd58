from django.core.management.base import BaseCommand, CommandError

from partners.models import Partner
from partners.services.portal import issue_partner_token


class Command(BaseCommand):
    help = "Issue a partner's API token (scope partner, acting for that partner only); prints the token last."

    def add_arguments(self, parser):
        parser.add_argument("code", help="The partner's referral code")

    def handle(self, *args, code, **options):
        partner = Partner.objects.filter(code__iexact=code).first()
        if partner is None:
            raise CommandError(f"No partner with the code {code}")
        _token, raw = issue_partner_token(partner=partner)
        self.stdout.write(f"Token for {partner.name} (scope partner):")
        self.stdout.write(raw)
