"""A service with API_TOKEN: the token is sent, required, and never shown."""

import logging
import socket
import unittest

from support import API_URL, TOKEN, drop_in

from model_manager_client import ModelManager, ModelManagerClient, UnauthorizedError, UnavailableError


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class TokenTest(unittest.TestCase):
    def test_without_the_token_the_api_answers_unauthorized(self):
        with self.assertRaises(UnauthorizedError) as caught:
            ModelManagerClient(API_URL).stats()
        self.assertEqual((caught.exception.code, caught.exception.status), ("UNAUTHORIZED", 401))

    def test_a_wrong_token_is_refused_and_appears_in_no_message_or_repr(self):
        wrong = TOKEN + "-wrong"
        mm = ModelManagerClient(API_URL, wrong)
        with self.assertRaises(UnauthorizedError) as caught:
            mm.stats()
        for text in (str(caught.exception), repr(caught.exception), repr(mm), repr(ModelManager(mm))):
            self.assertNotIn(wrong, text)

    def test_with_the_token_calls_go_through_and_it_is_shown_nowhere(self):
        manager = drop_in()
        self.assertIn("loras", manager.get_cache_stats())
        self.assertNotIn(TOKEN, repr(manager))
        self.assertNotIn(TOKEN, repr(manager.client))

    def test_an_api_that_is_not_there_is_unreachable_without_the_token_in_the_message_or_logs(self):
        with self.assertLogs("model_manager_client", logging.WARNING) as logs:
            with self.assertRaises(UnavailableError) as caught:
                # A port nothing listens on: a retry is logged, then it gives up.
                ModelManagerClient(f"http://127.0.0.1:{closed_port()}", TOKEN, retry_seconds=0.3).stats()
        self.assertEqual((caught.exception.code, caught.exception.status), ("UNREACHABLE", 0))
        for text in [str(caught.exception), repr(caught.exception)] + logs.output:
            self.assertNotIn(TOKEN, text)


if __name__ == "__main__":
    unittest.main()
