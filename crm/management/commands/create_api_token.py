from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from crm import services
from crm.models import ApiClient, ApiScope


class Command(BaseCommand):
    help = "Create an API token for an integration client (created if new); prints the token last."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Client name, e.g. mini-program")
        parser.add_argument(
            "--scopes",
            default="leads,orders,coupons,customers:read",
            help=f"Comma-separated scopes: {', '.join(ApiScope.values)}",
        )
        parser.add_argument("--see-mobile", action="store_true", help="Let the client see full mobile numbers.")

    def handle(self, *args, name, scopes, see_mobile, **options):
        client = ApiClient.objects.filter(name=name).first()
        if client is None:
            client = services.create_api_client(name=name, can_see_mobile=see_mobile)
            self.stdout.write(f"Created client {name}")
        try:
            token, raw = services.issue_token(client=client, scopes=[s.strip() for s in scopes.split(",") if s.strip()])
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        self.stdout.write(f"Scopes: {', '.join(token.scopes)}")
        self.stdout.write(raw)
