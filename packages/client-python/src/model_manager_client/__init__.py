"""Python client of the Model Manager service.

Old handlers change one import line::

    from model_manager_client import model_manager   # was: from model_manager import model_manager

``model_manager`` is configured from MODEL_MANAGER_URL and MODEL_MANAGER_TOKEN on first use.
New code uses ``ModelManagerClient`` (fetch, prefetch, wait_for, prepare with leases).
"""

from .client import MAX_HOLD_SECONDS, MODEL_KINDS, ModelManagerClient
from .drop_in import ConfigurationError, LazyModelManager, ModelManager, client_from_env
from .errors import (
    AuthRequiredError,
    ConflictError,
    HashConflictError,
    InvalidRequestError,
    JobFailedError,
    ModelManagerError,
    NotFoundError,
    RateLimitedError,
    RequestTimeoutError,
    SourceNotFoundError,
    UnauthorizedError,
    UnavailableError,
    UnverifiedError,
    WaitTimeoutError,
)
from .prepared import Prepared
from .prompt import build_lora_prompt, format_scale

__version__ = "0.1.0"

#: The old module's global instance, made from the environment on first use.
model_manager = LazyModelManager()

__all__ = [
    "AuthRequiredError",
    "ConfigurationError",
    "ConflictError",
    "HashConflictError",
    "InvalidRequestError",
    "JobFailedError",
    "MAX_HOLD_SECONDS",
    "MODEL_KINDS",
    "ModelManager",
    "ModelManagerClient",
    "ModelManagerError",
    "NotFoundError",
    "Prepared",
    "RateLimitedError",
    "RequestTimeoutError",
    "SourceNotFoundError",
    "UnauthorizedError",
    "UnavailableError",
    "UnverifiedError",
    "WaitTimeoutError",
    "build_lora_prompt",
    "client_from_env",
    "format_scale",
    "model_manager",
]
