#!/usr/bin/env python3
"""Reads the sample archive (tests/io/sample_archive.hpp, written by make_sample_archive) back
through xarray (engine h5netcdf) and h5py and checks dims, coordinates, values, fills and
provenance. The expected values restate sample_archive.hpp: change both together.

usage: check_archive.py ARCHIVE.h5    (exit 0 ok, 1 mismatch, 77 missing Python packages)
"""
import math
import sys

try:
    import h5py
    import numpy as np
    import xarray as xr
    import h5netcdf  # noqa: F401  (xarray's engine; imported here to fail early and clearly)
except ImportError as missing:
    print(f"skipping: {missing}", file=sys.stderr)
    sys.exit(77)

BETA = [0.0625, 1.0, 16.0]
ACTIVATIONS = ["relu", "tanh", "clipped_relu"]
CONFIG = "study: alignment\nseed: 1\nproblem: {labels: 3}  # ünïcödé ✓\n"


def pending(b, a):
    return b == 1 and a == 2


def expected_ps():
    return np.array([[math.nan if pending(b, a) else 10.0 * b + a for a in range(3)] for b in range(3)])


def expected_kernel():
    k = np.empty((3, 3, 2, 2))
    for b, a, i, j in np.ndindex(k.shape):
        k[b, a, i, j] = math.nan if pending(b, a) else 1000 * b + 100 * a + 10 * i + j
    return k


def check_meanfield_xarray(path):
    with xr.open_dataset(path, group="meanfield", engine="h5netcdf") as ds:
        assert dict(ds.sizes) == {"beta": 3, "activation": 3, "sample_i": 2, "sample_j": 2}, ds.sizes
        assert set(ds.coords) == {"beta", "activation", "sample_i", "sample_j"}, list(ds.coords)
        assert ds.ps.dims == ("beta", "activation")
        assert ds.status.dims == ("beta", "activation")
        assert ds.kernel.dims == ("beta", "activation", "sample_i", "sample_j")
        assert ds.tolerance.dims == () and float(ds.tolerance) == 1e-9
        np.testing.assert_array_equal(ds.beta.values, BETA)
        assert list(ds.activation.values) == ACTIVATIONS, ds.activation.values
        assert all(isinstance(v, str) for v in ds.activation.values)
        np.testing.assert_array_equal(ds.sample_i.values, [0.0, 1.0])
        assert ds.beta.attrs["units"] == "1" and ds.beta.attrs["long_name"] == "alpha/beta"
        # NaN holes survive decoding, and _FillValue was recognised (moved into the encoding).
        np.testing.assert_array_equal(ds.ps.values, expected_ps())
        assert math.isnan(ds.ps.encoding["_FillValue"])
        assert ds.ps.attrs["description"] == "parallelism score"
        np.testing.assert_array_equal(ds.kernel.values, expected_kernel())
        # The status stays uint8 with 0 = pending (no _FillValue to mask it).
        assert ds.status.dtype == np.uint8, ds.status.dtype
        assert int(ds.status.sel(beta=1.0, activation="clipped_relu")) == 0
        assert int(ds.status.sum()) == 8
        assert ds.attrs["solver"] == "meanfield" and ds.attrs["tol"] == 1e-9
        assert float(ds.ps.sel(beta=16.0, activation="tanh")) == 21.0


def check_train_xarray(path):
    with xr.open_dataset(path, group="train", engine="h5netcdf") as ds:
        assert ds.ps.dims == ("beta", "activation", "replicate")
        np.testing.assert_array_equal(ds.replicate.values, [0.0, 1.0])
        expected = np.array([[[b + 0.1 * a + 0.01 * r for r in range(2)] for a in range(3)] for b in range(3)])
        np.testing.assert_array_equal(ds.ps.values, expected)


def check_root_and_provenance_xarray(path):
    with xr.open_dataset(path, engine="h5netcdf") as root:
        assert root.attrs["schema"] == "absrep/1" and root.attrs["mpi_ranks"] == 2
        assert str(root.config.values) == CONFIG
    with xr.open_dataset(path, group="provenance/runs", engine="h5netcdf") as runs:
        assert runs.sizes["run"] == 2
        assert list(runs.host.values) == ["node1", "node2"]
        assert list(runs.job_id.values) == ["12345", ""]
        np.testing.assert_array_equal(runs.ranks.values, [2, 4])
        np.testing.assert_array_equal(runs.units_done.values, [5, 7])


def check_h5py(path):
    with h5py.File(path, "r") as f:
        attrs = dict(f.attrs)
        assert attrs["schema"] == "absrep/1" and attrs["version"] == "0.1.0", attrs
        assert attrs["mpi_ranks"] == 2 and attrs["gamma"] == 1.25 and attrs["empty"] == ""
        assert f["config"].asstr()[()] == CONFIG
        mf = f["meanfield"]
        # Link creation order is tracked, so h5py lists members as written, not alphabetically.
        assert list(mf) == ["beta", "activation", "sample_i", "sample_j", "ps", "status", "kernel", "tolerance"], list(mf)
        for name in ("beta", "activation", "sample_i", "sample_j"):
            assert h5py.h5ds.is_scale(mf[name].id), name
        assert [d[0].name for d in mf["kernel"].dims] == [
            "/meanfield/beta", "/meanfield/activation", "/meanfield/sample_i", "/meanfield/sample_j"]
        assert list(mf["activation"].asstr()[()]) == ACTIVATIONS
        np.testing.assert_array_equal(mf["ps"][()], expected_ps())
        assert math.isnan(mf["ps"].fillvalue) and math.isnan(mf["ps"].attrs["_FillValue"])
        assert mf["status"].dtype == np.uint8 and mf["status"].fillvalue == 0
        assert "_FillValue" not in mf["status"].attrs
        runs = f["provenance/runs"]
        assert list(runs["command_line"].asstr()[()]) == [
            "absrep sweep c.yaml --output run.h5", "absrep sweep c.yaml --resume"]
        assert list(runs["start_utc"].asstr()[()]) == ["2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"]
        assert runs["host"].dims[0][0].name == "/provenance/runs/run"

        # h5py must read every dataset in the file.
        def read_all(name, obj):
            if isinstance(obj, h5py.Dataset):
                obj[()]
        f.visititems(read_all)


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = sys.argv[1]
    for check in (check_meanfield_xarray, check_train_xarray, check_root_and_provenance_xarray, check_h5py):
        try:
            check(path)
        except AssertionError:
            print(f"{check.__name__} failed:", file=sys.stderr)
            raise
    print(f"{path}: xarray and h5py read it as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
