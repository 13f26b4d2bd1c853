import unittest

from model_manager_client import (AuthRequiredError, ConflictError, InvalidRequestError, ModelManagerError, NotFoundError, RateLimitedError,
                                  UnauthorizedError, UnavailableError)
from model_manager_client.drop_in import _refused
from model_manager_client.errors import error_from_answer


def answer(code, message="m", details=None):
    error = {"code": code, "message": message}
    if details is not None:
        error["details"] = details
    return {"error": error}


class ErrorFromAnswerTest(unittest.TestCase):
    def test_each_status_has_its_class_carrying_the_apis_code(self):
        cases = [(400, "INVALID_REQUEST", InvalidRequestError), (401, "UNAUTHORIZED", UnauthorizedError),
                 (403, "READ_ONLY_TOKEN", UnauthorizedError), (404, "LEASE_NOT_FOUND", NotFoundError),
                 (409, "FETCH_IN_PROGRESS", ConflictError), (503, "REDIS_UNAVAILABLE", UnavailableError),
                 (500, "INTERNAL", ModelManagerError)]
        for status, code, cls in cases:
            with self.subTest(status=status):
                err = error_from_answer(status, answer(code, "why"), "")
                self.assertIs(type(err), cls)
                self.assertEqual((err.code, err.status, err.message), (code, status, "why"))
                self.assertEqual(str(err), f"{code}: why")

    def test_a_code_with_a_class_of_its_own_wins_over_the_status(self):
        self.assertIs(type(error_from_answer(422, answer("AUTH_REQUIRED"), "")), AuthRequiredError)
        self.assertIs(type(error_from_answer(422, answer("SOMETHING_ELSE"), "")), InvalidRequestError)
        self.assertIs(type(error_from_answer(500, answer("__class__"), "")), ModelManagerError)

    def test_rate_limited_carries_retry_after(self):
        err = error_from_answer(429, answer("RATE_LIMITED"), "", retry_after=30.0)
        self.assertIsInstance(err, RateLimitedError)
        self.assertEqual(err.retry_after, 30.0)

    def test_an_answer_that_is_no_json_error_names_the_status_and_its_text(self):
        err = error_from_answer(502, None, "<html>Bad gateway</html>")
        self.assertEqual(err.code, "HTTP_502")
        self.assertIn("Bad gateway", err.message)


class RefusedModelsTest(unittest.TestCase):
    def test_a_refusal_naming_models_gives_each_with_its_reason(self):
        err = InvalidRequestError("bad", "INVALID_REQUEST", 400, [
            {"field": "loras.3.name", "message": "bad name"}, {"field": "checkpoint.url", "message": "not http"}])
        self.assertEqual(_refused(err), {"loras.3": "INVALID_REQUEST: loras.3.name: bad name",
                                         "checkpoint": "INVALID_REQUEST: checkpoint.url: not http"})

    def test_a_refusal_of_anything_else_is_the_whole_requests(self):
        err = InvalidRequestError("bad", "INVALID_REQUEST", 400, [{"field": "loras.3.name", "message": "x"}, {"field": "prompt", "message": "y"}])
        self.assertEqual(_refused(err), {})


if __name__ == "__main__":
    unittest.main()
