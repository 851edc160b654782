"""Read a TFLite flatbuffer (plain or LCE) into a :class:`bnnkit.graph.Graph`.

A minimal reader of the FlatBuffers binary format, following
tensorflow/lite/schema/schema.fbs: only the tables and fields bnnkit needs. LCE's
custom ops carry their options as a flexbuffer map, decoded with the
``flatbuffers`` package's flexbuffers module.
"""

from __future__ import annotations

import math
import struct
from pathlib import Path

import numpy as np

from .errors import BnnkitError
from .graph import Graph, Op, Tensor
from .tflite_schema import ACTIVATIONS, BUILTIN_OPS, PADDING, TENSOR_TYPES

FILE_IDENTIFIER = b"TFL3"


class _Corrupt(Exception):
    pass


class _Table:
    """One flatbuffer table: fields are read by their slot number in the schema."""

    __slots__ = ("buf", "pos", "vtable", "vtable_len")

    def __init__(self, buf: bytes, pos: int):
        self.buf = buf
        self.pos = pos
        self.vtable = pos - _i32(buf, pos)
        self.vtable_len = _u16(buf, self.vtable)

    def _field(self, slot: int) -> int:
        entry = 4 + 2 * slot
        if entry >= self.vtable_len:
            return 0
        return _u16(self.buf, self.vtable + entry)

    def scalar(self, slot: int, fmt: str, default=0):
        off = self._field(slot)
        if not off:
            return default
        return _unpack(fmt, self.buf, self.pos + off)

    def _indirect(self, slot: int):
        off = self._field(slot)
        if not off:
            return None
        p = self.pos + off
        return p + _u32(self.buf, p)

    def table(self, slot: int):
        target = self._indirect(slot)
        return None if target is None else _Table(self.buf, target)

    def vector_span(self, slot: int):
        """(start, length) of a vector field, or None."""
        target = self._indirect(slot)
        if target is None:
            return None
        n = _u32(self.buf, target)
        return target + 4, n

    def vector(self, slot: int, fmt: str) -> list:
        span = self.vector_span(slot)
        if span is None:
            return []
        start, n = span
        size = struct.calcsize("<" + fmt)
        _check(self.buf, start, n * size)
        return list(struct.unpack_from(f"<{n}{fmt}", self.buf, start))

    def bytes(self, slot: int) -> bytes | None:
        span = self.vector_span(slot)
        if span is None:
            return None
        start, n = span
        _check(self.buf, start, n)
        return self.buf[start:start + n]

    def string(self, slot: int) -> str:
        raw = self.bytes(slot)
        return "" if raw is None else raw.decode("utf-8", "replace")

    def tables(self, slot: int) -> list:
        span = self.vector_span(slot)
        if span is None:
            return []
        start, n = span
        _check(self.buf, start, 4 * n)
        out = []
        for i in range(n):
            p = start + 4 * i
            out.append(_Table(self.buf, p + _u32(self.buf, p)))
        return out


def _check(buf, pos, size):
    if pos < 0 or pos + size > len(buf):
        raise _Corrupt(f"offset {pos}+{size} outside the {len(buf)}-byte file")


def _unpack(fmt, buf, pos):
    size = struct.calcsize("<" + fmt)
    _check(buf, pos, size)
    return struct.unpack_from("<" + fmt, buf, pos)[0]


def _u16(buf, pos):
    return _unpack("H", buf, pos)


def _u32(buf, pos):
    return _unpack("I", buf, pos)


def _i32(buf, pos):
    return _unpack("i", buf, pos)


# --------------------------------------------------------------- options

