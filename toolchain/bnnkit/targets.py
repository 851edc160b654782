"""Targets: compiler, flags, board support, memory budgets, how to run."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from .errors import BnnkitError

# the C runtime (kernels, templates, boards, harness): package data, so an installed
# bnnkit generates from any folder
RUNTIME_DIR = Path(__file__).resolve().parent / "runtime"
# every generated Makefile compiles with these (after the user's CFLAGS)
COMMON_CFLAGS = "-std=c99 -Wall -Wextra -Werror -ffp-contract=off"


@dataclass(frozen=True)
class Target:
    name: str
    board: str  # folder under runtime/boards
    makefile: str  # runtime/templates/Makefile.<makefile>.j2
    cc: str
    apt_package: str
    flash_kib: int | None  # default budgets (None: no limit)
    ram_kib: int | None
    emulator: str | None  # QEMU binary (None: runs natively)
    emulator_package: str | None = None  # apt package holding the emulator
    machine: str | None = None  # qemu-system-arm -M board (None: user-mode emulation)
    arch_flags: str = ""  # -mcpu and float ABI of a bare-metal board's Makefile
    exe: str = "model"  # what the generated Makefile builds
    dsp: bool = False  # Arm's DSP extension (SMLAD): int8 conv weights stored widened
    small_core: bool = False  # Cortex-M (BNN_SMALL_CORE): float conv weights in channel blocks
    # binary conv weights interleaved this many words at a time: 3 fit 32-bit cores'
    # registers, 4 (128 bits) arm64's NEON registers
    bconv_chunk_words: int = 3
    ld_script: str = "mps2.ld"  # a bare-metal board's linker script (in its board folder)
    emulator_args: tuple = ()  # more qemu-system options (the virt machine: no firmware)
    semihost_argv0: bool = True  # the semihosting command line starts with the program
    summary: str = ""  # one line for --help
    clang_args: tuple = ()  # clang's flags for this core (the tests build every kernel with it)

    @property
    def tool_prefix(self) -> str:
        """Binutils prefix of the compiler (``arm-none-eabi-`` for nm, size)."""
        return self.cc.removesuffix("gcc")

    def run_command(self, exe: str, images: str, out: str, log: str | None = None) -> list:
        """How the built program ``exe`` (run in its folder) classifies the file
        ``images`` into ``out``: QEMU with semihosting for a bare-metal board,
        user-mode QEMU for a Linux binary, else the program itself. ``log``:
        QEMU's execution log (instruction counting).

        Example:
            >>> get_target("arm64").run_command("model", "images.bin", "out.txt")
            ['qemu-aarch64', './model', 'images.bin', 'out.txt']
        """
        trace = ["-d", "in_asm,exec,nochain", "-D", log] if log else []
        if self.machine:  # a bare-metal board: files and exit by semihosting
            args = ([exe] if self.semihost_argv0 else []) + [images, out]
            return [self.emulator, "-M", self.machine, *self.emulator_args, "-nographic",
                    "-monitor", "none", "-serial", "none", "-semihosting-config",
                    "enable=on,target=native," + ",".join(f"arg={a}" for a in args),
                    "-kernel", exe] + trace
        if self.emulator:
            return [self.emulator] + trace + [f"./{exe}", images, out]
        return [f"./{exe}", images, out]

    def run_recipe(self) -> str:
        """:meth:`run_command` as the generated Makefile's ``run`` recipe."""
        text = " ".join(self.run_command(self.exe, "images.bin", "predictions.txt"))
        for option in (" -semihosting-config", " -kernel"):  # long lines, broken
            text = text.replace(option, " \\\n\t " + option)
        return text

    def check_tools(self):
        if shutil.which(self.cc) is None:
            raise BnnkitError(f"{self.cc} not found: install it with "
                              f"'apt-get install {self.apt_package}' (or run 'make setup')")

    def budget(self, flash_kib=None, ram_kib=None) -> tuple:
        """(flash KiB, RAM KiB): the options, else the target's defaults (None: no limit)."""
        return (flash_kib if flash_kib is not None else self.flash_kib,
                ram_kib if ram_kib is not None else self.ram_kib)

    def check_firmware(self, figures: dict, source: str, flash_kib=None, ram_kib=None,
                       stack: str = "measured"):
        """Refuse a linked firmware over the budget, saying by how much and where
        the bytes go. ``figures``: flash_bytes, model_flash_bytes, code_flash_bytes,
        ram_bytes, arena_bytes, stack_bytes (``stack``: how it was found).

        Example:
            >>> get_target("cortex-m4").check_firmware(dict(flash_bytes=76628,
            ...     model_flash_bytes=31156, code_flash_bytes=7999, ram_bytes=9904,
            ...     arena_bytes=8992, stack_bytes=912), "m.tflite", flash_kib=40)
            Traceback (most recent call last):
            bnnkit.errors.BnnkitError: m.tflite: does not fit cortex-m4 flash: the firmware needs 76,628 bytes (model constants 31,156, model code and kernels 7,999, application and C library 37,473), 35,668 bytes over the 40 KiB budget (--flash-kib)
        """
        flash, ram = self.budget(flash_kib, ram_kib)
        f = figures
        if flash is not None and f["flash_bytes"] > flash * 1024:
            rest = f["flash_bytes"] - f["model_flash_bytes"] - f["code_flash_bytes"]
            raise BnnkitError(
                f"{source}: does not fit {self.name} flash: the firmware needs "
                f"{f['flash_bytes']:,} bytes (model constants {f['model_flash_bytes']:,}, model "
                f"code and kernels {f['code_flash_bytes']:,}, application and C library "
                f"{rest:,}), {f['flash_bytes'] - flash * 1024:,} bytes over the {flash} KiB "
                "budget (--flash-kib)")
        if ram is not None and f["ram_bytes"] > ram * 1024:
            rest = f["ram_bytes"] - f["arena_bytes"] - f["stack_bytes"]
            raise BnnkitError(
                f"{source}: does not fit {self.name} RAM: the firmware needs {f['ram_bytes']:,} "
                f"bytes (arena {f['arena_bytes']:,}, stack {f['stack_bytes']:,} {stack}, "
                f"other static data {rest:,}), {f['ram_bytes'] - ram * 1024:,} bytes over the "
                f"{ram} KiB budget (--ram-kib)")

    def check_budget(self, gen, source: str, flash_kib=None, ram_kib=None):
        """Refuse a model whose constants or arena alone exceed the budget.

        The exact flash/RAM of the linked firmware is measured after building
        (see :mod:`bnnkit.build`); this is the check before writing anything.
        """
        flash, ram = self.budget(flash_kib, ram_kib)
        if flash is not None and gen.model_bytes > flash * 1024:
            over = gen.model_bytes - flash * 1024
            raise BnnkitError(f"{source}: does not fit {self.name} flash: the model's constants "
                              f"need {gen.model_bytes:,} bytes, {over:,} bytes over the "
                              f"{flash} KiB budget (--flash-kib)")
        if ram is not None and gen.program.arena_bytes > ram * 1024:
            over = gen.program.arena_bytes - ram * 1024
            raise BnnkitError(f"{source}: does not fit {self.name} RAM: the activation arena needs "
                              f"{gen.program.arena_bytes:,} bytes, {over:,} bytes over the "
                              f"{ram} KiB budget (--ram-kib)")


