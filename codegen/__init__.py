"""Code generation: quantisation, the integer emulator (the numeric contract), templates."""

from .emulator import (
    classify,
    dequantize_outputs,
    infer,
    infer_trace,
    preprocess,
    quantize_inputs,
)
from .generate import generate
from .quantize import QuantizedModel, quantize

__all__ = [
    "QuantizedModel",
    "classify",
    "dequantize_outputs",
    "generate",
    "infer",
    "infer_trace",
    "preprocess",
    "quantize",
    "quantize_inputs",
]
