"""Throttles per address (every caller) and per token (authenticated callers); customs get
a generous per-token rate because bulk verification is their norm; auth/ endpoints are
stricter per address."""

from rest_framework.throttling import SimpleRateThrottle

from registry.models import User


class AddressThrottle(SimpleRateThrottle):
    scope = "address"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class TokenThrottle(SimpleRateThrottle):
    scope = "token"

    def allow_request(self, request, view):
        user = request.user
        if user is not None and user.is_authenticated and user.role == User.Role.CUSTOMS:
            self.scope = "customs"
            self.rate = self.get_rate()
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if request.user is None or not request.user.is_authenticated:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class AuthThrottle(AddressThrottle):
    scope = "auth"
