"""What the service tests are given by test/e2e/python-client.test.ts: a running service and a
loopback origin serving the files named in MM_TEST_FILES."""

import json
import os
import pathlib

from model_manager_client import ModelManager, ModelManagerClient


def _need(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise RuntimeError(f"{name} is not set: these tests run from test/e2e/python-client.test.ts (npm test) against a real service")
    return value


API_URL = _need("MODEL_MANAGER_URL")
TOKEN = _need("MODEL_MANAGER_TOKEN")
ORIGIN = _need("MM_TEST_ORIGIN")
MODELS_DIR = _need("MM_TEST_MODELS_DIR")
FILES = json.loads(_need("MM_TEST_FILES"))  # file name -> sha256
FIXTURES = pathlib.Path(__file__).resolve().parents[4] / "test" / "fixtures"


def file_url(name: str, route: str = "files", query: str = "") -> str:
    if name not in FILES:
        raise KeyError(f"the origin serves no {name!r}; add it to ORIGIN_FILES in test/e2e/python-client.test.ts")
    return f"{ORIGIN}/{route}/{name}{query}"


def missing_url(name: str) -> str:
    """A URL the origin answers 404 for."""
    return f"{ORIGIN}/files/missing-{name}"


def client(**options) -> ModelManagerClient:
    return ModelManagerClient(API_URL, TOKEN, **options)


def drop_in() -> ModelManager:
    return ModelManager(client())
