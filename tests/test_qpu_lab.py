"""The QPU view over local and remote QPUs, with its widget driven as a frontend would."""

from __future__ import annotations

import pytest

from qlab.exceptions import QlabTypeError
from qlab.lab import QPUView
from qlab.qpu import AllocationModel, DensityMatrixQPU, ReadoutMitigation, RemoteQPU
from qlab.sim import NoiseModel, ReadoutError


def test_view_of_a_remote_stack_shows_specs_plugins_and_limits():
    noise = NoiseModel().with_readout_error(ReadoutError(0.02, 0.05))
    with DensityMatrixQPU(noise).serve(0, "127.0.0.1", "threaded", background=True) as server:
        stack = ReadoutMitigation() | RemoteQPU(server.port, "127.0.0.1")
        stack.apply_resource_consumption_limits(AllocationModel(max_shots=1000))
        view = QPUView(stack)
        table = view.df().set_index("property")["value"]
        assert table["plugins"] == "ReadoutMitigation()"
        assert table["limits"] == "AllocationModel(max_shots=1000)"
        assert table["qpu"] == f"RemoteQPU({server.port}, host='127.0.0.1')"
        assert table["readout_fidelity_median"] == pytest.approx(1 - (0.02 + 0.05) / 2)
        box = view.widget()
        html_before = box.children[0].value
        assert "ReadoutMitigation()" in html_before and "<script" not in html_before
        box.children[1].click()
        assert box.children[0].value == html_before


def test_view_refuses_what_is_not_a_qpu():
    with pytest.raises(QlabTypeError, match="QPUView shows a qlab.qpu.QPUHandler, got str"):
        QPUView("qpu")
    assert "nbqbits: 14" in str(QPUView(DensityMatrixQPU()))
