"""Import TensorFlow the way Larq needs it: Keras 2 (tf_keras), quiet logs.

Import ``tf``/``keras``/``lq`` from here, never directly, so the environment
is set before TensorFlow's first import.
"""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # larq has no Keras 3 support
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")  # oneDNN reorders float sums run to run
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import logging  # noqa: E402
import warnings  # noqa: E402

warnings.filterwarnings("ignore", module="tensorflow")
warnings.filterwarnings("ignore", module="tf_keras")
warnings.filterwarnings("ignore", module="larq")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402
import larq as lq  # noqa: E402

tf.get_logger().setLevel(logging.ERROR)
tf.autograph.set_verbosity(0)
logging.getLogger("absl").setLevel(logging.ERROR)

__all__ = ["tf", "keras", "lq"]
