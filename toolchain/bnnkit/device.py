"""Emulated devices: run firmware under QEMU, measure flash, RAM, instructions.

cortex-m3, -m4, -m7, -m33: ``qemu-system-arm -M mps2-an385`` / ``an386`` / ``an500``
           / ``an505`` (the target's ``machine``) with semihosting (files, exit).
riscv32:   ``qemu-system-riscv32 -M virt -bios none``, picolibc's semihosting.
arm64:     ``qemu-aarch64`` running the static Linux binary.

Instructions per inference are counted from QEMU's ``-d in_asm,exec,nochain``
log: every executed translation block adds its instruction count, between the
harness's ``bnn_marker_begin`` and ``bnn_marker_end`` calls. QEMU models no
cycles, so this is a deterministic instruction count, not a cycle count.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from .build import copy_sources, make, run_checked, write_images
from .errors import BnnkitError
from .outdir import temp_dir


def _qemu_cmd(target, exe: Path, images: str, out: str, log: str | None = None) -> list:
    if not target.emulator:
        raise BnnkitError(f"target {target.name} has no emulator")
    return target.run_command(exe.name, images, out, log)


def _emulator_found(target) -> bool:
    import shutil

    return bool(target.emulator) and shutil.which(target.emulator) is not None


def _check_emulator(target):
    if not _emulator_found(target):
        raise BnnkitError(f"{target.emulator} not found: install it with "
                          f"'apt-get install {target.emulator_package}'")


def run_device(target, exe: Path, images_file: Path, out_file: Path, timeout: float) -> None:
    """Run the firmware on the emulator; files are exchanged in exe's folder."""
    _check_emulator(target)
    workdir = exe.parent
    local_in = workdir / "images.bin"
    if images_file.resolve() != local_in.resolve():
        local_in.write_bytes(images_file.read_bytes())
    local_out = workdir / "predictions.txt"
    local_out.unlink(missing_ok=True)
    run_checked(_qemu_cmd(target, exe, "images.bin", "predictions.txt"),
                f"{target.emulator} ({exe})", timeout, cwd=workdir)
    if local_out.resolve() != Path(out_file).resolve():
        Path(out_file).write_bytes(local_out.read_bytes())


def _symbols(target, exe: Path) -> dict:
    out = subprocess.run([target.tool_prefix + "nm", str(exe)], capture_output=True,
                         text=True, check=True).stdout
    syms = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3:
            syms[parts[2]] = int(parts[0], 16) & ~1  # Thumb bit off
    return syms


def count_instructions(log: Path, begin: int, end: int) -> int:
    """Sum the instructions of the blocks executed between the two markers."""
    return sum(count_segments(log, begin, end))


def count_segments(log: Path, begin: int, end: int, mark: int | None = None) -> list[int]:
    """Instructions executed between the markers, split at each call of ``mark``
    (the mark function's own instructions are not counted): one figure without
    ``mark``; with it, what ran before its first call, then between calls."""
    block_size = {}
    segments = []
    total = 0
    counting = False
    current_pc = None
    current_n = 0
    trace = re.compile(r"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/")
    insn = re.compile(r"^0x([0-9a-f]+):")
    with open(log, errors="replace") as f:
        for line in f:
            if line.startswith("IN:"):
                current_pc, current_n = None, 0
                continue
            if line.startswith("Trace"):
                if current_pc is not None:
                    block_size[current_pc] = current_n
                    current_pc = None
                m = trace.match(line)
                if not m:
                    continue
                pc = int(m.group(1), 16)
                if pc == begin:
                    counting = True
                    total, segments = 0, []
                elif pc == end:
                    return segments + [total]
                elif pc == mark and counting:
                    segments.append(total)
                    total = 0
                elif counting:
                    total += block_size.get(pc, 0)
                continue
            m = insn.match(line)
            if m:
                if current_pc is None:
                    current_pc = int(m.group(1), 16)
                current_n += 1
            elif not line.strip() and current_pc is not None:
                block_size[current_pc] = current_n
                current_pc = None
    raise BnnkitError(f"{log}: the inference markers were not both executed", 1)


