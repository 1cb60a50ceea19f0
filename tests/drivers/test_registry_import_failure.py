"""A driver package whose module fails to import is reported with its cause, and only the driver
a spec names is ever imported."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.errors import DriverImportError
from drivers.registry import available_drivers, create_device, driver_names

pytestmark = pytest.mark.timeout(30)

BROKEN_MODULE = 'raise ImportError("libacme.so.1: cannot open shared object file")\n'
SPY_MODULE = "from drivers.r30x import R30xFingerprintScanner as SpyScanner  # noqa: F401\n"


def install_distribution(site: Path, name: str, entry_points: dict[str, str]) -> None:
    """A distribution laid out in ``site`` as pip would: its modules and its ``.dist-info``."""
    info = site / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    lines = "".join(f"{driver} = {target}\n" for driver, target in entry_points.items())
    (info / "entry_points.txt").write_text(f"[rekam.drivers]\n{lines}")


@pytest.fixture
def vendor_site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "rekam_broken_driver.py").write_text(BROKEN_MODULE)
    (site / "rekam_spy_driver.py").write_text(SPY_MODULE)
    install_distribution(
        site, "rekam_broken_driver", {"acme-broken": "rekam_broken_driver:Scanner"}
    )
    install_distribution(site, "rekam_spy_driver", {"acme-spy": "rekam_spy_driver:SpyScanner"})
    monkeypatch.syspath_prepend(str(site))
    yield site
    sys.modules.pop("rekam_spy_driver", None)


def test_a_failing_import_is_reported_with_its_cause(vendor_site: Path) -> None:
    assert "acme-broken" in driver_names()
    with pytest.raises(DriverImportError) as caught:
        create_device({"id": "fp-9", "driver": "acme-broken", "port": "/dev/null"})
    error = caught.value
    assert (error.entry_point, error.module) == ("acme-broken", "rekam_broken_driver")
    assert isinstance(error.cause, ImportError) and isinstance(error.__cause__, ImportError)
    assert error.code == "DEVICE_DRIVER_IMPORT_FAILED"
    english = error.message.render("en")
    assert "acme-broken" in english and "rekam_broken_driver" in english
    assert "libacme.so.1" in english and "libacme.so.1" in error.detail
    assert "rekam_broken_driver" in error.message.render("id")


def test_only_the_driver_asked_for_is_imported(vendor_site: Path) -> None:
    device = create_device({"id": "fp-0", "driver": "r30x", "port": "/dev/null"})
    assert device.driver_name == "r30x"
    assert "rekam_spy_driver" not in sys.modules
    spy = create_device({"id": "fp-1", "driver": "acme-spy", "port": "/dev/null"})
    assert "rekam_spy_driver" in sys.modules and spy.driver_name == "r30x"


def test_listing_every_driver_does_not_hide_a_broken_one(vendor_site: Path) -> None:
    with pytest.raises(DriverImportError) as caught:
        available_drivers()
    assert caught.value.entry_point == "acme-broken"
