"""Simulated devices: each plays a real device's protocol behind a real transport."""

from simulator.devices.isdv4 import SimulatedIsdv4Pad
from simulator.devices.mjpeg import MjpegCameraServer
from simulator.devices.r30x import SimulatedR30x
from simulator.devices.serial_link import PtyPort, SerialDeviceSimulator

__all__ = [
    "MjpegCameraServer",
    "PtyPort",
    "SerialDeviceSimulator",
    "SimulatedIsdv4Pad",
    "SimulatedR30x",
]
