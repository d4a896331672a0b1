"""Test hook: SIGKILL this process right after its Nth feature-store commit.

Put this folder on PYTHONPATH and set CANDLECAST_TEST_KILL_AFTER=N; Python imports this module
at start-up, and it wraps the local store's upsert. The tests use it to kill `candlecast` runs
between two commits, as a Lambda timeout or an out-of-memory kill would.
"""

import os
import signal

after = int(os.environ.pop("CANDLECAST_TEST_KILL_AFTER", "0") or 0)
if after:
    from feature_store.local import LocalFeatureStore

    upsert = LocalFeatureStore.upsert
    commits = []

    def killing_upsert(self, spec, frame):
        result = upsert(self, spec, frame)
        commits.append(spec.name)
        if len(commits) == after:
            os.kill(os.getpid(), signal.SIGKILL)
        return result

    LocalFeatureStore.upsert = killing_upsert
