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
  resnet50_float32.tflite     Keras ResNet50 (224x224, seeded weights).
  efficientnetb0_int8.tflite  Keras EfficientNet-B0, full-integer int8 with
                              int8 input and output.
  mobilenetv2_{float32,int8}_{96,160,224}.tflite
                              the resolution sweep of side_by_side.py.

`make_models.py NAME...` builds only the named models (file stems).

Seeded random weights give degenerate activations (BatchNorm statistics of
an untrained net), so the statistics are recomputed on one seeded batch and
the classifier is scaled before conversion. The classifier gets a nonzero
bias so the converter keeps it (an int64 bias in int16x8). Needs the virtualenv of
tools/fixtures/requirements.txt.
"""

import os
import sys
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


def seeded(build, size):
    """A Keras application with seeded weights whose BatchNorm statistics
    come from one seeded batch, so that activations are not degenerate."""
    tf.keras.utils.set_random_seed(SEED)
    model = build(weights=None, input_shape=(size, size, 3))
    batch = np.random.default_rng(SEED).uniform(-1, 1, (8, size, size, 3)).astype(np.float32)
    for layer in model.layers:
        if isinstance(layer, tf.keras.layers.BatchNormalization):
            layer.momentum = 0.0
    model(batch, training=True)
    return model, batch


def float32(model, batch):
    return tf.lite.TFLiteConverter.from_keras_model(model).convert()


def int8(model, batch):
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = tf.int8
    conv.inference_output_type = tf.int8

    def representative():
        for i in range(batch.shape[0]):
            yield [batch[i : i + 1]]

    conv.representative_dataset = representative
    return conv.convert()


def builders():
    apps = tf.keras.applications
    table = {
        "mobilenetv2_int16x8": (mobilenetv2, int16x8),
        "mobilenetv2_int16x8_int32bias": (mobilenetv2, lambda m, b: int16x8(m, b, tf.int32)),
        "resnet50_float32": (lambda: seeded(apps.ResNet50, 224), float32),
        "efficientnetb0_int8": (lambda: seeded(apps.EfficientNetB0, 224), int8),
    }
    for size in (96, 160, 224):
        net = lambda size=size: seeded(apps.MobileNetV2, size)
        table[f"mobilenetv2_float32_{size}"] = (net, float32)
        table[f"mobilenetv2_int8_{size}"] = (net, int8)
    return table


def main():
    table = builders()
    names = sys.argv[1:] or list(table)
    unknown = [n for n in names if n not in table]
    if unknown:
        sys.exit(f"unknown model(s) {unknown}; known: {', '.join(table)}")
    OUT.mkdir(exist_ok=True)
    for name in names:
        build, convert = table[name]
        path = OUT / f"{name}.tflite"
        path.write_bytes(convert(*build()))
        print(f"wrote {path} ({path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
