"""The palette's search box (Ctrl/Cmd-K)."""

from __future__ import annotations

from django import forms

from engine_client.validators import SEARCH_TEXT_MAX, check_search_text

from .fields import RuleField


class PaletteSearchForm(forms.Form):
    # max_length a little over the rule's, so the rule's own message is the one shown.
    q = RuleField(check_search_text, required=False, max_length=SEARCH_TEXT_MAX * 4)
