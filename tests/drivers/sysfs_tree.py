"""umockdev device records (``*.umockdev`` text) of USB serial adapters and USB cameras, laid out
as the kernel does in sysfs, for the resolution tests that run under ``umockdev-run``.

The layout follows real records: umockdev's own ``devices/input/usbkbd.umockdev`` (a USB device
directory named by its topology path, ``1-1.5.4.2``, holding ``idVendor``/``idProduct``/
``busnum``/``devpath``, its interface ``1-1.5.4.2:1.0`` below it), ``udevadm info`` of UVC
cameras (``.../usb1/1-8/1-8:1.0/video4linux/video0`` and ``video1`` for the metadata node, with
``v4l/by-id/usb-<ID_SERIAL>-video-index<index>`` links), and what pyserial's
``list_ports_linux`` reads (``/sys/class/tty/ttyUSBn/device`` -> a ``usb-serial`` port under the
USB interface).
"""

from __future__ import annotations

from dataclasses import dataclass

HOST = "/devices/pci0000:00/0000:00:14.0/usb1"


def _usb_device(location: str, vid: int, pid: int, serial: str, product: str) -> str:
    ports = location.split("-", 1)[1]
    lines = [
        f"P: {HOST}/{_nested(location)}",
        "E: DEVTYPE=usb_device",
        "E: SUBSYSTEM=usb",
        "E: BUSNUM=001",
        f"A: idVendor={vid:04x}",
        f"A: idProduct={pid:04x}",
        "A: bNumInterfaces= 1",
        "A: busnum=1",
        f"A: devpath={ports}",
        f"A: product={product}",
    ]
    if serial:
        lines.append(f"A: serial={serial}")
    return "\n".join(lines) + "\n"


def _nested(location: str) -> str:
    """``1-1.2`` sits below its hub ``1-1``: ``1-1/1-1.2``."""
    bus, ports = location.split("-", 1)
    parts = ports.split(".")
    return "/".join(f"{bus}-{'.'.join(parts[: i + 1])}" for i in range(len(parts)))


@dataclass(frozen=True)
class SerialAdapter:
    tty: str  # ttyUSB0
    location: str  # 1-1.2
    serial: str = ""
    vid: int = 0x10C4  # Silicon Labs CP210x
    pid: int = 0xEA60

    def record(self) -> str:
        interface = f"{HOST}/{_nested(self.location)}/{self.location}:1.0"
        minor = int(self.tty.removeprefix("ttyUSB"))
        return (
            f"P: {interface}/{self.tty}/tty/{self.tty}\n"
            f"N: {self.tty}\n"
            f"E: DEVNAME=/dev/{self.tty}\n"
            "E: SUBSYSTEM=tty\n"
            f"A: dev=188:{minor}\n"
            f"L: device=../../../{self.tty}\n\n"
            f"P: {interface}/{self.tty}\n"
            "E: DRIVER=cp210x\n"
            "E: SUBSYSTEM=usb-serial\n"
            "A: port_number=0\n\n"
            f"P: {interface}\n"
            "E: DEVTYPE=usb_interface\n"
            "E: DRIVER=cp210x\n"
            "E: SUBSYSTEM=usb\n"
            "A: bInterfaceNumber=00\n\n"
            + _usb_device(self.location, self.vid, self.pid, self.serial, "CP2102 USB to UART")
        )


@dataclass(frozen=True)
class UsbCamera:
    first_node: int  # video0: the capture node; video1 (index 1) the metadata node
    location: str
    serial: str = ""
    vid: int = 0x046D  # Logitech
    pid: int = 0x082D  # HD Pro Webcam C920

    @property
    def by_id(self) -> str:
        suffix = f"_{self.serial}" if self.serial else ""
        return f"usb-046d_HD_Pro_Webcam_C920{suffix}-video-index0"

    def record(self) -> str:
        interface = f"{HOST}/{_nested(self.location)}/{self.location}:1.0"
        nodes = []
        for index in (0, 1):
            number = self.first_node + index
            link = f"S: v4l/by-id/{self.by_id[:-1]}{index}\n" if self.serial else ""
            nodes.append(
                f"P: {interface}/video4linux/video{number}\n"
                f"N: video{number}\n" + link + f"E: DEVNAME=/dev/video{number}\n"
                "E: SUBSYSTEM=video4linux\n"
                f"A: dev=81:{number}\n"
                f"A: index={index}\n"
                "A: name=HD Pro Webcam C920\n"
                "L: device=../../../" + f"{self.location}:1.0\n"
            )
        interface_record = (
            f"P: {interface}\nE: DEVTYPE=usb_interface\nE: DRIVER=uvcvideo\nE: SUBSYSTEM=usb\n"
            "A: bInterfaceNumber=00\n"
        )
        return "\n".join(
            [
                *nodes,
                interface_record,
                _usb_device(self.location, self.vid, self.pid, self.serial, "HD Pro Webcam C920"),
            ]
        )


def umockdev_file(*devices: SerialAdapter | UsbCamera) -> str:
    """The ``*.umockdev`` text of ``devices``."""
    return "\n".join(device.record() for device in devices)
