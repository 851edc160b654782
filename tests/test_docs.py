"""The generated docs pages are the code's: regenerating them changes nothing."""

import pytest

from bnnkit import docgen
from helpers import ROOT


@pytest.mark.parametrize("page", sorted(docgen.PAGES))
def test_generated_page_is_current(page):
    committed = (ROOT / "docs" / page).read_text(encoding="utf-8")
    assert committed == docgen.PAGES[page](), f"docs/{page} is stale: run 'make docs'"


def test_every_tflite_op_and_command_is_documented():
    from bnnkit.cli import main
    from bnnkit.ops import REGISTRY

    ops = docgen.ops_table()
    for kind in REGISTRY.values():
        for op in kind.tflite:
            assert f"| {op} | {kind.dtype} |" in ops
    cli = docgen.cli_reference()
    for name in main.commands:
        assert f"## bnnkit {name}\n" in cli
    assert "Refuses:" in ops and "dilated convolution" in ops
