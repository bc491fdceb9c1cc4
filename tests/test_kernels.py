"""The block product against a plain einsum, on every layout and on split (threaded) sizes."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import threadpoolctl

from qlab.sim import kernels
from qlab.sim.kernels import SPLIT_FROM, apply_block


def reference(src, matrix, before, k, after):
    return np.einsum("ij,ajb->aib", matrix, src.reshape(before, k, after)).reshape(-1)


SHAPES = [(1, 16, 4**6), (4**6, 16, 1), (4**3, 16, 4**3), (4**2, 4, 4**6), (1, 4, 4**7), (4**7, 4, 1), (4, 4, 4)]


@pytest.mark.parametrize("before,k,after", SHAPES)
def test_apply_block_matches_einsum(before, k, after):
    rng = np.random.default_rng(before * 31 + after)
    src = rng.normal(size=before * k * after)
    matrix = rng.normal(size=(k, k))
    dst = np.full_like(src, np.nan)
    apply_block(src, dst, matrix, before, k, after)
    np.testing.assert_allclose(dst, reference(src, matrix, before, k, after), rtol=1e-12, atol=1e-12)


def test_large_products_are_split_and_restore_the_blas_threads():
    before = threadpoolctl.threadpool_info()
    src = np.random.default_rng(0).normal(size=SPLIT_FROM * 4)
    dst = np.empty_like(src)
    tasks = kernels._tasks(src, dst, np.eye(16), 4, 16, SPLIT_FROM // 16, 2)
    assert len(tasks) == 2 and all(out.flags.c_contiguous for _, _, out in tasks)
    apply_block(src, dst, np.eye(16), 4, 16, SPLIT_FROM // 16)
    np.testing.assert_array_equal(dst, src)
    assert threadpoolctl.threadpool_info() == before


def test_concurrent_products_from_many_threads_agree_and_restore_the_blas_threads():
    before = threadpoolctl.threadpool_info()
    rng = np.random.default_rng(1)
    matrix = rng.normal(size=(16, 16))
    inputs = [rng.normal(size=SPLIT_FROM * 4) for _ in range(6)]
    outputs = [np.empty_like(x) for x in inputs]
    threads = [
        threading.Thread(target=apply_block, args=(x, y, matrix, 4**2, 16, SPLIT_FROM // 64))
        for x, y in zip(inputs, outputs)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for x, y in zip(inputs, outputs):
        np.testing.assert_allclose(y, reference(x, matrix, 4**2, 16, SPLIT_FROM // 64), rtol=1e-12, atol=1e-12)
    assert threadpoolctl.threadpool_info() == before
