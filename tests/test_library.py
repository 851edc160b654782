"""The generated library as a firmware engineer uses it: namespaced, caller-owned
arena, several models in one firmware, CMake and Make consumers with their own
flags."""

import shutil
import subprocess

import numpy as np
import pytest

from helpers import MODELS, needs_fashion, run_cli

from bnnkit.targets import RUNTIME_DIR

BOARD = RUNTIME_DIR / "boards"
HARNESS = RUNTIME_DIR / "harness"

# Two models side by side: one line per image, each model's class and scores
# as hex (int8 or float bit patterns), then the count.
TWO_MODELS_MAIN = r"""
#include <stdio.h>
#include <string.h>

#include "board.h"
#include "lenet_bin3.h"
#include "qconvnet.h"

static uint8_t image[LENET_BIN3_INPUT_SIZE];
static lenet_bin3_output_t a[LENET_BIN3_OUTPUT_SIZE];
static qconvnet_output_t b[QCONVNET_OUTPUT_SIZE];
static qconvnet_arena_t arena; /* qconvnet was generated with --arena caller */

static void print_scores(FILE *out, const float *s, int n, int32_t best)
{
    int k;
    fprintf(out, " %ld", (long)best);
    for (k = 0; k < n; k++) {
        uint32_t u;
        memcpy(&u, &s[k], 4);
        fprintf(out, " %08lx", (unsigned long)u);
    }
}

int main(int argc, char **argv)
{
    FILE *in, *out;
    long n = 0;
    board_init();
    in = fopen(argc > 1 ? argv[1] : "images.bin", "rb");
    out = fopen(argc > 2 ? argv[2] : "predictions.txt", "w");
    if (!in || !out)
        board_exit(3);
    if (qconvnet_run(NULL, image, b) != QCONVNET_ERR_ARENA)
        board_exit(5);
    while (fread(image, 1, sizeof image, in) == sizeof image) {
        int32_t class_a, class_b;
        if (lenet_bin3_run(image, a) != LENET_BIN3_OK || qconvnet_run(&arena, image, b) != QCONVNET_OK
            || lenet_bin3_classify(image, &class_a) != LENET_BIN3_OK
            || qconvnet_classify(&arena, image, &class_b) != QCONVNET_OK)
            board_exit(4);
        print_scores(out, a, LENET_BIN3_OUTPUT_SIZE, class_a);
        print_scores(out, b, QCONVNET_OUTPUT_SIZE, class_b);
        fprintf(out, "\n");
        n++;
    }
    fprintf(out, "# images %ld\n", n);
    fclose(in);
    fclose(out);
    board_exit(0);
    return 0;
}
"""


def _generate(tmp_path, model, target, *options):
    out = tmp_path / model
    res = run_cli("gen-firmware", MODELS / f"{model}.tflite", "--target", target, "-o", out,
                  *options)
    assert res.returncode == 0, res.stderr
    return out


def _read_two(path, n_out):
    """Each model's scores; each line's classes (from NAME_classify) checked
    against the scores' argmax."""
    rows = [line.split() for line in path.read_text().splitlines() if not line.startswith("#")]
    assert path.read_text().splitlines()[-1] == f"# images {len(rows)}"
    words = np.array([[int(w, 16) for w in r[1:1 + n_out] + r[2 + n_out:]] for r in rows],
                     dtype=np.uint32)
    a, b = words[:, :n_out].view(np.float32), words[:, n_out:].view(np.float32)
    classes = np.array([[int(r[0]), int(r[1 + n_out])] for r in rows])
    assert np.array_equal(classes, np.stack([a.argmax(1), b.argmax(1)], axis=1))
    return a, b