def _builtin_options(op_type: str, table: _Table | None) -> dict:
    """Decode the options of the builtin ops bnnkit lowers (schema slot order)."""
    if table is None:
        return {}
    s = table.scalar
    if op_type in ("CONV_2D", "DEPTHWISE_CONV_2D"):
        opts = {"padding": PADDING.get(s(0, "b"), "?"), "stride_w": s(1, "i"), "stride_h": s(2, "i")}
        if op_type == "CONV_2D":
            opts.update(activation=ACTIVATIONS.get(s(3, "b"), "?"),
                         dilation_w=s(4, "i", 1), dilation_h=s(5, "i", 1))
        else:
            opts.update(depth_multiplier=s(3, "i"), activation=ACTIVATIONS.get(s(4, "b"), "?"),
                         dilation_w=s(5, "i", 1), dilation_h=s(6, "i", 1))
        return opts
    if op_type in ("MAX_POOL_2D", "AVERAGE_POOL_2D"):
        return {"padding": PADDING.get(s(0, "b"), "?"), "stride_w": s(1, "i"),
                "stride_h": s(2, "i"), "filter_w": s(3, "i"), "filter_h": s(4, "i"),
                "activation": ACTIVATIONS.get(s(5, "b"), "?")}
    if op_type == "FULLY_CONNECTED":
        return {"activation": ACTIVATIONS.get(s(0, "b"), "?"), "weights_format": s(1, "b"),
                "keep_num_dims": bool(s(2, "B"))}
    if op_type == "SOFTMAX":
        return {"beta": s(0, "f", 0.0)}
    if op_type in ("ADD", "MUL", "SUB", "DIV"):
        return {"activation": ACTIVATIONS.get(s(0, "b"), "?")}
    if op_type == "RESHAPE":
        return {"new_shape": table.vector(0, "i")}
    if op_type == "CONCATENATION":
        return {"axis": s(0, "i"), "activation": ACTIVATIONS.get(s(1, "b"), "?")}
    if op_type in ("SPLIT", "SPLIT_V"):
        return {"num_splits": s(0, "i")}
    if op_type in ("MEAN", "SUM", "REDUCE_MAX", "REDUCE_MIN", "REDUCE_PROD"):
        return {"keep_dims": bool(s(0, "B"))}
    if op_type == "LEAKY_RELU":
        return {"alpha": s(0, "f", 0.0)}
    if op_type == "SQUEEZE":
        return {"squeeze_dims": table.vector(0, "i")}
    if op_type == "GATHER":
        return {"axis": s(0, "i"), "batch_dims": s(1, "i")}
    return {}


def _custom_options(raw: bytes | None, where: str) -> dict:
    if not raw:
        return {}
    from flatbuffers import flexbuffers

    try:
        decoded = flexbuffers.Loads(bytes(raw))
    except Exception as exc:  # flexbuffers raises assorted errors on bad data
        raise _Corrupt(f"{where}: undecodable custom options ({exc})") from None
    return decoded if isinstance(decoded, dict) else {"value": decoded}


# --------------------------------------------------------------- reading

_NP_DTYPES = {"float32": np.float32, "float16": np.float16, "int32": np.int32, "uint8": np.uint8,
              "int64": np.int64, "bool": np.bool_, "int16": np.int16, "int8": np.int8,
              "float64": np.float64, "uint32": np.uint32, "uint16": np.uint16, "uint64": np.uint64}


def parse_tflite(buf: bytes, source: str = "<bytes>") -> Graph:
    """Parse flatbuffer bytes; ``source`` names the file in error messages."""
    if len(buf) < 8 or buf[4:8] != FILE_IDENTIFIER:
        raise BnnkitError(f"{source}: not a TFLite flatbuffer (no 'TFL3' identifier)")
    try:
        return _parse(buf, source)
    except (_Corrupt, struct.error) as exc:
        raise BnnkitError(f"{source}: truncated or corrupt flatbuffer ({exc})") from None


