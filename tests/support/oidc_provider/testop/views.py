import json
import secrets

import jwt
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from oidc_provider.views import TokenView

from .claims import FAKE_FLIPPED_SIGNATURE


class FakeFlippingTokenView(TokenView):
    """The provider's token endpoint; for a "fake-flip-" user, one byte of the ID token's
    signature is flipped after signing (the only fake: no real provider sends one)."""

    def post(self, request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        response = super().post(request, *args, **kwargs)
        if response.status_code != 200:
            return response
        body = json.loads(response.content)
        token = body.get("id_token", "")
        claims = jwt.decode(token, options={"verify_signature": False}) if token else {}
        if str(claims.get("preferred_username", "")).startswith(FAKE_FLIPPED_SIGNATURE):
            head, payload, sig = token.split(".")
            middle = len(sig) // 2
            flipped = "A" if sig[middle] != "A" else "B"
            body["id_token"] = f"{head}.{payload}.{sig[:middle]}{flipped}{sig[middle + 1 :]}"
            response.content = json.dumps(body).encode()
        return response


@csrf_exempt
def test_admin_user(request: HttpRequest) -> HttpResponse:
    """Test-only: make or change a user and their groups (`name:password:g1,g2`), so a test
    changes groups without starting a management command. Needs the token the test set."""
    from .management.commands.op_setup import set_user

    if request.method != "POST" or not secrets.compare_digest(
        request.headers.get("X-Test-Admin", ""), settings.TEST_ADMIN_TOKEN
    ):
        return HttpResponse(status=403)
    set_user(request.body.decode())
    return HttpResponse(status=204)
