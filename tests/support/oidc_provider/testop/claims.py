"""The `groups` claim, and the provider's test-only fakes (named so).

Users whose name starts with a fake prefix get a token spoiled in one way, signed as usual
(except the flipped byte): what a real provider, misconfigured or impersonated, could send.
"""

from typing import Any

from oidc_provider.lib.claims import ScopeClaims

SECOND_CLIENT_ID = "other-app"
FAKE_WRONG_AUDIENCE = "fake-aud-"  # ID token issued to the second client
FAKE_GROUPS_AS_STRING = "fake-strgroups-"  # `groups` is a string, not a list
FAKE_FLIPPED_SIGNATURE = "fake-flip-"  # one byte of the ID token's signature flipped


class GroupsClaims(ScopeClaims):
    info_groups = ("Groups", "The groups you are in.")

    def scope_groups(self) -> dict[str, Any]:
        names = sorted(self.user.groups.values_list("name", flat=True))
        if self.user.username.startswith(FAKE_GROUPS_AS_STRING):
            return {"groups": ",".join(names)}
        return {"groups": names}

    def scope_profile(self) -> dict[str, Any]:
        return {"preferred_username": self.user.username, "name": self.user.get_full_name()}


def fake_wrong_audience(id_token: dict[str, Any], user: Any, **kwargs: Any) -> dict[str, Any]:
    if user.username.startswith(FAKE_WRONG_AUDIENCE):
        id_token["aud"] = SECOND_CLIENT_ID
    return id_token