def _parse(buf: bytes, source: str) -> Graph:
    model = _Table(buf, _u32(buf, 0))
    opcodes = []
    for oc in model.tables(1):
        builtin = max(oc.scalar(0, "b"), oc.scalar(3, "i"))
        custom = oc.string(1)
        if custom:
            opcodes.append((custom, True))
        else:
            opcodes.append((BUILTIN_OPS.get(builtin, f"BUILTIN_{builtin}"), False))
    buffers = []
    for b in model.tables(4):
        offset = b.scalar(1, "Q")
        if offset:
            size = b.scalar(2, "Q")
            _check(buf, offset, size)
            buffers.append(buf[offset:offset + size])
        else:
            buffers.append(b.bytes(0))
    subgraphs = model.tables(2)
    if not subgraphs:
        raise _Corrupt("no subgraph")
    if len(subgraphs) > 1:
        raise BnnkitError(f"{source}: {len(subgraphs)} subgraphs; bnnkit supports single-subgraph models")
    sg = subgraphs[0]

    tensors = []
    for i, t in enumerate(sg.tables(0)):
        shape = tuple(t.vector(0, "i"))
        dtype = TENSOR_TYPES.get(t.scalar(1, "b"), f"type{t.scalar(1, 'b')}")
        name = t.string(3)
        bidx = t.scalar(2, "I")
        data = None
        if bidx and bidx < len(buffers) and buffers[bidx]:
            raw = buffers[bidx]
            np_dtype = _NP_DTYPES.get(dtype)
            if np_dtype is None:
                raise _Corrupt(f"tensor {name}: constant of unsupported type {dtype}")
            if len(raw) % np.dtype(np_dtype).itemsize:
                raise _Corrupt(f"tensor {name}: {len(raw)} bytes is not a whole number of "
                               f"{dtype} values")
            arr = np.frombuffer(raw, dtype=np_dtype)
            if any(d < 0 for d in shape):  # -1 (unknown) is for activations, not constants
                raise _Corrupt(f"tensor {name}: constant of shape {shape}")
            count = math.prod(shape)
            if arr.size != count:
                raise _Corrupt(f"tensor {name}: {arr.size} values for shape {shape}")
            data = arr.reshape(shape)
        scale, zero_point, axis = _quantization(t.table(4), name)
        tensors.append(Tensor(i, name, shape, dtype, data, scale, zero_point, axis))

    ops = []
    for i, o in enumerate(sg.tables(3)):
        idx = o.scalar(0, "I")
        if idx >= len(opcodes):
            raise _Corrupt(f"operator {i}: opcode index {idx} out of range")
        op_type, custom = opcodes[idx]
        inputs = o.vector(1, "i")
        outputs = o.vector(2, "i")
        for t in inputs + outputs:  # -1 marks an omitted optional input only
            if t >= len(tensors) or t < -1 or (t == -1 and (t in outputs or t == inputs[0])):
                raise _Corrupt(f"operator {i}: tensor index {t} out of range")
        if custom:
            options = _custom_options(o.bytes(5), f"operator {i} ({op_type})")
        else:
            options = _builtin_options(op_type, o.table(4))
        ops.append(Op(i, op_type, inputs, outputs, options, custom))
    inputs, outputs = sg.vector(1, "i"), sg.vector(2, "i")
    for t in inputs + outputs:
        if not 0 <= t < len(tensors):
            raise _Corrupt(f"model input/output tensor index {t} out of range")
    return Graph(tensors, ops, inputs, outputs, model.string(3))


def _quantization(q: _Table | None, name: str):
    """(scale float32[], zero_point int64[], axis) of a tensor's affine
    quantization, or (None, None, 0) when it has none (min/max alone is not)."""
    if q is None:
        return None, None, 0
    scale = np.array(q.vector(2, "f"), np.float32)
    zero_point = np.array(q.vector(3, "q"), np.int64)
    if scale.size == 0:
        return None, None, 0
    if zero_point.size not in (0, scale.size):
        raise _Corrupt(f"tensor {name}: {scale.size} scales but {zero_point.size} zero points")
    if zero_point.size == 0:
        zero_point = np.zeros(scale.size, np.int64)
    return scale, zero_point, q.scalar(6, "i")


def read_tflite(path: str | Path) -> Graph:
    """Read a ``.tflite`` file; a missing or corrupt file is a BnnkitError."""
    path = Path(path)
    if not path.is_file():
        raise BnnkitError(f"{path}: no such file")
    return parse_tflite(path.read_bytes(), str(path))