@needs_fashion
def test_two_models_in_one_cortex_m4_firmware(tmp_path):
    """lenet_bin3 (static arena) and qconvnet (caller's arena) link into one
    firmware and each gives LCE's bytes; every symbol either library defines
    starts with its name."""
    from bnnkit import data
    from bnnkit.build import run_checked
    from bnnkit.device import run_device
    from bnnkit.emit import generate
    from bnnkit.simulate import reference_outputs
    from bnnkit.targets import get_target

    target = get_target("cortex-m4")
    libs = {"lenet_bin3": _generate(tmp_path, "lenet_bin3", "cortex-m4", "--no-app"),
            "qconvnet": _generate(tmp_path, "qconvnet", "cortex-m4", "--no-app", "--arena",
                                  "caller")}
    for name, out in libs.items():
        assert sorted(p.name for p in out.iterdir()) == [".bnnkit-files", name]
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.c").write_text(TWO_MODELS_MAIN)
    for f in ("board.c", "startup.c", "mps2.ld"):
        shutil.copy(BOARD / "mps2" / f, app / f)
    shutil.copy(HARNESS / "board.h", app / "board.h")
    (app / "Makefile").write_text(
        "CC := arm-none-eabi-gcc\n"
        f"ARCH := {target.arch_flags}\n"
        + "".join(f"include {libs[n]}/{n}/{n}.mk\n" for n in libs)
        + "CFLAGS := $(ARCH) -O2 -std=c99 -Wall -Wextra -Werror $(LENET_BIN3_CFLAGS) "
          "$(QCONVNET_CFLAGS)\n"
        "SRCS := main.c board.c startup.c $(LENET_BIN3_SRCS) $(QCONVNET_SRCS)\n"
        "model.elf: $(SRCS)\n"
        "\t$(CC) $(CFLAGS) --specs=rdimon.specs -T mps2.ld -o $@ $(SRCS) -lm\n")
    run_checked(["make", "-s", "-C", str(app)], "make", 300)
    exe = app / "model.elf"
    nm = subprocess.run(["arm-none-eabi-nm", "-g", "--defined-only", str(exe)],
                        capture_output=True, text=True, check=True).stdout
    for name in libs:
        assert f"{name}_run" in nm and f"{name}_bnn_xor_popcount" in nm

    pixels = data.load_fashion_mnist("test").images[:20]
    pixels.tofile(app / "images.bin")
    run_device(target, exe, app / "images.bin", app / "predictions.txt", 300)
    got = dict(zip(libs, _read_two(app / "predictions.txt", 10)))
    for name in libs:
        gen = generate(MODELS / f"{name}.tflite", "cortex-m4", tmp_path / f"ref-{name}")
        ref = reference_outputs(gen, pixels)
        assert got[name].shape == (20, 10)
        assert np.array_equal(got[name].view(np.uint32), ref.view(np.uint32)), name


def test_library_symbols_are_namespaced(tmp_path):
    """Every global symbol of the library's objects starts with NAME_; the
    header guard and macros with NAME in capitals."""
    out = _generate(tmp_path, "lenet_bin3_int8", "host", "--name", "kws", "--no-app")
    lib = out / "kws"
    files = (lib / "files.txt").read_text().split()
    assert {"kws.h", "kws.c", "kws_data.c", "CMakeLists.txt", "kws.mk"} <= set(files)
    assert sorted(files + ["files.txt"]) == sorted(p.name for p in lib.iterdir())
    header = (lib / "kws.h").read_text()
    assert "#ifndef KWS_H" in header and "int kws_run(const kws_input_t *pixels" in header
    assert "not reentrant" in header
    objs = []
    for src in (f for f in files if f.endswith(".c")):
        obj = tmp_path / (src + ".o")
        subprocess.run(["gcc", "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-c",
                        str(lib / src), "-o", str(obj)], check=True)
        objs.append(str(obj))
    nm = subprocess.run(["nm", "-g", "--defined-only", *objs], capture_output=True, text=True,
                        check=True).stdout
    symbols = [line.split()[2] for line in nm.splitlines() if len(line.split()) == 3]
    assert symbols and all(s.startswith("kws_") for s in symbols), symbols


@pytest.mark.parametrize("name,says", [
    ("2net", "not a C identifier"), ("a-b", "not a C identifier"), ("int", "C keyword"),
    ("bnn_net", "not starting with bnn"), ("x" * 33, "at most 32 characters"),
    ("board", "not app, board or startup"), ("app", "not app, board or startup"),
])
def test_bad_library_names_are_refused(tmp_path, name, says):
    res = run_cli("gen-firmware", MODELS / "lenet_bin3.tflite", "-o", tmp_path / "p",
                  "--name", name)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert says in res.stderr and len(res.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "p").exists()


def _consumer_scores(exe, images, n_out):
    out = exe.parent / "predictions.txt"
    subprocess.run([str(exe), str(images), str(out)], check=True, timeout=300)
    lines = [line.split() for line in out.read_text().splitlines() if not line.startswith("#")]
    return np.array([[int(w, 16) for w in parts[1:]] for parts in lines], dtype=np.uint32)


