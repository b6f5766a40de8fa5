"""Image update forms: a check asked for (one reference, or every container's), an update of
a selection of containers."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from engine_client.validators import is_container_id

from .images import ReferenceField

MAX_AT_ONCE = 100


class CheckForm(forms.Form):
    # Empty: every reference the host's containers use.
    reference = ReferenceField(label="Image", required=False)


class UpdateForm(forms.Form):
    """The containers to update, in order: one at a time, stopping at the first failure."""

    ids = forms.CharField(required=False)  # filled from the request's list in clean()

    def __init__(self, data: Any = None, ids: list[str] | None = None) -> None:
        super().__init__(data)
        self.id_list = ids or []

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        ids = list(dict.fromkeys(self.id_list))
        if not ids:
            raise ValidationError("Select at least one container.")
        if len(ids) > MAX_AT_ONCE:
            raise ValidationError(f"At most {MAX_AT_ONCE} containers at once.")
        if not all(is_container_id(i) for i in ids):
            raise ValidationError("Containers are named by their full ids.")
        data["ids"] = ids
        return data
