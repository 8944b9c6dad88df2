"""In production the web server and the workers refuse to start without signing keys
(docs/api.md and docs/operations.md); management commands do not check."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from certification.core.numbering import MEMBER_STATES
from config.celery import refuse_to_start_without_signing_keys
from tests.conftest import TEST_SECRETS_KEYS

ROOT = Path(__file__).resolve().parents[1]


def _python(code, keys_dir, **extra):
    # SIGNING_KEYS_DIR set = keys are provisioned, never created on first use; SECRETS_KEYS
    # likewise (DEBUG false: the web server refuses to start without it).
    env = {
        **os.environ,
        "SIGNING_KEYS_DIR": str(keys_dir),
        "SECRETS_KEYS": ",".join(TEST_SECRETS_KEYS),
        **extra,
    }
    env = {name: value for name, value in env.items() if value is not None}
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_web_server_refuses_to_start_without_keys_then_starts_once_provisioned(tmp_path):
    for module in ("config.wsgi", "config.asgi"):
        refused = _python(f"import {module}", tmp_path)
        assert refused.returncode != 0
        assert "SigningKeyMissing" in refused.stderr
        assert "rotate_signing_key --country UZ" in refused.stderr
    # Management commands do not check: that is how the keys are provisioned.
    provision = (
        "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); "
        "django.setup(); from django.core.management import call_command; "
        f"[call_command('rotate_signing_key', country=c) for c in {MEMBER_STATES!r}]"
    )
    assert _python(provision, tmp_path).returncode == 0
    started = _python("import config.wsgi, config.asgi; print('started')", tmp_path)
    assert started.returncode == 0, started.stderr
    assert "started" in started.stdout


def test_workers_and_beat_refuse_to_start_without_keys(settings, tmp_path, capfd):
    settings.SIGNING_KEYS_DIR = tmp_path
    settings.SIGNING_KEYS_AUTOCREATE = False
    with pytest.raises(SystemExit) as excinfo:
        refuse_to_start_without_signing_keys(sender=None)
    assert excinfo.value.code == 1
    assert "Refusing to start: No signing key for UZ" in capfd.readouterr().err


def test_workers_create_missing_keys_on_the_embedded_default(settings, tmp_path):
    settings.SIGNING_KEYS_DIR = tmp_path
    settings.SIGNING_KEYS_AUTOCREATE = True
    refuse_to_start_without_signing_keys(sender=None)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_dir()) == sorted(MEMBER_STATES)


PROVISION = (
    "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'config.settings'); "
    "django.setup(); from django.core.management import call_command; "
    f"[call_command('rotate_signing_key', country=c) for c in {MEMBER_STATES!r}]"
)


def test_production_refuses_to_start_without_secrets_keys(tmp_path):
    assert _python(PROVISION, tmp_path).returncode == 0
    production = {"DEBUG": "false", "SECRET_KEY": "x" * 60, "ALLOWED_HOSTS": "registry.example"}
    refused = _python("import config.wsgi", tmp_path, SECRETS_KEYS=None, **production)
    assert refused.returncode != 0
    assert "SecretsKeyMissing" in refused.stderr and "SECRETS_KEYS is not set" in refused.stderr
    broken = _python("import config.wsgi", tmp_path, SECRETS_KEYS="not-a-key", **production)
    assert broken.returncode != 0 and "key number 1 is not a Fernet key" in broken.stderr
    assert "not-a-key" not in broken.stderr  # the value itself is never printed
    started = _python("import config.wsgi; print('started')", tmp_path, **production)
    assert started.returncode == 0, started.stderr


def test_workers_refuse_to_start_without_secrets_keys(settings, tmp_path, capfd):
    settings.SIGNING_KEYS_DIR = tmp_path
    settings.SIGNING_KEYS_AUTOCREATE = True
    settings.SECRETS_KEYS = []
    settings.SECRETS_KEYS_AUTOCREATE = False
    with pytest.raises(SystemExit):
        refuse_to_start_without_signing_keys(sender=None)
    assert "Refusing to start: SECRETS_KEYS is not set" in capfd.readouterr().err


def test_a_signing_key_others_may_read_is_refused_naming_the_file(tmp_path):
    assert _python(PROVISION, tmp_path).returncode == 0
    key = next((tmp_path / "UZ").glob("*.pem"))
    key.chmod(0o644)
    refused = _python("import config.wsgi", tmp_path)
    assert refused.returncode != 0
    assert f"The key file {key} has mode 0644" in refused.stderr
    assert f"chmod 600 {key}" in refused.stderr
    key.chmod(0o600)
    assert _python("import config.wsgi", tmp_path).returncode == 0
