import unittest

from model_manager_client import ConfigurationError, ModelManagerClient, client_from_env, model_manager

TOKEN = "unit-test-secret-token-4711"


class ClientFromEnvTest(unittest.TestCase):
    def test_reads_address_token_path_map_and_hold(self):
        client = client_from_env({
            "MODEL_MANAGER_URL": "http://127.0.0.1:3000/",
            "MODEL_MANAGER_TOKEN": TOKEN,
            "MODEL_MANAGER_PATH_MAP": "/workspace/models=/runpod-volume/models",
            "MODEL_MANAGER_HOLD_SECONDS": "90",
        })
        self.assertEqual(client.base_url, "http://127.0.0.1:3000")
        self.assertEqual(client.max_hold_seconds, 90)
        self.assertEqual(client.local_path("/workspace/models/loras/a b.safetensors"), "/runpod-volume/models/loras/a b.safetensors")
        self.assertEqual(client.local_path("/elsewhere/x.safetensors"), "/elsewhere/x.safetensors")
        self.assertIsNone(client.local_path(None))

    def test_says_what_to_set_when_something_is_missing_or_unreadable(self):
        cases = [
            ({}, "MODEL_MANAGER_URL is not set"),
            ({"MODEL_MANAGER_URL": "127.0.0.1:3000"}, "MODEL_MANAGER_URL: .*http:// or https://"),
            ({"MODEL_MANAGER_URL": "http://h", "MODEL_MANAGER_PATH_MAP": "/a"}, "MODEL_MANAGER_PATH_MAP must be API_DIR=LOCAL_DIR"),
            ({"MODEL_MANAGER_URL": "http://h", "MODEL_MANAGER_HOLD_SECONDS": "soon"}, "MODEL_MANAGER_HOLD_SECONDS must be"),
        ]
        for env, message in cases:
            with self.subTest(env=env), self.assertRaisesRegex(ConfigurationError, message):
                client_from_env(env)

    def test_the_module_level_instance_is_made_on_first_use_so_importing_never_fails(self):
        self.assertIn("first use", repr(model_manager))


class SecretsTest(unittest.TestCase):
    def test_the_token_is_in_no_repr(self):
        client = ModelManagerClient("http://user:pw@127.0.0.1:3000", TOKEN)
        self.assertNotIn(TOKEN, repr(client))
        self.assertNotIn(TOKEN, repr(client._http))
        self.assertNotIn("pw", repr(client))
        self.assertNotIn(TOKEN, repr(vars(client)))


if __name__ == "__main__":
    unittest.main()