def instructions_per_inference(target, exe: Path, one_image, timeout: float,
                               per_layer: bool = False):
    """Instructions from the inference's begin marker to its end marker on one
    input; ``per_layer`` (a -DBNN_PROFILE build): the list split at each layer."""
    workdir = exe.parent
    import numpy as np

    write_images(workdir / "one.bin", one_image,
                 np.float32 if one_image.dtype == np.float32 else np.uint8)
    log = workdir / "qemu-exec.log"
    try:
        run_checked(_qemu_cmd(target, exe, "one.bin", "one.txt", log.name),
                    f"{target.emulator} ({exe})", timeout, cwd=workdir)
        syms = _symbols(target, exe)
        if per_layer:
            hook = next(v for k, v in syms.items() if k.endswith("_profile_layer"))
            return count_segments(log, syms["bnn_marker_begin"], syms["bnn_marker_end"], hook)
        return count_instructions(log, syms["bnn_marker_begin"], syms["bnn_marker_end"])
    finally:
        log.unlink(missing_ok=True)


def _object_text(target, objs) -> int:
    out = subprocess.run([target.tool_prefix + "size", *map(str, objs)],
                         capture_output=True, text=True, check=True).stdout
    return sum(int(line.split()[0]) + int(line.split()[1]) for line in out.splitlines()[1:])


def elf_sections(target, exe: Path) -> dict:
    out = subprocess.run([target.tool_prefix + "size", "-A", str(exe)], capture_output=True,
                         text=True, check=True).stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit():
            sizes[parts[0]] = int(parts[1])
    return sizes


FLASH_SECTIONS = re.compile(r"^\.(text|rodata|ARM\.exidx|init_array|fini_array|eh_frame|"
                            r"gcc_except_table|data|tdata|sdata|srodata|init|fini|plt|rela\.\w+|got|note\..*)")
RAM_SECTIONS = re.compile(r"^\.(data|bss|tdata|tbss|got|sdata|sbss)$")


def linked_figures(gen, exe: Path, io_buffer_bytes: int = 0) -> dict:
    """flash and static RAM of the linked ELF ``exe``, the flash split into the
    model's constants (NAME_data.o), its code (NAME.o and the kernels) and the
    rest (application, start-up, C library); the harness's image and score
    buffers (``io_buffer_bytes``) are not counted as RAM."""
    target = gen.target
    project = exe.parent
    sections = elf_sections(target, exe)
    flash = sum(v for k, v in sections.items() if FLASH_SECTIONS.match(k) and not k.startswith(".bss"))
    static_ram = sum(v for k, v in sections.items() if RAM_SECTIONS.match(k))
    kernel_objs = [project / f.replace(".c", ".o") for f in gen.program.kernel_files]
    return {
        "flash_bytes": flash,
        "static_ram_bytes": static_ram - io_buffer_bytes,
        "model_flash_bytes": _object_text(target, [project / f"{gen.name}_data.o"]),
        "code_flash_bytes": _object_text(target, kernel_objs + [project / f"{gen.name}.o"]),
    }


def io_buffer_bytes(target, exe: Path) -> int:
    """Bytes of the harness's static image and score buffers (symbols images
    and scores of main.c) in ``exe``: the application's, not the model's."""
    out = subprocess.run([target.tool_prefix + "nm", "-S", str(exe)], capture_output=True,
                         text=True, check=True).stdout
    sizes = [int(parts[1], 16) for parts in map(str.split, out.splitlines())
             if len(parts) == 4 and parts[3] in ("images", "scores")]
    return sum(sizes)


