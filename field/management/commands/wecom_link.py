"""Link a user to the WeCom member they sign in as: ``manage.py wecom_link <username> <wecom userid>``
(``--unlink`` removes the link)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from field import wecom
from field.models import WeComAccount
from field.services.wecom import link_account


class Command(BaseCommand):
    help = "Link a user to a WeCom member (userid) for sign-in inside WeCom."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("userid", nargs="?", default="")
        parser.add_argument("--unlink", action="store_true")

    def handle(self, username, userid, unlink, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"username: no user {username!r}")
        corp = wecom.setting("WECOM_CORP_ID")
        if unlink:
            deleted, _ = WeComAccount.objects.filter(user=user).delete()
            self.stdout.write(f"{username}: {'unlinked' if deleted else 'was not linked'}")
            return
        if not (corp and userid):
            raise CommandError("userid: give the WeCom userid (and set WECOM_CORP_ID)")
        try:
            link_account(user=user, userid=userid)
        except ValidationError as exc:
            raise CommandError(f"userid: {userid!r} is linked to another user already ({exc.messages[0]})") from exc
        self.stdout.write(f"{username} signs in from WeCom as {userid}")
