"""Accounts: admins create users, set roles, hosts and exec, reset passwords, disable them;
everyone changes their own password. Every change is audited and ends the user's sockets."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model, password_validation, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ..access import (
    ADMIN,
    ROLES,
    VIEWER,
    active_admins,
    can_exec,
    granted_hosts,
    require_role,
    role_of,
    set_hosts,
    set_role,
)
from ..audit import audited
from ..engines import configured_hosts
from ..sessions import end_user_sockets

User = get_user_model()
USERNAME_HELP = "Letters, digits and @ . + - _ (at most 150)"


def _host_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in configured_hosts()]


class AccessForm(forms.Form):
    role = forms.ChoiceField(choices=[(r, r) for r in ROLES])
    exec_grant = forms.BooleanField(
        required=False, label="May open a shell in containers (operators; admins always may)"
    )
    hosts = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every host, including hosts added later.",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["hosts"].choices = _host_choices()


def check_new_password(form: forms.Form, data: dict[str, Any], user: Any) -> None:
    """password1 and password2 the same, and good enough for Django's validators."""
    p1, p2 = data.get("password1"), data.get("password2")
    if p1 and p2 and p1 != p2:
        form.add_error("password2", "The two passwords differ.")
    elif p1:
        try:
            password_validation.validate_password(p1, user)
        except forms.ValidationError as exc:
            form.add_error("password1", exc)


class NewUserForm(AccessForm):
    username = forms.CharField(max_length=150, help_text=USERNAME_HELP)
    password1 = forms.CharField(label="Password", strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(label="Password again", strip=False, widget=forms.PasswordInput)
    field_order = ["username", "password1", "password2", "role", "exec_grant", "hosts"]

    def clean_username(self) -> str:
        name = self.cleaned_data["username"]
        User.username_validator(name)
        if User.objects.filter(username__iexact=name).exists():
            raise forms.ValidationError(f"There is already a user named {name}.")
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        check_new_password(self, data, User(username=data.get("username", "")))
        return data


class EditUserForm(AccessForm):
    active = forms.BooleanField(required=False, label="Account enabled")
    field_order = ["role", "exec_grant", "hosts", "active"]


class ResetPasswordForm(forms.Form):
    password1 = forms.CharField(label="New password", strip=False, widget=forms.PasswordInput)
    password2 = forms.CharField(label="Again", strip=False, widget=forms.PasswordInput)

    def __init__(self, user: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.user = user

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        check_new_password(self, data, self.user)
        return data


def _describe(user: Any) -> dict[str, Any]:
    return {
        "user": user,
        "role": role_of(user) if user.is_active else role_of_inactive(user),
        "exec": can_exec(user) if user.is_active else False,
        "hosts": sorted(granted_hosts(user) or []),
    }


def role_of_inactive(user: Any) -> str:
    if user.is_superuser:
        return ADMIN
    names = set(user.groups.values_list("name", flat=True))
    return next((r for r in reversed(ROLES) if r in names), VIEWER)


@require_GET
@require_role(ADMIN)
def user_list(request: HttpRequest) -> HttpResponse:
    users = [_describe(u) for u in User.objects.order_by("username").prefetch_related("groups")]
    return render(request, "settings/users.html", {"users": users})


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def user_new(request: HttpRequest) -> HttpResponse:
    form = NewUserForm(request.POST or None)
    if request.method == "GET" or not form.is_valid():
        status = 400 if request.method == "POST" else 200
        return render(request, "settings/user_form.html", {"form": form}, status=status)
    data = form.cleaned_data
    params = {"role": data["role"], "exec": data["exec_grant"], "hosts": data["hosts"]}
    with audited(request, "", "user-create", target_name=data["username"], params=params) as e:
        user = User.objects.create_user(data["username"], password=data["password1"])
        set_role(user, data["role"], data["exec_grant"])
        set_hosts(user, data["hosts"])
        e.target_name = user.username
    messages.success(request, f"User {user.username} created as {data['role']}.")
    return redirect("user-list")


def _would_lose_last_admin(user: Any, role: str, active: bool) -> bool:
    admins = active_admins()
    return (
        admins.filter(pk=user.pk).exists()
        and (role != ADMIN or not active)
        and (admins.count() <= 1)
    )


@require_http_methods(["GET", "POST"])
@require_role(ADMIN)
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    info = _describe(user)
    if request.method == "GET":
        initial = {
            "role": info["role"],
            "exec_grant": user.groups.filter(name="exec").exists(),
            "hosts": info["hosts"],
            "active": user.is_active,
        }
        form = EditUserForm(initial=initial)
        return _edit_page(request, user, form, ResetPasswordForm(user))
    form = EditUserForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        if user.pk == request.user.pk and (data["role"] != ADMIN or not data["active"]):
            form.add_error(None, "You cannot take away your own admin role or disable yourself.")
        elif _would_lose_last_admin(user, data["role"], data["active"]):
            form.add_error(None, "This is the last enabled admin: make another admin first.")
    if not form.is_valid():
        return _edit_page(request, user, form, ResetPasswordForm(user), status=400)
    data = form.cleaned_data
    params = {k: data[k] for k in ("role", "exec_grant", "hosts", "active")}
    with audited(request, "", "user-update", str(user.pk), user.username, params):
        user.is_active = data["active"]
        set_role(user, data["role"], data["exec_grant"])
        set_hosts(user, data["hosts"])
    end_user_sockets(user.pk)
    messages.success(request, f"User {user.username} saved.")
    return redirect("user-list")


def _edit_page(request: HttpRequest, user: Any, form: Any, pw_form: Any, status: int = 200):
    context = {"subject": user, "form": form, "pw_form": pw_form}
    return render(request, "settings/user_edit.html", context, status=status)


@require_POST
@require_role(ADMIN)
def user_password(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk)
    pw_form = ResetPasswordForm(user, request.POST)
    if not pw_form.is_valid():
        info = _describe(user)
        form = EditUserForm(
            initial={"role": info["role"], "hosts": info["hosts"], "active": user.is_active}
        )
        return _edit_page(request, user, form, pw_form, status=400)
    with audited(request, "", "user-password-reset", str(user.pk), user.username):
        user.set_password(pw_form.cleaned_data["password1"])
        user.save()
    end_user_sockets(user.pk)
    if user.pk == request.user.pk:
        update_session_auth_hash(request, user)
    messages.success(request, f"New password set for {user.username}; their sessions ended.")
    return redirect("user-list")


@require_http_methods(["GET", "POST"])
@require_role(VIEWER)
def password_change(request: HttpRequest) -> HttpResponse:
    """Anyone logged in changes their own password (knowing the current one)."""
    form = PasswordChangeForm(request.user, request.POST or None)
    if request.method == "GET" or not form.is_valid():
        status = 400 if request.method == "POST" else 200
        return render(request, "settings/password.html", {"form": form}, status=status)
    with audited(request, "", "password-change", str(request.user.pk), request.user.username):
        form.save()
    # Keep this session; the others (and their sockets) end with the old password.
    update_session_auth_hash(request, form.user)
    end_user_sockets(request.user.pk)
    messages.success(request, "Your password was changed.")
    return redirect("home")
