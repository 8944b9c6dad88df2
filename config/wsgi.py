"""
WSGI config for config project.

It exposes the WSGI callable as a module-level variable named ``application``.

For more information on this file, see
https://docs.djangoproject.com/en/5.2/howto/deployment/wsgi/
"""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# Refuse to serve without every authority's signing key (docs/api.md): certificates
# could not be issued, nor their tokens checked. On the embedded default the missing keys
# are created here instead. After the application, which sets Django up. Likewise without
# SECRETS_KEYS, which keep webhook secrets and authenticator keys encrypted (production).
from certification.verification.signing import ensure_keys_present  # noqa: E402
from registry.sealing import ensure_key_present  # noqa: E402

ensure_keys_present()
ensure_key_present()

# GET /api/v1/certificates/{number}/verify/ with an API token, answered in one query and
# with the same body and headers before Django's request machinery; everything else goes
# to Django (certification/api/fastpath.py).
from certification.api.fastpath import VerifyFastPath  # noqa: E402

application = VerifyFastPath(application)
