"""The image forms: pull, tag, push, remove, upload (load or import), the list's filter."""

from __future__ import annotations

import functools
from typing import Any

from django import forms

from engine_client.validators import IMAGE_REF_MAX, check_image, parse_reference

from .fields import RuleField, engine_rule


class ReferenceField(forms.CharField):
    """An image reference (to pull, to tag as), checked against the docker reference
    grammar; cleaned into an ImageRef. No image ID here: there is nothing to pull by ID."""

    def __init__(self, *, allow_digest: bool = True, **kwargs: Any) -> None:
        self.allow_digest = allow_digest
        self.rule = functools.partial(parse_reference, allow_digest=allow_digest)
        kwargs.setdefault("strip", True)
        kwargs.setdefault("max_length", IMAGE_REF_MAX)
        super().__init__(**kwargs)

    def clean(self, value: Any) -> Any:
        text = super().clean(value)
        if not text:
            return text
        return engine_rule(self.rule, text)


class ImageFilterForm(forms.Form):
    q = forms.CharField(label="Filter", max_length=128, required=False, strip=True)
    dangling = forms.BooleanField(label="Only dangling", required=False)


class PullForm(forms.Form):
    reference = ReferenceField(
        label="Image",
        help_text="e.g. 127.0.0.1:5000/lab/busybox:latest (no tag means latest)",
    )


class TagForm(forms.Form):
    target = ReferenceField(label="New tag", allow_digest=False, help_text="repository[:tag]")


class PushForm(forms.Form):
    tag = forms.ChoiceField(label="Tag to push")


class ImageRemoveForm(forms.Form):
    # A tag or the image's ID (checked against the image itself by the view).
    ref = RuleField(check_image, label="What to remove", max_length=IMAGE_REF_MAX)
    force = forms.BooleanField(required=False)


class UploadForm(forms.Form):
    MODES = [
        ("load", "Load: an archive made by docker save / Export (keeps names and layers)"),
        ("import", "Import: a root filesystem tar, as one new layer"),
    ]
    mode = forms.ChoiceField(choices=MODES, initial="load", widget=forms.RadioSelect)
    archive = forms.FileField(label="Tar archive")
    reference = ReferenceField(
        label="Name (import only)", allow_digest=False, required=False, help_text="repository[:tag]"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("mode") == "import" and not data.get("reference"):
            self.add_error("reference", "an import needs a name for the new image")
        return data