_BARE_ARM = dict(board="mps2", makefile="mps2", cc="arm-none-eabi-gcc",
                 apt_package="gcc-arm-none-eabi libnewlib-arm-none-eabi",
                 emulator="qemu-system-arm", emulator_package="qemu-system-arm", exe="model.elf")



def _mps2(core: str, machine: str, float_flags: str, **more) -> Target:
    """A Cortex-M core on one of QEMU's MPS2 boards (1 MiB flash / 128 KiB RAM
    budgets: a typical part, not QEMU's memory)."""
    arch_flags = f"-mcpu={core} -mthumb {float_flags}"
    return Target(core, flash_kib=1024, ram_kib=128, machine=machine, small_core=True,
                  arch_flags=arch_flags, clang_args=("--target=arm-none-eabi", *arch_flags.split(),
                                                     "-isystem", "/usr/lib/arm-none-eabi/include"),
                  **_BARE_ARM, **more)


TARGETS = {
    "host": Target("host", "host", "host", "gcc", "gcc", None, None, None,
                   summary="this machine's gcc"),
    # The M3 has no FPU (soft-float)
    "cortex-m3": _mps2("cortex-m3", "mps2-an385", "-mfloat-abi=soft",
                       summary="arm-none-eabi-gcc for QEMU mps2-an385, soft-float (no FPU)"),
    # M4, M7 and M33: the DSP extension (SMLAD) and a single-precision FPU
    "cortex-m4": _mps2("cortex-m4", "mps2-an386", "-mfloat-abi=hard -mfpu=fpv4-sp-d16", dsp=True,
                       summary="arm-none-eabi-gcc for QEMU mps2-an386"),
    "cortex-m7": _mps2("cortex-m7", "mps2-an500", "-mfloat-abi=hard -mfpu=fpv5-sp-d16", dsp=True,
                       summary="arm-none-eabi-gcc for QEMU mps2-an500"),
    "cortex-m33": _mps2("cortex-m33", "mps2-an505", "-mfloat-abi=hard -mfpu=fpv5-sp-d16",
                        dsp=True, ld_script="mps2-an505.ld",
                        summary="arm-none-eabi-gcc for QEMU mps2-an505 (secure state)"),
    # rv32imafc with hard float (ilp32f) and picolibc; QEMU's virt machine
    "riscv32": Target("riscv32", "riscv-virt", "riscv", "riscv64-unknown-elf-gcc",
                      "gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf", 1024, 128,
                      "qemu-system-riscv32", emulator_package="qemu-system-misc",
                      machine="virt", arch_flags="-march=rv32imafc -mabi=ilp32f",
                      exe="model.elf", emulator_args=("-bios", "none"), semihost_argv0=False,
                      summary="rv32imafc with picolibc for QEMU's virt machine",
                      clang_args=("--target=riscv32-unknown-elf", "-march=rv32imafc",
                                  "-mabi=ilp32f", "-isystem",
                                  "/usr/lib/picolibc/riscv64-unknown-elf/include")),
    "arm64": Target("arm64", "arm64-linux", "arm64", "aarch64-linux-gnu-gcc",
                    "gcc-aarch64-linux-gnu libc6-dev-arm64-cross", None, None, "qemu-aarch64",
                    emulator_package="qemu-user", bconv_chunk_words=4,
                    summary="static aarch64 Linux binary for qemu-aarch64",
                    clang_args=("--target=aarch64-linux-gnu", "-isystem",
                                "/usr/aarch64-linux-gnu/include")),
}


