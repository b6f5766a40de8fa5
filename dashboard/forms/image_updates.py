"""Image update forms: a check asked for (one reference, or every container's), an update of
a selection of containers."""

from __future__ import annotations

from django import forms

from .containers import ContainerSelectionForm
from .images import ReferenceField

MAX_AT_ONCE = 100


class CheckForm(forms.Form):
    # Empty: every reference the host's containers use.
    reference = ReferenceField(label="Image", required=False)


class UpdateForm(ContainerSelectionForm):
    """The containers to update, in order: one at a time, stopping at the first failure."""

    max_ids = MAX_AT_ONCE
