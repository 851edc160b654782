"""bnnkit: binarized neural networks from Larq to plain C on microcontrollers.

The pipeline is ``train -> convert -> gen-firmware -> simulate -> report``;
each step is a module here and a ``bnnkit`` command.
"""

__version__ = "0.1.0"