@dataclass(frozen=True)
class Part:
    part: str
    target: str  # the bnnkit target with its core
    flash_kib: int
    ram_kib: int
    source: str  # where the sizes come from


# Parts for analyze --board: each names its core's target. Memory from their data sheets (on-chip flash; all SRAM the
# core can use for data). The RP2040 (Cortex-M0+) is not here: bnnkit has no
# ARMv6-M target.
PARTS = {
    "stm32f407": Part("STM32F407VG", "cortex-m4", 1024, 192,
                       "ST DS8626: 1 MB flash, 192 KB SRAM (incl. 64 KB CCM)"),
    "stm32l476": Part("STM32L476RG", "cortex-m4", 1024, 128,
                       "ST DS10198: 1 MB flash, 128 KB SRAM (96 KB SRAM1 + 32 KB SRAM2)"),
    "nrf52840": Part("nRF52840", "cortex-m4", 1024, 256,
                      "Nordic nRF52840 Product Specification: 1 MB flash, 256 KB RAM"),
    "stm32f746": Part("STM32F746NG", "cortex-m7", 1024, 320,
                       "ST DS10916: 1 MB flash, 320 KB RAM (incl. 64 KB DTCM)"),
    "nrf5340": Part("nRF5340 (application core)", "cortex-m33", 1024, 512,
                     "Nordic nRF5340 Product Specification: 1 MB flash, 512 KB RAM"),
    "stm32u585": Part("STM32U585AI", "cortex-m33", 2048, 786,
                       "ST DS13086: 2 MB flash, 786 KB SRAM"),
}


def get_target(name: str) -> Target:
    try:
        return TARGETS[name]
    except KeyError:
        raise BnnkitError(f"unknown target {name!r} (choose from {', '.join(TARGETS)})") from None


assert all(p.target in TARGETS for p in PARTS.values()), "a part names an unknown target"