def stack_estimate(app_dir: Path, bound: bool = True) -> int:
    """The firmware's stack from gcc's -fcallgraph-info=su files (``*.ci``
    beside the objects: each function's frame and its calls), for bnnkit's
    code (application and library; the C library's frames are not known).

    ``bound``: the sum of every frame, as if each function called the next: an
    upper bound for code without recursion (what gen-firmware checks budgets
    with). Otherwise the deepest chain of calls from main, the estimate
    (``analyze``); a recursive chain falls back to the bound.
    """
    frames, calls = {}, {}
    for ci in sorted(app_dir.glob("*.ci")):
        for line in ci.read_text().splitlines():
            node = re.match(r'node: \{ title: "([^"]+)" label: "[^"]*\\n(\d+) bytes', line)
            if node:
                frames[node.group(1)] = max(frames.get(node.group(1), 0), int(node.group(2)))
            edge = re.match(r'edge: \{ sourcename: "([^"]+)" targetname: "([^"]+)"', line)
            if edge:
                calls.setdefault(edge.group(1), set()).add(edge.group(2))
    total = sum(frames.values())
    if bound:
        return total

    deepest = {}

    def depth(fn, path):
        if fn in path:
            raise RecursionError(fn)
        if fn not in deepest:
            deepest[fn] = frames.get(fn, 0) + max(
                (depth(c, path | {fn}) for c in calls.get(fn, ())), default=0)
        return deepest[fn]

    try:
        return depth("main", frozenset())
    except RecursionError:
        return total


STACK_MEASURED = "measured on the emulator, painted over one inference"
STACK_CALL_GRAPH = "the deepest call chain of bnnkit's code (gcc -fcallgraph-info)"


def emulator_available(target) -> bool:
    """A bare-metal target whose emulator is installed: its firmware can run here."""
    return bool(target.machine) and _emulator_found(target)


def linked_estimate(gen, project: Path, measure_stack: bool = True,
                    timeout: float = 600) -> dict:
    """The example firmware of ``project`` (a generated folder) built in a
    temporary copy: the linked ELF's flash and static RAM
    (:func:`linked_figures`), its stack and their sum as ``ram_bytes``: the
    one RAM figure analyze, gen-firmware and simulate report.

    The stack is measured where it can be, as simulate measures it: the
    firmware run once on the emulator (an all-zero input: the kernels' call
    chain does not depend on the data) with its stack painted. Without an
    emulator (or ``measure_stack`` false) it is the deepest call chain of
    bnnkit's code from gcc's -fcallgraph-info (:func:`stack_estimate`), which
    misses the C library's frames (16 bytes on lenet_bin3's M4 firmware).
    ``stack_source`` says which.

    Example:
        >>> linked_estimate(generate("m.tflite", "cortex-m4", "p"), Path("p"))  # doctest: +SKIP
        {'flash_bytes': 76684, ..., 'stack_bytes': 912, 'ram_bytes': 12944, ...}
    """
    import numpy as np

    with temp_dir("link") as tmp:
        copy = copy_sources(project, Path(tmp) / "p")
        exe = make(copy, gen.target, defines="-fcallgraph-info=su")
        linked = linked_figures(gen, exe, io_buffer_bytes(gen.target, exe))
        stack = None
        if measure_stack and emulator_available(gen.target):
            from .simulate import run_firmware

            zero = np.zeros((1,) + tuple(gen.input_shape), gen.input_dtype)
            stats = run_firmware(gen, exe, zero, timeout)[2]
            if stats.get("stack_bytes"):
                stack, source = int(stats["stack_bytes"]), STACK_MEASURED
        if stack is None:
            stack, source = stack_estimate(exe.parent, bound=False), STACK_CALL_GRAPH
    return dict(linked, stack_bytes=stack, stack_source=source,
                arena_bytes=gen.program.arena_bytes,
                ram_bytes=linked["static_ram_bytes"] + stack)


def device_figures(gen, exe: Path, one_image, workdir, timeout: float, stats: dict) -> dict:
    """flash/RAM of the ELF (the stack painted over the run: the figure
    :func:`linked_estimate` measures) and instructions per inference
    (deterministic)."""
    target = gen.target
    io = stats.get("io_buffer_bytes", 0)
    linked = linked_figures(gen, exe, io)
    return {
        "flash_bytes": linked["flash_bytes"],
        "ram_bytes": linked["static_ram_bytes"] + stats.get("stack_bytes", 0),
        "model_flash_bytes": linked["model_flash_bytes"],
        "code_flash_bytes": linked["code_flash_bytes"],
        "instructions_per_inference": instructions_per_inference(target, exe, one_image, timeout),
        "stack_bytes": stats.get("stack_bytes", 0),
        "io_buffer_bytes": io,
    }
