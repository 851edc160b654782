"""bnnkit: binarized neural networks from Larq to plain C on microcontrollers.

The pipeline is ``train -> convert -> gen-firmware -> simulate -> report``;
each step is a module here and a ``bnnkit`` command. The Python API, without
the command line:

- ``from bnnkit.emit import generate``: the C library and the example
  application of a model for a target;
- ``from bnnkit.analyze import analyze``: per-layer costs, the linked
  firmware's flash and RAM, the verdict against a part's memory;
- ``from bnnkit.validate import validate``: the generated C on your data
  against LCE's interpreter;
- ``from bnnkit.simulate import simulate``: the generated C on a built-in test
  set, on the host or the emulated device, with its figures.

Example:
    >>> from bnnkit.emit import generate
    >>> gen = generate("models/lenet_bin3.tflite", "cortex-m4", "build/m4",
    ...                app=False)  # doctest: +SKIP
    >>> gen.lib_dir, gen.program.arena_bytes  # doctest: +SKIP
    (PosixPath('build/m4/lenet_bin3'), 8992)
    >>> from bnnkit.analyze import analyze
    >>> analyze("models/lenet_bin3.tflite", board="stm32l476")["verdict"]  # doctest: +SKIP
    {'fits': True, ...}
"""

__version__ = "0.1.0"
