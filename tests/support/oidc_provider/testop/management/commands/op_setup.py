from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand
from oidc_provider.models import Client, ResponseType, RSAKey

from ...claims import SECOND_CLIENT_ID


class Command(BaseCommand):
    help = "The provider's signing key, its two clients, and users with their groups."

    def add_arguments(self, parser):
        parser.add_argument("--key-pem", required=True)
        parser.add_argument("--client-id", required=True)
        parser.add_argument("--client-secret", required=True)
        parser.add_argument("--redirect-uri", action="append", default=[])
        parser.add_argument("--user", action="append", default=[], help="name:password:g1,g2")

    def handle(self, *args, **opts):
        # In the same process: one Django start-up less for every provider a test starts.
        call_command("migrate", verbosity=0, interactive=False, run_syncdb=True)
        if not RSAKey.objects.exists():
            with open(opts["key_pem"]) as f:
                RSAKey.objects.create(key=f.read())
        # Made by a data migration when migrations run; here the tables come from the models.
        code, _ = ResponseType.objects.get_or_create(
            value="code", defaults={"description": "code (Authorization Code Flow)"}
        )
        for client_id, secret in (
            (opts["client_id"], opts["client_secret"]),
            (SECOND_CLIENT_ID, "other-secret"),
        ):
            client, _ = Client.objects.update_or_create(
                client_id=client_id,
                defaults={
                    "name": client_id,
                    "client_type": "confidential",
                    "client_secret": secret,
                    "jwt_alg": "RS256",
                    "require_consent": False,
                },
            )
            client.redirect_uris = opts["redirect_uri"]
            client.scope = ["openid", "profile", "email", "groups"]
            client.save()
            client.response_types.set([code])
        for spec in opts["user"]:
            set_user(spec)


def set_user(spec: str) -> None:
    name, password, groups = spec.split(":", 2)
    user, _ = User.objects.get_or_create(username=name)
    user.set_password(password)
    user.save()
    user.groups.set([Group.objects.get_or_create(name=g)[0] for g in groups.split(",") if g])
