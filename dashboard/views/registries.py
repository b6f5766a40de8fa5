"""Registry logins for pulls and pushes: saved encrypted, never shown again; admins only."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from engine_client import EngineError, EngineUnreachable, InvalidArgument
from engine_client.validators import normalize_registry

from .. import credentials
from ..access import ADMIN, require_role
from ..audit import audited
from ..models import RegistryCredential
from ..web import host_client


class RegistryForm(forms.Form):
    registry = forms.CharField(
        max_length=255, strip=True, help_text="host[:port] as in image names, or docker.io"
    )
    username = forms.CharField(max_length=255, strip=True)
    password = forms.CharField(
        max_length=4096, strip=False, widget=forms.PasswordInput(render_value=False)
    )
    check = forms.BooleanField(
        required=False, initial=True, label="Check the login with the engine before saving"
    )

    def clean_registry(self) -> str:
        try:
            return normalize_registry(self.cleaned_data["registry"])
        except InvalidArgument as exc:
            raise forms.ValidationError(str(exc)) from None


class RemoveForm(forms.Form):
    id = forms.IntegerField(min_value=1)


def _page(request: HttpRequest, h, form: RegistryForm, status: int = 200) -> HttpResponse:
    logins = RegistryCredential.objects.filter(host=h.name)
    return render(
        request, "registries/list.html", {"host": h, "form": form, "logins": logins}, status=status
    )


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def registry_list(request: HttpRequest, host: str) -> HttpResponse:
    """The saved logins (registry and user, never the password) and a form to add one."""
    h, client = host_client(request, host)
    if request.method == "GET":
        return _page(request, h, RegistryForm())
    form = RegistryForm(request.POST)
    if not form.is_valid():
        return _page(request, h, form, status=400)
    d = form.cleaned_data
    params = {"registry": d["registry"], "username": d["username"], "checked": d["check"]}
    try:
        with audited(request, h.name, "registry.save", d["registry"], d["registry"], params):
            if d["check"]:
                client.system.auth(d["username"], d["password"], d["registry"])
            credentials.save(
                h.name, d["registry"], d["username"], d["password"], request.user.get_username()
            )
    except EngineUnreachable:
        raise
    except EngineError as exc:
        # The engine's verdict on the login goes beside the form; nothing was saved.
        form.add_error(None, f"The registry refused the login: {exc.message}")
        return _page(request, h, form, status=400)
    messages.success(request, f"Saved the login for {d['registry']} ({d['username']}).")
    return redirect(reverse("registry-list", args=[h.name]))


@require_POST
@require_role(ADMIN)
def registry_remove(request: HttpRequest, host: str) -> HttpResponse:
    h, _ = host_client(request, host)
    form = RemoveForm(request.POST)
    if not form.is_valid():
        raise InvalidArgument("which login?")
    login = RegistryCredential.objects.filter(host=h.name, pk=form.cleaned_data["id"]).first()
    if login is None:
        messages.warning(request, "That login was already removed.")
    else:
        params = {"registry": login.registry, "username": login.username}
        with audited(request, h.name, "registry.remove", login.registry, login.registry, params):
            login.delete()
        messages.success(request, f"Removed the login for {login.registry}.")
    return redirect(reverse("registry-list", args=[h.name]))
