"""The old module's prompt: ``<lora:STEM:SCALE>`` per LoRA, then the prompt."""

from pathlib import PurePath
from typing import Iterable, Tuple, Union

Scale = Union[int, float, str]


def format_scale(scale: Scale) -> str:
    """The scale as Python writes a float (1 -> "1.0", 0.3 -> "0.3"), as the old module did."""
    try:
        value = float(scale)
    except (TypeError, ValueError):
        raise ValueError(f"a LoRA scale must be a number; got {scale!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"a LoRA scale must be a finite number; got {scale!r}")
    return str(value)


def build_lora_prompt(base_prompt: str, lora_paths: Iterable[Tuple[str, Scale]]) -> str:
    """``<lora:STEM:SCALE>`` for each ``(path, scale)``, joined by spaces, then a space and the prompt.

    STEM is the file name without its extension, the name the WebUI knows the LoRA by.
    """
    tags = [f"<lora:{PurePath(path).stem}:{format_scale(scale)}>" for path, scale in lora_paths]
    return " ".join(tags) + " " + base_prompt if tags else base_prompt
