import json
import pathlib
import unittest

from model_manager_client import build_lora_prompt, format_scale

FIXTURES = pathlib.Path(__file__).resolve().parents[4] / "test" / "fixtures"


class FormatScaleTest(unittest.TestCase):
    def test_writes_the_scale_as_python_writes_a_float(self):
        for given, written in [(1, "1.0"), (3, "3.0"), (0.3, "0.3"), (1.25, "1.25"), (0.65, "0.65"), ("0.8", "0.8"), (-1, "-1.0")]:
            with self.subTest(given=given):
                self.assertEqual(format_scale(given), written)

    def test_refuses_what_is_no_finite_number_naming_it(self):
        for bad in ["strong", None, float("nan"), float("inf")]:
            with self.subTest(bad=bad), self.assertRaisesRegex(ValueError, "scale"):
                format_scale(bad)


class BuildLoraPromptTest(unittest.TestCase):
    def test_the_old_modules_example_request_gives_the_old_modules_prompt_byte_for_byte(self):
        request = json.loads((FIXTURES / "old-module-example-request.json").read_text("utf-8"))["input"]
        expected = (FIXTURES / "old-module-example-prompt.txt").read_text("utf-8")
        lora_paths = [(f"/workspace/models/loras/{lora['name']}.safetensors", lora["scale"]) for lora in request["loras"]]
        self.assertEqual(build_lora_prompt(request["prompt"], lora_paths), expected)

    def test_the_tag_names_the_file_without_its_extension(self):
        self.assertEqual(build_lora_prompt("a cat", [("/v/loras/Ghibli 風 v2.0.safetensors", 1)]), "<lora:Ghibli 風 v2.0:1.0> a cat")

    def test_no_loras_leaves_the_prompt_as_it_is(self):
        self.assertEqual(build_lora_prompt("a cat", []), "a cat")


if __name__ == "__main__":
    unittest.main()
