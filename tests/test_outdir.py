"""gen-firmware -o over existing folders: bnnkit replaces only what it wrote."""

from helpers import MODELS, run_cli


def test_regenerating_keeps_the_users_files(tmp_path):
    out = tmp_path / "p"
    assert run_cli("gen-firmware", MODELS / "qconvnet.tflite", "-o", out,
                   "--name", "net").returncode == 0
    (out / "thesis.tex").write_text("mine")
    (out / "notes").mkdir()
    (out / "net" / "mine.c").write_text("/* mine */")  # the user's, inside the library
    assert (out / "net" / "bnn_bmaxpool.c").exists() is False
    before = set(p.name for p in (out / "net").iterdir())
    # another model: its kernels differ; the old ones go, the user's files stay
    res = run_cli("gen-firmware", MODELS / "lenet_bin3.tflite", "-o", out, "--name", "net")
    assert res.returncode == 0, res.stderr
    after = set(p.name for p in (out / "net").iterdir())
    assert {"thesis.tex", "notes"} <= set(p.name for p in out.iterdir())
    assert (out / "thesis.tex").read_text() == "mine" and "mine.c" in after
    assert "bnn_bconv2d.c" in before and "bnn_bconv2d.c" not in after
    assert "bnn_binary_dense.c" in after


def test_symlinked_and_file_outputs(tmp_path):
    real = tmp_path / "real"
    assert run_cli("gen-firmware", MODELS / "lenet_bin3.tflite", "-o", real).returncode == 0
    link = tmp_path / "link"
    link.symlink_to(real)
    res = run_cli("gen-firmware", MODELS / "lenet_bin3.tflite", "-o", link)
    assert res.returncode == 0 and "Traceback" not in res.stderr, res.stderr
    assert link.is_symlink() and (real / "lenet_bin3" / "lenet_bin3.h").is_file()
    afile = tmp_path / "afile"
    afile.write_text("x")
    res = run_cli("gen-firmware", MODELS / "lenet_bin3.tflite", "-o", afile)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert ("is a file" in res.stderr or "not a folder" in res.stderr) and afile.read_text() == "x"


def test_a_file_name_cannot_break_out_of_comments(tmp_path):
    evil = tmp_path / "m\n$(shell touch pwned)\n#error x.tflite"  # no '/' in a file name
    evil.write_bytes((MODELS / "lenet_bin3.tflite").read_bytes())
    out = tmp_path / "p"
    res = run_cli("gen-firmware", evil, "-o", out)
    assert res.returncode == 0, res.stderr
    import subprocess

    build = subprocess.run(["make", "-C", str(out / "app")], capture_output=True, text=True)
    assert build.returncode == 0, build.stderr
    assert not (out / "pwned").exists() and not (tmp_path / "pwned").exists()
    lib = out / "m_shell_touch_pwned_error_x"  # the file name as a C identifier
    for f in (out / "app" / "Makefile", lib / f"{lib.name}.c", lib / f"{lib.name}.h",
              lib / f"{lib.name}_data.c", lib / f"{lib.name}.mk", lib / "CMakeLists.txt"):
        text = f.read_text()
        assert "$(shell touch pwned)\n" not in text and "\n#error" not in text
