"""How the API looks in a browser."""

from __future__ import annotations

from rest_framework.renderers import BrowsableAPIRenderer


class RawJSONBrowsableAPIRenderer(BrowsableAPIRenderer):
    """The browsable API with the raw JSON form only: the API takes JSON, and the
    HTML form would send text where numbers are expected."""

    def get_rendered_html_form(self, data, view, method, request):  # type: ignore[no-untyped-def]
        if method in ("DELETE", "OPTIONS"):
            return super().get_rendered_html_form(data, view, method, request)
        return None
