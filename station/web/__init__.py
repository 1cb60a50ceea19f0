"""The daemon's door for browser and Electron apps: gRPC-Web and MJPEG previews on loopback."""