@needs_fashion
@pytest.mark.parametrize("model", ["lenet_float", "lenet_bin3"])
def test_consumers_with_their_own_flags_get_the_same_bytes(tmp_path, model):
    """The library built by a CMake project and a Make project with the user's
    flags (-O3 -march=native, gnu99, gcc's default contraction, and clang)
    gives the bytes of the generated application, which are LCE's."""
    from bnnkit import data
    from bnnkit.emit import generate
    from bnnkit.simulate import reference_outputs

    out = _generate(tmp_path, model, "host")
    lib = out / model
    pixels = data.load_fashion_mnist("test").images[:300]
    images = tmp_path / "images.bin"
    pixels.tofile(images)
    subprocess.run(["make", "-s", "-C", str(out / "app")], check=True)
    expected = _consumer_scores(out / "app" / "model", images, 10)
    gen = generate(MODELS / f"{model}.tflite", "host", tmp_path / "ref")
    assert np.array_equal(expected, reference_outputs(gen, pixels).view(np.uint32))

    # a Make consumer: the harness and the library, the user's flags only
    make_dir = tmp_path / "make-consumer"
    make_dir.mkdir()
    for f in ("main.c", "board.c", "board.h", "app_model.h"):
        shutil.copy(out / "app" / f, make_dir / f)
    builds = [("gcc", "-O3 -march=native -std=gnu99"), ("gcc", "-O2 -ffp-contract=fast -std=gnu11")]
    if shutil.which("clang"):
        builds.append(("clang", "-O3 -march=native -std=gnu99"))
    for cc, flags in builds:
        (make_dir / "Makefile").write_text(
            f"include {lib}/{model}.mk\n"
            f"CC := {cc}\nCFLAGS := {flags} $({model.upper()}_CFLAGS)\n"
            f"SRCS := main.c board.c $({model.upper()}_SRCS)\n"
            "model: $(SRCS)\n\t$(CC) $(CFLAGS) -o $@ $(SRCS) -lm\n")
        subprocess.run(["make", "-s", "-B", "-C", str(make_dir)], check=True)
        got = _consumer_scores(make_dir / "model", images, 10)
        assert np.array_equal(got, expected), (cc, flags)

    # a CMake consumer: add_subdirectory + target_link_libraries
    if shutil.which("cmake") is None:
        pytest.skip("cmake not installed")
    cm = tmp_path / "cmake-consumer"
    cm.mkdir()
    for f in ("main.c", "board.c", "board.h", "app_model.h"):
        shutil.copy(out / "app" / f, cm / f)
    (cm / "CMakeLists.txt").write_text(
        "cmake_minimum_required(VERSION 3.13)\nproject(consumer C)\n"
        f"add_subdirectory({lib} lib)\n"
        "add_executable(model main.c board.c)\n"
        f"target_link_libraries(model PRIVATE {model})\n")
    build = tmp_path / "cmake-build"
    subprocess.run(["cmake", "-S", str(cm), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
                    "-DCMAKE_C_FLAGS=-march=native"], check=True, capture_output=True)
    subprocess.run(["cmake", "--build", str(build)], check=True, capture_output=True)
    assert np.array_equal(_consumer_scores(build / "model", images, 10), expected)


