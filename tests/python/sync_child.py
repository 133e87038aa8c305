"""Run as a separate process: open the device store and sync (so the test can kill it)."""

import sys

sys.path.insert(0, sys.argv[3])
import mobile_core as mc  # noqa: E402

client = mc.KvoClient.open_for_tests(sys.argv[1], sys.argv[2])
client.set_backoff(50, 1000)
state = client.sync(120_000, None)
print(f"{state.sent} {state.pending} {state.wedged}")
