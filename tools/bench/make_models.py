#!/usr/bin/env python3
"""Builds benchmark models the shared corpus does not have, into
tools/bench/models/ (ignored by git):

  mobilenetv2_int16x8.tflite  MobileNetV2 (224x224, seeded weights) with
                              int16 activations and int8 weights.
  mobilenetv2_int16x8_int32bias.tflite
                              The same converted with int32 biases
                              (`_experimental_full_integer_quantization_bias_type`).
                              LiteRT 2.3 refuses it: its int16x8
                              DEPTHWISE_CONV_2D takes only int64 biases.

Seeded random weights give degenerate activations (BatchNorm statistics of
an untrained net), so the statistics are recomputed on one seeded batch and
the classifier is scaled before conversion. The classifier gets a nonzero
bias so the converter keeps it (an int64 bias in int16x8). Needs the virtualenv of
tools/fixtures/requirements.txt.
"""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

OUT = Path(__file__).resolve().parent / "models"
SEED = 20261122


def mobilenetv2():
    tf.keras.utils.set_random_seed(SEED)
    model = tf.keras.applications.MobileNetV2(weights=None, input_shape=(224, 224, 3))
    batch = np.random.default_rng(SEED).uniform(-1, 1, (8, 224, 224, 3)).astype(np.float32)
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            layer.momentum = 0.0
    model(batch, training=True)
    dense = model.layers[-1]
    w, b = dense.get_weights()
    bias = np.random.default_rng(SEED + 1).normal(0, 0.1, b.shape).astype(b.dtype)
    dense.set_weights([w * 20.0, bias])
    return model, batch


def int16x8(model, batch, bias_type=None):
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    if bias_type is not None:
        conv._experimental_full_integer_quantization_bias_type = bias_type
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_ops = [
        tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
    ]

    def representative():
        for i in range(batch.shape[0]):
            yield [batch[i : i + 1]]

    conv.representative_dataset = representative
    return conv.convert()


def main():
    OUT.mkdir(exist_ok=True)
    model, batch = mobilenetv2()
    for name, bias_type in [("mobilenetv2_int16x8", None), ("mobilenetv2_int16x8_int32bias", tf.int32)]:
        path = OUT / f"{name}.tflite"
        path.write_bytes(int16x8(model, batch, bias_type))
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