def test_images_and_make_run_by_hand(small_fashion_dir, tmp_path):
    """The README's by-hand path: bnnkit images, then 'make run' in the app
    folder prints the first classes by name and writes one line per image."""
    out = _generate(tmp_path, "lenet_bin3", "host")
    images = out / "app" / "images.bin"
    res = run_cli("images", "fashion-mnist", "--limit", "12", "-o", images,
                  "--data-dir", small_fashion_dir)
    assert res.returncode == 0, res.stderr
    assert images.stat().st_size == 12 * 784
    labels = np.fromfile(images.with_name("images.bin.labels"), dtype=np.uint8)
    assert labels.tolist() == [i % 10 for i in range(12)]  # the small set's classes
    run = subprocess.run(["make", "-s", "-C", str(out / "app"), "run"], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    lines = (out / "app" / "predictions.txt").read_text().splitlines()
    assert lines[12] == "# images 12" and all(len(line.split()) == 11 for line in lines[:12])
    names = [line.split(": ", 1)[1] for line in run.stdout.splitlines() if line.startswith("image ")]
    import json

    classes = json.loads((MODELS / "lenet_bin3.json").read_text())["class_names"]
    assert names == [classes[int(line.split()[0])] for line in lines[:10]]


def _scores(path):
    lines = [line.split() for line in path.read_text().splitlines() if not line.startswith("#")]
    return np.array([[int(w, 16) for w in parts] for parts in lines], dtype=np.uint32)


SHIPPED = sorted(p.stem for p in MODELS.glob("*.tflite"))
# these two also through gcc -O3 and clang -O0; the rest through gcc -O2
EVERY_COMPILER = ("lenet_bin3", "qconvnet")


@pytest.mark.parametrize("model", SHIPPED)
def test_a_library_made_for_one_core_gives_the_same_bytes_built_for_another(tmp_path, model):
    """The cortex-m4 and arm64 libraries of every shipped model (float conv
    weights laid out for those cores, int8 rows for SMLAD) built on this host
    give the host library's bytes: the library says its layout, the compiler
    does not pick it."""
    from bnnkit import preprocess
    from bnnkit.emit import generate

    host = generate(MODELS / f"{model}.tflite", "host", tmp_path / "host", check_budget=False)
    assert preprocess.is_uint8(host.meta["preprocessing"])  # the harness reads pixels
    images = tmp_path / "images.bin"
    n_pixels = int(np.prod(host.input_shape))
    np.random.default_rng(0).integers(0, 256, (20, n_pixels), dtype=np.uint8).tofile(images)
    app = tmp_path / "host" / "app"
    subprocess.run(["make", "-s", "-C", str(app)], check=True)
    subprocess.run([str(app / "model"), str(images), str(app / "pred.txt")], check=True)
    expected = _scores(app / "pred.txt")
    assert len(expected) == 20
    builds = ((("gcc", "-O3"), ("clang", "-O0")) if model in EVERY_COMPILER
              else (("gcc", "-O2"),))
    layouts_differ = []
    for target in ("cortex-m4", "arm64"):
        generate(MODELS / f"{model}.tflite", target, tmp_path / target, app=False,
                 check_budget=False)
        name = host.name  # the model's file name as a C identifier, at most 32 characters
        lib = tmp_path / target / name
        if ((lib / f"{name}_data.c").read_bytes()
                != (tmp_path / "host" / name / f"{name}_data.c").read_bytes()):
            layouts_differ.append(target)
        consumer = tmp_path / f"consumer-{target}"
        consumer.mkdir()
        for f in ("main.c", "board.c", "board.h", "app_model.h"):
            shutil.copy(app / f, consumer / f)
        for cc, flags in builds:
            (consumer / "Makefile").write_text(
                f"include {lib}/{name}.mk\n"
                f"CFLAGS := {flags} -std=c99 -Wall -Wextra -Werror $({name.upper()}_CFLAGS)\n"
                f"SRCS := main.c board.c $({name.upper()}_SRCS)\n"
                f"model: $(SRCS)\n\t{cc} $(CFLAGS) -o $@ $(SRCS) -lm\n")
            subprocess.run(["make", "-s", "-B", "-C", str(consumer)], check=True)
            out = consumer / "pred.txt"
            subprocess.run([str(consumer / "model"), str(images), str(out)], check=True)
            assert np.array_equal(_scores(out), expected), (target, cc, flags)
    if model in EVERY_COMPILER:
        assert "cortex-m4" in layouts_differ, "the M4 library is the host's: the test proves nothing"


def test_the_host_library_in_a_cortex_m4_firmware(tmp_path):
    """The reverse: the host library (HWIO conv weights) linked into the M4
    firmware runs on QEMU with the M4 library's bytes."""
    from bnnkit.build import make
    from bnnkit.device import run_device
    from bnnkit.targets import get_target

    target = get_target("cortex-m4")
    images = tmp_path / "images.bin"
    np.random.default_rng(1).integers(0, 256, (6, 28, 28), dtype=np.uint8).tofile(images)
    m4 = _generate(tmp_path / "m4", "lenet_bin3", "cortex-m4")
    run_device(target, make(m4, target), images, m4 / "pred.txt", 300)
    mixed = _generate(tmp_path / "mixed", "lenet_bin3", "cortex-m4")
    host = _generate(tmp_path / "host", "lenet_bin3", "host", "--no-app")
    assert (host / "lenet_bin3" / "lenet_bin3_data.c").read_bytes() != \
        (mixed / "lenet_bin3" / "lenet_bin3_data.c").read_bytes()
    shutil.rmtree(mixed / "lenet_bin3")
    shutil.copytree(host / "lenet_bin3", mixed / "lenet_bin3")
    run_device(target, make(mixed, target), images, mixed / "pred.txt", 300)
    expected = _scores(m4 / "pred.txt")
    assert len(expected) == 6 and np.array_equal(_scores(mixed / "pred.txt"), expected)


def test_generate_a_library_alone_from_python(tmp_path):
    """generate(app=False), as a user's script calls it: the library, no app."""
    from bnnkit.emit import generate

    gen = generate(MODELS / "lenet_bin3.tflite", "cortex-m4", tmp_path / "out", app=False)
    assert not (tmp_path / "out" / "app").exists()
    assert (tmp_path / "out" / "lenet_bin3" / "lenet_bin3.h").is_file()
    assert gen.program.arena_bytes > 0
