"""Responses that are the same in every language (the key sets, the status lists, the audit
checkpoints): LocaleMiddleware gives every response ``Vary: Accept-Language`` and a
``Content-Language``, so a shared cache would keep one copy of a key set per language.
Views mark such responses with ``language_independent``; ``LanguageIndependentMiddleware``,
placed above LocaleMiddleware, takes both headers off them again."""

import functools

from django.utils.cache import cc_delim_re


def language_independent(view):
    """Mark the view's responses, 304s included, as the same in every language."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response.language_independent = True
        return response

    return wrapped


class LanguageIndependentMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if getattr(response, "language_independent", False):
            vary = [
                name
                for name in cc_delim_re.split(response.headers.get("Vary", ""))
                if name and name.lower() != "accept-language"
            ]
            if vary:
                response.headers["Vary"] = ", ".join(vary)
            else:
                response.headers.pop("Vary", None)
            response.headers.pop("Content-Language", None)
        return response
