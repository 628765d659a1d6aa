"""limit_malloc_arenas, counted in glibc's own report (`malloc_info`) in fresh interpreters."""

import os
import subprocess
import sys

import pytest

# Six threads alive at once, each allocating through malloc; then glibc's heaps are counted.
COUNT_ARENAS = """
import ctypes, sys, threading
from chargen_resources.malloc_arenas import limit_malloc_arenas
limited = limit_malloc_arenas() if sys.argv[1] == "limit" else None
if sys.argv[1] == "definitions":
    import chargen_assets.definitions  # what a run worker or code server loads first
together = threading.Barrier(6, timeout=30)
def work():
    held = bytearray(1 << 20)  # above pymalloc's sizes: straight from malloc
    together.wait()
threads = [threading.Thread(target=work) for _ in range(6)]
for thread in threads: thread.start()
for thread in threads: thread.join()
libc = ctypes.CDLL(None)
libc.open_memstream.restype = ctypes.c_void_p
text, size = ctypes.c_char_p(), ctypes.c_size_t()
stream = ctypes.c_void_p(libc.open_memstream(ctypes.byref(text), ctypes.byref(size)))
libc.malloc_info(0, stream)
libc.fclose(stream)
print(limited, ctypes.string_at(text, size.value).decode().count("<heap nr="))
"""


def _arenas(mode: str, **env: str) -> tuple[str, int]:
    environment = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"} | env
    out = subprocess.run(
        [sys.executable, "-c", COUNT_ARENAS, mode],
        capture_output=True,
        text=True,
        check=True,
        env=environment,
    ).stdout.split()
    return out[0], int(out[1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc only")
def test_threads_share_two_arenas_once_limited_and_the_environment_decides_when_set() -> None:
    _, unlimited = _arenas("leave")
    assert unlimited > 2  # glibc's default: one per thread, up to eight per core
    assert _arenas("limit") == ("True", 2)
    assert _arenas("limit", MALLOC_ARENA_MAX="3") == ("False", 3)
    assert _arenas("definitions")[1] == 2
