"""Synthetic CIFAR-10 archives in the exact official format, and a local HTTP server for them."""

import functools
import hashlib
import http.server
import io
import pickle
import tarfile
import threading

import numpy as np

CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
BATCHES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


def make_batches(per_class_train=10, per_class_test=4, seed=0):
    """Random images with balanced labels; returns {file name: bytes} and the arrays they hold.

    Images carry their class in the mean brightness of a channel, so a small net can learn them.
    """
    rng = np.random.default_rng(seed)
    files, arrays = {}, {}
    for name in BATCHES:
        count = (per_class_test * 10) if name == "test_batch" else per_class_train * 10 // 5
        labels = rng.permutation(np.arange(count) % 10).astype(np.uint8)
        images = rng.integers(0, 256, size=(count, 32, 32, 3), dtype=np.uint8)
        index, channel = np.arange(count), labels % 3
        images[index, :, :, channel] = images[index, :, :, channel] // 4 + 20 * labels[:, None, None]
        rows = images.transpose(0, 3, 1, 2).reshape(count, 3072)  # 1024 R, then 1024 G, then 1024 B
        batch = {b"batch_label": name.encode(), b"labels": labels.tolist(), b"data": rows,
                 b"filenames": [f"img_{i}.png".encode() for i in range(count)]}
        files[name] = pickle.dumps(batch, protocol=2)
        arrays[name] = (images, labels)
    meta = {b"label_names": [c.encode() for c in CLASS_NAMES], b"num_cases_per_batch": 0, b"num_vis": 3072}
    files["batches.meta"] = pickle.dumps(meta, protocol=2)
    return files, arrays


def make_archive(files, omit=()):
    """A .tar.gz with the files under cifar-10-batches-py/, as the official archive has them."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in files.items():
            if name in omit:
                continue
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def md5s(files):
    return {name: hashlib.md5(content).hexdigest() for name, content in files.items()}


class FlakyHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder, but answers 503 to the first `failures` requests (to exercise retries)."""

    def do_GET(self):
        if self.server.failures_left > 0:
            self.server.failures_left -= 1
            self.send_error(503, "try again")
            return
        super().do_GET()

    def log_message(self, *args):
        pass


class Server:
    """A threaded HTTP server on 127.0.0.1 serving `folder`, stopped by close()."""

    def __init__(self, folder, failures=0):
        handler = functools.partial(FlakyHandler, directory=str(folder))
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.failures_left = failures
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/{name}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
