import json
import sys

import numpy as np

DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64}


def load_safetensors(path):
    """{name: array} and the metadata of a safetensors file, with nothing but NumPy."""
    with open(path, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")  # u64, little-endian
        header = json.loads(f.read(header_len))            # name -> dtype, shape, byte range
        data = f.read()                                    # raw little-endian values
    meta = header.pop("__metadata__", {})
    arrays = {}
    for name, t in header.items():
        begin, end = t["data_offsets"]
        arrays[name] = np.frombuffer(data[begin:end], DTYPES[t["dtype"]]).reshape(t["shape"])
    return arrays, meta


if __name__ == "__main__":
    maps, meta = load_safetensors(sys.argv[1])
    for name in sorted(maps):
        print(name, maps[name].dtype, maps[name].shape)
    print(meta)
