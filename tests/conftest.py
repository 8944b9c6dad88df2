import pytest
from cryptography.fernet import Fernet

from tests.factories import (
    CustomsFactory,
    MembershipFactory,
    ProducerFactory,
    ReviewerFactory,
    SecretariatFactory,
    UserFactory,
)


@pytest.fixture
def manufacturer(db):
    return UserFactory()


@pytest.fixture
def producer(manufacturer):
    producer = ProducerFactory()
    MembershipFactory(user=manufacturer, producer=producer)
    return producer


@pytest.fixture
def reviewer(db):
    return ReviewerFactory()


@pytest.fixture
def customs(db):
    return CustomsFactory()


@pytest.fixture
def secretariat(db):
    return SecretariatFactory()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2 at production strength costs ~0.3 s per password; tests check behaviour only.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# One key for the whole run: what the tests seal (webhook secrets, authenticator keys) and
# what a worker they start (tests/certification/test_worker_delivery.py) opens.
TEST_SECRETS_KEYS = [Fernet.generate_key().decode()]


@pytest.fixture(autouse=True)
def _secrets_sealed_with_a_test_key(settings):
    settings.SECRETS_KEYS = TEST_SECRETS_KEYS
    settings.SECRETS_KEYS_AUTOCREATE = False


@pytest.fixture(autouse=True)
def _officials_confirm_their_second_factor(monkeypatch):
    """force_login of a reviewer or the secretariat also confirms the session with an
    authenticator app (made for the occasion), as the sign-in's second step does, so that
    tests of the workspace and the admin test what they test. The tests of the second
    factor itself pass second_factor=False."""
    from django.test import Client

    from tests.credentials import confirm_session

    original = Client.force_login

    def force_login(self, user, backend=None, second_factor=True):
        original(self, user, backend)
        if second_factor and getattr(user, "needs_second_factor", False):
            confirm_session(self, user)

    monkeypatch.setattr(Client, "force_login", force_login)


@pytest.fixture(autouse=True)
def _signing_keys_in_a_temporary_folder(settings, tmp_path_factory):
    # One folder for the session: keys are created on first use (embedded default) and
    # never land in the working tree's var/.
    settings.SIGNING_KEYS_DIR = tmp_path_factory.getbasetemp() / "signing-keys"
    settings.SIGNING_KEYS_AUTOCREATE = True


@pytest.fixture(autouse=True)
def _media_in_a_temporary_folder(settings, tmp_path):
    # Certificate PDFs and uploaded documents never land in the working tree's var/.
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _celery_tasks_run_in_process(request, settings):
    """Tasks run eagerly and inline (not in a thread) in every test, whatever the broker
    environment says; only the tests marked `worker` talk to a real worker."""
    if request.node.get_closest_marker("worker"):
        yield
        return
    from config.celery import app

    settings.OUTBOX_EAGER_IN_THREAD = False
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _fresh_cache():
    # No test inherits another's cached values or throttled requests.
    from django.core.cache import cache

    from certification.api.throttling import forget_counts

    cache.clear()
    forget_counts()
    yield
    cache.clear()
    forget_counts()


@pytest.fixture(autouse=True)
def _static_files_without_a_manifest(settings):
    # With DATABASE_URL set (CI) DEBUG is false and production's manifest storage would
    # need `collectstatic` first; pages under test only need the URLs.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }


@pytest.fixture(autouse=True)
def _english_unless_a_test_says_otherwise():
    """Each test starts in English: a request served in another language (LocaleMiddleware
    activates it for the thread) must not carry it into the next test's assertions."""
    from django.utils import translation

    translation.activate("en")
    yield
    translation.activate("en")
